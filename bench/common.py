"""Shared pieces of the benchmarks: a scratch PostgreSQL database, payload files, timing."""

import datetime as dt
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

CONTENT_LENGTH = re.compile(rb"(?im)^content-length: *(\d+)")
CONNECTION_CLOSE = re.compile(rb"(?im)^connection: *close")

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "usagehub_bench"
BENCH_URL = ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def fresh_database() -> str:
    """Drop and recreate the scratch database, migrate it, return its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    manage("migrate", "--no-input", "-v0")
    return BENCH_URL


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env or bench_env(),
        check=True,
        capture_output=True,
        text=True,
    )


def bench_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": BENCH_URL, "DJANGO_DEBUG": "true", **extra}


def production_env(**extra: str) -> dict[str, str]:
    """``bench_env`` on production settings (DEBUG off), for servers measured over HTTP."""
    return bench_env(
        DJANGO_DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECRET_KEY="bench-only-secret-key-that-is-long-enough-for-django-checks-0",
        SECURE_SSL_REDIRECT="false",
        **extra,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.perf_counter()
    yield box
    box.append(time.perf_counter() - started)


def recorded(week: int) -> str:
    return (dt.datetime(2026, 11, 23, tzinfo=dt.UTC) - dt.timedelta(weeks=week)).isoformat()


def dumps(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def post_request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A whole HTTP/1.1 POST, prepared before the clock starts."""
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class KeepAliveClient:
    """Sends prepared requests on one keep-alive connection and reads each status.

    The load generator shares the 2 cores with the server it measures, so it should
    cost little: ``http.client`` parses every response's headers with the email
    package, about 4x this client's CPU per request.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.pending = b""

    def exchange(self, request: bytes) -> int:
        """Send ``request``, return the response's status. A connection the server
        closes (``Connection: close``, or a worker recycled by ``max_requests`` between
        requests) is reopened."""
        try:
            return self._exchange(request)
        except ConnectionError:
            self._connect()
            return self._exchange(request)

    def _exchange(self, request: bytes) -> int:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._recv()
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        length = CONTENT_LENGTH.search(head)
        size = int(length.group(1)) if length else 0
        while len(rest) < size:
            rest += self._recv()
        self.pending = rest[size:]
        if CONNECTION_CLOSE.search(head):  # a sync gunicorn worker closes after each response
            self._connect()
        return int(head[9:12])

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()
