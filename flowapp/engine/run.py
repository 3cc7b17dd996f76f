"""What a node sees while it runs: the run's variables, the contact, rendering, effects and waits.

One `Run` lives for one start() or resume() call. Nodes never touch the interpreter's loop; they
call these methods and return a port, WAIT or None.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowapp.engine.state import WAIT, Effect, LogEntry, NodeFailure, Result, RunState
from flowapp.engine.templating import evaluate_in, render_in, scope

WINDOW_CLOSED = (
    "the 24-hour window is closed (the customer has not written in the last 24 hours): "
    "only a template can be sent; use a send_template node here"
)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_copy(contact: dict | None) -> dict:
    """A copy of the host's contact that nodes may change (update_contact) without touching the host's."""
    copied = dict(contact or {})
    copied["fields"] = dict(copied.get("fields") or {})
    copied["tags"] = list(copied.get("tags") or [])
    if not copied.get("phone") and copied.get("wa_id"):
        copied["phone"] = "+" + str(copied["wa_id"]).lstrip("+")
    return copied


class Run:
    """The state of one call: nodes read and change `vars` and `contact`, and emit effects."""

    def __init__(self, state: RunState, context: dict, now: datetime):
        self.state = state
        self.vars = state.vars
        self.context = context
        self.now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.contact = contact_copy(context.get("contact"))
        self.message = dict(context.get("message") or {})
        self.scope = scope(
            {
                "contact": self.contact,
                "vars": self.vars,
                "message": self.message,
                "trigger": context.get("trigger") or {},
                "now": self.now,
            }
        )
        self.window_open = context.get("window_open")
        self.effects: list[Effect] = []
        self.log: list[LogEntry] = []
        self._random: random.Random | None = None

    def result(self) -> Result:
        """What start() or resume() returns for this call."""
        return Result(self.state, self.effects, self.log)

    def render(self, text: str | None) -> str:
        """Render message text with the run's names (contact, vars, message, trigger, now)."""
        return render_in(text, self.scope) if text else ""

    def render_value(self, value):
        """Render every string inside a JSON value (an HTTP body), keeping its structure."""
        if isinstance(value, str):
            return self.render(value)
        if isinstance(value, dict):
            return {key: self.render_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.render_value(item) for item in value]
        return value

    def evaluate(self, expression: str):
        """The value of an expression (a condition's left side) with the run's names."""
        return evaluate_in(expression, self.scope)

    def note(self, node_id: str | None, event: str, detail: dict | None = None) -> None:
        """Add a line to the run's log (no effect for the host to perform)."""
        self.log.append(LogEntry(node_id, event, detail or {}))

    def emit(self, node_id: str, kind: str, data: dict) -> None:
        """Ask the host to do something; it is logged too ("sent" for a send, else its kind)."""
        self.effects.append(Effect(kind, node_id, data))
        self.log.append(LogEntry(node_id, "sent" if kind == "send" else kind, data))

    def send(self, node_id: str, content: dict, *, free_form: bool = True) -> None:
        """Emit a send; a free-form one fails the node when the host says the window is closed."""
        if free_form and self.window_open is False:
            raise NodeFailure(WINDOW_CLOSED)
        self.emit(node_id, "send", content)

    def replied(self, message: dict) -> None:
        """The customer wrote: `message` is what templates see now, and the window is open."""
        self.message.clear()
        self.message.update(message)
        self.window_open = True

    def wait(self, node_id: str, kind: str, *, seconds: int | None = None, deadline: datetime | None = None):
        """Stop the run until an event of `kind` comes (or the deadline); returns WAIT for the node."""
        token = f"{node_id}:{self.state.steps}"  # steps only grow: unique within the run
        if seconds is not None:
            deadline = self.now + timedelta(seconds=seconds)
        iso = deadline.astimezone(UTC).isoformat() if deadline is not None else None
        self.state.wait = {"kind": kind, "node": node_id, "deadline": iso, "token": token, "retries": 0}
        if iso is not None:
            event = "delay_over" if kind == "delay" else "timeout"
            self.emit(node_id, "wait_until", {"deadline": iso, "token": token, "event": event})
        return WAIT

    def zone(self, which: str = "account") -> ZoneInfo:
        """The contact's or the account's time zone; falls back to the account's, then UTC."""
        names = [self.context.get("account_timezone")]
        if which == "contact":
            names.insert(0, self.contact.get("timezone"))
        for name in names:
            found = _zone(name) if isinstance(name, str) and name else None
            if found is not None:
                return found
        return ZoneInfo("UTC")

    def draw(self) -> float:
        """A number in [0, 1) for random splits, reproducible from the host's context["random"].

        A float is used as the first draw (and seeds the next ones); anything else seeds a
        random.Random. Without one, draws are not reproducible.
        """
        seed = self.context.get("random")
        if self._random is None:
            self._random = random.Random(seed) if seed is not None else random.Random()
            if isinstance(seed, float) and 0 <= seed < 1:
                return seed
        return self._random.random()
