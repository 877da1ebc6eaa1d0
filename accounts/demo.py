"""The CRM side of the demo book: teams, CSMs and ~60 accounts. Running it again changes
nothing.

Everything is keyed by a natural key (username, CRM id, subscription id, instance uuid,
objective title, an activity's demo key) and written through the same services the API
uses, so a second run finds every row already in place. ``manage.py seed_demo`` (in the
scoring app) calls this, then feeds the usage side.
"""

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import (
    Account,
    AccountUseCase,
    Activity,
    Instance,
    Milestone,
    Objective,
    Persona,
    Team,
    Tier,
    UseCase,
    User,
)

DEMO_PASSWORD = "usagehub-demo"  # noqa: S105 — printed for the demo on purpose  # nosec B105
ACCOUNT_COUNT = 60

TEAMS = {
    "Enterprise East": (
        "erin",
        [("alice", "Alice", "Ng"), ("bob", "Bob", "Okafor"), ("carol", "Carol", "Diaz")],
    ),
    "Enterprise West": (
        "wes",
        [("dave", "Dave", "Kim"), ("emma", "Emma", "Rossi"), ("farid", "Farid", "Haddad")],
    ),
    "Commercial": ("casey", [("gina", "Gina", "Moreau"), ("hugo", "Hugo", "Lind")]),
}
PREFIXES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Massive",
    "Nakatomi",
    "Pied Piper",
    "Dunder",
    "Monarch",
]
SUFFIXES = [
    "Systems",
    "Bank",
    "Health",
    "Logistics",
    "Energy",
    "Retail",
    "Labs",
    "Insurance",
    "Telecom",
    "Media",
]
NOTES = [
    "Quarterly business review held; team keen to consolidate on one platform.",
    "Champion moved teams; need a new technical contact.",
    "Migration of the remaining repositories scheduled for next month.",
    "Security team evaluating scanners; asked for a DAST workshop.",
    "Runner capacity complaints; recommended autoscaling runners.",
]
SENTIMENT_REASONS = {
    "green": "Strong executive sponsor and steady growth in active users.",
    "yellow": "Adoption stalled after the pilot; budget review pending.",
    "red": "Escalation over outages; renewal at risk.",
}


def _crm_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "001" + "".join(rng.choice(alphabet) for _ in range(15))


def demo_book_seed(*, today: dt.date) -> None:
    """Create or refresh the demo teams, users and accounts (the CRM side)."""
    DemoBook().seed(today)


