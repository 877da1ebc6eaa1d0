"""Django admin for the CRM side. Querysets go through the access helper, like every page."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.access import accounts_visible_to
from accounts.api_keys import api_key_create, api_keys_revoke
from accounts.models import (
    Account,
    AccountUseCase,
    Activity,
    ApiKey,
    ChecklistItem,
    ChecklistProgress,
    Instance,
    Milestone,
    Objective,
    Persona,
    Subscription,
    Team,
    UseCase,
    User,
)
from usagehub.audit import AuditedAdmin


class AccountScopedAdmin(admin.ModelAdmin):
    """Shows only rows whose account the signed-in user may see."""

    account_path = "account"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        visible = accounts_visible_to(request.user)
        if self.account_path == "":
            return super().get_queryset(request).filter(pk__in=visible.values("pk"))
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.account_path}__in": visible.values("pk")})
        )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(ordering="member_count", description="members")
    def member_count(self, team: Any) -> int:
        return team.member_count


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "team", "role", "is_active"]
    list_filter = ["role", "team", "is_active", "is_staff"]
    list_select_related = ["team"]
    autocomplete_fields = ["team"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("UsageHub", {"fields": ("team", "role")}),
    )


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["external_id", "plan", "licensed_seats", "arr", "start_date", "renewal_date"]


class InstanceInline(admin.TabularInline):
    model = Instance
    extra = 0
    fields = [
        "uuid",
        "namespace_id",
        "hostname",
        "instance_type",
        "included_in_health",
        "subscription",
    ]

    def get_formset(self, request: HttpRequest, obj: Account | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # Offer only this account's subscriptions, not every subscription in the book.
        field: Any = formset.form.base_fields["subscription"]
        field.queryset = field.queryset.filter(account=obj) if obj else field.queryset.none()
        return formset


@admin.register(Account)
class AccountAdmin(AccountScopedAdmin):
    account_path = ""
    list_display = ["name", "crm_id", "owner", "priority", "lifecycle_stage", "customer_since"]
    list_filter = ["lifecycle_stage", "priority", "owner__team"]
    search_fields = ["name", "crm_id"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SubscriptionInline, InstanceInline]


@admin.register(Subscription)
class SubscriptionAdmin(AccountScopedAdmin):
    list_display = ["external_id", "account", "plan", "licensed_seats", "arr", "renewal_date"]
    list_filter = ["plan"]
    search_fields = ["external_id", "account__name", "account__crm_id"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    date_hierarchy = "renewal_date"


@admin.register(Instance)
class InstanceAdmin(AccountScopedAdmin):
    list_display = ["__str__", "identity", "account", "instance_type", "included_in_health"]
    list_filter = ["instance_type", "included_in_health"]
    search_fields = ["uuid", "namespace_id", "hostname", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account", "subscription"]


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "key"]
    search_fields = ["name", "key"]
    prepopulated_fields = {"key": ["name"]}


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ["position", "title", "kind", "metric_key_path", "comparison", "target_value"]


@admin.register(UseCase)
class UseCaseAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["name", "key", "required_tier", "position", "is_active", "item_count"]
    list_filter = ["required_tier", "is_active"]
    search_fields = ["name", "key"]
    prepopulated_fields = {"key": ["name"]}
    inlines = [ChecklistItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UseCase]:
        return super().get_queryset(request).annotate(item_count=Count("checklist_items"))

    @admin.display(ordering="item_count", description="checklist items")
    def item_count(self, use_case: Any) -> int:
        return use_case.item_count


class ChecklistProgressInline(admin.TabularInline):
    model = ChecklistProgress
    extra = 0
    fields = ["item", "done", "changed_by", "changed_at"]
    readonly_fields = ["changed_at"]
    autocomplete_fields = ["changed_by"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "item":
            kwargs["queryset"] = ChecklistItem.objects.select_related("use_case")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(AccountUseCase)
class AccountUseCaseAdmin(AccountScopedAdmin):
    list_display = ["account", "use_case", "status", "updated_by", "updated_at"]
    list_filter = ["status", "use_case"]
    search_fields = ["account__name", "account__crm_id"]
    list_select_related = ["account", "use_case", "updated_by"]
    autocomplete_fields = ["account", "use_case", "updated_by"]
    inlines = [ChecklistProgressInline]


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ["position", "title", "due_date", "completed_on"]


@admin.register(Objective)
class ObjectiveAdmin(AccountScopedAdmin):
    list_display = ["title", "account", "category", "status", "priority", "due_date", "owner"]
    list_filter = ["status", "category", "priority", "use_case"]
    search_fields = ["title", "account__name", "account__crm_id"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "use_case", "owner"]
    date_hierarchy = "due_date"
    inlines = [MilestoneInline]


@admin.register(Activity)
class ActivityAdmin(AccountScopedAdmin):
    list_display = ["occurred_at", "account", "kind", "sentiment", "ticket_count", "author"]
    list_filter = ["kind", "sentiment"]
    search_fields = ["account__name", "account__crm_id", "body"]
    list_select_related = ["account", "author"]
    autocomplete_fields = ["account", "author", "personas"]
    date_hierarchy = "occurred_at"


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "user"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here or with ``manage.py create_api_key``; the secret shows once."""

    form = ApiKeyForm
    list_display = ["name", "prefix", "scopes", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ["name", "scopes", "user"] if obj is None else ["name", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw_key = api_key_create(
            name=obj.name, scopes=form.cleaned_data["scopes"], user=obj.user
        )
        obj.pk = key.pk
        self.message_user(
            request,
            f"Copy this key now, it will not be shown again: {raw_key}",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = api_keys_revoke(keys=queryset)
        self.message_user(request, f"{count} keys revoked (other processes within 10 s).")
