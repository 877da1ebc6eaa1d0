"""Outgoing webhooks: endpoints that subscribe to events, and a log of every delivery."""

import secrets

from django.core.validators import URLValidator
from django.db import models


def _secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    class Event(models.TextChoices):
        HEALTH_CHANGED = "health.changed", "Health colour changed"
        ALERT_OPENED = "alert.opened", "Alert opened"
        ADOPTION_CHANGED = "adoption.changed", "Use-case adoption changed"

    name = models.CharField(max_length=100)
    url = models.URLField(
        max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )  # only web URLs are ever opened by the sender
    secret = models.CharField(
        max_length=100,
        default=_secret,
        help_text="Signs every delivery (HMAC-SHA256); share it with the receiver.",
    )
    events = models.JSONField(default=list, help_text="Event names this endpoint receives.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=30)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.JSONField(default=list, help_text="One entry per attempt.")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint.name} ({self.status})"
