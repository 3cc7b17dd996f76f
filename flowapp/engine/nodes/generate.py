"""The Generate reply node, and what it shares with Answer from knowledge: a model's free-text answer
sent as a text message or saved to a variable.

The node's prompt (rendered with the run's names) is the system message; the conversation's last
messages are added by the host when it builds the call (flowapp/services/ai_steps.py), the customer's
as user messages and the business's as assistant messages, so what a customer wrote is never part of
the instructions. A send goes through run.send like send_text: never outside the 24-hour window.
"""

from __future__ import annotations

from flowapp.engine.nodes.ai import OVERRIDES, RESULT_KEYS, request
from flowapp.engine.nodes.common import VARIABLE, obj, quote, text
from flowapp.engine.registry import node_type
from flowapp.engine.run import WINDOW_CLOSED
from flowapp.engine.state import NodeFailure
from flowapp.whatsapp.payloads import MAX_TEXT

MODES = ("send", "save")
DEFAULT_HISTORY = 6
MAX_HISTORY = 20
MAX_PROMPT = 4000
ELLIPSIS = "…"


def sends(config: dict) -> bool:
    """Whether the node sends its answer (a free-form send: the 24-hour rule applies)."""
    return config.get("mode", "send") != "save"


def fit(answer: str, limit: int = MAX_TEXT) -> str:
    """`answer` held to `limit` characters: cut at the last space before it, with an ellipsis."""
    if len(answer) <= limit:
        return answer
    head = answer[: limit - len(ELLIPSIS)]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space > limit // 2:  # a word boundary not too far back; otherwise cut inside the word
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def window_closed(run, node_id: str, config: dict) -> bool:
    """True (noted) when the node would send while the host says the 24-hour window is closed."""
    if sends(config) and run.window_open is False:
        run.note(node_id, "send_refused", {"reason": WINDOW_CLOSED})
        return True
    return False


def reply_text(run, node_id: str, event) -> str | None:
    """The model's answer (logged for the trace), or None (logged as a failure) when there is none."""
    data = event.data
    content = data.get("content")
    run.note(node_id, "ai_answer", {"content": content, **{k: data.get(k) for k in RESULT_KEYS}})
    if data.get("error") or not isinstance(content, str) or not content.strip():
        run.note(node_id, "ai_failed", {"error": str(data.get("error") or "the model gave no answer")})
        return None
    return content.strip()


def deliver(run, node_id: str, config: dict, answer: str) -> str:
    """Send the answer as a text message or save it to vars[save_as]; "next", or "failure" when the
    window closed meanwhile. The answer is held to WhatsApp's text limit either way (noted)."""
    body = fit(answer)
    if body != answer:
        run.note(node_id, "answer_cut", {"length": len(answer), "kept": len(body)})
    if not sends(config):
        run.vars[config.get("save_as") or "reply"] = body
        return "next"
    try:
        run.send(node_id, {"type": "text", "text": body, "preview_url": False})
    except NodeFailure as exc:
        run.note(node_id, "send_refused", {"reason": str(exc)})
        return "failure"
    return "next"


def check_mode(config: dict):
    """Problems shared by the nodes that send or save their answer."""
    if not sends(config) and not config.get("save_as"):
        yield ("error", "save_as", "name the variable the answer is saved to")


MODE_SETTINGS = {"mode": {"enum": list(MODES)}, "save_as": VARIABLE, **OVERRIDES}


def _resume(run, node_id: str, config: dict, event, wait):
    answer = reply_text(run, node_id, event)
    return "failure" if answer is None else deliver(run, node_id, config, answer)


def _summary(config: dict) -> str:
    target = "send it" if sends(config) else f"save as {config.get('save_as') or '?'}"
    return f"Generate a reply to {quote(config.get('prompt'))} and {target}"


@node_type(
    "generate",
    ports=("next", "failure"),
    resume=_resume,
    label="Generate reply",
    icon="✍️",
    description="Write a reply with the AI model from your instructions and the conversation",
    category="ai",
    config_schema=obj(
        {
            "prompt": text(MAX_PROMPT, min_length=1),
            "history": {"type": "integer", "minimum": 0, "maximum": MAX_HISTORY},
            **MODE_SETTINGS,
        },
        ("prompt",),
    ),
    required=("prompt",),
    default_config={"prompt": "You are a friendly assistant. Answer in one short paragraph.", "mode": "send"},
    waits=True,
    sends_free_form_if=sends,
    open_risks={"failure": "a failed model call would end the run unnoticed"},
    summary=_summary,
    texts=lambda config: [("prompt", config["prompt"])] if isinstance(config.get("prompt"), str) else [],
    check=check_mode,
)
def generate(run, node_id: str, config: dict):
    """Ask the model for a reply, then send it as text or save it to a variable.

    `prompt` is a template (contact, vars, message...) and the system message. The host adds the
    conversation's last `history` messages (default 6, 0 to 20): the customer's as user messages,
    the business's as assistant messages. mode "send" (default) sends the answer as a text message,
    a free-form send like send_text (never outside the 24-hour window: "failure" without a call);
    mode "save" saves it to vars[save_as]. Over 4096 characters, the answer is cut at a word with
    an ellipsis. Ports: "next", "failure" (the call failed, was refused by a budget, answered
    nothing, or the window was closed). model, temperature and max_tokens override Settings.

        {"id": "reply", "type": "generate",
         "config": {"prompt": "You answer for Ana's Bakery. Be brief. Call them {{ contact.name }}.",
                    "history": 6, "mode": "send", "temperature": 0.3}}
    """
    if window_closed(run, node_id, config):
        return "failure"
    prompt = run.render(config.get("prompt")).strip()
    if not prompt:
        raise NodeFailure("prompt is empty once rendered")
    history = config.get("history")
    history = DEFAULT_HISTORY if not isinstance(history, int) or isinstance(history, bool) else history
    messages = [{"role": "system", "content": prompt}]
    return request(run, node_id, config, messages, "generate", history=history)
