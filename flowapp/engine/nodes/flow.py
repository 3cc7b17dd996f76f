"""The shape of the run: start, end, delays, sub-automations, hand-off and activity notes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flowapp.engine.durations import describe, parse_duration, seconds_or_none
from flowapp.engine.nodes.common import DURATION, obj, quote, text
from flowapp.engine.registry import node_type
from flowapp.engine.state import NodeFailure
from flowapp.engine.triggers import TIME_OF_DAY


@node_type(
    "start",
    ports=("next",),
    label="Start",
    icon="▶️",
    description="Where every run begins (one per automation)",
    category="flow",
    config_schema=obj({}),
    summary=lambda config: "Start",
    open_risks={"next": "a run would do nothing"},
)
def start(run, node_id: str, config: dict):
    """Where the run begins; exactly one per graph.

    {"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 120}}
    """
    return "next"


@node_type(
    "end",
    ports=(),
    label="End",
    icon="⏹️",
    description="End the run here",
    category="flow",
    config_schema=obj({}),
    summary=lambda config: "End",
)
def end(run, node_id: str, config: dict):
    """End the run (completed). A port with nothing connected ends it too; this makes it explicit.

    {"id": "done", "type": "end", "config": {}}
    """
    return None


def next_local_time(now: datetime, hhmm: str, zone) -> datetime:
    """The first moment after `now` when the clock in `zone` shows `hhmm`, in UTC.

    A time skipped by a daylight-saving change (02:30 on the spring-forward night) is taken one
    hour later; a repeated one (the autumn night) at its first occurrence.
    """
    hour, minute = (int(part) for part in hhmm.split(":"))
    day = now.astimezone(zone).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), time(hour, minute), tzinfo=zone)
        candidate = candidate.astimezone(UTC)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: some day within three has that time")


def _delay_check(config: dict):
    if ("seconds" in config) == ("until" in config):
        yield ("error", "seconds", "give either a duration (seconds) or a time of day (until), not both")
    if "timezone" in config and "until" not in config:
        yield ("warning", "timezone", "a time zone only matters with until")


def _delay_summary(config: dict) -> str:
    if "until" in config:
        return f"Wait until {config['until']} ({config.get('timezone', 'account')} time)"
    seconds = seconds_or_none(config.get("seconds"))
    return f"Wait {describe(seconds)}" if seconds is not None else "Wait"


@node_type(
    "delay",
    ports=("next",),
    resume=lambda run, node_id, config, event, wait: "next",
    label="Delay",
    icon="⏰",
    description="Pause for a while, or until a time of day in the account's or contact's time zone",
    category="flow",
    config_schema=obj(
        {"seconds": DURATION, "until": TIME_OF_DAY, "timezone": {"enum": ["account", "contact"]}}
    ),
    default_config={"seconds": "1h"},
    waits=True,
    summary=_delay_summary,
    check=_delay_check,
)
def delay(run, node_id: str, config: dict):
    """Pause the run: for a duration ("90s", "15m", "2h", "3d", "1w"), or until the next time the
    clock shows `until` ("09:00") in the account's or the contact's time zone. The host stores the
    deadline and sends `delay_over` with the token.

        {"id": "next_morning", "type": "delay", "config": {"until": "09:00", "timezone": "contact"}}
    """
    if "until" in config:
        deadline = next_local_time(run.now, config["until"], run.zone(config.get("timezone", "account")))
        return run.wait(node_id, "delay", deadline=deadline)
    if "seconds" not in config:
        raise NodeFailure("a delay needs a duration (seconds) or a time of day (until)")
    try:
        seconds = parse_duration(config["seconds"])
    except ValueError as exc:
        raise NodeFailure(f"seconds: {exc}") from None
    return run.wait(node_id, "delay", seconds=seconds)


def _waits_for_child(config: dict) -> bool:
    return config.get("wait", True) is not False


def _resume_child(run, node_id: str, config: dict, event, wait):
    run.note(node_id, "run_done", {"status": event.data.get("status")})
    return "done"


@node_type(
    "run_automation",
    ports=lambda config: ["done"] if _waits_for_child(config) else ["next"],
    resume=_resume_child,
    label="Run automation",
    icon="🔁",
    description="Start another automation for this contact, and come back when it ends",
    category="flow",
    config_schema=obj(
        {"automation_id": {"type": "integer", "minimum": 1}, "wait": {"type": "boolean"}}, ("automation_id",)
    ),
    required=("automation_id",),
    default_config={"wait": True},
    waits=True,
    waits_if=_waits_for_child,
    summary=lambda config: (
        f"Run automation #{config.get('automation_id') or '?'}"
        + (" and wait" if _waits_for_child(config) else "")
    ),
)
def run_automation(run, node_id: str, config: dict):
    """Start another automation for the contact. With wait (the default), this run waits for the
    child's `run_done` event and takes "done"; without, it goes on at once through "next".

        {"id": "survey", "type": "run_automation", "config": {"automation_id": 12, "wait": true}}
    """
    waits = _waits_for_child(config)
    run.emit(node_id, "start_run", {"automation_id": config.get("automation_id"), "wait": waits})
    return run.wait(node_id, "run") if waits else "next"


@node_type(
    "handoff",
    ports=(),
    label="Hand off",
    icon="🙋",
    description="Pass the conversation to a person in the inbox and end the run",
    category="flow",
    config_schema=obj({"reason": text(1000)}),
    default_config={"reason": ""},
    summary=lambda config: "Hand off" + (f" {quote(config['reason'], 30)}" if config.get("reason") else ""),
    texts=lambda config: [("reason", config["reason"])] if isinstance(config.get("reason"), str) else [],
)
def handoff(run, node_id: str, config: dict):
    """End the run and hand the conversation to a person: the host pauses automations in it and
    marks it for the inbox, with the rendered reason.

        {"id": "agent", "type": "handoff", "config": {"reason": "Asked for a person: {{ message.text }}"}}
    """
    run.emit(node_id, "handoff", {"reason": run.render(config.get("reason"))})
    return None


@node_type(
    "log",
    ports=("next",),
    label="Log",
    icon="🗒️",
    description="Write a line in the run's activity log (nothing is sent)",
    category="flow",
    config_schema=obj({"message": text(2000)}, ("message",)),
    required=("message",),
    default_config={"message": ""},
    summary=lambda config: f"Log {quote(config.get('message'), 30)}",
    texts=lambda config: [("message", config["message"])] if isinstance(config.get("message"), str) else [],
)
def log(run, node_id: str, config: dict):
    """Write the rendered message in the run's activity log; nothing is sent to the customer.

    {"id": "note", "type": "log", "config": {"message": "{{ contact.name }} chose {{ vars.choice }}"}}
    """
    run.emit(node_id, "log", {"message": run.render(config.get("message"))})
    return "next"
