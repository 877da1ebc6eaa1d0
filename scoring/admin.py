"""Django admin for the usage side: pings (with unmatched-instance mapping) and summaries."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.access import accounts_visible_to
from accounts.models import Account, Instance
from scoring import admin_metrics, admin_scorecards, admin_webhooks  # noqa: F401 — they register their admins
from scoring.matching import unmatched_pings_map
from scoring.models import AccountUsage, RecomputeRequest, UsagePing
from usagehub.errors import DomainError


class MatchedFilter(admin.SimpleListFilter):
    title = "instance"
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Unmatched (unknown instance)"), ("yes", "Matched")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(instance__isnull=self.value() == "no")
        return queryset


class MapToAccountForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none())
    instance_type = forms.ChoiceField(choices=Instance.Type.choices, initial="production")


@admin.register(UsagePing)
class UsagePingAdmin(admin.ModelAdmin):
    list_display = [
        "identity",
        "account",
        "recorded_at",
        "received_at",
        "source",
        "version",
        "billable_users",
        "licensed_seats",
    ]
    list_filter = [MatchedFilter, "source", "license_plan", "edition"]
    search_fields = [
        "instance_uuid",
        "namespace_id",
        "instance__account__name",
        "instance__hostname",
    ]
    list_select_related = ["instance__account"]
    date_hierarchy = "recorded_at"
    actions = ["map_to_account"]
    exclude = ["payload"]
    readonly_fields = [f.name for f in UsagePing._meta.fields if f.name != "payload"] + [
        "pretty_payload"
    ]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[UsagePing]:
        pings = super().get_queryset(request).defer("payload")
        user: Any = request.user
        if user.is_usagehub_admin:
            return pings
        return pings.filter(instance__account__in=accounts_visible_to(user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # pings arrive through the ingestion API and CLI only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="account")
    def account(self, ping: UsagePing) -> Any:
        return ping.instance.account if ping.instance else "— unmatched —"

    @admin.display(description="payload")
    def pretty_payload(self, ping: UsagePing) -> str:
        return format_html("<pre>{}</pre>", json.dumps(ping.payload, indent=2)[:200_000])

    @admin.action(description="Map the instance of the selected unmatched pings to an account…")
    def map_to_account(self, request: HttpRequest, queryset: QuerySet[UsagePing]) -> Any:
        identities = sorted(
            set(
                queryset.filter(instance__isnull=True).values_list("instance_uuid", "namespace_id")
            ),
            key=str,
        )
        if not identities:
            self.message_user(request, "Select pings from unknown instances.", messages.WARNING)
            return None
        form = MapToAccountForm(request.POST if "apply" in request.POST else None)
        form.fields["account"].queryset = accounts_visible_to(request.user)  # type: ignore[attr-defined]
        if form.is_valid():
            return self._map(request, identities, form.cleaned_data)
        context = {
            **self.admin_site.each_context(request),
            "title": "Map unmatched instances to an account",
            "form": form,
            "identities": identities,
            "pings": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/scoring/map_to_account.html", context)

    def _map(
        self, request: HttpRequest, identities: list[Any], data: dict[str, Any]
    ) -> HttpResponse | None:
        for uuid, namespace in identities:
            try:
                instance, attached = unmatched_pings_map(
                    account=data["account"],
                    instance_uuid=uuid,
                    namespace_id=namespace,
                    instance_type=data["instance_type"],
                )
            except DomainError as error:
                self.message_user(request, f"{uuid or namespace}: {error.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{instance.identity} → {data['account']}: {attached} pings attached; "
                "the account is being recomputed.",
            )
        return None


@admin.register(AccountUsage)
class AccountUsageAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "billable_users",
        "licensed_seats",
        "utilization",
        "instances_counted",
        "last_ping_at",
        "computed_at",
    ]
    search_fields = ["account__name", "account__crm_id"]
    list_select_related = ["account"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccountUsage]:
        return super().get_queryset(request).filter(account__in=accounts_visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(admin.ModelAdmin):
    """Accounts waiting for a recompute: a long list here means workers are behind."""

    list_display = ["account", "requested_at", "enqueued_at"]
    list_select_related = ["account"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
