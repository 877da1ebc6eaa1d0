"""The bulk writers behave the same on PostgreSQL (COPY) and SQLite (bulk_create)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import ChecklistProgress
from scoring.models import AccountUsage
from tests.factories import AccountFactory
from usagehub.bulk import copy_rows, copy_upsert

pytestmark = pytest.mark.django_db

FIELDS = ["billable_users", "computed_at"]


def _usage(account, billable, moment):
    return AccountUsage(account=account, billable_users=billable, computed_at=moment)


def test_upsert_inserts_then_updates_and_the_last_of_one_key_wins():
    account, now = AccountFactory(), timezone.now()
    copy_upsert([_usage(account, 1, now)], unique_fields=["account"], update_fields=FIELDS)
    copy_upsert(
        [_usage(account, 2, now), _usage(account, 3, now)],
        unique_fields=["account"],
        update_fields=FIELDS,
    )
    assert AccountUsage.objects.get(account=account).billable_users == 3


def test_upsert_keeps_a_stored_row_that_is_newer():
    account, now = AccountFactory(), timezone.now()
    copy_upsert([_usage(account, 1, now)], unique_fields=["account"], update_fields=FIELDS)
    older = _usage(account, 2, now - dt.timedelta(hours=1))
    copy_upsert([older], unique_fields=["account"], update_fields=FIELDS, keep_newer="computed_at")
    assert AccountUsage.objects.get(account=account).billable_users == 1


def test_upsert_twice_in_one_transaction_reuses_its_scratch_table():
    first, second, now = AccountFactory(), AccountFactory(), timezone.now()
    with transaction.atomic():
        copy_upsert([_usage(first, 1, now)], unique_fields=["account"], update_fields=FIELDS)
        copy_upsert([_usage(second, 2, now)], unique_fields=["account"], update_fields=FIELDS)
    assert AccountUsage.objects.count() == 2


def test_copy_rows_inserts_plain_values(owner):
    from accounts.models import AccountUseCase, ChecklistItem

    item = ChecklistItem.objects.first()
    link = AccountUseCase.objects.create(account=AccountFactory(), use_case=item.use_case)
    copy_rows(
        ChecklistProgress,
        ["account_use_case", "item", "done", "changed_at"],
        [(link.pk, item.pk, True, timezone.now())],
    )
    assert ChecklistProgress.objects.get().done
