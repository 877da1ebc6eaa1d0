"""Admin for webhook endpoints and the delivery log (with replay)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from scoring.models import WebhookDelivery, WebhookEndpoint
from scoring.webhooks import webhook_replay


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "endpoint", "status", "attempt_count", "delivered_at"]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "endpoint",
        "event",
        "payload",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
    ]
    actions = ["replay"]

    @admin.display(description="attempts")
    def attempt_count(self, delivery: WebhookDelivery) -> int:
        return len(delivery.attempts)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset.select_related("endpoint"):
            webhook_replay(delivery=delivery)
        self.message_user(request, f"{queryset.count()} deliveries queued again.")
