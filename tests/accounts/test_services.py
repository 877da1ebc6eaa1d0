"""CRM-side writes: idempotent upserts and the objective lifecycle."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts import services
from accounts.models import Account, Instance, Objective
from tests.factories import AccountFactory, ObjectiveFactory, SubscriptionFactory
from usagehub.errors import DomainError

pytestmark = pytest.mark.django_db


def test_account_upsert_twice_leaves_one_unchanged_row(owner):
    first, created = services.account_upsert(crm_id="0015g00000ABCDEFGH", name="Acme", owner=owner)
    stamp = first.updated_at
    again, changed = services.account_upsert(crm_id="0015g00000ABCDEFGH", name="Acme", owner=owner)
    assert created and not changed
    assert Account.objects.count() == 1
    again.refresh_from_db()
    assert again.pk == first.pk and again.updated_at == stamp


def test_account_upsert_updates_only_what_changed(owner):
    services.account_upsert(crm_id="001A", name="Acme", owner=owner, priority=2)
    account, changed = services.account_upsert(crm_id="001A", name="Acme Corp", owner=owner)
    assert changed
    account.refresh_from_db()
    assert account.name == "Acme Corp"


def test_account_upsert_refuses_bad_values_with_the_field_named():
    with pytest.raises(DomainError) as error:
        services.account_upsert(crm_id="001A", name="Acme", priority=7)
    assert error.value.field == "priority"
    assert not Account.objects.exists()


def test_subscription_upsert_refuses_renewal_before_start(account):
    with pytest.raises(DomainError) as error:
        services.subscription_upsert(
            external_id="SUB-1",
            account=account,
            licensed_seats=10,
            arr=Decimal(0),
            start_date=dt.date(2026, 5, 1),
            renewal_date=dt.date(2026, 1, 1),
        )
    assert "renewal" in error.value.message.lower() or error.value.field == "renewal_date"


def test_subscription_upsert_is_idempotent(account):
    kwargs = {
        "external_id": "SUB-1",
        "account": account,
        "licensed_seats": 100,
        "arr": Decimal("1200.00"),
        "start_date": dt.date(2026, 1, 1),
        "renewal_date": dt.date(2027, 1, 1),
    }
    _, created = services.subscription_upsert(**kwargs)
    _, changed = services.subscription_upsert(**kwargs)
    assert created and not changed


def test_instance_upsert_needs_exactly_one_identity(account):
    with pytest.raises(DomainError):
        services.instance_upsert(account=account)
    with pytest.raises(DomainError):
        services.instance_upsert(account=account, uuid="u", namespace_id="n")


def test_instance_upsert_refuses_another_accounts_subscription(account):
    foreign = SubscriptionFactory()
    with pytest.raises(DomainError) as error:
        services.instance_upsert(account=account, uuid="u-1", subscription=foreign)
    assert error.value.field == "subscription"
    assert not Instance.objects.exists()


def test_instance_upsert_can_move_an_instance_to_another_account(account):
    services.instance_upsert(account=AccountFactory(), uuid="u-1")
    instance, changed = services.instance_upsert(account=account, uuid="u-1")
    assert changed and instance.account == account and Instance.objects.count() == 1


def test_closing_an_objective_requires_an_outcome_summary(account):
    objective = ObjectiveFactory(account=account)
    with pytest.raises(DomainError) as error:
        services.objective_close(objective=objective, status="achieved", outcome_summary="  ")
    assert error.value.field == "outcome_summary"
    objective.refresh_from_db()
    assert objective.status == Objective.Status.ACTIVE


def test_closing_records_outcome_and_time(account):
    objective = ObjectiveFactory(account=account)
    services.objective_close(
        objective=objective, status="achieved", outcome_summary="All 12 teams on CI."
    )
    objective.refresh_from_db()
    assert objective.status == "achieved" and objective.closed_at is not None
    with pytest.raises(DomainError) as error:
        services.objective_close(objective=objective, status="missed", outcome_summary="again")
    assert error.value.code == "conflict"


def test_closed_objectives_are_not_edited(account):
    objective = ObjectiveFactory(account=account)
    services.objective_close(objective=objective, status="abandoned", outcome_summary="Re-org.")
    with pytest.raises(DomainError):
        services.objective_update(objective=objective, title="New title")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "achieved"}, "status"),
        ({"closed_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "closed_at"),
        ({"account": None}, "account"),
    ],
)
def test_objective_update_refuses_fields_it_does_not_own(account, fields, field):
    objective = ObjectiveFactory(account=account)
    with pytest.raises(DomainError) as error:
        services.objective_update(objective=objective, **fields)
    assert error.value.field == field


def test_objective_update_saves_editable_fields(account):
    objective = ObjectiveFactory(account=account)
    services.objective_update(objective=objective, title="Ship CD", due_date=dt.date(2027, 1, 1))
    objective.refresh_from_db()
    assert (objective.title, objective.due_date) == ("Ship CD", dt.date(2027, 1, 1))


def test_objective_create_validates_metric_criteria(account):
    with pytest.raises(DomainError):
        services.objective_create(
            account=account, title="CI", metric_key_path="counts.ci_builds", comparison="gte"
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_crm_id_store_one_row(on_postgres):
    errors: list[BaseException] = []

    def sync() -> None:
        try:
            services.account_upsert(crm_id="001RACE", name="Race Corp")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sync) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Account.objects.filter(crm_id="001RACE").count() == 1
