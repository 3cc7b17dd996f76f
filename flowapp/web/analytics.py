"""Analytics: messages in and out, delivery, first responses, automations and keywords, over a range
of days, with charts drawn on the server as SVG and the daily table as CSV."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from flowapp.extensions import db
from flowapp.models import utcnow
from flowapp.services import analytics, analytics_ai, maintenance

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

DEFAULT_DAYS = 30
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 220, 36


@bp.get("/")
def index():
    """The page for a range of days (`from`, `to`; the last 30 days by default)."""
    first, last, problem = date_range()
    result = analytics.report(first, last)
    return render_template(
        "analytics/index.html",
        report=result,
        ai=analytics_ai.report(first, last),
        problem=problem,
        chart=daily_chart(result["daily"]),
        presets=presets(last),
    )


@bp.post("/refresh")
def refresh():
    """Roll the figures up now, as the hourly job does, then show the same range again."""
    count = maintenance.aggregate_analytics()
    db.session.commit()
    flash(f"Figures rolled up just now ({count} counters).")
    kept = {name: request.form[name] for name in ("from", "to") if request.form.get(name)}
    return redirect(url_for("analytics.index", **kept))


@bp.get("/export.csv")
def export():
    """The daily figures of the range as CSV (UTC days)."""
    first, last, _ = date_range()
    out = io.StringIO()
    csv.writer(out).writerows(analytics.csv_rows(analytics.report(first, last)))
    name = f"flowapp-analytics-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def date_range() -> tuple[date, date, str | None]:
    """The requested days, or the default range and a sentence saying what was wrong."""
    today = utcnow().date()
    default = (today - timedelta(days=DEFAULT_DAYS - 1), today)
    raw_first, raw_last = request.args.get("from"), request.args.get("to")
    if not raw_first and not raw_last:
        return *default, None
    try:
        first = date.fromisoformat(raw_first) if raw_first else default[0]
        last = date.fromisoformat(raw_last) if raw_last else today
    except ValueError:
        return *default, "Dates look like 2026-01-31; showing the last 30 days."
    if first > last:
        return *default, "The range starts after it ends; showing the last 30 days."
    if (last - first).days >= analytics.MAX_RANGE_DAYS:
        return *default, f"Ranges are at most {analytics.MAX_RANGE_DAYS} days; showing the last 30 days."
    return first, last, None


def presets(last: date) -> list[tuple[str, str, str]]:
    """Quick ranges ending on `last`: (label, from, to)."""
    return [
        (label, (last - timedelta(days=days - 1)).isoformat(), last.isoformat())
        for label, days in (("7 days", 7), ("30 days", 30), ("90 days", 90))
    ]


def nice_max(value: int) -> int:
    """A round number at or above `value` for the top of an axis (1, 2, 5, 10, 20, 50...)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= value)


def daily_chart(daily: list[dict]) -> dict:
    """Bar geometry for messages in and out per day: two bars per day on a shared axis."""
    top = nice_max(max([max(d["in"], d["out"]) for d in daily] or [0]))
    plot_w, plot_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    slot = plot_w / max(len(daily), 1)
    bar = max(slot * 0.38, 1)
    bars, labels = [], []
    every = max(1, math.ceil(len(daily) / 10))
    for i, day in enumerate(daily):
        x = CHART_PAD + i * slot + slot * 0.1
        for offset, key in ((0, "in"), (bar, "out")):
            height = plot_h * day[key] / top
            bars.append(
                {
                    "x": round(x + offset, 2),
                    "y": round(CHART_PAD + plot_h - height, 2),
                    "w": round(bar, 2),
                    "h": round(height, 2),
                    "cls": f"bar-{key}",
                    "title": f"{day['day'].isoformat()}: {day[key]} {'in' if key == 'in' else 'out'}",
                }
            )
        if i % every == 0:
            labels.append({"x": round(x + bar, 2), "text": day["day"].strftime("%d %b")})
    # Gridlines at 0, half and top, labelled with their exact value; half of 1 or 5 is no whole
    # number of messages, so that line is left out rather than labelled 0 or 2.
    ticks = [
        {"y": round(CHART_PAD + plot_h - plot_h * f, 2), "value": int(top * f)}
        for f in (0, 0.5, 1)
        if float(top * f).is_integer()
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "bottom": CHART_PAD + plot_h,
        "right": CHART_WIDTH - CHART_PAD,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
    }
