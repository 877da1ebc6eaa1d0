"""Small payload builders for tests."""

import datetime as dt
import json
from typing import Any

RECORDED_AT = dt.datetime(2026, 11, 20, 7, 43, 54, tzinfo=dt.UTC)


def payload(uuid: Any = "inst-0001", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": uuid,
        "recorded_at": RECORDED_AT.isoformat(),
        "hostname": "gitlab.example.com",
        "version": "17.5.0-ee",
        "license_user_count": 100,
        "license_billable_users": 60,
        "active_user_count": 64,
        "counts_monthly": {"deployments": 120, "failed_deployments": 4},
        "usage_activity_by_stage_monthly": {
            "verify": {"ci_pipelines": 25},
            "secure": {"sast_scans": -1},
        },
    }
    body.update(fields)
    return body


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()
