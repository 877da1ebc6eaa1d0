"""The usage side's models: the metrics dictionary and pings, the scorecard, the results."""

from scoring.models.results import Alert, ScoreSnapshot, WeeklyHealth
from scoring.models.scorecard import Band, Measure, Scorecard, ScorecardGroup, ScorecardUseCase
from scoring.models.sharing import SharedReport, SharedReportView
from scoring.models.usage import AccountUsage, MetricDefinition, RecomputeRequest, UsagePing
from scoring.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountUsage",
    "Alert",
    "Band",
    "Measure",
    "MetricDefinition",
    "RecomputeRequest",
    "ScoreSnapshot",
    "Scorecard",
    "ScorecardGroup",
    "ScorecardUseCase",
    "SharedReport",
    "SharedReportView",
    "UsagePing",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WeeklyHealth",
]
