"""``manage.py ingest_pings PATH...``: .json, .ndjson and .gz files or folders, streamed
through the same service as the API. Exits non-zero when anything was rejected."""

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.ingestion import IngestResult, pings_ingest
from scoring.ndjson import Line, file_lines
from scoring.payload import Limits

SUFFIXES = (".json", ".ndjson", ".json.gz", ".ndjson.gz")
FIRST_REASONS = 10


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"No such file or folder: {name}")
    return found


class Progress:
    """A one-line progress bar on a terminal; silent otherwise (logs, CI)."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.total = max(total_bytes, 1)
        self.enabled = enabled
        self.done = 0

    def advance(self, size: int, counts: Counter[str]) -> None:
        self.done += size
        if self.enabled:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            sys.stderr.write(f"\r[{bar:<30}] {share:5.1%}  {sum(counts.values())} pings")

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class Command(BaseCommand):
    help = "Ingest Service Ping payloads from .json, .ndjson and .gz files or folders."
    # A data command run from cron on every delivery: the system checks import the whole
    # URLconf and admin (a quarter of a second each run) and are the deploy's job.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        files = _files(options["paths"])
        limits = Limits(max_bytes=settings.INGEST_MAX_PAYLOAD_BYTES)
        progress = Progress(sum(f.stat().st_size for f in files), sys.stderr.isatty())
        counts: Counter[str] = Counter()
        reasons: list[str] = []
        for path in files:
            lines = _sized(file_lines(path, max_line_bytes=limits.max_bytes), progress, counts)
            for result in pings_ingest(lines=lines, source="cli", limits=limits):
                counts[result.status] += 1
                if result.error is not None and len(reasons) < FIRST_REASONS:
                    reasons.append(_reason(path, result))
        progress.close()
        self.stdout.write(
            ", ".join(f"{counts[s]} {s}" for s in ("accepted", "duplicate", "conflict", "rejected"))
        )
        for reason in reasons:
            self.stdout.write(reason)
        if counts["rejected"] or counts["conflict"]:
            raise CommandError(
                f"{counts['rejected']} rejected and {counts['conflict']} in conflict."
            )


def _sized(lines: Iterator[Line], progress: Progress, counts: Counter[str]) -> Iterator[Line]:
    for number, raw in lines:
        progress.advance(len(raw) if isinstance(raw, bytes) else 0, counts)
        yield number, raw


def _reason(path: Path, result: IngestResult) -> str:
    error = result.error
    where = f" {error.field}:" if error and error.field else ""
    return f"{result.status.upper()} {path}:{result.line}:{where} {error.message if error else ''}"
