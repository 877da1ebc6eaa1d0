"""Storage layout for extracted metric values: a JSONB column on the ping vs narrow rows.

Measures, on the same synthetic data, the write cost of each layout and the read that
scoring does most: the latest values of every instance. Run by ``make bench``.
"""

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL

INSTANCES, WEEKS, METRICS = 2000, 26, 20
KEYS = [f"usage_activity_by_stage_monthly.stage.metric_{i}" for i in range(METRICS)]


def main() -> None:
    rng = random.Random(7)
    rows = [
        (
            ping_id := instance * WEEKS + week,
            instance,
            week,
            {key: rng.randint(0, 5000) for key in KEYS},
        )
        for instance in range(INSTANCES)
        for week in range(WEEKS)
    ]
    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        conn.execute("""
            DROP TABLE IF EXISTS lay_ping, lay_value;
            CREATE TABLE lay_ping (id bigint PRIMARY KEY, instance int, week int, metrics jsonb);
            CREATE INDEX ON lay_ping (instance, week DESC);
            CREATE TABLE lay_value (ping_id bigint, key_path text, value double precision,
                                    PRIMARY KEY (ping_id, key_path));
        """)
        started = time.perf_counter()
        with conn.cursor().copy("COPY lay_ping (id, instance, week, metrics) FROM STDIN") as copy:
            for ping_id, instance, week, metrics in rows:
                copy.write_row((ping_id, instance, week, json.dumps(metrics)))
        jsonb_write = time.perf_counter() - started
        started = time.perf_counter()
        with conn.cursor().copy("COPY lay_value (ping_id, key_path, value) FROM STDIN") as copy:
            for ping_id, _, _, metrics in rows:
                for key, value in metrics.items():
                    copy.write_row((ping_id, key, value))
        narrow_write = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE lay_ping")
        conn.execute("VACUUM ANALYZE lay_value")
        latest = (
            "SELECT DISTINCT ON (instance) id, metrics FROM lay_ping ORDER BY instance, week DESC"
        )
        jsonb_read = _best(conn, latest)
        narrow_read = _best(
            conn,
            f"""
            SELECT v.ping_id, v.key_path, v.value FROM ({latest}) p
            JOIN lay_value v ON v.ping_id = p.id""",
        )
        sizes: Any = conn.execute("""SELECT pg_total_relation_size('lay_ping'),
                                pg_total_relation_size('lay_value')""").fetchone()
        conn.execute("DROP TABLE lay_ping, lay_value")
    print(f"layout of extracted values: {len(rows)} pings x {METRICS} metrics")
    print(f"{'layout':<28}{'write s':>9}{'latest-read ms':>16}{'size MB':>9}")
    print(
        f"{'JSONB column on the ping':<28}{jsonb_write:>9.2f}{jsonb_read * 1000:>16.1f}"
        f"{sizes[0] / 2**20:>9.1f}"
    )
    print(
        f"{'narrow rows (+ ping table)':<28}{narrow_write:>9.2f}{narrow_read * 1000:>16.1f}"
        f"{sizes[1] / 2**20:>9.1f}"
    )


def _best(conn: psycopg.Connection, sql: str) -> float:
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        timings.append(time.perf_counter() - started)
    return min(timings)


if __name__ == "__main__":
    main()
