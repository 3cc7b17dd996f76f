"""The simulator panel: chat with the draft being edited as a test contact (services/simulator.py).

Each route answers the whole panel (one fragment), which also tells the canvas which node is
active and which path the run took. Nothing here sends a message or writes a run.
"""

from __future__ import annotations

import json

from flask import render_template, request
from flask_login import current_user

from flowapp.extensions import db, get_redis
from flowapp.services import ai_steps, simulator
from flowapp.web.automations_common import bp, get_automation, json_field


def _key(automation_id: int) -> str:
    return simulator.key(current_user.id, automation_id)


def _panel(automation, sim: dict | None, error: str | None = None, status: int = 200):
    state = (sim or {}).get("state") or {}
    return render_template(
        "automations/_simulator.html",
        automation=automation,
        sim=sim,
        state=state,
        wait=state.get("wait") or {},
        error=error,
    ), status


# Model calls one simulator action may make in a row (a graph looping through AI steps stops here).
MAX_AI_CALLS = 10


def _run(automation_id: int, action):
    """Call `action(redis, key)` and answer the panel, with the simulator's refusal if any."""
    automation = get_automation(automation_id)
    redis = get_redis()
    try:
        sim = _answer_ai_steps(automation, redis, action(redis, _key(automation_id)))
    except simulator.SimulatorError as exc:
        return _panel(automation, simulator.load(redis, _key(automation_id)), str(exc), 422)
    return _panel(automation, sim)


def _answer_ai_steps(automation, redis, sim: dict | None) -> dict | None:
    """Make the model calls the simulated run waits for, for real (the fake model in the sandbox),
    each record committed as the job does: the simulator's calls count against the budgets."""
    for _ in range(MAX_AI_CALLS):
        pending = (sim or {}).get("pending") or {}
        if pending.get("kind") != "ai":
            break
        db.session.rollback()  # nothing is written before a call; end the read transaction
        result = ai_steps.call(
            pending["request"],
            automation_id=automation.id,
            run_id=None,
            node_id=pending["node"],
            transcript=simulator.transcript(sim),
        )
        db.session.commit()
        sim = simulator.answer_ai(redis, _key(automation.id), result)
    return sim


@bp.get("/<int:automation_id>/simulator")
def simulator_panel(automation_id: int):
    """The simulator as it stands (empty before the first start)."""
    automation = get_automation(automation_id)
    return _panel(automation, simulator.load(get_redis(), _key(automation_id)))


@bp.post("/<int:automation_id>/simulator/start")
def simulator_start(automation_id: int):
    """Start the draft the editor sends (the canvas as it is now), with an optional first message."""
    graph, trigger = json_field("graph"), json_field("trigger")
    if not isinstance(graph, dict):
        automation = get_automation(automation_id)
        graph, trigger = automation.draft, automation.trigger
    # The start form says whether the 24-hour window is open; a restart keeps the trigger's default.
    window_open = request.form.get("window_open") == "true" if request.form.get("window_set") else None
    text = request.form.get("text", "").strip() or None
    return _run(
        automation_id,
        lambda redis, key: simulator.start(redis, key, graph, trigger, text=text, window_open=window_open),
    )


@bp.post("/<int:automation_id>/simulator/reply")
def simulator_reply(automation_id: int):
    """The test contact writes, or taps a button or list row."""
    form = request.form
    return _run(
        automation_id,
        lambda redis, key: simulator.reply(
            redis,
            key,
            text=form.get("text", "").strip(),
            reply_id=form.get("reply_id") or None,
            title=form.get("title") or None,
        ),
    )


@bp.post("/<int:automation_id>/simulator/skip")
def simulator_skip(automation_id: int):
    """Skip to the current wait's deadline (its timeout, or the end of a delay)."""
    return _run(automation_id, simulator.skip_wait)


def _json_answer(text: str):
    if not text.strip():
        return None
    return json.loads(text)


@bp.post("/<int:automation_id>/simulator/http")
def simulator_http(automation_id: int):
    """Answer the pending HTTP request: success with a JSON body, or failure."""
    form = request.form
    success = form.get("outcome") == "success"
    status = form.get("status", "").strip()
    try:
        body = _json_answer(form.get("json", ""))
    except ValueError as exc:
        automation = get_automation(automation_id)
        sim = simulator.load(get_redis(), _key(automation_id))
        return _panel(automation, sim, f"The response body is not valid JSON: {exc}", 422)
    code = int(status) if status.isdigit() else (200 if success else None)
    return _run(
        automation_id,
        lambda redis, key: simulator.answer_http(redis, key, success=success, status=code, body=body),
    )


@bp.post("/<int:automation_id>/simulator/child")
def simulator_child(automation_id: int):
    """The automation this run waits for has ended (completed or failed)."""
    status = "failed" if request.form.get("status") == "failed" else "completed"
    return _run(automation_id, lambda redis, key: simulator.finish_child(redis, key, status))


@bp.post("/<int:automation_id>/simulator/reset")
def simulator_reset(automation_id: int):
    """Forget the simulation: the panel starts over."""
    automation = get_automation(automation_id)
    simulator.reset(get_redis(), _key(automation_id))
    return _panel(automation, None)
