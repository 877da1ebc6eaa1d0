"""The database itself refuses rows that break the domain's invariants."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Activity, ChecklistItem, Instance, Objective, Subscription, UseCase
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _rejected(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_crm_id_is_unique():
    AccountFactory(crm_id="0015g00000ABCDEFGH")
    _rejected(lambda: AccountFactory(crm_id="0015g00000ABCDEFGH"))


def test_crm_id_cannot_be_blank():
    _rejected(lambda: AccountFactory(crm_id=""))


def test_priority_outside_1_to_3_is_rejected():
    _rejected(lambda: AccountFactory(priority=4))


def test_unknown_lifecycle_stage_is_rejected():
    _rejected(lambda: AccountFactory(lifecycle_stage="hibernating"))


def test_renewal_must_come_after_start():
    _rejected(
        lambda: SubscriptionFactory(
            start_date=dt.date(2026, 5, 1), renewal_date=dt.date(2026, 4, 1)
        )
    )


def test_licensed_seats_cannot_be_negative():
    _rejected(lambda: SubscriptionFactory(licensed_seats=-1))


def test_arr_cannot_be_negative():
    _rejected(lambda: SubscriptionFactory(arr=-5))


def test_subscription_external_id_is_unique():
    SubscriptionFactory(external_id="SUB-1")
    _rejected(lambda: SubscriptionFactory(external_id="SUB-1"))


def test_instance_uuid_is_unique():
    InstanceFactory(uuid="0a2b7c1e-0000-4000-8000-000000000001")
    _rejected(lambda: InstanceFactory(uuid="0a2b7c1e-0000-4000-8000-000000000001"))


@pytest.mark.parametrize(
    ("uuid", "namespace_id"),
    [(None, None), ("", None), ("abc", "42"), (None, "")],
    ids=["neither", "blank-uuid", "both", "blank-namespace"],
)
def test_instance_has_exactly_one_identity(uuid, namespace_id):
    _rejected(lambda: InstanceFactory(uuid=uuid, namespace_id=namespace_id))


def test_saas_namespace_instance_is_accepted():
    assert InstanceFactory(uuid=None, namespace_id="9970").identity == "namespace:9970"


def test_metric_checklist_item_needs_a_condition():
    use_case = UseCase.objects.get(key="ci")
    _rejected(
        lambda: ChecklistItem.objects.create(
            use_case=use_case, title="Pipelines", kind=ChecklistItem.Kind.METRIC
        )
    )


def test_closed_objective_needs_an_outcome_summary():
    account = AccountFactory()
    _rejected(
        lambda: Objective.objects.create(
            account=account, title="Roll out CI", status=Objective.Status.ACHIEVED
        )
    )


def test_objective_metric_criterion_needs_a_target():
    account = AccountFactory()
    _rejected(
        lambda: Objective.objects.create(
            account=account, title="CI", metric_key_path="counts.ci_builds", comparison="gte"
        )
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "sentiment", "body": "no colour"},
        {"kind": "sentiment", "sentiment": "red", "body": ""},
        {"kind": "note", "sentiment": "green", "body": "a note with a colour"},
        {"kind": "support_tickets", "body": "no count"},
        {"kind": "note", "ticket_count": 3, "body": "a note with a count"},
        {"kind": "gossip", "body": "unknown kind"},
    ],
    ids=[
        "sentiment-no-colour",
        "sentiment-no-reason",
        "note-with-colour",
        "tickets-no-count",
        "note-with-count",
        "unknown-kind",
    ],
)
def test_activity_fields_match_its_kind(fields):
    account = AccountFactory()
    _rejected(
        lambda: Activity.objects.create(
            account=account, occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), **fields
        )
    )


def test_deleting_a_subscription_keeps_its_instances():
    subscription = SubscriptionFactory()
    instance = InstanceFactory(account=subscription.account, subscription=subscription)
    subscription.delete()
    instance.refresh_from_db()
    assert instance.subscription is None


def test_default_use_cases_are_seeded_with_checklists():
    keys = list(UseCase.objects.values_list("key", flat=True))
    assert keys == ["scm", "ci", "cd", "devsecops"]
    devsecops = UseCase.objects.get(key="devsecops")
    assert devsecops.required_tier == "ultimate"
    assert all(uc.checklist_items.exists() for uc in UseCase.objects.all())
    assert Subscription.objects.count() == 0 and Instance.objects.count() == 0
