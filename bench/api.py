"""API benchmark (issue 6): through gunicorn (2 workers) on loopback with a concurrent client,
a plain JsonResponse view (baseline), GET /api/v1/accounts/{id}/health, and the CRM export
of 1,000 accounts. Runs on the scratch database ``bench/recompute.py`` leaves behind."""

import http.client
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL, percentile, production_env

CLIENTS = 8
REQUESTS = 800


def load(port: int, key: str, paths: list[str], requests: int) -> tuple[float, list[float]]:
    latencies: list[float] = []

    def worker(share: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(share):
            started = time.perf_counter()
            conn.request("GET", paths[i % len(paths)], headers={"Authorization": f"Api-Key {key}"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            latencies.append(time.perf_counter() - started)
        conn.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(worker, [requests // CLIENTS] * CLIENTS))
    return time.perf_counter() - started, latencies


def main() -> None:
    os.environ.update(DATABASE_URL=BENCH_URL, DJANGO_SETTINGS_MODULE="usagehub.settings")
    django.setup()
    from accounts.api_keys import api_key_create
    from accounts.models import Account
    from tests.processes import free_port, gunicorn, running

    _, key = api_key_create(name="bench-api", scopes=["read"])
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True)[:200])
    port = free_port()
    command = gunicorn(port)
    env = production_env(ROOT_URLCONF="bench.urls", API_THROTTLE_RATE="1000000/min")
    with running(command, env, port=port):
        load(port, key, ["/bench/baseline"], 80)  # warm both workers
        base_s, base_lat = load(port, key, ["/bench/baseline"], REQUESTS)
        health_s, health_lat = load(
            port, key, [f"/api/v1/accounts/{pk}/health" for pk in ids], REQUESTS
        )
        export_s, export_lat = load(port, key, ["/api/v1/exports/crm?page_size=1000"], 16)
    base_rate = REQUESTS / base_s
    print(
        f"API benchmark: gunicorn x2, {CLIENTS} concurrent keep-alive clients, "
        f"{Account.objects.count()} accounts"
    )
    print(f"{'endpoint':<42}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
    for name, seconds, lat, count in [
        ("plain JsonResponse view (baseline)", base_s, base_lat, REQUESTS),
        ("GET /api/v1/accounts/{id}/health", health_s, health_lat, REQUESTS),
        ("CRM export, 1,000 accounts per page", export_s, export_lat, 16),
    ]:
        rate = count / seconds
        print(
            f"{name:<42}{rate:>8.1f}{percentile(lat, 0.5) * 1000:>9.1f}"
            f"{percentile(lat, 0.99) * 1000:>9.1f}{rate / base_rate:>8.2f}"
        )


if __name__ == "__main__":
    main()
