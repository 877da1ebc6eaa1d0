"""Django admin for the metrics dictionary.

Definitions come from the importer, so their fields are read-only here and there is
no add form: only ``is_tracked``, which admins and scoring own, can be changed.
"""

import json
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from scoring.metric_definitions import TIERS
from scoring.models import MetricDefinition

FIELDS = (
    "key_path",
    "description",
    "is_tracked",
    "time_frame",
    "data_source",
    "data_category",
    "status",
    "value_type",
    "tiers",
    "product_section",
    "product_stage",
    "product_group",
    "milestone",
    "introduced_by_url",
    "instrumentation_class",
    "source_file",
    "definition_pretty",
    "created_at",
    "updated_at",
)


def tier_q(tier: str) -> Q:
    """Rows whose ``tiers`` list holds ``tier``, on SQLite and PostgreSQL alike.

    JSON ``contains`` is PostgreSQL-only and matching the JSON text is fragile, but
    comparing each array position is portable; imported lists are de-duplicated
    tier names, so they are never longer than the set of tiers.
    """
    q = Q()
    for index in range(len(TIERS)):
        q |= Q(**{f"tiers__{index}": tier})
    return q


class TierFilter(admin.SimpleListFilter):
    title = "tier"
    parameter_name = "tier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(tier, tier.capitalize()) for tier in TIERS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value not in TIERS:
            return queryset
        return queryset.filter(tier_q(value))


@admin.register(MetricDefinition)
class MetricDefinitionAdmin(admin.ModelAdmin):
    list_display = [
        "key_path",
        "time_frame",
        "data_source",
        "status",
        "data_category",
        "is_tracked",
        "product_group",
        "milestone",
    ]
    search_fields = ["key_path", "description"]
    list_filter = [
        "time_frame",
        "data_source",
        "status",
        "data_category",
        "is_tracked",
        TierFilter,
    ]
    fields = FIELDS
    readonly_fields = [name for name in FIELDS if name != "is_tracked"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="definition (the file as imported)")
    def definition_pretty(self, obj: MetricDefinition) -> SafeString:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.definition, indent=2, ensure_ascii=False)
        )
