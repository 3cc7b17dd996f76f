"""A fake OpenAI-compatible model server: deterministic answers, token counts, latency and faults.

    python -m flowapp.sandbox.fake_llm --port 5002     # then base_url http://127.0.0.1:5002/v1

POST /v1/chat/completions answers as fake_llm_answers.py documents; GET /v1/models lists one model.
Controls (docs/ai.md): FAKE_LLM_LATENCY_MS (or --latency-ms) delays every answer; a request's
`X-Fake-Latency-Ms` header delays that one, `X-Fake-Fault: 429|500|timeout` fails it; POST
/_fake/faults queues failures for the next requests, GET /_fake/requests counts what arrived.
Served by the sandbox's keep-alive server (httpd.py), like the Graph API mock.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable

from flowapp.sandbox.fake_llm_answers import answer, count_tokens
from flowapp.sandbox.server import ThreadServed
from flowapp.sandbox.wsgi_io import STATUS_LINES, Request, Response, json_response

MODEL = "fake-model"
TIMEOUT_SECONDS = 30.0  # a "timeout" fault holds the request this long (or until close())
FAULT_FIELDS = {"status", "count", "retry_after", "latency_ms", "timeout", "garbage"}


def error(status: int, message: str, kind: str = "invalid_request_error", headers=None) -> Response:
    """OpenAI's error envelope."""
    return json_response(status, {"error": {"message": message, "type": kind, "code": None}}, headers)


