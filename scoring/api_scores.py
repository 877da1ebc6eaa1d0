"""Integration API for the usage side: health with its full explanation, history, alerts and
the CRM export (JSON or CSV, incremental, cursor-paginated)."""

import csv
import datetime as dt
import io
from typing import Any

import orjson
from django.db import connection
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import ActivityListCreate
from accounts.api_auth import AccountAPIView, acting_user
from accounts.models import Account
from scoring.alerts import alert_handle
from scoring.export import CRM_FIELDS, crm_rows
from scoring.models import Alert, ScoreSnapshot
from scoring.payload import parse_timestamp
from scoring.recompute import recompute_mark
from usagehub.errors import DomainError
from usagehub.spreadsheet import safe_cell


class SnapshotSerializer(serializers.ModelSerializer):
    scorecard_version = serializers.IntegerField(source="scorecard.version", read_only=True)
    overall_colour = serializers.CharField(read_only=True, allow_blank=True)

    class Meta:
        model = ScoreSnapshot
        fields = [
            "as_of",
            "computed_at",
            "scorecard_version",
            "overall_score",
            "overall_colour",
            "sentiment_override",
            "adoption_count",
            "platform_adoption",
            "utilization",
            "billable_users",
            "licensed_seats",
            "ledger",
            "use_cases",
            "milestones",
            "objectives",
            "diff",
        ]
        read_only_fields = fields


class SnapshotSummarySerializer(SnapshotSerializer):
    class Meta(SnapshotSerializer.Meta):
        fields = [
            "as_of",
            "computed_at",
            "scorecard_version",
            "overall_score",
            "overall_colour",
            "adoption_count",
            "platform_adoption",
            "utilization",
            "use_cases",
        ]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.crm_id", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "account",
            "kind",
            "measure",
            "severity",
            "message",
            "state",
            "opened_at",
            "updated_at",
            "closed_at",
            "note",
        ]
        read_only_fields = fields


class AlertActionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


SNAPSHOT_JSON = ("ledger", "colours", "use_cases", "milestones", "objectives", "diff")
SNAPSHOT_SCALARS = (
    "as_of",
    "computed_at",
    "overall_score",
    "overall_colour",
    "sentiment_override",
    "adoption_count",
    "platform_adoption",
    "utilization",
    "billable_users",
    "licensed_seats",
)


@extend_schema(responses=SnapshotSerializer)
class AccountHealth(AccountAPIView):
    """The latest health of an account, with every measure's explanation (the ledger).

    Hot path for CRM syncs: one query checks access and reads the snapshot, and the JSON
    columns go out as the text the database holds, never decoded and encoded again."""

    serializer_class = SnapshotSerializer

    def get(self, request: Request, pk: int) -> Response:
        if acting_user(request) is not None:
            self.account(pk)  # 404 for what the key's user may not see
        row = latest_snapshot_row(account_id=pk)
        if row is None:
            raise NotFound("No score for this account.")
        data: dict[str, Any] = {name: row[name] for name in SNAPSHOT_SCALARS}
        data["scorecard_version"] = row["scorecard_version"]
        data.update({name: orjson.Fragment(row[f"{name}_json"]) for name in SNAPSHOT_JSON})
        return Response(data)


def latest_snapshot_row(*, account_id: int) -> dict[str, Any] | None:
    """The account's latest snapshot with its JSON columns as text. On PostgreSQL one
    prepared-once SQL statement (building the ORM query cost more than running it)."""
    if connection.vendor != "postgresql":
        return (
            ScoreSnapshot.objects.filter(account_id=account_id)
            .order_by("-as_of", "-computed_at")
            .values(
                *SNAPSHOT_SCALARS,
                scorecard_version=F("scorecard__version"),
                **{f"{name}_json": Cast(name, TextField()) for name in SNAPSHOT_JSON},
            )
            .first()
        )
    with connection.cursor() as cursor:
        cursor.execute(_LATEST_SQL, [account_id])
        found = cursor.fetchone()
    names = [*SNAPSHOT_SCALARS, "scorecard_version", *(f"{n}_json" for n in SNAPSHOT_JSON)]
    return None if found is None else dict(zip(names, found, strict=True))


