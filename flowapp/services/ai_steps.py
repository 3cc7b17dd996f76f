"""The host side of the AI nodes: make the call an "ai" effect asked for, and turn its outcome into
the engine's "ai_result" event.

The engine node (flowapp/engine/nodes/ai.py) builds the messages and the constrained output; the
job (flowapp/jobs/automations.py `perform_ai`) calls `call()` with no lock or transaction held,
commits the call's record, and resumes the run with the event data. The simulator calls it inline.
"""

from __future__ import annotations

from flowapp.services import ai

# The keys of an "ai" effect that services.ai.complete() takes as they are.
PASSED = ("response_format", "overrides", "automation_budget", "debug")


def call(request: dict, *, automation_id: int | None, run_id: int | None, node_id: str) -> dict:
    """Make the model call described by an "ai" effect; returns the "ai_result" event data:
    {"content", "error", "error_kind", "model", "tokens_in", "tokens_out", "cost_micros",
    "latency_ms", "call_id"} (content None on failure). The call's AICall row is flushed, not
    committed: the caller commits, also after a failure (so failed calls count)."""
    options = {key: request.get(key) for key in PASSED}
    options["debug"] = bool(options["debug"])
    try:
        answer = ai.complete(
            list(request.get("messages") or []),
            automation_id=automation_id,
            run_id=run_id,
            node_id=node_id,
            **options,
        )
    except ai.BudgetExceeded as failure:
        return _failed(str(failure), "budget")
    except ai.CallFailed as failure:
        return _failed(str(failure), failure.error.kind)
    return {
        "content": answer.content,
        "error": None,
        "error_kind": None,
        "model": answer.model,
        "tokens_in": answer.tokens_in,
        "tokens_out": answer.tokens_out,
        "cost_micros": answer.cost_micros,
        "latency_ms": answer.latency_ms,
        "call_id": answer.call_id,
        "finish_reason": answer.finish_reason,
    }


def _failed(message: str, kind: str) -> dict:
    return {
        "content": None,
        "error": message,
        "error_kind": kind,
        "model": None,
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_micros": None,
        "latency_ms": None,
        "call_id": None,
    }
