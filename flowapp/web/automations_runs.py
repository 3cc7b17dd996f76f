"""Real runs on the canvas: pick a run (or search a contact) to see its path, and the analytics
overlay (visits per node and edge, drop-off, delivery of each send node)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, jsonify, render_template, request

from flowapp.extensions import db
from flowapp.models import AutomationRun, utcnow
from flowapp.services import stats
from flowapp.web.automations_common import bp, get_automation

PERIODS = {"1": 1, "7": 7, "30": 30, "all": None}


@bp.get("/<int:automation_id>/runs")
def runs(automation_id: int):
    """Recent runs of this automation, newest first; `q` searches a contact's name or number."""
    automation = get_automation(automation_id)
    search = request.args.get("q", "")[:100]
    return render_template(
        "automations/_runs.html",
        automation=automation,
        runs=stats.recent_runs(automation, search),
        search=search,
    )


@bp.get("/<int:automation_id>/runs/<int:run_id>")
def run_trace(automation_id: int, run_id: int):
    """One run's steps, with the path the canvas highlights."""
    automation = get_automation(automation_id)
    run = db.session.get(AutomationRun, run_id)
    if run is None or run.automation_id != automation.id:
        abort(404, "No such run of this automation.")
    trace = stats.run_trace(run)
    path = {"nodes": trace["nodes"], "ports": trace["ports"], "current": trace["current"]}
    return render_template("automations/_trace.html", automation=automation, run=run, trace=trace, path=path)


@bp.get("/<int:automation_id>/stats")
def stats_overlay(automation_id: int):
    """The overlay's figures for runs started in the period (?days=1|7|30|all), as JSON."""
    automation = get_automation(automation_id)
    period = request.args.get("days", "30")
    if period not in PERIODS:
        abort(400, "days must be 1, 7, 30 or all.")
    days = PERIODS[period]
    since = utcnow() - timedelta(days=days) if days else None
    return jsonify(stats.automation_stats(automation, since))
