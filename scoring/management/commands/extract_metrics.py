"""``manage.py extract_metrics [KEY_PATH...]``: extract metrics from every stored raw payload.

With no key path, every tracked metric. Use after marking metrics tracked in bulk, or
after restoring pings from a backup.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.models import MetricDefinition
from scoring.tracking import metric_values_backfill


class Command(BaseCommand):
    help = "Extract tracked metrics from stored raw payloads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_paths", nargs="*", metavar="KEY_PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        tracked = set(
            MetricDefinition.objects.filter(is_tracked=True).values_list("key_path", flat=True)
        )
        key_paths = options["key_paths"] or sorted(tracked)
        if untracked := [k for k in key_paths if k not in tracked]:
            raise CommandError(
                f"Not tracked (track them in the admin first): {', '.join(untracked)}"
            )
        updated = metric_values_backfill(key_paths=key_paths)
        self.stdout.write(f"{updated} pings updated for {len(key_paths)} metrics.")
