"""Realistic synthetic Service Ping payloads for the demo, benchmarks and tests.

The key structure is GitLab's (``counts``, ``counts_monthly``,
``usage_activity_by_stage_monthly.<stage>``, ``redis_hll_counters.<category>``...);
filler counters bring a payload to ~2,000 counters and ~50 KiB, the size real
self-managed instances send. Deterministic for a given ``seed``.
"""

import datetime as dt
import random
from typing import Any

STAGES = [
    "configure",
    "create",
    "manage",
    "monitor",
    "package",
    "plan",
    "release",
    "secure",
    "verify",
]
HLL_CATEGORIES = [
    "analytics",
    "ci_templates",
    "code_review",
    "ide_edit",
    "incident_management",
    "issues_edit",
    "pipeline_authoring",
    "quickactions",
    "search",
    "source_code",
]
FILLER_WORDS = [
    "projects",
    "merge_requests",
    "pipelines",
    "issues",
    "deployments",
    "packages",
    "environments",
    "runners",
    "jobs",
    "notes",
    "epics",
    "snippets",
    "clusters",
]


def synthetic_payload(
    *,
    uuid: str,
    recorded_at: dt.datetime,
    billable_users: int,
    licensed_seats: int,
    plan: str = "premium",
    usage: dict[str, int | float] | None = None,
    counters: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """One payload; ``usage`` sets chosen metrics (dotted key paths) to exact values."""
    rng = random.Random(f"{uuid}:{seed}")  # noqa: S311 — demo data, not secrets  # nosec B311
    payload: dict[str, Any] = {
        "uuid": uuid,
        "hostname": f"gitlab-{uuid[:8]}.example.com",
        "version": "17.5.2-ee",
        "installation_type": "omnibus",
        "edition": "EE",
        "recorded_at": recorded_at.isoformat(),
        "license_plan": plan,
        "license_user_count": licensed_seats,
        "license_billable_users": billable_users,
        "active_user_count": billable_users + rng.randint(0, 15),
        "historical_max_users": int(billable_users * 1.1),
        "license_trial": False,
        "container_registry_enabled": True,
        "ldap_enabled": rng.random() < 0.5,
    }
    sections: list[tuple[str, ...]] = [("counts",), ("counts_monthly",), ("counts_weekly",)]
    sections += [("usage_activity_by_stage", s) for s in STAGES]
    sections += [("usage_activity_by_stage_monthly", s) for s in STAGES]
    sections += [("redis_hll_counters", c) for c in HLL_CATEGORIES]
    per_section = max(1, counters // len(sections))
    scale = max(billable_users, 1)
    for section in sections:
        node = _node(payload, section)
        for i in range(per_section):
            word = FILLER_WORDS[i % len(FILLER_WORDS)]
            suffix = "_monthly" if section[0] == "redis_hll_counters" else ""
            node[f"{word}_{i}{suffix}"] = rng.randint(0, scale * 20)
    for key_path, value in (usage or {}).items():
        *parents, leaf = key_path.split(".")
        _node(payload, tuple(parents))[leaf] = value
    return payload


def _node(root: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = root
    for part in path:
        node = node.setdefault(part, {})
    return node
