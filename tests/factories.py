"""factory_boy factories for the CRM side."""

import datetime as dt
import uuid as uuid_lib
from decimal import Decimal

import factory

from accounts.models import (
    Account,
    Activity,
    Instance,
    Objective,
    Subscription,
    Team,
    User,
)


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    team = factory.SubFactory(TeamFactory)
    role = User.Role.CSM
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Customer {n}")
    crm_id = factory.Sequence(lambda n: f"001{n:015d}")
    owner = factory.SubFactory(UserFactory)
    customer_since = dt.date(2025, 1, 15)


class SubscriptionFactory(factory.django.DjangoModelFactory[Subscription]):
    class Meta:
        model = Subscription

    account = factory.SubFactory(AccountFactory)
    external_id = factory.Sequence(lambda n: f"SUB-{n:06d}")
    licensed_seats = 100
    arr = Decimal("34800.00")
    start_date = dt.date(2025, 1, 15)
    renewal_date = dt.date(2026, 1, 15)


class InstanceFactory(factory.django.DjangoModelFactory[Instance]):
    class Meta:
        model = Instance

    account = factory.SubFactory(AccountFactory)
    uuid = factory.LazyFunction(lambda: str(uuid_lib.uuid4()))
    hostname = factory.Sequence(lambda n: f"gitlab{n}.example.com")
    instance_type = Instance.Type.PRODUCTION


class ObjectiveFactory(factory.django.DjangoModelFactory[Objective]):
    class Meta:
        model = Objective

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Objective {n}")
    status = Objective.Status.ACTIVE


class NoteFactory(factory.django.DjangoModelFactory[Activity]):
    class Meta:
        model = Activity

    account = factory.SubFactory(AccountFactory)
    kind = Activity.Kind.NOTE
    occurred_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC))
    body = "Talked about CI."
