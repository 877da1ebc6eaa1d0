"""The usage side's admin: every change list renders; scorecards go draft → preview → publish."""

import pytest
from django.contrib import admin
from django.urls import reverse

from scoring.health import accounts_recompute
from scoring.models import Scorecard, UsagePing
from tests.scoring.test_health import _customer

pytestmark = pytest.mark.django_db

MODELS = [m for m in admin.site._registry if m._meta.app_label == "scoring"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_change_lists_render_with_bounded_queries(
    client, admin_user, model, django_assert_max_num_queries
):
    client.force_login(admin_user)
    accounts_recompute(account_ids=[_customer().pk, _customer().pk])
    url = reverse(f"admin:scoring_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(15):
        assert client.get(url).status_code == 200


def test_published_scorecards_are_read_only(client, admin_user):
    client.force_login(admin_user)
    published = Scorecard.objects.get(version=1)
    response = client.get(reverse("admin:scoring_scorecard_change", args=[published.pk]))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content


def test_draft_preview_and_publish_through_the_admin(client, admin_user):
    client.force_login(admin_user)
    customer = _customer(ci_users=40)
    accounts_recompute(account_ids=[customer.pk])
    changelist = reverse("admin:scoring_scorecard_changelist")
    v1 = Scorecard.objects.get(version=1)
    client.post(changelist, {"action": "draft_from", "_selected_action": [v1.pk]})
    draft = Scorecard.objects.get(status="draft")
    draft.overall_green_from = 99  # nobody is green any more
    draft.save()
    preview = client.post(changelist, {"action": "preview", "_selected_action": [draft.pk]})
    assert customer.name.encode() in preview.content
    client.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})
    assert Scorecard.objects.get(status="published") == draft
    assert Scorecard.objects.get(version=1).status == "retired"


def test_unmatched_pings_are_mapped_to_an_account_from_the_admin(
    client, admin_user, api, service_key, account
):
    from tests.scoring.payloads import encoded, payload

    client.force_login(admin_user)
    api.post_raw("/api/v1/pings", encoded(payload(uuid="lost-one")), key=service_key)
    ping = UsagePing.objects.get()
    assert ping.instance is None
    response = client.post(
        reverse("admin:scoring_usageping_changelist"),
        {
            "action": "map_to_account",
            "_selected_action": [ping.pk],
            "apply": "1",
            "account": account.pk,
            "instance_type": "production",
        },
    )
    assert response.status_code == 302
    ping.refresh_from_db()
    assert ping.instance.account == account
    assert ping.instance.instance_type == "production"


def _draft():
    from scoring.scorecards import scorecard_draft_create

    return scorecard_draft_create(source=Scorecard.objects.get(version=1))


def test_bands_out_of_order_are_refused_with_a_clear_message():
    from django.core.exceptions import ValidationError

    from scoring.models import Band

    measure = _draft().measures.get(key="ci_pipeline_users")
    band = Band(measure=measure, yellow_from=0.5, green_from=0.2)
    with pytest.raises(ValidationError, match="out of order"):
        band.full_clean()


def test_a_weight_of_zero_is_refused():
    from django.core.exceptions import ValidationError

    measure = _draft().measures.get(key="ci_pipeline_users")
    measure.weight = 0
    with pytest.raises(ValidationError, match="measure_weight_positive"):
        measure.full_clean()


def test_the_admin_refuses_a_key_path_missing_from_the_dictionary(client, admin_user):
    draft = _draft()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:scoring_measure_add"),
        {
            "scorecard": draft.pk,
            "key": "made_up",
            "name": "Made up",
            "kind": "ratio",
            "group": draft.groups.get(key="product").pk,
            "weight": 1,
            "numerator": '["counts.no_such_metric"]',
            "denominator": '["billable_users"]',
            "personas": "[]",
            "unit": "",
            "higher_is_better": "on",
            "required_tier": "free",
            "position": 0,
            "bands-TOTAL_FORMS": 0,
            "bands-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert b"Not in the metrics dictionary: counts.no_such_metric" in response.content


def test_admin_changes_to_use_cases_are_audited_with_before_and_after(client, admin_user):
    import json

    from django.contrib.admin.models import LogEntry

    from accounts.models import UseCase

    client.force_login(admin_user)
    use_case = UseCase.objects.get(key="cd")
    items = list(use_case.checklist_items.all())
    data = {
        "key": "cd",
        "name": "Continuous delivery",
        "description": use_case.description,
        "required_tier": "premium",
        "position": use_case.position,
        "is_active": "on",
        "checklist_items-TOTAL_FORMS": len(items),
        "checklist_items-INITIAL_FORMS": len(items),
    }
    for i, item in enumerate(items):
        data.update(
            {
                f"checklist_items-{i}-id": item.pk,
                f"checklist_items-{i}-use_case": use_case.pk,
                f"checklist_items-{i}-position": item.position,
                f"checklist_items-{i}-title": item.title,
                f"checklist_items-{i}-kind": item.kind,
                f"checklist_items-{i}-metric_key_path": item.metric_key_path,
                f"checklist_items-{i}-comparison": item.comparison,
                f"checklist_items-{i}-target_value": item.target_value or "",
            }
        )
    response = client.post(reverse("admin:accounts_usecase_change", args=[use_case.pk]), data)
    assert response.status_code == 302
    entry = LogEntry.objects.filter(object_id=str(use_case.pk)).latest("action_time")
    values = next(m["values"] for m in json.loads(entry.change_message) if "values" in m)
    assert values["required_tier"] == {"before": "free", "after": "premium"}
    assert values["name"]["after"] == "Continuous delivery"
    assert entry.user == admin_user
