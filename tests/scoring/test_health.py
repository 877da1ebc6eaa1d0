"""Batch recompute end to end on the database: snapshots, ledger, versions, checklists,
alerts and a constant number of queries per batch."""

import datetime as dt
import json
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import (
    AccountUseCase,
    Activity,
    ChecklistItem,
    ChecklistProgress,
    Subscription,
    UseCase,
)
from scoring import health
from scoring.health import accounts_preview, accounts_recompute
from scoring.ingestion import pings_ingest
from scoring.models import Alert, Band, Scorecard, ScoreSnapshot
from scoring.scorecards import card_spec, scorecard_draft_create, scorecard_publish
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db
S = "usage_activity_by_stage_monthly"


def _customer(ci_users=40, billable=100, seats=100, plan="premium", **account):
    customer = AccountFactory(customer_since=dt.date(2025, 1, 1), **account)
    SubscriptionFactory(
        account=customer,
        licensed_seats=seats,
        plan=plan,
        start_date=dt.date(2025, 1, 1),
        renewal_date=dt.date(2027, 1, 1),
    )
    instance = InstanceFactory(account=customer)
    _ping(instance.uuid, ci_users=ci_users, billable=billable, seats=seats)
    return customer


def _ping(uuid, *, ci_users, billable, seats, day=None):
    day = day or timezone.localdate() - dt.timedelta(days=1)
    body = {
        "uuid": uuid,
        "recorded_at": f"{day.isoformat()}T06:00:00Z",
        "license_billable_users": billable,
        "license_user_count": seats,
        S: {
            "verify": {"ci_pipelines": ci_users, "ci_internal_pipelines": 300},
            "create": {"action_monthly_active_users_project_repo": 60, "merge_requests": 80},
        },
        "counts_monthly": {"ci_internal_pipelines": 300},
    }
    list(pings_ingest(lines=[(1, json.dumps(body).encode())], source="api"))


def test_a_recompute_stores_a_snapshot_naming_its_version_with_a_full_ledger():
    customer = _customer()
    accounts_recompute(account_ids=[customer.pk])
    snapshot = ScoreSnapshot.objects.get(account=customer)
    assert snapshot.scorecard.version == 1
    ci = next(line for line in snapshot.ledger if line["key"] == "ci_pipeline_users")
    assert ci["colour"] == "green"
    assert ci["value"] == pytest.approx(0.4)
    assert ci["inputs"]["numerator"] == {f"{S}.verify.ci_pipelines": 40.0}
    assert ci["band"]["green_from"] == 0.333
    product = next(line for line in snapshot.ledger if line["key"] == "ci")
    assert product["weight"] > 0
    assert snapshot.overall_score is not None
    assert customer.usage.billable_users == 100


def test_recomputing_unchanged_inputs_changes_nothing():
    customer = _customer()
    accounts_recompute(account_ids=[customer.pk])
    first = ScoreSnapshot.objects.get(account=customer)
    assert accounts_recompute(account_ids=[customer.pk]) == 0
    again = ScoreSnapshot.objects.get(account=customer)
    assert again.computed_at == first.computed_at


def test_new_data_the_same_day_updates_the_days_snapshot_in_place():
    customer = _customer(ci_users=5)
    accounts_recompute(account_ids=[customer.pk])
    _ping(
        customer.instances.get().uuid,
        ci_users=50,
        billable=100,
        seats=100,
        day=timezone.localdate(),
    )
    accounts_recompute(account_ids=[customer.pk])
    snapshot = ScoreSnapshot.objects.get(account=customer)
    assert snapshot.use_cases["ci"] == "green"


def test_editing_a_threshold_changes_the_next_computation_and_old_snapshots_keep_their_version():
    customer = _customer(ci_users=40)
    accounts_recompute(account_ids=[customer.pk], as_of=timezone.localdate() - dt.timedelta(days=1))
    draft = scorecard_draft_create(source=Scorecard.objects.get(version=1))
    Band.objects.filter(measure__scorecard=draft, measure__key="ci_pipeline_users").update(
        green_from=0.5
    )
    changes = accounts_preview(scorecard=draft, account_ids=[customer.pk])
    scorecard_publish(draft=draft)
    accounts_recompute(account_ids=[customer.pk])
    old, new = ScoreSnapshot.objects.filter(account=customer).order_by("as_of")
    assert old.scorecard.version == 1
    assert new.scorecard.version == 2
    assert old.use_cases["ci"] == "green"
    assert new.use_cases["ci"] != "green"
    assert isinstance(changes, list)


