"""Insights benchmark (issue 8): server time of the insights page on 10,000 accounts.

Runs after ``bench/pages.py`` on its scratch database (10,000 scored accounts with 26
weeks of snapshots). Rolls those snapshots up into weekly rows with one SQL statement —
varying colour, adoption, tier and ARR by account and week so every chart has work to
do — then times the page and one CSV in-process (server time, no network) and counts
queries, for an admin over the whole book and for a manager over a 500-account team.
"""

import os
import statistics
import sys
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL, percentile
from bench.pages import timed

TARGET_P95_MS = 300

ROLLUP = """
INSERT INTO scoring_weeklyhealth (
    account_id, week, as_of, snapshot_id, colour, score, adoption_count, adopted, tier, arr,
    billable_users, licensed_seats, utilization, days_to_util_10, days_to_util_50,
    days_to_util_80, renewal_on, forecast_billable)
SELECT DISTINCT ON (s.account_id, date_trunc('week', s.as_of))
    s.account_id, date_trunc('week', s.as_of)::date, s.as_of, s.id,
    (ARRAY['red', 'yellow', 'green'])[1 + (s.account_id * 7 + (s.as_of - DATE '2000-01-03')) % 3],
    40 + (s.account_id * 13 + (s.as_of - DATE '2000-01-03')) % 55,
    (s.account_id + (s.as_of - DATE '2000-01-03') / 28) % 5,
    COALESCE((SELECT '|' || string_agg(key, '|' ORDER BY key) || '|'
              FROM jsonb_each_text(s.use_cases) WHERE value = 'green'), ''),
    (ARRAY['free', 'premium', 'ultimate'])[1 + s.account_id % 3],
    1000 * (1 + s.account_id % 50),
    s.billable_users, s.licensed_seats, s.utilization,
    (s.account_id % 90), (s.account_id % 200) + 30, NULLIF(s.account_id % 400, 7),
    CURRENT_DATE + (s.account_id % 180)::int, s.billable_users + s.account_id % 40
FROM scoring_scoresnapshot s
ORDER BY s.account_id, date_trunc('week', s.as_of), s.as_of DESC, s.computed_at DESC
"""


def prepare() -> tuple[Any, Any]:
    from django.db import connection

    from accounts.models import User

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_weeklyhealth")
        cursor.execute(ROLLUP)
        cursor.execute("VACUUM ANALYZE scoring_weeklyhealth")
    csm = User.objects.get(username="bench-csm")  # bench/pages.py gave them 500 accounts
    manager, _ = User.objects.update_or_create(
        username="bench-manager", defaults={"team": csm.team, "role": User.Role.MANAGER}
    )
    admin, _ = User.objects.update_or_create(
        username="bench-admin", defaults={"role": User.Role.ADMIN, "is_superuser": True}
    )
    return manager, admin


def main() -> None:
    os.environ.update(DATABASE_URL=BENCH_URL, DJANGO_SETTINGS_MODULE="usagehub.settings")
    django.setup()
    from django.test import Client

    from scoring.models import WeeklyHealth

    manager, admin = prepare()
    import gc

    gc.collect()
    gc.freeze()  # as usagehub/wsgi.py does in every web process
    print(
        f"insights benchmark: {WeeklyHealth.objects.count()} weekly rows "
        f"({WeeklyHealth.objects.values('account').distinct().count()} accounts × 26 weeks); "
        "server time in-process"
    )
    print(f"{'view':<52}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}")
    for who, user, url in [
        ("admin, whole book (10,000 accounts)", admin, "/insights/"),
        ("admin, whole book, Ultimate only", admin, "/insights/?tier=ultimate"),
        ("manager, own team (500 accounts)", manager, "/insights/"),
        ("admin, CSV of health over time", admin, "/insights/health.csv"),
    ]:
        client = Client()
        client.force_login(user)
        timings, queries = timed(client, url)
        p95 = percentile(timings, 0.95) * 1000
        verdict = "ok" if p95 <= TARGET_P95_MS else f"over the {TARGET_P95_MS} ms target"
        print(
            f"{who:<52}{statistics.median(timings) * 1000:>9.1f}{p95:>9.1f}"
            f"{max(timings) * 1000:>9.1f}{queries:>9}  {verdict}"
        )


if __name__ == "__main__":
    main()
