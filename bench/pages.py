"""Page benchmark (issue 5): server time of the CSM pages on a large book.

Runs after ``bench/recompute.py`` (``make bench`` orders them) on its scratch database of
10,000 scored accounts: gives one CSM 500 of them, adds 25 weeks of snapshot history by
copying each account's snapshot back in time, then times each page in-process with
Django's test client (server time, no network) and counts its queries.
"""

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL, percentile

RUNS = 30


def prepare() -> Any:
    from django.db import connection

    from accounts.models import Account, Team, User

    team, _ = Team.objects.get_or_create(name="Bench team")
    csm, _ = User.objects.get_or_create(username="bench-csm", defaults={"team": team})
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True)[:500])
    Account.objects.filter(pk__in=ids).update(owner=csm)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT as_of) FROM scoring_scoresnapshot")
        if cursor.fetchone()[0] < 26:
            from scoring.models import ScoreSnapshot

            columns = [
                f.column
                for f in ScoreSnapshot._meta.concrete_fields
                if f.name not in ("id", "as_of")
            ]
            names = ", ".join(columns)
            for week in range(1, 26):
                cursor.execute(
                    f"INSERT INTO scoring_scoresnapshot ({names}, as_of) "
                    f"SELECT {names}, as_of - {7 * week} FROM scoring_scoresnapshot "
                    f"WHERE as_of = (SELECT max(as_of) FROM scoring_scoresnapshot)"
                )
        cursor.execute("ANALYZE")
    return csm


def timed(client: object, url: str) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)  # type: ignore[attr-defined]
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    return timings, len(queries)


def main() -> None:
    os.environ.update(DATABASE_URL=BENCH_URL, DJANGO_SETTINGS_MODULE="usagehub.settings")
    django.setup()
    from django.test import Client

    from accounts.models import Account

    csm = prepare()
    client = Client()
    client.force_login(csm)
    account = Account.objects.filter(owner=csm).order_by("pk").first()
    pages = [
        ("portfolio, first page", "/"),
        ("portfolio, filtered (red, sorted by score)", "/?colour=red&sort=-score"),
        ("CSV export of 500 accounts", "/portfolio.csv"),
        ("account page", f"/accounts/{account.pk}/"),  # type: ignore[union-attr]
    ]
    print(
        f"page benchmark: {Account.objects.count()} accounts with 26 weeks of snapshots, "
        f"one CSM owning 500; {RUNS} requests each, server time in-process"
    )
    print(f"{'page':<44}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}")
    for name, url in pages:
        timings, queries = timed(client, url)
        print(
            f"{name:<44}{statistics.median(timings) * 1000:>9.1f}"
            f"{percentile(timings, 0.95) * 1000:>9.1f}{max(timings) * 1000:>9.1f}{queries:>9}"
        )


if __name__ == "__main__":
    main()