def test_metric_checklist_items_tick_and_untick_themselves():
    customer = _customer(ci_users=40)
    accounts_recompute(account_ids=[customer.pk])
    ticked = ChecklistProgress.objects.filter(
        account_use_case__account=customer, item__use_case__key="ci", done=True
    )
    assert ticked.filter(item__metric_key_path=f"{S}.verify.ci_pipelines").exists()
    _ping(
        customer.instances.get().uuid, ci_users=2, billable=100, seats=100, day=timezone.localdate()
    )
    accounts_recompute(account_ids=[customer.pk])
    assert not ticked.filter(item__metric_key_path=f"{S}.verify.ci_pipelines").exists()


def test_an_edited_checklist_item_re_ticks_accounts_whose_inputs_did_not_change():
    customer = _customer(ci_users=40)
    accounts_recompute(account_ids=[customer.pk])
    item = ChecklistItem.objects.get(metric_key_path=f"{S}.verify.ci_pipelines")
    progress = ChecklistProgress.objects.filter(account_use_case__account=customer, item=item)
    assert progress.get().done
    item.target_value = 50  # 40 pipeline users no longer meet it
    item.save()
    assert accounts_recompute(account_ids=[customer.pk]) == 1  # the rules changed
    assert not progress.get().done


def test_editing_a_use_case_rescores_accounts_already_scored_today():
    customer = _customer(plan="premium")
    accounts_recompute(account_ids=[customer.pk])
    first = ScoreSnapshot.objects.get(account=customer).computed_at
    UseCase.objects.filter(key="devsecops").update(required_tier="free")
    assert accounts_recompute(account_ids=[customer.pk]) == 1  # same inputs, new rules
    assert ScoreSnapshot.objects.get(account=customer).computed_at > first


def test_an_account_with_no_users_is_at_zero_utilization_not_no_data():
    customer = _customer(billable=0)
    accounts_recompute(account_ids=[customer.pk])
    assert ScoreSnapshot.objects.get(account=customer).utilization == 0


def test_use_case_status_follows_colour_unless_overridden():
    customer = _customer(ci_users=40)
    accounts_recompute(account_ids=[customer.pk])
    ci = AccountUseCase.objects.get(account=customer, use_case__key="ci")
    assert ci.status == "adopted"
    ci.override_status, ci.reason = "in_progress", "Only the pilot team uses CI yet."
    ci.save()
    _ping(
        customer.instances.get().uuid,
        ci_users=41,
        billable=100,
        seats=100,
        day=timezone.localdate(),
    )
    accounts_recompute(account_ids=[customer.pk])
    ci.refresh_from_db()
    assert (ci.computed_status, ci.status) == ("adopted", "in_progress")


def test_an_override_saved_while_a_batch_is_scored_is_kept():
    """The batch read the link before a CSM overrode it; its status update must still
    leave the override's status in place."""
    customer = _customer(ci_users=40)
    accounts_recompute(account_ids=[customer.pk])
    _ping(
        customer.instances.get().uuid, ci_users=1, billable=100, seats=100, day=timezone.localdate()
    )
    scorecard = Scorecard.objects.get(status="published")
    card = card_spec(scorecard)
    read = health._read(
        [customer.pk], timezone.localdate(), True, scorecard, health._rules_digest(card)
    )
    ci = AccountUseCase.objects.get(account=customer, use_case__key="ci")
    ci.override_status, ci.status, ci.reason = "adopted", "adopted", "Pilot signed off."
    ci.save()  # the CSM, between the batch's read and its write
    health._recompute_batch(read, scorecard, card)
    ci.refresh_from_db()
    assert (ci.computed_status, ci.override_status, ci.status) == (
        "in_progress",
        "adopted",
        "adopted",
    )


def test_an_overall_drop_opens_one_alert_updates_it_and_closes_it_when_it_clears():
    customer = _customer(ci_users=40)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    accounts_recompute(account_ids=[customer.pk], as_of=yesterday)
    Activity.objects.create(
        account=customer,
        kind="sentiment",
        sentiment="red",
        body="Escalation",
        occurred_at=timezone.now(),
    )
    accounts_recompute(account_ids=[customer.pk])
    alert = Alert.objects.get(account=customer, kind="overall_dropped")
    assert alert.state == "open"
    assert alert.severity == "critical"
    assert Activity.objects.filter(account=customer, kind="system").exists()
    accounts_recompute(account_ids=[customer.pk])
    assert Alert.objects.filter(account=customer, kind="overall_dropped").count() == 1
    Activity.objects.create(
        account=customer,
        kind="sentiment",
        sentiment="green",
        body="Resolved",
        occurred_at=timezone.now() + dt.timedelta(seconds=1),
    )
    accounts_recompute(account_ids=[customer.pk])
    alert.refresh_from_db()
    assert alert.state == "closed"


