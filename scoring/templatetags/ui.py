"""Small server-rendered pieces: colour badges, percentages and SVG charts (no JS, no CDN)."""

import datetime as dt
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

LABEL = {"red": "Red", "yellow": "Yellow", "green": "Green"}


@register.simple_tag
def rag(colour: str | None, text: str = "") -> SafeString:
    """A colour badge that always carries its name too (never colour alone)."""
    if not colour:
        return format_html('<span class="rag rag-none">{}</span>', text or "No data")
    return format_html('<span class="rag rag-{}">{}</span>', colour, text or LABEL[colour])


@register.filter
def pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


@register.filter
def days_since(moment: dt.datetime | None) -> int | None:
    return None if moment is None else (dt.datetime.now(dt.UTC) - moment).days


@register.simple_tag
def sparkline(points: list[dict[str, Any]], width: int = 120, height: int = 28) -> SafeString:
    """Overall score over the weeks, as a polyline on a 0–100 scale, last point coloured."""
    scored = [p for p in points if p.get("overall_score") is not None]
    if len(scored) < 2:
        return SafeString('<span class="muted">—</span>')
    step = width / (len(scored) - 1)
    coords = " ".join(
        f"{i * step:.1f},{height - p['overall_score'] / 100 * height:.1f}"
        for i, p in enumerate(scored)
    )
    last = scored[-1]
    return format_html(
        '<svg class="spark" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="Score over {} weeks, now {}"><polyline points="{}"/>'
        '<circle class="dot-{}" cx="{}" cy="{}" r="2.5"/></svg>',
        width,
        height,
        width,
        height,
        len(scored),
        round(last["overall_score"]),
        coords,
        last.get("overall_colour") or "none",
        f"{(len(scored) - 1) * step:.1f}",
        f"{height - last['overall_score'] / 100 * height:.1f}",
    )


@register.simple_tag
def utilization_chart(
    history: list[dict[str, Any]],
    milestones: dict[str, Any] | None,
    width: int = 640,
    height: int = 180,
) -> SafeString:
    """Billable users and licensed seats over time, with the forecast at renewal."""
    rows = [p for p in history if p.get("billable_users") is not None]
    if len(rows) < 2:
        return SafeString('<p class="empty">Not enough history yet.</p>')
    forecast = (milestones or {}).get("forecast_billable")
    renewal = (milestones or {}).get("forecast_on")
    start, end = rows[0]["as_of"], rows[-1]["as_of"]
    if renewal:
        end = max(end, dt.date.fromisoformat(renewal))
    span = max((end - start).days, 1)
    top = (
        max(
            [r["billable_users"] for r in rows]
            + [r["licensed_seats"] or 0 for r in rows]
            + [forecast or 0]
        )
        * 1.1
        or 1
    )
    pad = 30

    def x(day: dt.date) -> float:
        return pad + (day - start).days / span * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - value / top * (height - 2 * pad)

    used = " ".join(f"{x(r['as_of']):.1f},{y(r['billable_users']):.1f}" for r in rows)
    seats = " ".join(f"{x(r['as_of']):.1f},{y(r['licensed_seats'] or 0):.1f}" for r in rows)
    parts = [
        format_html('<polyline class="seats" points="{}"/>', seats),
        format_html('<polyline class="used" points="{}"/>', used),
        format_html('<text x="{}" y="{}">{}</text>', pad, height - 8, start.isoformat()),
        format_html('<text x="{}" y="14">{} seats</text>', pad, rows[-1]["licensed_seats"] or 0),
    ]
    if forecast is not None and renewal:
        last = rows[-1]
        parts.append(
            format_html(
                '<line class="forecast" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text x="{}" y="{}" text-anchor="end">forecast {} at renewal</text>',
                *(
                    f"{v:.1f}"
                    for v in (
                        x(last["as_of"]),
                        y(last["billable_users"]),
                        x(end),
                        y(forecast),
                        x(end),
                        max(y(forecast) - 6, 12),
                    )
                ),
                forecast,
            )
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="License utilization '
        'over time">{}</svg>',
        width,
        height,
        format_html_join("", "{}", ((p,) for p in parts)),
    )


@register.filter
def measure_value(line: dict[str, Any]) -> str:
    value = line.get("value")
    if value is None:
        return "—"
    if line.get("unit") == "%":
        return f"{value * 100:.1f}%"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


@register.filter
def band_text(line: dict[str, Any]) -> str:
    """The thresholds a measure was judged by, in words."""
    band = line.get("band")
    if not band:
        return ""
    lower = line.get("kind") in ("support_tickets", "meeting_cadence")
    shown = pct if line.get("unit") == "%" else (lambda v, *_: f"{v:g}")
    at_least, above = ("≤", "<") if lower else ("≥", ">")
    green = f"green {at_least if band['green_inclusive'] else above} {shown(band['green_from'], 1)}"
    if band.get("yellow_from") is None:
        return green
    yellow_sign = at_least if band["yellow_inclusive"] else above
    return f"{green}; yellow {yellow_sign} {shown(band['yellow_from'], 1)}"


@register.filter
def inputs_text(line: dict[str, Any]) -> str:
    parts = []
    for part in ("numerator", "denominator"):
        for key, value in (line.get("inputs", {}).get(part) or {}).items():
            parts.append(f"{key.rsplit('.', 1)[-1]} = {'—' if value is None else f'{value:g}'}")
    for key in ("billable_users", "licensed_seats", "tickets_30d", "last_meeting_on"):
        if key in line.get("inputs", {}):
            parts.append(f"{key.replace('_', ' ')} = {line['inputs'][key]}")
    if "met" in line.get("inputs", {}):
        parts.append(f"met: {', '.join(line['inputs']['met']) or 'none'}")
    return "; ".join(parts)


@register.filter
def get(mapping: dict[Any, Any] | None, key: Any) -> Any:
    return (mapping or {}).get(key)


@register.filter
def report_state(report: Any, day: dt.date) -> str:
    return str(report.state_on(day))