class FakeLLM:
    """The WSGI app. `api_key` set: requests must carry it (Bearer or api-key header)."""

    def __init__(self, api_key: str | None = None, latency_ms: int = 0) -> None:
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.faults: list[dict] = []
        self.requests = 0
        self.last_body: dict | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def close(self) -> None:
        """Wake every request held by latency or a timeout fault (for a quick shutdown)."""
        self._closed.set()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        status, body, headers = self.handle(Request(environ))
        start_response(STATUS_LINES.get(status, f"{status} Error"), headers)
        return [body]

    def handle(self, request: Request) -> Response:
        """Route one request."""
        path = request.path.rstrip("/")
        if path == "/_fake/faults":
            return self._faults(request)
        if path == "/_fake/requests" and request.method == "GET":
            return json_response(200, {"count": self.requests, "last_body": self.last_body})
        if path.endswith("/models") and request.method == "GET":
            return json_response(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        if path.endswith("/chat/completions") and request.method == "POST":
            return self._completion(request)
        return error(404, f"no route {request.method} {request.path}")

    def _completion(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
            fault = self.faults.pop(0) if self.faults else None
            if fault is not None and fault["count"] > 1:
                self.faults.insert(0, {**fault, "count": fault["count"] - 1})
        fault = fault or _header_fault(request)
        delay = _int_header(request, "HTTP_X_FAKE_LATENCY_MS", self.latency_ms) / 1000
        if fault is not None:
            delay = TIMEOUT_SECONDS if fault.get("timeout") else fault.get("latency_ms", 0) / 1000
        if delay:
            self._closed.wait(delay)
        if fault is not None and fault.get("status"):
            return _fault_response(fault)
        if fault is not None and fault.get("garbage"):
            return json_response(200, {"object": "not.a.completion"})
        refused = self._check_key(request)
        if refused is not None:
            return refused
        try:
            body = request.json()
        except ValueError:
            return error(400, "the body is not JSON")
        problem = _problem(body)
        if problem:
            return error(400, problem)
        self.last_body = body
        return json_response(200, self._reply(body))

    def _check_key(self, request: Request) -> Response | None:
        if not self.api_key:
            return None
        given = request.bearer or request.environ.get("HTTP_API_KEY", "")
        if given == self.api_key:
            return None
        # Echoed whole, on purpose: real providers echo part of it, and the client must mask it.
        return error(401, f"Incorrect API key provided: {given}", "invalid_api_key")

    def _reply(self, body: dict) -> dict:
        content = answer(body["messages"], body.get("response_format"))
        prompt_tokens = sum(count_tokens(_plain(m.get("content"))) for m in body["messages"])
        completion_tokens, finish = count_tokens(content), "stop"
        limit = body.get("max_tokens")
        if isinstance(limit, int) and limit >= 1 and completion_tokens > limit:
            content = " ".join(content.split()[: max(1, limit * 3 // 4)])
            completion_tokens, finish = count_tokens(content), "length"
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or MODEL,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self._lock:
                self.faults.clear()
            return json_response(200, {"faults": []})
        if request.method != "POST":
            return json_response(200, {"faults": self.faults})
        try:
            rules = [_rule(item) for item in _as_list(request.json())]
        except ValueError as exc:
            return error(400, str(exc))
        with self._lock:
            self.faults.extend(rules)
            return json_response(200, {"faults": self.faults})


def _plain(content) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _problem(body) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return "each message must be an object with a role"
    return None


def _as_list(data) -> list:
    return data if isinstance(data, list) else [data]


def _rule(data) -> dict:
    """A fault rule from JSON: {"status": 429, "count": 1, "retry_after": 1, "latency_ms": 0,
    "timeout": false, "garbage": false} (garbage: a 200 that is not a completion); ValueError when
    it is not one."""
    if not isinstance(data, dict) or set(data) - FAULT_FIELDS:
        raise ValueError(f"a fault is an object with fields among {sorted(FAULT_FIELDS)}")
    rule = {"status": None, "count": 1, "retry_after": None, "latency_ms": 0, "timeout": False, **data}
    rule["garbage"] = bool(rule.get("garbage"))
    status = rule["status"]
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError("status must be an HTTP error status (400-599)")
    if not isinstance(rule["count"], int) or rule["count"] < 1:
        raise ValueError("count must be an integer >= 1")
    if not isinstance(rule["latency_ms"], int) or rule["latency_ms"] < 0:
        raise ValueError("latency_ms must be an integer >= 0")
    if rule["retry_after"] is not None and not isinstance(rule["retry_after"], int | float | str):
        raise ValueError("retry_after must be seconds or an HTTP date")
    if not isinstance(rule["timeout"], bool):
        raise ValueError("timeout must be true or false")
    if status is None and not (rule["timeout"] or rule["latency_ms"] or rule["garbage"]):
        raise ValueError("a fault needs a status, timeout: true, garbage: true or latency_ms")
    return rule


def _header_fault(request: Request) -> dict | None:
    value = request.environ.get("HTTP_X_FAKE_FAULT", "").strip().lower()
    if value == "timeout":
        return {"timeout": True}
    if value.isdigit() and 400 <= int(value) <= 599:
        return {"status": int(value), "retry_after": 1 if value == "429" else None}
    return None


def _int_header(request: Request, name: str, default: int) -> int:
    value = request.environ.get(name, "")
    return int(value) if value.isdigit() else default


def _fault_response(fault: dict) -> Response:
    status = fault["status"]
    headers = [] if fault.get("retry_after") is None else [("Retry-After", str(fault["retry_after"]))]
    kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
    return error(status, f"fake fault: {status}", kind, headers)


class FakeLLMServer(ThreadServed):
    """The fake model on 127.0.0.1 in a background thread, for tests and scripts.

    with FakeLLMServer() as fake:
        ChatClient(ProviderConfig(base_url=fake.base_url, model="m")).complete([...])
    """

    thread_name = "fake-llm"

    def __init__(self, app: FakeLLM | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app or FakeLLM(), host, port)
        self.base_url = f"{self.url}/v1"


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m flowapp.sandbox.fake_llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5002)
    parser.add_argument("--latency-ms", type=int, default=int(os.environ.get("FAKE_LLM_LATENCY_MS") or 0))
    args = parser.parse_args(argv)
    # The key (if any) comes through the environment: `ps` would show a command-line argument.
    app = FakeLLM(os.environ.get("FAKE_LLM_API_KEY") or None, args.latency_ms)
    server = FakeLLMServer(app, args.host, args.port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(f"Fake model server on {server.base_url}", flush=True)
    stop.wait()
    server.stop()
    print("Fake model server stopped.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
