"""Mixed load (issue 7): ingestion, portfolio pages and API reads at the same time, from a
separate client process's threads, through gunicorn (2 workers) with a real Celery worker
on a private Redis. Bounded in requests and time; loopback only. Reports throughput, p99
and errors (which must be zero). Runs on the scratch database of ``bench/recompute.py``."""

import datetime as dt
import http.client
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL, bench_env, percentile

PER_KIND = 600
THREADS_PER_KIND = 3


def main() -> None:
    os.environ.update(DATABASE_URL=BENCH_URL, DJANGO_SETTINGS_MODULE="usagehub.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.api_keys import api_key_create
    from accounts.models import Account, Instance
    from scoring.synthetic import synthetic_payload
    from tests.processes import celery_worker, free_port, gunicorn, private_redis, running

    _, key = api_key_create(name="load", scopes=["ingest", "read"])
    csm = get_user_model().objects.get(username="bench-csm")
    session = Client()
    session.force_login(csm)
    cookie = f"sessionid={session.cookies['sessionid'].value}"
    uuids = [u for u in Instance.objects.values_list("uuid", flat=True)[:PER_KIND] if u]
    ids = list(Account.objects.values_list("pk", flat=True)[:500])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pings = [
        json.dumps(
            synthetic_payload(
                uuid=u, recorded_at=now, billable_users=50, licensed_seats=100, counters=500
            )
        ).encode()
        for u in uuids
    ]
    port = free_port()
    results: dict[str, list[tuple[int, float]]] = defaultdict(list)

    def run(kind: str, requests: list[tuple[str, str, bytes | None, dict[str, str]]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for method, path, body, headers in requests:
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            results[kind].append((response.status, time.perf_counter() - started))
        conn.close()

    api = {"Authorization": f"Api-Key {key}"}
    work: dict[str, list[tuple[str, str, bytes | None, dict[str, str]]]] = {
        "ingest": [
            ("POST", "/api/v1/pings", p, {**api, "Content-Type": "application/json"}) for p in pings
        ],
        "portfolio": [
            ("GET", "/?sort=-score" if i % 2 else "/", None, {"Cookie": cookie})
            for i in range(PER_KIND)
        ],
        "api": [
            ("GET", f"/api/v1/accounts/{ids[i % len(ids)]}/health", None, api)
            for i in range(PER_KIND)
        ],
    }
    with private_redis() as redis:
        env = bench_env(CELERY_BROKER_URL=redis.url, DJANGO_DEBUG="true")
        with running(gunicorn(port), env, port=port), running(celery_worker(), env):
            started = time.perf_counter()
            with ThreadPoolExecutor(THREADS_PER_KIND * len(work)) as pool:
                for kind, requests in work.items():
                    for t in range(THREADS_PER_KIND):
                        pool.submit(run, kind, requests[t::THREADS_PER_KIND])
            elapsed = time.perf_counter() - started
    print(
        f"mixed load: {len(work)} kinds × {THREADS_PER_KIND} threads, {PER_KIND} requests each, "
        f"gunicorn x2 + 1 Celery worker, in {elapsed:.1f} s"
    )
    print(f"{'kind':<12}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind, rows in results.items():
        latencies = [seconds for _, seconds in rows]
        errors = sum(1 for status, _ in rows if status >= 400)
        print(
            f"{kind:<12}{len(rows) / elapsed:>8.1f}{percentile(latencies, 0.5) * 1000:>9.1f}"
            f"{percentile(latencies, 0.99) * 1000:>9.1f}{errors:>8}"
        )


if __name__ == "__main__":
    main()
