"""``manage.py seed_demo``: the demo book, both sides, idempotent.

The CRM side first (teams, CSMs with the demo password, ~60 accounts), then 26 weeks of
pings per instance through the real ingestion path, scored week by week.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, demo_book_seed
from accounts.models import Account
from scoring.demo import demo_usage_seed


class Command(BaseCommand):
    help = "Load the demo book: teams, CSMs, ~60 accounts and 26 weeks of usage. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        demo_book_seed(today=today)
        counts = demo_usage_seed(today=today)
        pings = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo book ready: {Account.objects.count()} accounts; pings: {pings}. "
                f"Demo password for every user: {DEMO_PASSWORD}"
            )
        )
