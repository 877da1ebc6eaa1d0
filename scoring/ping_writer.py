"""Insert pings fast, storing each payload as the JSON text that was received.

The text was validated already, so it is never serialised a second time; on
PostgreSQL the rows go in with one COPY (``usagehub.bulk``).
"""

from scoring.models import UsagePing
from usagehub.bulk import copy_insert


def pings_insert(rows: list[tuple[UsagePing, str]]) -> None:
    """Insert ``(ping, payload_json_text)`` rows and set each ping's id."""
    texts = {id(ping): text for ping, text in rows}
    copy_insert([ping for ping, _ in rows], overrides=lambda ping: {"payload": texts[id(ping)]})
