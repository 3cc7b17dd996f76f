"""The interpreter's inputs and outputs: events in; state, effects and log entries out.

All of them are plain dataclasses with JSON-able fields, so the services can store them as they are
and the simulator can show them.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

EVENT_KINDS = ("start", "reply", "timeout", "delay_over", "http_result", "ai_result", "run_done")
RUN_STATUSES = ("running", "waiting", "completed", "failed")
# Which events can end each kind of wait; anything else is stale.
WAKES = {
    "reply": ("reply", "timeout"),
    "choice": ("reply", "timeout"),
    "delay": ("delay_over",),
    "http": ("http_result",),
    "ai": ("ai_result",),
    "run": ("run_done",),
}
# Events that carry the token of the deadline they were scheduled for.
TOKENED = ("timeout", "delay_over")


class NodeFailure(Exception):
    """A node that cannot go on (a bad URL, a config the validator would refuse): the run fails."""


class StepBudgetExceeded(Exception):
    """More node executions for one event than the budget allows.

    start() and resume() never raise it: they return a failed Result whose log has a
    "budget_exceeded" entry. It is exported for hosts that want to raise it from that Result.
    """


class _Wait:
    """The marker a node returns when the run must stop and wait (it set state.wait first)."""

    def __repr__(self) -> str:
        return "WAIT"


WAIT = _Wait()


@dataclass
class Event:
    """What wakes a run.

    kind: "start" | "reply" | "timeout" | "delay_over" | "http_result" | "ai_result" | "run_done".
    data: reply {"text", "type", "reply_id", "wamid"}; http_result {"status", "json", "error"};
    ai_result {"content", "error", "error_kind", "model", "tokens_in", "tokens_out", "cost_micros",
    "latency_ms", "call_id"} (content None when the call failed or was refused);
    run_done {"status"}; timeout and delay_over {"node", "token"}.
    """

    kind: str
    data: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> Event:
        """An Event from {"kind", "data"} (a missing kind makes an event no run waits for)."""
        return cls(kind=str(data.get("kind", "")), data=dict(data.get("data") or {}))

    def to_dict(self) -> dict:
        """{"kind", "data"}, JSON-able."""
        return {"kind": self.kind, "data": copy.deepcopy(self.data)}


@dataclass
class RunState:
    """Everything needed to resume a run; to_dict()/from_dict() round-trip through JSON exactly.

    wait: {"kind": "reply"|"choice"|"delay"|"http"|"ai"|"run", "node", "deadline": ISO or None,
    "token", "retries"} while the run waits, else None.
    """

    node: str | None = None
    status: str = "running"
    vars: dict = field(default_factory=dict)
    wait: dict | None = None
    steps: int = 0
    error: str | None = None

    def to_dict(self) -> dict:
        """A JSON-able copy (nothing shared with this state)."""
        return {
            "node": self.node,
            "status": self.status,
            "vars": copy.deepcopy(self.vars),
            "wait": dict(self.wait) if self.wait is not None else None,
            "steps": self.steps,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict) -> RunState:
        """A RunState from to_dict()'s shape (copied: the caller's dict is never changed)."""
        if not isinstance(data, dict):
            raise TypeError("a run state is a dict from RunState.to_dict()")
        wait = data.get("wait")
        return cls(
            node=data.get("node"),
            status=data.get("status", "running"),
            vars=copy.deepcopy(data.get("vars") or {}),
            wait=dict(wait) if wait else None,
            steps=int(data.get("steps") or 0),
            error=data.get("error"),
        )

    def copy(self) -> RunState:
        """A deep copy: changing it never changes this state."""
        return RunState.from_dict(self.to_dict())


@dataclass
class Effect:
    """What the host must do.

    kind: "send" (data: an outbound content dict, as services.outbound.queue_message takes it),
    "update_contact", "http" {"method", "url", "headers", "body", "timeout"}, "ai" {"messages",
    "response_format", "overrides", "purpose", "debug", "automation_budget"}, "wait_until"
    {"deadline", "token", "event"}, "handoff" {"reason"}, "log" {"message"}, "start_run"
    {"automation_id", "wait"}.
    """

    kind: str
    node: str
    data: dict

    def to_dict(self) -> dict:
        """A JSON-able dict of the fields."""
        return asdict(self)


@dataclass
class LogEntry:
    """One line of the run's activity log: "entered", "port", "sent", "waiting", "resumed",
    "completed", "failed", "timeout", "template_error", "budget_exceeded", "stale", ..."""

    node: str | None
    event: str
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-able dict of the fields."""
        return asdict(self)


@dataclass
class Result:
    """What start() and resume() return: the new state, the effects to perform, the log to keep."""

    state: RunState
    effects: list[Effect] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The run's status after this call: running, waiting, completed or failed."""
        return self.state.status

    @property
    def ports(self) -> list[tuple[str, str]]:
        """The (node, port) pairs taken, in order: the path drawn on the canvas."""
        return [(entry.node, entry.detail["port"]) for entry in self.log if entry.event == "port"]

    def to_dict(self) -> dict:
        """The whole result, JSON-able (what the simulator shows)."""
        return {
            "state": self.state.to_dict(),
            "effects": [effect.to_dict() for effect in self.effects],
            "log": [entry.to_dict() for entry in self.log],
        }
