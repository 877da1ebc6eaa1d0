"""``manage.py prune_raw_payloads --older-than-days 400``: drop raw payloads of old pings.

Extracted metrics, license fields and identity stay, so scores and history are intact;
what is lost is the ability to extract a newly tracked metric from those old pings.
Runs in batches so it never holds a long lock.
"""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from scoring.models import UsagePing

BATCH = 5_000


class Command(BaseCommand):
    help = "Drop raw payloads of pings recorded before a cut-off; keep extracted values."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, required=True)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        if days < 30:
            raise CommandError("Keep at least 30 days of raw payloads (--older-than-days ≥ 30).")
        cutoff = timezone.now() - dt.timedelta(days=days)
        old = UsagePing.objects.filter(recorded_at__lt=cutoff, payload__isnull=False)
        if options["dry_run"]:
            self.stdout.write(
                f"{old.count()} pings recorded before {cutoff:%Y-%m-%d} would lose "
                "their raw payload."
            )
            return
        pruned = 0
        while ids := list(old.values_list("pk", flat=True)[:BATCH]):
            pruned += UsagePing.objects.filter(pk__in=ids).update(payload=None)
        self.stdout.write(f"{pruned} raw payloads dropped (recorded before {cutoff:%Y-%m-%d}).")
