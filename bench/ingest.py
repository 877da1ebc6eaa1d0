"""Ingestion benchmark (issue 3): COPY baseline vs ingest_pings vs POST /api/v1/pings.

Run with ``make bench`` (PostgreSQL on 127.0.0.1:5432 and redis-server on PATH). It
uses a scratch database ``usagehub_bench`` and a private Redis, and prints one table.
"""

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from pathlib import Path

import django
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    BENCH_URL,
    KeepAliveClient,
    dumps,
    fresh_database,
    percentile,
    post_request,
    production_env,
    recorded,
)

INSTANCES = int(os.environ.get("BENCH_INSTANCES", "1000"))
WEEKS = int(os.environ.get("BENCH_WEEKS", "4"))
HTTP_CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "8"))
WARM_UP = 4 * HTTP_CLIENTS  # requests before the clock starts


def generate(path: Path, weeks: range) -> list[bytes]:
    from scoring.synthetic import synthetic_payload

    lines = [
        dumps(
            synthetic_payload(
                uuid=f"bench-{i:05d}",
                recorded_at=dt.datetime.fromisoformat(recorded(week)),
                billable_users=100 + i % 400,
                licensed_seats=500,
                seed=week,
            )
        )
        for week in weeks
        for i in range(INSTANCES)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def copy_baseline(lines: list[bytes], compression: str = "") -> float:
    """Seconds to COPY the payloads as JSONB into a scratch table (PostgreSQL's default
    compression unless ``compression`` is given)."""
    column = f"payload jsonb COMPRESSION {compression}" if compression else "payload jsonb"
    with psycopg.connect(BENCH_URL) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(f"CREATE TABLE bench_copy (id bigserial primary key, {column})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_copy (payload) FROM STDIN") as copy:
            for line in lines:
                copy.write_row((line.decode(),))
        conn.commit()
        return time.perf_counter() - started


def baselines(lines: list[bytes]) -> list[tuple[str, float]]:
    settled()
    default = copy_baseline(lines)
    settled()
    return [("default", default), ("lz4", copy_baseline(lines, "lz4"))]


def settled() -> None:
    """Flush dirty pages before a timed phase, so no phase pays for the previous one's
    checkpoint (each COPY writes ~170 MB of WAL)."""
    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def map_instances() -> None:
    """Give every bench instance an account, so ingestion marks accounts as it would live."""
    from accounts.models import Account, Instance

    accounts = Account.objects.bulk_create(
        Account(name=f"Bench {i}", crm_id=f"BENCH{i:05d}") for i in range(INSTANCES)
    )
    Instance.objects.bulk_create(
        Instance(account=a, uuid=f"bench-{i:05d}", instance_type="production")
        for i, a in enumerate(accounts)
    )


PEAK_RSS_WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True,"
    " stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def cli(path: Path, broker: str) -> tuple[float, int]:
    """Time the command and read its peak RSS through a small wrapper process (a child
    forked from this big process would count the pages it inherits)."""
    started = time.perf_counter()
    wrapper = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_RSS_WRAPPER,
            sys.executable,
            "manage.py",
            "ingest_pings",
            str(path),
        ],
        check=True,
        env=production_env(CELERY_BROKER_URL=broker),
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, int(wrapper.stdout.split()[-1])


def http_post(lines: list[bytes], key: str, broker: str) -> tuple[float, list[float]]:
    """Pings per second and each request's latency, after a warm-up, against gunicorn
    on the shipped configuration with 2 workers (a fresh server for each call)."""
    from tests.processes import free_port, running

    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "usagehub.wsgi", "-c", "deploy/gunicorn.conf.py"]
    server_env = production_env(
        CELERY_BROKER_URL=broker,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_ACCESS_LOG="false",
        GUNICORN_LOG_LEVEL="warning",
        # As in production, where the worker scored an account's previous ping long ago:
        # every ping claims and publishes its account's recompute (nothing is coalesced).
        RECOMPUTE_REQUEUE_SECONDS="0",
    )
    latencies: list[float] = []

    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    requests = [post_request("/api/v1/pings", body, headers) for body in lines]

    def post_all(chunk: list[bytes]) -> None:
        client = KeepAliveClient(port)
        for request in chunk:
            started = time.perf_counter()
            status = client.exchange(request)
            assert status == 202, status
            latencies.append(time.perf_counter() - started)
        client.close()

    with running(command, server_env, port=port):
        # gunicorn listens before its workers have imported the app: warm both up first.
        warm_up, timed = requests[:WARM_UP], requests[WARM_UP:]
        with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
            list(pool.map(post_all, [warm_up[i::HTTP_CLIENTS] for i in range(HTTP_CLIENTS)]))
        latencies.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
            list(pool.map(post_all, [timed[i::HTTP_CLIENTS] for i in range(HTTP_CLIENTS)]))
        return len(timed) / (time.perf_counter() - started), latencies


