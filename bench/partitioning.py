"""Partitioning prototype (issue 7): pings partitioned by month against one table.

Runs after ``bench/recompute.py`` on its scratch database (520,000 pings over 26 weeks).
Copies the same rows into two scratch tables shaped like ``scoring_usageping`` — one
plain, one ``PARTITION BY RANGE (recorded_at)`` by month, with the same indexes — then
times, on both: the load, the two reads recompute makes (each instance's latest ping; 28
days of history), and retention (drop the two oldest months: DELETE against DETACH +
DROP). Ratios are partitioned ÷ plain, measured in the same run.
"""

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL

RUNS = 15
INSTANCES = 1000
SHAPE = "(LIKE scoring_usageping INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
INDEXES = [
    "CREATE INDEX ON {t} (instance_id, recorded_at DESC)",
    "CREATE UNIQUE INDEX ON {t} (instance_uuid, recorded_at) WHERE instance_uuid IS NOT NULL",
]
LATEST = (
    "SELECT DISTINCT ON (instance_id) id, billable_users, metrics FROM {t} "
    "WHERE instance_id = ANY(%s) ORDER BY instance_id, recorded_at DESC"
)
HISTORY = (
    "SELECT instance_id, recorded_at, billable_users FROM {t} "
    "WHERE instance_id = ANY(%s) AND recorded_at >= %s"
)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def timed(conn: psycopg.Connection, sql: str, params: tuple = ()) -> float:
    started = time.perf_counter()
    cursor = conn.execute(sql, params)
    if cursor.description is not None:  # a read: fetch what it returns
        cursor.fetchall()
    return time.perf_counter() - started


def main() -> None:
    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        span = conn.execute(
            "SELECT min(recorded_at)::date, max(recorded_at)::date FROM scoring_usageping"
        ).fetchone()
        assert span is not None  # an aggregate always returns a row
        first, last = span
        buckets = months(first, last)
        for table in ("proto_plain", "proto_monthly"):
            conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        conn.execute(f"CREATE TABLE proto_plain {SHAPE}")
        conn.execute(f"CREATE TABLE proto_monthly {SHAPE} PARTITION BY RANGE (recorded_at)")
        for start in buckets:
            end = (start + dt.timedelta(days=32)).replace(day=1)
            conn.execute(
                f"CREATE TABLE proto_monthly_{start:%Y_%m} PARTITION OF proto_monthly "
                f"FOR VALUES FROM ('{start}') TO ('{end}')"
            )
        for table in ("proto_plain", "proto_monthly"):
            for index in INDEXES:
                conn.execute(index.format(t=table))
        load = {
            t: timed(conn, f"INSERT INTO {t} SELECT * FROM scoring_usageping")
            for t in ("proto_plain", "proto_monthly")
        }
        conn.execute("ANALYZE proto_plain")
        conn.execute("ANALYZE proto_monthly")
        rows = (conn.execute("SELECT count(*) FROM proto_plain").fetchone() or (0,))[0]
        instances = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT instance_id FROM scoring_usageping ORDER BY 1 LIMIT %s",
                (INSTANCES,),
            )
        ]
        since = last - dt.timedelta(days=28)
        reads: dict[str, dict[str, float]] = {}
        for name, sql, params in [
            ("latest ping of 1,000 instances", LATEST, (instances,)),
            ("28 days of history of 1,000 instances", HISTORY, (instances, since)),
        ]:
            reads[name] = {
                t: statistics.median(timed(conn, sql.format(t=t), params) for _ in range(RUNS))
                for t in ("proto_plain", "proto_monthly")
            }
        cutoff = buckets[2]
        drop_plain = timed(conn, "DELETE FROM proto_plain WHERE recorded_at < %s", (cutoff,))
        started = time.perf_counter()
        for start in buckets[:2]:
            conn.execute(f"ALTER TABLE proto_monthly DETACH PARTITION proto_monthly_{start:%Y_%m}")
            conn.execute(f"DROP TABLE proto_monthly_{start:%Y_%m}")
        drop_monthly = time.perf_counter() - started
        for table in ("proto_plain", "proto_monthly"):
            conn.execute(f"DROP TABLE {table} CASCADE")

    print(
        f"partitioning prototype: {rows} pings, {len(buckets)} monthly partitions "
        f"({first} – {last}); medians of {RUNS} runs; PostgreSQL"
    )
    print(f"{'operation':<44}{'plain s':>10}{'monthly s':>11}{'ratio':>8}")
    lines = [("load (INSERT … SELECT)", load["proto_plain"], load["proto_monthly"])]
    lines += [(name, r["proto_plain"], r["proto_monthly"]) for name, r in reads.items()]
    lines.append(("drop the 2 oldest months", drop_plain, drop_monthly))
    for name, plain, monthly in lines:
        print(f"{name:<44}{plain:>10.4f}{monthly:>11.4f}{monthly / plain:>8.2f}")


if __name__ == "__main__":
    main()
