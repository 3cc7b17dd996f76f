"""Reading a provider's answer: the completion, or the message of its error envelope."""

from __future__ import annotations

import requests

MAX_DETAIL = 300


def parse_completion(response: requests.Response) -> dict:
    """content, model, tokens and finish_reason of a Chat Completions answer; ValueError if it is not one."""
    data = response.json()
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise ValueError("no choices")
    choice = data["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ValueError("no message in the first choice")
    content = message.get("content")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return {
        "content": content if isinstance(content, str) else "",
        "model": str(data.get("model") or ""),
        "tokens_in": _count(usage.get("prompt_tokens")),
        "tokens_out": _count(usage.get("completion_tokens")),
        "finish_reason": choice.get("finish_reason"),
    }


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def provider_message(response: requests.Response) -> str:
    """The error's message from OpenAI's envelope ({"error": {"message"}}), Ollama's ({"error": "..."})
    or the start of the body; at most MAX_DETAIL characters."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:MAX_DETAIL].strip()
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str):
        return error[:MAX_DETAIL]
    return str(data)[:MAX_DETAIL]