def validation_ms(lines: list[bytes]) -> float:
    from scoring.payload import validate_ping

    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for line in lines:
        validate_ping(line, now=now)
    return (time.perf_counter() - started) / len(lines) * 1000


def main() -> None:
    from tests.processes import private_redis

    fresh_database()
    os.environ.update(DATABASE_URL=BENCH_URL, DJANGO_SETTINGS_MODULE="usagehub.settings")
    django.setup()
    from accounts.api_keys import api_key_create

    map_instances()
    _, key = api_key_create(name="bench", scopes=["ingest"])
    with tempfile.TemporaryDirectory() as tmp, private_redis() as redis:
        cli_lines = generate(Path(tmp) / "cli.ndjson", range(WEEKS))
        size = sum(map(len, cli_lines)) / len(cli_lines)
        copies = baselines(cli_lines)
        settled()
        cli_seconds, cli_rss = cli(Path(tmp) / "cli.ndjson", redis.url)
        https = []  # twice, like the baselines: the faster counts (new pings each time)
        for run in (1, 2):
            weeks = range(run * WEEKS, (run + 1) * WEEKS)
            http_lines = generate(Path(tmp) / f"http{run}.ndjson", weeks)
            settled()
            https.append(http_post(http_lines, key, redis.url))
        copies += baselines(cli_lines)  # again at the end: the machine drifts within a run
        per_ping = validation_ms(cli_lines[:500])
    # The faster of each baseline's two runs: the ratios err on the pessimistic side.
    http_rate, latencies = max(https, key=itemgetter(0))
    copy_seconds = min(seconds for kind, seconds in copies if kind == "default")
    lz4_seconds = min(seconds for kind, seconds in copies if kind == "lz4")
    n = len(cli_lines)
    rates = {
        "(a) COPY as JSONB (the baseline)": n / copy_seconds,
        "(a2) COPY as JSONB, lz4 like pings": n / lz4_seconds,
        "(b) ingest_pings NDJSON": n / cli_seconds,
        "(c) POST /api/v1/pings, gunicorn x2": http_rate,
    }
    base, lz4 = (
        rates["(a) COPY as JSONB (the baseline)"],
        rates["(a2) COPY as JSONB, lz4 like pings"],
    )
    print(
        f"ingestion benchmark: {n} pings of ~{size / 1024:.0f} KiB "
        f"({INSTANCES} instances x {WEEKS} weeks), PostgreSQL, private Redis; "
        "COPY baselines run first and last, the HTTP path twice, the faster of each counts: "
        + ", ".join(f"{kind} {n / seconds:.0f}/s" for kind, seconds in copies)
        + ", HTTP "
        + ", ".join(f"{rate:.0f}/s" for rate, _ in https)
    )
    print(f"{'path':<37}{'pings/s':>8}{'vs (a)':>8}{'vs (a2)':>8}{'p50 ms':>8}{'p99 ms':>8}")
    for name, rate in rates.items():
        line = f"{name:<37}{rate:>8.0f}{rate / base:>8.2f}{rate / lz4:>8.2f}"
        if name.startswith("(b)"):
            line += f"{'':>16}  peak RSS {cli_rss / 1024:.0f} MB"
        if name.startswith("(c)"):
            p50, p99 = (percentile(latencies, share) * 1000 for share in (0.5, 0.99))
            line += f"{p50:>8.1f}{p99:>8.1f}"
        print(line)
    print(f"validation: {per_ping:.2f} ms per payload")


if __name__ == "__main__":
    main()
