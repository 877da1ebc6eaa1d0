"""``manage.py create_api_key --name NAME --scopes ingest,read [--user USERNAME]``.

Prints the new key as the last line; only its hash is stored, so it cannot be shown again.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.api_keys import api_key_create
from accounts.models import User
from usagehub.errors import DomainError


class Command(BaseCommand):
    help = "Create an API key and print it (once) as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated: ingest,read,write")
        parser.add_argument("--user", help="username the key acts for (default: service key)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            key, raw_key = api_key_create(name=options["name"], scopes=scopes, user=user)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"Created API key {key} with scopes {', '.join(key.scopes)}.")
        self.stdout.write(raw_key)
