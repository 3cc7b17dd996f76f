"""The host side of the AI nodes: make the call an "ai" effect asked for, and turn its outcome into
the engine's "ai_result" event.

The engine node (flowapp/engine/nodes/ai.py) builds the messages and the constrained output; the
job (flowapp/jobs/automations.py `perform_ai`) calls `call()` with no lock or transaction held,
commits the call's record, and resumes the run with the event data. The simulator calls it inline.
"""

from __future__ import annotations

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Conversation, Message
from flowapp.services import ai, knowledge_search, runner

# The keys of an "ai" effect that services.ai.complete() takes as they are.
PASSED = ("response_format", "overrides", "automation_budget", "debug")
MAX_MESSAGE = 4096  # characters of one conversation message given to the model


def recent_messages(contact_id: int | None, limit: int) -> list[dict]:
    """The contact's last `limit` messages as Chat Completions messages, oldest first: what the
    customer wrote as "user", what the business sent as "assistant". Messages held behind a pending
    step (they come after it) and sends that failed (the customer never saw them) are left out."""
    if contact_id is None or limit <= 0:
        return []
    held = runner.held_ids(contact_id)
    rows = db.session.scalars(
        select(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Conversation.contact_id == contact_id, Message.status != "failed")
        .order_by(Message.id.desc())
        .limit(limit + len(held))
    )
    kept = [message for message in rows if message.id not in held][:limit]
    return [chat_message(m.direction == "in", m.text, m.type) for m in reversed(kept)]


def chat_message(from_customer: bool, text: str | None, kind: str = "text") -> dict:
    """One conversation message for the model; a message without text (media) by its type."""
    content = (text or "").strip()[:MAX_MESSAGE] or f"[{kind or 'message'}]"
    return {"role": "user" if from_customer else "assistant", "content": content}


def _added(request: dict, contact_id: int | None, transcript: list[dict] | None) -> list[dict]:
    """The messages the host adds to the effect's: the conversation's last ones when asked."""
    limit = request.get("history")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        return []
    if transcript is not None:
        return transcript[-limit:]
    return recent_messages(contact_id, limit)


def sources_message(passages: list) -> dict:
    """The passages found as one system message of numbered sources, best first."""
    lines = ["Sources:"]
    for number, passage in enumerate(passages, start=1):
        lines.append(f"[{number}] {passage.source_title}\n{passage.text}")
    return {"role": "system", "content": "\n\n".join(lines)}


def _question(messages: list[dict]) -> str:
    return next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")


def _with_sources(request: dict) -> tuple[list[dict], list[dict]] | None:
    """(the call's messages, the sources message added) for an effect with "knowledge": the base
    searched for the user message; None when no passage is relevant (no call is made then)."""
    messages = list(request.get("messages") or [])
    knowledge = request["knowledge"]
    limit = knowledge.get("limit") or 5
    passages = knowledge_search.search(knowledge.get("base"), _question(messages), limit=limit)
    if not passages:
        return None
    added = [sources_message(passages)]
    systems = [m for m in messages if m.get("role") == "system"]
    return [*systems, *added, *[m for m in messages if m.get("role") != "system"]], added


def _unknown() -> dict:
    """The "ai_result" of an answer step whose base has nothing relevant: no call was made."""
    return {**_failed(None, None), "unknown": True, "added": []}


def call(
    request: dict,
    *,
    automation_id: int | None,
    run_id: int | None,
    node_id: str,
    contact_id: int | None = None,
    transcript: list[dict] | None = None,
) -> dict:
    """Make the model call described by an "ai" effect; returns the "ai_result" event data:
    {"content", "error", "error_kind", "model", "tokens_in", "tokens_out", "cost_micros",
    "latency_ms", "call_id", "added"} (content None on failure). The call's AICall row is flushed,
    not committed: the caller commits, also after a failure (so failed calls count).

    An effect with "history": n gets the contact's last n messages appended (`transcript`, already
    chat messages, instead when the simulator plays the host); one with "knowledge": {"base",
    "limit"} gets the passages the base has for the user message as a system message of numbered
    sources, and when there is none no call is made: {"unknown": True}. "added" holds what was
    added, for the trace.
    """
    options = {key: request.get(key) for key in PASSED}
    options["debug"] = bool(options["debug"])
    if request.get("knowledge"):
        prepared = _with_sources(request)
        if prepared is None:
            return _unknown()
        messages, added = prepared
    else:
        added = _added(request, contact_id, transcript)
        messages = [*(request.get("messages") or []), *added]
    try:
        answer = ai.complete(
            messages,
            automation_id=automation_id,
            run_id=run_id,
            node_id=node_id,
            **options,
        )
    except ai.BudgetExceeded as failure:
        return {**_failed(str(failure), "budget"), "added": added}
    except ai.CallFailed as failure:
        return {**_failed(str(failure), failure.error.kind), "added": added}
    return {
        "added": added,
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


def _failed(message: str | None, kind: str | None) -> dict:
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
