"""Insert pings fast, storing each payload as the JSON text that was received.

The text was validated already, so it is never serialised a second time. On
PostgreSQL a chunk goes in with one COPY (``usagehub.bulk``), and a lone ping (the
API's usual case) with one statement that also marks its account for recompute.
"""

import datetime as dt
import functools

from psycopg import sql

from scoring.models import RecomputeRequest, UsagePing
from usagehub.bulk import column_values, copy_insert
from usagehub.db import prepared_rows


def pings_insert(rows: list[tuple[UsagePing, str]]) -> None:
    """Insert ``(ping, payload_json_text)`` rows and set each ping's id."""
    texts = {id(ping): text for ping, text in rows}
    copy_insert([ping for ping, _ in rows], overrides=lambda ping: {"payload": texts[id(ping)]})


# The ping, and its account's recompute mark, in one statement: atomic on its own, so a
# lone ping costs one round trip and no BEGIN/COMMIT. A stored identity inserts nothing
# and marks nothing. The mark claims the account's recompute message (stamps it as
# enqueued) unless one went out after ``claim_before``; no claim when that is NULL.
_INSERT_AND_MARK = """
WITH ping AS (
    INSERT INTO {pings} ({columns}) VALUES ({values})
    ON CONFLICT DO NOTHING
    RETURNING id
), mark AS (
    INSERT INTO {marks} AS mark (account_id, requested_at, enqueued_at)
    SELECT %(account)s::bigint, %(now)s::timestamptz, %(claim)s::timestamptz
    FROM ping WHERE %(account)s::bigint IS NOT NULL
    ON CONFLICT (account_id) DO UPDATE SET
        requested_at = EXCLUDED.requested_at,
        enqueued_at = CASE
            WHEN EXCLUDED.enqueued_at IS NOT NULL
                AND (mark.enqueued_at IS NULL OR mark.enqueued_at < %(claim_before)s)
            THEN EXCLUDED.enqueued_at ELSE mark.enqueued_at END
    RETURNING enqueued_at = %(now)s::timestamptz AS claimed
)
SELECT ping.id, coalesce((SELECT claimed FROM mark), false) FROM ping
"""


@functools.cache
def _insert_and_mark(columns: tuple[str, ...]) -> bytes:
    """The statement for these columns, composed once per process."""
    return (
        sql.SQL(_INSERT_AND_MARK)
        .format(
            pings=sql.Identifier(UsagePing._meta.db_table),
            marks=sql.Identifier(RecomputeRequest._meta.db_table),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=sql.SQL(", ").join(sql.Placeholder(f"v{i}") for i in range(len(columns))),
        )
        .as_string()
        .encode()
    )


def ping_insert_marking(
    ping: UsagePing,
    text: str,
    *,
    account_id: int | None,
    now: dt.datetime,
    claim_before: dt.datetime | None,
) -> tuple[int | None, bool]:
    """PostgreSQL only: insert ``ping`` unless its identity is stored, and mark its account.

    Returns the new id (None: the identity exists, nothing was written) and whether
    this call claimed the account's recompute message, to publish after commit.
    """
    columns, values = column_values(ping, {"payload": text})
    params = {f"v{i}": value for i, value in enumerate(values)}
    params.update(
        account=account_id,
        now=now,
        claim=None if claim_before is None else now,
        claim_before=claim_before,
    )
    # Server-side binding: the payload travels as a parameter, not quoted into the SQL.
    rows = prepared_rows(_insert_and_mark(tuple(columns)), params)
    return (None, False) if not rows else (rows[0][0], rows[0][1])
