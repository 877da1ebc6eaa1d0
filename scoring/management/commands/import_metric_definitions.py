"""Import GitLab metric definition YAML files into the metrics dictionary.

Exits non-zero when any file was rejected or a path does not exist, so a script
or CI job notices; every acceptable file is imported either way.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.metric_definitions import metric_definitions_import


class Command(BaseCommand):
    help = "Import metric definition YAML files; folders are searched for *.yml / *.yaml."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        report = metric_definitions_import(paths=paths)
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged}, rejected {report.rejected}"
        )
        for path, reason in report.rejections:
            self.stdout.write(f"REJECTED {path}: {reason}")
        for earlier, later in report.superseded:
            self.stdout.write(f"SUPERSEDED {earlier}: same key_path as {later}, which wins")
        if report.rejections:
            raise CommandError(f"{report.rejected} file(s) rejected")
