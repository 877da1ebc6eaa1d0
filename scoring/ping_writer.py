"""Insert pings fast. On PostgreSQL: ids from the sequence, then one COPY.

COPY is the baseline the ingestion benchmark measures against; Django's
``bulk_create`` spends most of its time quoting 50 KiB JSON strings client-side.
The payload goes in as the JSON text that was received (already validated), so it
is never serialised twice. Elsewhere (SQLite, the embedded default) ``bulk_create``.
"""

import json

from django.db import connection
from django.utils import timezone

from scoring.models import UsagePing

COPY_COLUMNS = [
    "id", "instance_id", "instance_uuid", "namespace_id", "recorded_at", "received_at", "source",
    "version", "edition", "license_plan", "license_id", "licensed_seats", "billable_users",
    "active_users", "historical_max_users", "content_hash", "payload", "metrics",
    "failed_metrics",
]  # fmt: skip


def pings_insert(rows: list[tuple[UsagePing, str]]) -> None:
    """Insert ``(ping, payload_json_text)`` rows and set each ping's id."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        UsagePing.objects.bulk_create([ping for ping, _ in rows])
        return
    table = UsagePing._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        for (ping, _), (pk,) in zip(rows, cursor.fetchall(), strict=True):
            ping.pk, ping.received_at = pk, now
        columns = ", ".join(COPY_COLUMNS)
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for ping, text in rows:
                copy.write_row(_values(ping, text))


def _values(ping: UsagePing, text: str) -> tuple[object, ...]:
    return (
        ping.pk, ping.instance_id, ping.instance_uuid, ping.namespace_id, ping.recorded_at,
        ping.received_at, ping.source, ping.version, ping.edition, ping.license_plan,
        ping.license_id, ping.licensed_seats, ping.billable_users, ping.active_users,
        ping.historical_max_users, ping.content_hash, text, json.dumps(ping.metrics),
        json.dumps(ping.failed_metrics),
    )  # fmt: skip