def test_seats_over_license_and_expansion_alerts():
    customer = _customer(billable=120, seats=100)
    accounts_recompute(account_ids=[customer.pk])
    kinds = set(Alert.objects.filter(account=customer).values_list("kind", flat=True))
    assert {"over_license", "expansion"} <= kinds


def test_opened_alerts_mail_the_owner_once_the_recompute_commits(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAILS = True
    customer = _customer(billable=120, seats=100, owner=UserFactory(email="csm@example.com"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        accounts_recompute(account_ids=[customer.pk])
    assert mailoutbox == []  # nothing is mailed before the alerts are committed
    for callback in callbacks:
        callback()
    assert {m.to[0] for m in mailoutbox} == {"csm@example.com"}
    assert any("over" in m.subject.lower() or "seat" in m.body.lower() for m in mailoutbox)


def test_a_batch_naming_a_deleted_account_scores_the_others():
    customer = _customer()
    assert accounts_recompute(account_ids=[customer.pk, 987654]) == 1


def test_forecast_flags_seats_beyond_license_at_renewal():
    customer = AccountFactory(customer_since=dt.date(2025, 1, 1))
    SubscriptionFactory(
        account=customer,
        licensed_seats=100,
        start_date=dt.date(2025, 1, 1),
        renewal_date=timezone.localdate() + dt.timedelta(days=120),
    )
    uuid = InstanceFactory(account=customer).uuid
    for weeks_ago, billable in ((6, 50), (4, 70), (2, 90), (0, 98)):
        _ping(
            uuid,
            ci_users=10,
            billable=billable,
            seats=100,
            day=timezone.localdate() - dt.timedelta(weeks=weeks_ago),
        )
    accounts_recompute(account_ids=[customer.pk])
    milestones = ScoreSnapshot.objects.get(account=customer).milestones
    assert milestones["forecast_over_license"] is True
    assert milestones["forecast_billable"] > 100
    assert milestones["util_80_on"] == (timezone.localdate() - dt.timedelta(weeks=2)).isoformat()
    assert milestones["days_to_util_10"] is not None


def test_queries_per_batch_do_not_grow_with_accounts():
    def queries(count: int) -> int:
        ids = [_customer().pk for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            accounts_recompute(account_ids=ids)
        return len(captured)

    assert queries(3) == queries(12)


def test_the_highest_plan_decides_the_tier():
    customer = _customer(plan="premium")
    Subscription.objects.create(
        account=customer,
        external_id="SUB-U",
        plan="ultimate",
        licensed_seats=5,
        start_date=dt.date(2025, 1, 1),
        renewal_date=dt.date(2027, 1, 1),
    )
    accounts_recompute(account_ids=[customer.pk])
    ledger = ScoreSnapshot.objects.get(account=customer).ledger
    devsecops = next(line for line in ledger if line["key"] == "devsecops")
    assert devsecops["freshness"] != "not_applicable"


@pytest.mark.django_db(transaction=True)
def test_a_book_read_ahead_on_a_second_connection_scores_as_batches_one_by_one(
    on_postgres, monkeypatch
):
    """Outside a transaction, the next batch is read on a helper thread (its own
    connection) while this one is written: same snapshots, ticks and statuses as reading
    each batch in turn, and the helper's connection is closed when the run ends."""
    monkeypatch.setattr(health, "BATCH_SIZE", 2)
    customers = [_customer(ci_users=10 * n, billable=100) for n in range(1, 6)]
    ids = [c.pk for c in customers]
    readers: list[str] = []
    read = health._read

    def spied(*args, **kwargs):
        readers.append(threading.current_thread().name)
        return read(*args, **kwargs)

    def scored() -> dict:
        return {
            "snapshots": sorted(
                ScoreSnapshot.objects.values_list("account", "overall_score", "colours", "ledger")
            ),
            "statuses": sorted(AccountUseCase.objects.values_list("account", "use_case", "status")),
            "ticks": sorted(
                ChecklistProgress.objects.values_list("account_use_case__account", "item", "done")
            ),
        }

    def reset() -> None:
        ScoreSnapshot.objects.all().delete()
        AccountUseCase.objects.all().delete()  # and their ticks

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    reset()
    with transaction.atomic():  # inside a transaction: one by one, on this connection
        assert accounts_recompute(account_ids=ids) == 5
    one_by_one = scored()
    reset()
    monkeypatch.setattr(health, "_read", spied)
    before = backends()
    assert accounts_recompute(account_ids=ids) == 5
    assert readers and all(name.startswith("recompute-read") for name in readers)
    assert len(readers) == 3  # five accounts in batches of two
    assert scored() == one_by_one
    assert one_by_one["ticks"]  # the comparison covers ticked items, not only empties
    assert backends() == before
