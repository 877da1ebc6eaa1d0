"""Ingestion endpoints: one JSON payload, or an NDJSON batch. Bodies are read raw so the
size limits, gzip bomb guard and strict JSON checks of ``scoring.payload`` apply."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import ApiKeyAuthentication, acting_user, scope_required
from scoring.ingestion import pings_ingest
from scoring.ndjson import body_lines, read_body
from scoring.payload import Limits
from usagehub.errors import DomainError

STATUS = {"accepted": status.HTTP_202_ACCEPTED, "duplicate": status.HTTP_200_OK}


class IngestView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [scope_required("ingest")]

    def limits(self) -> Limits:
        return Limits(max_bytes=settings.INGEST_MAX_PAYLOAD_BYTES)


PING_RESULT = inline_serializer(
    "PingResult",
    {
        "id": serializers.IntegerField(allow_null=True),
        "status": serializers.CharField(),
    },
)


@extend_schema(
    request={"application/json": OpenApiTypes.OBJECT},
    responses={202: PING_RESULT, 200: PING_RESULT, 409: OpenApiTypes.OBJECT},
)
class PingView(IngestView):
    """POST one payload: 202 new, 200 exact duplicate, 409 conflict, 4xx invalid."""

    def post(self, request: Request) -> Response:
        raw = read_body(request._request, max_bytes=settings.INGEST_MAX_PAYLOAD_BYTES)
        [result] = pings_ingest(
            lines=[(1, raw)], source="api", actor=acting_user(request), limits=self.limits()
        )
        if result.error is not None and result.status != "conflict":
            raise result.error
        body: dict[str, object] = {"id": result.ping_id, "status": result.status}
        if result.error is not None:
            body["errors"] = [result.error.as_dict()]
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(body, status=STATUS[result.status])


@extend_schema(
    request={"application/x-ndjson": OpenApiTypes.STR}, responses={200: OpenApiTypes.OBJECT}
)
class PingBatchView(IngestView):
    """POST NDJSON, one payload per line: a result per line; good lines are kept."""

    def post(self, request: Request) -> Response:
        lines = body_lines(
            request._request,
            max_line_bytes=settings.INGEST_MAX_PAYLOAD_BYTES,
            max_total_bytes=settings.INGEST_MAX_BATCH_BYTES,
            max_lines=settings.INGEST_MAX_BATCH_LINES,
        )
        results = [
            result.as_dict()
            for result in pings_ingest(
                lines=lines, source="batch", actor=acting_user(request), limits=self.limits()
            )
        ]
        if not results:
            raise DomainError("The batch is empty: send one JSON payload per line.")
        summary = {name: 0 for name in ("accepted", "duplicate", "conflict", "rejected")}
        for result in results:
            summary[str(result["status"])] += 1
        return Response({"summary": summary, "results": results})
