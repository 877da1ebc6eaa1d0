"""Insert pings fast, storing each payload as the JSON text that was received.

The text was validated already, so it is never serialised a second time. On
PostgreSQL a chunk goes in with one COPY (``usagehub.bulk``), and a lone ping (the
API's usual case) with one statement that also finds its instance and marks its account
for recompute.
"""

import datetime as dt
import functools
from typing import Any, NamedTuple

import psycopg
from django.db import connection
from psycopg import sql

from accounts.models import Instance
from scoring.models import MetricDefinition, RecomputeRequest, UsagePing
from usagehub.bulk import column_values, copy_insert

INSTANCE = UsagePing._meta.get_field("instance").column


def pings_insert(rows: list[tuple[UsagePing, str]]) -> None:
    """Insert ``(ping, payload_json_text)`` rows and set each ping's id."""
    texts = {id(ping): text for ping, text in rows}
    copy_insert([ping for ping, _ in rows], overrides=lambda ping: {"payload": texts[id(ping)]})


# A lone ping in one statement: its instance looked up by identity, the ping inserted
# (``ON CONFLICT DO NOTHING``: a stored identity inserts nothing), its account's
# recompute mark upserted. Atomic on its own, so a new ping costs one round trip and no
# BEGIN/COMMIT. The metric values were extracted with the caller's copy of the tracked
# key paths: unless that copy is current, nothing is written. Nothing either for an
# unknown instance that a subscription's license id may create (``may_create``). The
# mark claims the account's recompute message (stamps it as enqueued) unless one went
# out after ``claim_before``; no claim when that is NULL.
_STORE_LONE = """
WITH context AS (
    SELECT instance.id AS instance_id, instance.account_id,
           ARRAY(SELECT key_path::text FROM {definitions} WHERE is_tracked ORDER BY key_path)
               = %(tracked)s::text[] AS tracked_current
    FROM (SELECT 1) AS one LEFT JOIN {instances} AS instance
        ON instance.{identity} = %(identity)s
), ping AS (
    INSERT INTO {pings} ({columns})
    SELECT {values} FROM context
    WHERE tracked_current AND (instance_id IS NOT NULL OR NOT %(may_create)s)
    ON CONFLICT DO NOTHING
    RETURNING id
), mark AS (
    INSERT INTO {marks} AS mark (account_id, requested_at, enqueued_at)
    SELECT context.account_id, %(now)s::timestamptz, %(claim)s::timestamptz
    FROM ping, context WHERE context.account_id IS NOT NULL
    ON CONFLICT (account_id) DO UPDATE SET
        requested_at = EXCLUDED.requested_at,
        enqueued_at = CASE
            WHEN EXCLUDED.enqueued_at IS NOT NULL
                AND (mark.enqueued_at IS NULL OR mark.enqueued_at < %(claim_before)s)
            THEN EXCLUDED.enqueued_at ELSE mark.enqueued_at END
    RETURNING enqueued_at = %(now)s::timestamptz AS claimed
)
SELECT context.tracked_current, context.instance_id, context.account_id,
       (SELECT id FROM ping), coalesce((SELECT claimed FROM mark), false)
FROM context
"""


class LoneOutcome(NamedTuple):
    tracked_current: bool  # False: nothing written, the caller's tracked keys are stale
    instance_id: int | None
    account_id: int | None
    ping_id: int | None  # None: nothing inserted (see tracked_current, or a stored identity)
    claimed: bool  # this call claimed the account's recompute message: publish after commit


@functools.cache
def _store_lone(columns: tuple[str, ...], identity: str) -> bytes:
    """The statement for these columns and this identity, composed once per process."""
    return (
        sql.SQL(_STORE_LONE)
        .format(
            pings=sql.Identifier(UsagePing._meta.db_table),
            marks=sql.Identifier(RecomputeRequest._meta.db_table),
            instances=sql.Identifier(Instance._meta.db_table),
            definitions=sql.Identifier(MetricDefinition._meta.db_table),
            identity=sql.Identifier(identity),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=sql.SQL(", ").join(
                sql.SQL("context.instance_id") if column == INSTANCE else sql.Placeholder(f"v{i}")
                for i, column in enumerate(columns)
            ),
        )
        .as_string()
        .encode()
    )


def ping_store_lone(
    ping: UsagePing,
    text: str,
    *,
    tracked: list[str],
    may_create: bool,
    now: dt.datetime,
    claim_before: dt.datetime | None,
) -> LoneOutcome:
    """PostgreSQL only: store ``ping`` (metrics extracted for ``tracked``) on the instance
    its identity names, unless that identity is stored, and mark the instance's account."""
    columns, values = column_values(ping, {"payload": text})
    params: dict[str, Any] = {f"v{i}": value for i, value in enumerate(values)}
    by_uuid = ping.instance_uuid is not None
    params.update(
        identity=ping.instance_uuid if by_uuid else ping.namespace_id,
        tracked=tracked,
        may_create=may_create,
        now=now,
        claim=None if claim_before is None else now,
        claim_before=claim_before,
    )
    statement = _store_lone(tuple(columns), "uuid" if by_uuid else "namespace_id")
    connection.ensure_connection()
    # Server-side binding: the payload travels as a parameter, not quoted into the SQL.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        return LoneOutcome(*cursor.execute(statement, params).fetchone())  # type: ignore[misc]
