"""Milestones (time to value) and the seat forecast, from an account's utilization history."""

import datetime as dt
from typing import Any

from scoring import engine

UTILIZATION_MILESTONES = (0.10, 0.50, 0.80)
FIRST_GREEN = ("scm", "ci", "devsecops")
TREND_WEEKS = 12


def milestones_compute(
    *,
    inputs: engine.Inputs,
    history: list[tuple[dt.date, float | None, float | None]],
    renewal: dt.date | None,
    result: engine.Result,
    previous: dict[str, Any],
) -> dict[str, Any]:
    """First-value date, days to 10/50/80% utilization and to first green SCM/CI/DevSecOps
    (days since customer-since), and the billable-user forecast at renewal."""
    since = inputs.customer_since
    out: dict[str, Any] = {}
    for share in UTILIZATION_MILESTONES:
        reached = next(
            (
                day
                for day, billable, seats in history
                if billable is not None and seats and billable / seats >= share
            ),
            None,
        )
        key = f"util_{round(share * 100)}"
        out[f"{key}_on"] = reached.isoformat() if reached else None
        out[f"days_to_{key}"] = (reached - since).days if reached and since else None
    out["first_value_on"] = out["util_10_on"]
    colours = result.use_case_colours
    for use_case in FIRST_GREEN:
        key = f"first_green_{use_case}_on"
        first = previous.get(key) or (
            inputs.as_of.isoformat() if colours.get(use_case) == engine.GREEN else None
        )
        out[key] = first
        out[f"days_to_green_{use_case}"] = (
            (dt.date.fromisoformat(first) - since).days if first and since else None
        )
    out.update(seat_forecast(history, renewal, inputs.licensed_seats))
    return out


def seat_forecast(
    history: list[tuple[dt.date, float | None, float | None]],
    renewal: dt.date | None,
    licensed: float | None,
) -> dict[str, Any]:
    """Least-squares trend of billable users over the last weeks, projected to renewal."""
    points = [(day, billable) for day, billable, _ in history if billable is not None]
    points = points[-TREND_WEEKS:]
    if renewal is None or len(points) < 2:
        return {"forecast_on": None, "forecast_billable": None, "forecast_over_license": False}
    origin = points[0][0]
    xs = [(day - origin).days for day, _ in points]
    ys = [float(v) for _, v in points]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = (
        sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
        if spread
        else 0.0
    )
    projected = max(0.0, mean_y + slope * ((renewal - origin).days - mean_x))
    return {
        "forecast_on": renewal.isoformat(),
        "forecast_billable": round(projected),
        "forecast_per_week": round(slope * 7, 2),
        "forecast_over_license": bool(licensed and projected > licensed),
    }