class DemoBook:
    def seed(self, today: dt.date) -> None:
        rng = random.Random(20261128)  # a fixed seed: the same demo book every run  # nosec B311
        with transaction.atomic():
            csms = self._people()
            personas = list(Persona.objects.order_by("key"))
            use_cases = list(UseCase.objects.filter(is_active=True))
            for index in range(ACCOUNT_COUNT):
                self._account(index, rng, today, csms, personas, use_cases)

    def _user(self, username: str, first: str, last: str, **fields: Any) -> User:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.usagehub.test",
                **fields,
            },
        )
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _people(self) -> list[User]:
        self._user(
            "admin",
            "Ada",
            "Admin",
            role=User.Role.ADMIN,
            is_staff=True,
            is_superuser=True,
            team=None,
        )
        csms = []
        for team_name, (manager, members) in TEAMS.items():
            team, _ = Team.objects.get_or_create(name=team_name)
            self._user(manager, manager.title(), "Manager", role=User.Role.MANAGER, team=team)
            csms += [self._user(u, f, la, role=User.Role.CSM, team=team) for u, f, la in members]
        return csms

    def _account(
        self,
        index: int,
        rng: random.Random,
        today: dt.date,
        csms: list[User],
        personas: list[Persona],
        use_cases: list[UseCase],
    ) -> None:
        name = f"{PREFIXES[index % len(PREFIXES)]} {SUFFIXES[(index * 7) % len(SUFFIXES)]}"
        if index >= len(PREFIXES):
            name += f" {['Europe', 'APAC'][index // len(PREFIXES) - 1]}"
        crm_id = _crm_id(rng)
        tenure_days = rng.choice([20, 75, 150, 240, 400, 700, 1100])
        account, _ = services.account_upsert(
            crm_id=crm_id,
            name=name,
            owner=csms[index % len(csms)],
            priority=rng.choice([1, 2, 2, 3]),
            lifecycle_stage=rng.choice(Account.Lifecycle.values),
            customer_since=today - dt.timedelta(days=tenure_days),
            strategy=""
            if index % 5 == 0
            else f"Standardise {name} on one DevSecOps platform; grow to all business units.",
        )
        plan = rng.choice([Tier.PREMIUM, Tier.PREMIUM, Tier.ULTIMATE])
        seats = rng.choice([50, 100, 250, 500, 1000, 2500])
        start = account.customer_since or today
        subscription, _ = services.subscription_upsert(
            external_id=f"SUB-{crm_id[-8:]}",
            account=account,
            plan=plan,
            licensed_seats=seats,
            arr=Decimal(seats * (99 if plan == Tier.ULTIMATE else 29) * 12),
            start_date=start,
            renewal_date=start + dt.timedelta(days=365 * (tenure_days // 365 + 1)),
        )
        namespace = uuid.UUID(int=index + 1)
        services.instance_upsert(
            account=account,
            subscription=subscription,
            uuid=str(uuid.uuid5(namespace, "production")),
            hostname=f"gitlab.{name.split()[0].lower()}.example",
            included_in_health=True,
            instance_type=Instance.Type.PRODUCTION,
        )
        if index % 3 == 0:
            services.instance_upsert(
                account=account,
                subscription=subscription,
                uuid=str(uuid.uuid5(namespace, "staging")),
                hostname=f"gitlab-staging.{name.split()[0].lower()}.example",
                instance_type=Instance.Type.NON_PRODUCTION,
                included_in_health=False,
            )
        self._use_cases(account, rng, use_cases)
        self._objectives(account, rng, today)
        self._timeline(account, rng, today, personas)

    def _use_cases(self, account: Account, rng: random.Random, use_cases: list[UseCase]) -> None:
        for use_case in use_cases:
            AccountUseCase.objects.get_or_create(
                account=account,
                use_case=use_case,
                defaults={"status": rng.choice(AccountUseCase.Status.values[:3])},
            )

    def _objectives(self, account: Account, rng: random.Random, today: dt.date) -> None:
        specs = [
            ("Roll out CI to every product team", Objective.Status.ACTIVE, 45),
            ("Cut release lead time from 2 weeks to 2 days", Objective.Status.DRAFT, 120),
        ]
        if rng.random() < 0.3:
            specs.append(("Replace legacy Jenkins", Objective.Status.ACTIVE, -10))  # overdue
        for title, status, due_in in specs:
            objective = Objective.objects.filter(account=account, title=title).first()
            if objective is None:
                objective = services.objective_create(
                    account=account,
                    title=title,
                    status=status,
                    owner=account.owner,
                    due_date=today + dt.timedelta(days=due_in),
                    success_criteria="Measured from Service Ping usage data.",
                )
                Milestone.objects.bulk_create(
                    Milestone(objective=objective, title=t, position=p)
                    for p, t in enumerate(["Kick-off", "Pilot team live", "All teams live"], 1)
                )

    def _timeline(
        self, account: Account, rng: random.Random, today: dt.date, personas: list[Persona]
    ) -> None:
        def at(days_ago: int) -> dt.datetime:
            return timezone.make_aware(
                dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(15, 0))
            )

        sentiment = rng.choice(["green", "green", "yellow", "red"])
        entries: list[tuple[str, dict[str, Any], list[Persona]]] = [
            (
                "note",
                {
                    "kind": Activity.Kind.NOTE,
                    "occurred_at": at(rng.randint(1, 40)),
                    "body": rng.choice(NOTES),
                },
                [],
            ),
            (
                "meeting",
                {
                    "kind": Activity.Kind.MEETING,
                    "occurred_at": at(rng.randint(5, 100)),
                    "body": "Cadence call",
                },
                rng.sample(personas, k=rng.randint(1, 3)),
            ),
            (
                "sentiment",
                {
                    "kind": Activity.Kind.SENTIMENT,
                    "occurred_at": at(rng.randint(3, 130)),
                    "sentiment": sentiment,
                    "body": SENTIMENT_REASONS[sentiment],
                },
                [],
            ),
            (
                "tickets",
                {
                    "kind": Activity.Kind.SUPPORT_TICKETS,
                    "occurred_at": at(2),
                    "ticket_count": rng.choice([0, 2, 4, 9, 18]),
                    "body": "Support tickets, last 30 days",
                },
                [],
            ),
        ]
        for key, fields, met in entries:
            demo_key = f"{account.crm_id}:{key}"
            activity = Activity.objects.filter(account=account, data__demo_key=demo_key).first()
            if activity is None:
                activity = Activity.objects.create(
                    account=account, author=account.owner, data={"demo_key": demo_key}, **fields
                )
                activity.personas.set(met)