_LATEST_SQL = (  # noqa: S608 — column names are constants above, the id a parameter
    "SELECT {scalars}, c.version, {texts} FROM scoring_scoresnapshot s "  # nosec B608
    "JOIN scoring_scorecard c ON c.id = s.scorecard_id WHERE s.account_id = %s "
    "ORDER BY s.as_of DESC, s.computed_at DESC LIMIT 1"
).format(
    scalars=", ".join(f"s.{name}" for name in SNAPSHOT_SCALARS),
    texts=", ".join(f"s.{name}::text" for name in SNAPSHOT_JSON),
)


@extend_schema(parameters=[OpenApiParameter("since", OpenApiTypes.DATE, required=False)])
class AccountHealthHistory(AccountAPIView, generics.ListAPIView):
    serializer_class = SnapshotSummarySerializer

    def get_queryset(self) -> QuerySet[ScoreSnapshot]:
        snapshots = ScoreSnapshot.objects.filter(account=self.account(self.kwargs["pk"]))
        since = self.request.query_params.get("since")
        if since:
            try:
                snapshots = snapshots.filter(as_of__gte=dt.date.fromisoformat(since))
            except ValueError as exc:
                raise DomainError("Use a date like 2026-11-01.", field="since") from exc
        return snapshots.select_related("scorecard").order_by("pk")


class AlertList(AccountAPIView, generics.ListAPIView):
    serializer_class = AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = Alert.objects.filter(account__in=self.visible_accounts()).select_related("account")
        state = self.request.query_params.get("state")
        if state:
            alerts = alerts.filter(state=state)
        return alerts.order_by("pk")


class AlertAcknowledge(AccountAPIView):
    serializer_class = AlertActionSerializer
    close = False

    def post(self, request: Request, pk: int) -> Response:
        alert = get_object_or_404(Alert.objects.select_related("account"), pk=pk)
        self.account(alert.account_id, for_edit=True)
        serializer = AlertActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.auth.user if hasattr(request.auth, "user") else request.user
        alert_handle(
            alert=alert,
            close=self.close,
            note=serializer.validated_data["note"],
            user=user if getattr(user, "pk", None) else None,
        )
        return Response(AlertSerializer(alert).data)


class AlertClose(AlertAcknowledge):
    close = True


class CrmRowSerializer(serializers.Serializer):
    """One CRM-ready row per account (flat, stable field names)."""

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        return instance


@extend_schema(
    parameters=[
        OpenApiParameter(
            "updated_since",
            OpenApiTypes.DATETIME,
            required=False,
            description="Only accounts whose score or CRM data changed since then.",
        ),
        OpenApiParameter("format", str, enum=["json", "csv"], required=False),
    ]
)
class CrmExport(AccountAPIView):
    """Rows for the CRM (Salesforce/Gainsight-style fields). JSON pages by cursor
    (``next``); ``?format=csv`` streams every row."""

    serializer_class = CrmRowSerializer

    def get(self, request: Request) -> Any:
        since = request.query_params.get("updated_since")
        moment = parse_timestamp(since, field="updated_since") if since else None
        accounts = self.visible_accounts()
        if request.query_params.get("format") == "csv":
            return self._csv(crm_rows(accounts, updated_since=moment))
        page = self.paginate_queryset(self._changed(accounts, moment))
        return self.get_paginated_response(
            crm_rows(Account.objects.filter(pk__in=[a.pk for a in page or []]), updated_since=None)
        )

    def _changed(
        self, accounts: QuerySet[Account], moment: dt.datetime | None
    ) -> QuerySet[Account]:

        if moment is None:
            return accounts.order_by("pk")
        return (
            accounts.filter(Q(updated_at__gte=moment) | Q(snapshots__computed_at__gte=moment))
            .distinct()
            .order_by("pk")
        )

    def _csv(self, rows: list[dict[str, Any]]) -> HttpResponse:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CRM_FIELDS)
        writer.writeheader()
        writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="usagehub-crm.csv"'
        return response


class ActivityListCreateScored(ActivityListCreate):
    """Activities change health (sentiment, meetings, tickets): recompute after a write."""

    def after_write(self, account: Account) -> None:
        recompute_mark(account_ids=[account.pk])
