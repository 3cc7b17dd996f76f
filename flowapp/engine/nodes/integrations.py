"""Calling other systems: the HTTP request node."""

from __future__ import annotations

from flowapp.engine.nodes.common import VARIABLE, obj, text
from flowapp.engine.registry import node_type
from flowapp.engine.state import NodeFailure
from flowapp.engine.urls import check_url

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_TIMEOUT = 10
MAX_TIMEOUT = 30


def _texts(config: dict):
    if isinstance(config.get("url"), str):
        yield ("url", config["url"])
    headers = config.get("headers") if isinstance(config.get("headers"), dict) else {}
    yield from ((f"headers.{name}", value) for name, value in headers.items() if isinstance(value, str))
    yield from _body_texts(config.get("body"), "body")


def _body_texts(value, path: str):
    if isinstance(value, str):
        yield (path, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _body_texts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _body_texts(item, f"{path}[{index}]")


def _check(config: dict):
    url = config.get("url")
    if isinstance(url, str) and url and "{" not in url:
        problem = check_url(url, allow_private=True)
        if problem:
            yield ("error", "url", problem)
        elif check_url(url, allow_private=False):
            yield ("warning", "url", check_url(url, False) + " unless the server's configuration allows them")


def _resume(run, node_id: str, config: dict, event, wait):
    data = event.data
    status, problem = data.get("status"), data.get("error")
    succeeded = isinstance(status, int) and 200 <= status < 300 and not problem
    if config.get("save_as"):
        saved = {"status": status, "json": data.get("json")}
        if not succeeded:
            saved["error"] = problem or f"HTTP status {status}"
        run.vars[config["save_as"]] = saved
    return "success" if succeeded else "failure"


def _refuse(run, node_id: str, config: dict, url: str, problem: str) -> str:
    run.note(node_id, "refused", {"url": url, "error": problem})
    if config.get("save_as"):
        run.vars[config["save_as"]] = {"status": None, "json": None, "error": problem}
    return "failure"


@node_type(
    "http_request",
    ports=("success", "failure"),
    resume=_resume,
    label="HTTP request",
    icon="🌐",
    description="Call a URL (webhook, CRM, API) and branch on success or failure",
    category="integrations",
    config_schema=obj(
        {
            "method": {"enum": list(METHODS)},
            "url": text(2048),
            "headers": {"type": "object", "additionalProperties": text(2000)},
            "body": {"type": ["string", "object", "array"]},
            "timeout": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT},
            "save_as": VARIABLE,
        },
        ("method", "url"),
    ),
    required=("method", "url"),
    default_config={"method": "POST", "url": "https://", "save_as": "response"},
    waits=True,
    # A failure that ends the run counts as completed: the lost request (a lead that never reached
    # the CRM) would show nowhere but in the run's log.
    open_risks={"failure": "a failed request would end the run as completed, unnoticed"},
    summary=lambda config: f"{config.get('method', 'GET')} {config.get('url') or '?'}",
    texts=_texts,
    check=_check,
)
def http_request(run, node_id: str, config: dict):
    """Ask the host to call a URL, then wait for the result: 2xx takes "success", anything else
    (another status, a timeout, a refused address) takes "failure".

    URL, header values and body strings are templates; a JSON body keeps its structure. With
    `save_as`, vars[save_as] = {"status", "json"} (plus "error" on failure). `timeout` is in
    seconds (default 10, at most 30). Private, loopback and link-local addresses are refused
    unless the host allows them (context["allow_private_urls"]).

        {"id": "crm", "type": "http_request",
         "config": {"method": "POST", "url": "https://example.com/leads",
                    "headers": {"Authorization": "Bearer abc123"},
                    "body": {"name": "{{ vars.name }}", "phone": "{{ contact.phone }}"},
                    "timeout": 10, "save_as": "crm"}}
    """
    url = run.render(config.get("url")).strip()
    problem = check_url(url, bool(run.context.get("allow_private_urls")))
    if problem:
        return _refuse(run, node_id, config, url, problem)
    headers = {name: run.render(value) for name, value in (config.get("headers") or {}).items()}
    for name, value in headers.items():
        if "\n" in value or "\r" in value:
            raise NodeFailure(f"header {name!r} contains a line break once rendered")
    request = {
        "method": config.get("method", "GET"),
        "url": url,
        "headers": headers,
        "body": run.render_value(config["body"]) if "body" in config else None,
        "timeout": min(config.get("timeout", DEFAULT_TIMEOUT), MAX_TIMEOUT),
    }
    run.emit(node_id, "http", request)
    return run.wait(node_id, "http")
