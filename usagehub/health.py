"""``/healthz`` for load balancers: 200 when the database answers, 503 when it does not.

The broker is reported but does not fail the check: ingestion keeps working without it
(recomputes wait in the database for the sweep), so taking web nodes out would be wrong.
"""

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    from usagehub.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks = {"database": _database(), "broker": _broker()}
    status = 200 if checks["database"] == "ok" else 503
    return JsonResponse(
        {
            "status": "ok" if status == 200 else "down",
            "checks": checks,
            "ms": round((time.monotonic() - started) * 1000),
        },
        status=status,
    )
