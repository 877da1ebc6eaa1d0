"""Admin for scorecard versions (edit a draft, preview, publish), snapshots and alerts."""

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.access import accounts_visible_to
from accounts.admin import UseCaseAdmin
from accounts.models import UseCase
from scoring.health import accounts_preview
from scoring.models import (
    Alert,
    Band,
    Measure,
    Scorecard,
    ScorecardGroup,
    ScorecardUseCase,
    ScoreSnapshot,
)
from scoring.scorecards import scorecard_draft_create, scorecard_publish
from usagehub.audit import AuditedAdmin
from usagehub.errors import DomainError


class DraftOnly:
    """Only a draft scorecard may change: published versions explain stored scores."""

    def _draft(self, obj: Any) -> bool:
        card = obj if isinstance(obj, Scorecard) else getattr(obj, "scorecard", None)
        if isinstance(obj, Band):
            card = obj.measure.scorecard
        return card is None or card.status == Scorecard.Status.DRAFT

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (  # type: ignore[misc]
            obj is None or self._draft(obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (  # type: ignore[misc]
            obj is None or self._draft(obj)
        )


class GroupInline(DraftOnly, admin.TabularInline):
    model = ScorecardGroup
    extra = 0


class UseCaseWeightInline(DraftOnly, admin.TabularInline):
    model = ScorecardUseCase
    extra = 0
    autocomplete_fields = ["use_case"]


@admin.register(Scorecard)
class ScorecardAdmin(AuditedAdmin, DraftOnly, admin.ModelAdmin):
    list_display = ["__str__", "status", "published_at", "created_at", "notes"]
    list_filter = ["status"]
    inlines = [GroupInline, UseCaseWeightInline]
    readonly_fields = ["version", "status", "published_at", "created_at"]
    actions = ["draft_from", "preview", "publish"]

    @admin.action(description="Create a draft from the selected version")
    def draft_from(self, request: HttpRequest, queryset: QuerySet[Scorecard]) -> None:
        try:
            draft = scorecard_draft_create(source=queryset.order_by("-version")[0])
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(
            request, f"{draft} created: edit its groups and measures, preview, then publish."
        )

    @admin.action(description="Preview: which accounts would change colour")
    def preview(self, request: HttpRequest, queryset: QuerySet[Scorecard]) -> Any:
        draft = queryset.filter(status=Scorecard.Status.DRAFT).first()
        if draft is None:
            self.message_user(request, "Select a draft.", messages.WARNING)
            return None
        ids = list(accounts_visible_to(request.user).values_list("pk", flat=True))
        changes = accounts_preview(scorecard=draft, account_ids=ids)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {draft}",
            "draft": draft,
            "changes": changes,
            "total": len(ids),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/scoring/scorecard_preview.html", context)

    @admin.action(description="Publish the selected draft (recomputes every account)")
    def publish(self, request: HttpRequest, queryset: QuerySet[Scorecard]) -> None:
        draft = queryset.filter(status=Scorecard.Status.DRAFT).first()
        if draft is None:
            self.message_user(request, "Select a draft.", messages.WARNING)
            return
        scorecard_publish(draft=draft)
        self.message_user(request, f"{draft} published; every account is being recomputed.")


class BandInline(DraftOnly, admin.TabularInline):
    model = Band
    extra = 0


@admin.register(Measure)
class MeasureAdmin(AuditedAdmin, DraftOnly, admin.ModelAdmin):
    list_display = [
        "name",
        "key",
        "scorecard",
        "kind",
        "group",
        "use_case",
        "weight",
        "required_tier",
    ]
    list_filter = ["scorecard", "kind", "group__key", "use_case"]
    search_fields = ["name", "key"]
    list_select_related = ["scorecard", "group", "use_case"]
    inlines = [BandInline]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "scorecard":
            kwargs["queryset"] = Scorecard.objects.filter(status=Scorecard.Status.DRAFT)
        if db_field.name == "group":
            kwargs["queryset"] = ScorecardGroup.objects.filter(
                scorecard__status=Scorecard.Status.DRAFT
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "as_of",
        "scorecard",
        "overall_score",
        "overall_colour",
        "adoption_count",
        "utilization",
    ]
    list_filter = ["overall_colour", "scorecard", "platform_adoption"]
    search_fields = ["account__name", "account__crm_id"]
    list_select_related = ["account", "scorecard"]
    date_hierarchy = "as_of"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScoreSnapshot]:
        return super().get_queryset(request).filter(account__in=accounts_visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "measure", "severity", "state", "opened_at", "message"]
    list_filter = ["state", "kind", "severity"]
    search_fields = ["account__name", "message"]
    list_select_related = ["account"]
    readonly_fields = [
        "account",
        "kind",
        "measure",
        "severity",
        "message",
        "snapshot",
        "opened_at",
        "closed_at",
        "data",
    ]
    actions = ["acknowledge", "close"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return super().get_queryset(request).filter(account__in=accounts_visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Acknowledge")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        queryset.filter(state=Alert.State.OPEN).update(
            state=Alert.State.ACKNOWLEDGED, handled_by=request.user, updated_at=timezone.now()
        )

    @admin.action(description="Close")
    def close(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        queryset.exclude(state=Alert.State.CLOSED).update(
            state=Alert.State.CLOSED, handled_by=request.user, closed_at=timezone.now()
        )


class UseCaseRescoringAdmin(UseCaseAdmin):
    """Editing a use case (its checklist, its tier) recomputes every account."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        from scoring.tasks import accounts_recompute_all

        transaction.on_commit(accounts_recompute_all.delay)


admin.site.unregister(UseCase)
admin.site.register(UseCase, UseCaseRescoringAdmin)
