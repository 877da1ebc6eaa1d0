"""Alerts: one open alert per account + kind + measure, raised, updated and closed by the
conditions in DESIGN.md each time an account is scored."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Activity
from scoring import engine
from scoring.models import Alert, ScoreSnapshot
from usagehub.bulk import copy_insert

PRODUCT_GROUP = "product"
CI_PIPELINES = "counts_monthly.ci_internal_pipelines"
CI_DROP = 0.20
UTILIZATION_DROP = 0.10
EXPANSION_AT = 0.90
LOW_AFTER_ONBOARDING = 0.50
ONBOARDING_WINDOW_DAYS = (30, 120)


@dataclass(frozen=True)
class Condition:
    kind: str
    measure: str
    severity: str
    message: str
    data: dict[str, Any]


def conditions(
    *,
    result: engine.Result,
    inputs: engine.Inputs,
    previous: ScoreSnapshot | None,
    month_ago: ScoreSnapshot | None,
    silent: list[str],
    open_alerts: dict[tuple[str, str], Alert],
) -> list[Condition]:
    """Every alert condition that holds now for one account."""
    found: list[Condition] = []
    before = {line["key"]: line for line in (previous.ledger if previous else [])}
    for line in result.lines:
        if line.group != PRODUCT_GROUP or line.colour is None:
            continue
        held = open_alerts.get((Alert.Kind.MEASURE_DROPPED, line.key))
        was = held.data.get("from") if held else before.get(line.key, {}).get("colour")
        if was and engine.RANK[line.colour] < engine.RANK[was]:
            found.append(
                Condition(
                    Alert.Kind.MEASURE_DROPPED,
                    line.key,
                    Alert.Severity.WARNING,
                    f"{line.name} fell from {was} to {line.colour}.",
                    {"from": was, "to": line.colour},
                )
            )
    held = open_alerts.get((Alert.Kind.OVERALL_DROPPED, ""))
    was = held.data.get("from") if held else (previous.overall_colour if previous else None)
    if was and result.overall_colour and engine.RANK[result.overall_colour] < engine.RANK[was]:
        severity = (
            Alert.Severity.CRITICAL
            if result.overall_colour == engine.RED
            else (Alert.Severity.WARNING)
        )
        found.append(
            Condition(
                Alert.Kind.OVERALL_DROPPED,
                "",
                severity,
                f"Overall health fell from {was} to {result.overall_colour}.",
                {"from": was, "to": result.overall_colour},
            )
        )
    found += _usage_conditions(inputs, month_ago, silent)
    return found


def _usage_conditions(
    inputs: engine.Inputs, month_ago: ScoreSnapshot | None, silent: list[str]
) -> list[Condition]:
    found: list[Condition] = []
    billable, seats = inputs.billable_users, inputs.licensed_seats
    utilization = billable / seats if billable is not None and seats else None
    old_usage = _month_ago_values(month_ago)
    ci_now, ci_then = inputs.metrics.get(CI_PIPELINES), old_usage.get(CI_PIPELINES)
    if ci_now is not None and ci_then and ci_now <= ci_then * (1 - CI_DROP):
        found.append(
            Condition(
                Alert.Kind.CI_PIPELINES_DROPPED,
                "",
                Alert.Severity.WARNING,
                f"28-day CI pipelines fell {1 - ci_now / ci_then:.0%} in a month "
                f"({ci_then:g} → {ci_now:g}).",
                {"from": ci_then, "to": ci_now},
            )
        )
    old_util = month_ago.utilization if month_ago else None
    if (
        utilization is not None
        and old_util is not None
        and (utilization <= old_util - UTILIZATION_DROP)
    ):
        found.append(
            Condition(
                Alert.Kind.UTILIZATION_DROPPED,
                "",
                Alert.Severity.WARNING,
                f"License utilization fell from {old_util:.0%} to {utilization:.0%} in a month.",
                {"from": old_util, "to": utilization},
            )
        )
    tenure = inputs.tenure_days
    if (
        utilization is not None
        and tenure is not None
        and (
            ONBOARDING_WINDOW_DAYS[0] <= tenure <= ONBOARDING_WINDOW_DAYS[1]
            and utilization < LOW_AFTER_ONBOARDING
        )
    ):
        found.append(
            Condition(
                Alert.Kind.LOW_AFTER_ONBOARDING,
                "",
                Alert.Severity.WARNING,
                f"Utilization is {utilization:.0%}, {tenure} days after the start.",
                {"utilization": utilization},
            )
        )
    if billable is not None and seats and billable > seats:
        found.append(
            Condition(
                Alert.Kind.OVER_LICENSE,
                "",
                Alert.Severity.WARNING,
                f"{billable:g} billable users on {seats:g} seats: "
                f"{billable - seats:g} over (true-up).",
                {"over": billable - seats},
            )
        )
    if utilization is not None and utilization >= EXPANSION_AT:
        found.append(
            Condition(
                Alert.Kind.EXPANSION,
                "",
                Alert.Severity.INFO,
                f"Utilization is {utilization:.0%}: an expansion conversation is due.",
                {"utilization": utilization},
            )
        )
    found += [
        Condition(
            Alert.Kind.INSTANCE_SILENT,
            identity,
            Alert.Severity.WARNING,
            f"Instance {identity} has not reported for over 14 days.",
            {},
        )
        for identity in silent
    ]
    return found


def _month_ago_values(snapshot: ScoreSnapshot | None) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in snapshot.ledger if snapshot else []:
        for part in ("numerator", "denominator"):
            for key, value in (line.get("inputs", {}).get(part) or {}).items():
                if value is not None:
                    values[key] = value
    return values


def alerts_apply(
    *,
    accounts: Sequence[Account],
    results: dict[int, engine.Result],
    inputs: dict[int, engine.Inputs],
    snapshots: dict[int, ScoreSnapshot | None],
    previous: dict[int, ScoreSnapshot],
    month_ago: dict[int, ScoreSnapshot],
    silent: dict[int, list[str]],
    now: dt.datetime,
) -> list[Alert]:
    """Open new alerts, update the ones whose condition still holds, close the rest."""
    open_alerts: dict[int, dict[tuple[str, str], Alert]] = {a.pk: {} for a in accounts}
    for alert in Alert.objects.filter(account__in=accounts).exclude(state=Alert.State.CLOSED):
        open_alerts[alert.account_id][(alert.kind, alert.measure)] = alert
    opened: list[Alert] = []
    updated: list[Alert] = []
    closed: list[Alert] = []
    for account in accounts:
        held = open_alerts[account.pk]
        holding = conditions(
            result=results[account.pk],
            inputs=inputs[account.pk],
            previous=previous.get(account.pk),
            month_ago=month_ago.get(account.pk),
            silent=silent.get(account.pk, []),
            open_alerts=held,
        )
        seen = set()
        for condition in holding:
            key = (condition.kind, condition.measure)
            seen.add(key)
            existing = held.get(key)
            if existing is None:
                opened.append(
                    Alert(
                        account=account,
                        kind=condition.kind,
                        measure=condition.measure,
                        severity=condition.severity,
                        message=condition.message,
                        data=condition.data,
                        snapshot=snapshots.get(account.pk),
                        opened_at=now,
                    )
                )
            elif (existing.message, existing.severity) != (condition.message, condition.severity):
                existing.message, existing.severity = condition.message, condition.severity
                existing.data = {
                    **condition.data,
                    "from": existing.data.get("from", condition.data.get("from")),
                }
                updated.append(existing)
        for key, alert in held.items():
            if key not in seen:
                alert.state, alert.closed_at = Alert.State.CLOSED, now
                alert.note = alert.note or "Closed automatically: the condition cleared."
                closed.append(alert)
    copy_insert(opened)
    Alert.objects.bulk_update(updated, ["message", "severity", "data", "updated_at"])
    Alert.objects.bulk_update(closed, ["state", "closed_at", "note", "updated_at"])
    copy_insert(
        [
            Activity(
                account=alert.account,
                kind=Activity.Kind.SYSTEM,
                occurred_at=now,
                body=f"Alert: {alert.message}",
                data={"alert": alert.kind, "measure": alert.measure},
            )
            for alert in opened
        ]
    )
    if opened:  # mail only what committed
        transaction.on_commit(lambda: _email_owners(opened), robust=True)
    return opened


def _email_owners(alerts: list[Alert]) -> None:
    if not getattr(settings, "ALERT_EMAILS", False):
        return
    for alert in alerts:
        owner = alert.account.owner
        if owner is not None and owner.email:
            send_mail(
                f"[UsageHub] {alert.account}: {alert.get_kind_display()}",
                alert.message,
                None,
                [owner.email],
                fail_silently=True,
            )


def alert_handle(*, alert: Alert, close: bool, note: str, user: Any) -> Alert:
    """A CSM acknowledges or closes an alert, with an optional note."""
    alert.state = Alert.State.CLOSED if close else Alert.State.ACKNOWLEDGED
    alert.closed_at = timezone.now() if close else None
    alert.note = note.strip() or alert.note
    alert.handled_by = user
    alert.save(update_fields=["state", "closed_at", "note", "handled_by", "updated_at"])
    return alert
