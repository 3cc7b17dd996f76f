"""Every JSON endpoint and the webhook, walked with each class of bad input.

The endpoints are found, not listed: every API route that takes a body, and every other view whose
code reads JSON through flowapp/web/strict_json.py (a test below makes sure no view reads JSON any
other way). So an endpoint added later is covered without editing this file.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Message, WebhookEvent, utcnow
from flowapp.pipeline import contacts, pumps
from flowapp.web.strict_json import MAX_DEPTH
from tests import factories
from tests.helpers import customer_message, encode, post_webhook
from tests.web.test_api import Api

# Raw bodies, one per class (written by hand: json.dumps cannot produce most of them).
BAD_JSON = {
    "not JSON": "{not json",
    "not an object": '["text"]',
    "NUL character": '{"name": "a\\u0000b", "text": "x\\u0000y", "fields": {"k": "v\\u0000"}}',
    "lone surrogate": '{"name": "\\ud800", "text": "\\udfff"}',
    "NUL in a key": '{"bad\\u0000key": "value"}',
    "NaN and Infinity": '{"name": NaN, "position": {"x": Infinity, "y": -Infinity}}',
    "deeper than the limit": '{"a": ' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}",
    "1,200 levels": '{"a": ' + "[" * 1200 + "]" * 1200 + "}",
}
WEB = Path(__file__).resolve().parents[2] / "flowapp" / "web"


def body_routes(app, *, api: bool, ids: dict | None = None):
    """(method, path) of every route, under /api or elsewhere, whose view reads a JSON body (through
    strict_json: see the test that no view reads one any other way)."""
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"})
        if not methods or rule.rule.startswith("/api/") != api:
            continue
        source = inspect.getsource(app.view_functions[rule.endpoint])
        if not re.search(r"\b(json_body|read_object)\(", source):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str((ids or {}).get(m.group(1), 1)), rule.rule)
        for method in methods:
            yield method, path


@pytest.fixture
def api(client, admin):
    from flowapp.services import api_tokens

    _, value = api_tokens.create(admin, "bad input")
    return Api(client, value)


@pytest.mark.parametrize("kind", sorted(BAD_JSON))
def test_every_api_endpoint_answers_400_naming_the_problem(app, api, kind):
    """Each class gets 400 invalid_json with a message, on every API endpoint that takes a body."""
    from flowapp.services import automations

    contact = factories.make_contact(wa_id="15551230001")  # so that paths with an id find something
    automation = automations.create("Target", trigger={"type": "any_message"})
    db.session.commit()
    routes = list(body_routes(app, api=True, ids={"contact_id": contact.id, "automation_id": automation.id}))
    assert len(routes) >= 5, routes
    for method, path in routes:
        response = api._call(method.lower(), path, data=BAD_JSON[kind], content_type="application/json")
        if response.status_code == 404:
            continue  # an id in the path that names nothing is refused before the body is read
        assert response.status_code == 400, (method, path, response.status_code, response.get_data()[:200])
        error = response.get_json()["error"]
        assert error["code"] == "invalid_json" and error["message"], (method, path)


@pytest.mark.parametrize("kind", sorted(BAD_JSON))
def test_every_other_json_view_answers_400(app, logged_in, kind):
    """The editor's saves and the webhook injection: the same classes, the same 400."""
    from flowapp.services import automations

    automation = automations.create("Target", trigger={"type": "any_message"})
    db.session.commit()
    token = factories.csrf_token(logged_in, "/settings/")
    routes = list(body_routes(app, api=False, ids={"automation_id": automation.id}))
    assert len(routes) >= 3, routes
    for method, path in routes:
        response = logged_in.open(
            path,
            method=method,
            data=BAD_JSON[kind],
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 400, (method, path, response.status_code, response.get_data()[:200])


# A value of each JSON type; a property gets the first one its schema does not allow.
WRONG_VALUES = [
    ("object", {"nested": 1}),
    ("array", ["x"]),
    ("string", "text"),
    ("boolean", True),
    ("number", 1.5),
]


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _allowed_types(schema: dict, document: dict) -> set[str]:
    schema = _resolve(schema, document)
    if "anyOf" in schema or "oneOf" in schema:
        return set().union(*(_allowed_types(s, document) for s in schema.get("anyOf", schema.get("oneOf"))))
    kinds = schema.get("type")
    if kinds is None:
        return {"object", "array", "string", "boolean", "number", "integer", "null"}
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    return kinds | ({"integer"} if "number" in kinds else set())


def _wrong_value(schema: dict, document: dict):
    allowed = _allowed_types(schema, document)
    for kind, value in WRONG_VALUES:
        if kind not in allowed and not (kind == "number" and "integer" in allowed and value == int(value)):
            return value
    return None


def _declared_bodies(app, ids: dict):
    """(method, rule, schema, the document its references resolve in) of every JSON body Flowapp
    takes: the API's from its OpenAPI document, the other views' from @takes."""
    from flowapp.web.api import spec

    document = spec.document()
    for method, path in body_routes(app, api=True, ids=ids):
        rule = re.sub(r"/\d+(?=/|$)", "/{id}", path)
        for doc_path, operations in document["paths"].items():
            if re.sub(r"\{[^}]+\}", "{id}", doc_path) == rule and method.lower() in operations:
                body = operations[method.lower()].get("requestBody", {}).get("content", {})
                if "application/json" in body:
                    yield method, path, body["application/json"]["schema"], document
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/") or not hasattr(view, "body_schema"):
            continue
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            yield method, rule.rule, view.body_schema, {}


def test_every_json_view_outside_the_api_declares_its_body(app):
    """A view that reads JSON declares what it takes (@takes), so the walk below reaches it."""
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/api/")
        and re.search(r"\b(json_body|read_object)\(", inspect.getsource(app.view_functions[rule.endpoint]))
        and not hasattr(app.view_functions[rule.endpoint], "body_schema")
    ]
    assert undeclared == []


def test_a_wrong_type_in_any_declared_field_is_a_400_naming_it(app, api, logged_in):
    """Every property of every JSON body (the API's and the editor's, the webhook injection's), sent
    with a value of a type its schema does not allow: 400 naming that field, never a 500, before any
    rule of the view runs."""
    from flowapp.services import automations

    contact = factories.make_contact(wa_id="15551230001", last_inbound_at=utcnow())
    automation = automations.create("Target", trigger={"type": "any_message"})
    automations.publish(automation)
    message = Message(
        conversation=factories.make_conversation(contact),
        direction="in",
        type="text",
        text="hi",
        wamid="wamid.bad-input",
        status="received",
    )
    db.session.add(message)
    db.session.commit()
    # Real ids for every path parameter (sequences do not restart between tests on PostgreSQL).
    ids = {"contact_id": contact.id, "automation_id": automation.id, "message_id": message.id, "number": 1}
    token = factories.csrf_token(logged_in, "/settings/")
    checked = 0
    for method, path, schema, document in _declared_bodies(app, ids):
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(ids.get(m.group(1), 1)), path)
        schema = _resolve(schema, document)
        for name, prop in schema.get("properties", {}).items():
            value = _wrong_value(prop, document)
            if value is None:
                continue
            if path.startswith("/api/"):
                response = api._call(method.lower(), path, json={name: value})
                if response.status_code == 404:
                    continue  # an id that names nothing is refused before the body is read
                error = response.get_json()["error"]
                where = error.get("field") or error["message"]
            else:
                response = logged_in.open(
                    path,
                    method=method,
                    json={name: value},
                    headers={"X-CSRFToken": token, "Accept": "application/json"},
                )
                body = response.get_json()
                where = (
                    body["error"]["message"] if isinstance(body.get("error"), dict) else body.get("error", "")
                )
            assert response.status_code == 400, (method, path, name, value, response.get_data()[:300])
            # It names the field, or a required one the body left out (checked first by the API).
            named = [field for field in (name, *schema.get("required", ())) if field in where]
            assert named, (method, path, name, where)
            checked += 1
    assert checked >= 40, checked


def test_no_view_reads_json_any_other_way():
    """Views read JSON bodies only through strict_json (so every class above applies to them)."""
    offenders = [
        f"{path.name}:{n}"
        for path in WEB.rglob("*.py")
        if path.name != "strict_json.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"request\.(get_json|json)\b", line)
    ]
    assert offenders == []


def test_responses_are_strict_json(app):
    """A non-finite number can never go out: the app's JSON refuses it."""
    with app.app_context(), pytest.raises(ValueError):
        app.json.dumps({"x": float("nan")})


@pytest.mark.parametrize(
    ("kind", "text", "stored"),
    [
        ("NUL character", "a\\u0000b", "ab"),
        ("lone surrogate", "x\\ud800y", "x\ufffdy"),
        ("NaN", None, None),
    ],
)
def test_the_webhook_keeps_what_meta_sent_and_files_it_cleaned(client, redis, kind, text, stored):
    """Meta's body is stored as it came (200, or Meta would redeliver it for days) and processed:
    the message is filed with its text made storable, nothing parked."""
    payload = customer_message(text="placeholder", wamid=f"wamid.BAD{len(kind)}")
    raw = encode(payload)
    if text is not None:
        raw = raw.replace(b'"placeholder"', f'"{text}"'.encode())
    else:
        raw = raw.replace(b'"timestamp":', b'"score":NaN,"timestamp":', 1)
    assert post_webhook(client, None, body=raw).status_code == 200
    event = db.session.scalar(select(WebhookEvent).order_by(WebhookEvent.id.desc()))
    assert event.body == raw
    contacts.drain(event.phone_number_id, event.contact_key, pumps.board())  # what a worker does
    db.session.refresh(event)
    assert event.processed_at is not None and event.parked_at is None, event.error
    message = db.session.scalar(select(Message).where(Message.wamid == f"wamid.BAD{len(kind)}"))
    assert message is not None
    if stored is not None:
        assert message.text == stored


def test_the_webhook_stores_a_body_too_deep_to_read_as_failed(client):
    """1,200 levels of nesting: answered 200, stored, marked failed (never processed, never retried)."""
    raw = ('{"entry": ' + "[" * 1200 + "]" * 1200 + "}").encode()
    assert post_webhook(client, None, body=raw).status_code == 200
    event = db.session.scalar(select(WebhookEvent).order_by(WebhookEvent.id.desc()))
    assert event.body == raw and event.processed_at is not None and "not JSON" in event.error


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/messages/send", {"to": "15551230001", "message": {"type": {}}}, "message.type"),
        ("/api/messages/send", {"to": "15551230001", "message": {"type": ["text"]}}, "message.type"),
        (
            "/api/messages/send",
            {"contact_id": "abc", "message": {"type": "text", "text": "hi"}},
            "contact_id",
        ),
        ("/api/messages/send", {"to": 15551230001, "message": {"type": "text", "text": "hi"}}, "to"),
        ("/api/contacts", {"wa_id": "15551230001", "opted_out": "yes"}, "opted_out"),
        ("/api/contacts", {"wa_id": ["15551230001"]}, "wa_id"),
        ("/api/automations", {"name": 7}, "name"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_400_naming_its_field(api, path, body, field):
    """Types are checked against the OpenAPI document before any rule runs: 400 naming the field,
    never a 500 or a 404 for an id that is not a number."""
    factories.make_contact(wa_id="15551230001", last_inbound_at=utcnow())
    response = api.post(path, json=body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == field, error


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/automations", {"name": "x" * 100_000}, "name"),
        ("post", "/api/automations", {"name": "ok", "description": "d" * 2001}, "description"),
        ("post", "/api/contacts", {"wa_id": "15551230009", "display_name": "n" * 257}, "display_name"),
        ("post", "/api/contacts", {"wa_id": "15551230009", "tags": ["t" * 65]}, "tags.0"),
        ("post", "/api/contacts", {"wa_id": "15551230009", "fields": {"note": "v" * 1001}}, "fields.note"),
    ],
)
def test_text_over_its_documented_maximum_is_a_400_naming_it(api, method, path, body, field):
    """Every text field has a maximum in the OpenAPI document; longer is refused, not cut."""
    response = api._call(method, path, json=body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["field"] == field


def test_the_web_form_refuses_a_name_too_long_instead_of_cutting_it(logged_in):
    """Renaming from the list with 100,000 characters answers 422 with the reason; nothing saved."""
    from flowapp.services import automations

    automation = automations.create("Short", trigger={"type": "manual"})
    db.session.commit()
    token = factories.csrf_token(logged_in, "/automations/")
    response = logged_in.post(
        f"/automations/{automation.id}/rename", data={"name": "x" * 100_000, "csrf_token": token}
    )
    assert response.status_code == 422 and "at most 200 characters" in response.get_data(as_text=True)
    db.session.refresh(automation)
    assert automation.name == "Short"


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "esc\x1b[31m"], ids=["NUL", "bell", "escape"])
def test_every_form_and_query_refuses_control_characters(app, logged_in, text):
    """Every page that takes a form (POST) or a query (GET), walked with a control character in a
    field: 400 invalid_text, never a 500 (PostgreSQL cannot store NUL) and never stored."""
    token = factories.csrf_token(logged_in, "/settings/")
    posts = gets = 0
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/webhooks/", "/static/", "/admin/rq")) or rule.arguments:
            continue
        if "POST" in (rule.methods or ()):
            response = logged_in.post(rule.rule, data={"name": text, "csrf_token": token})
            assert response.status_code == 400, (rule.rule, response.status_code)
            posts += 1
        if "GET" in (rule.methods or ()):
            response = logged_in.get(rule.rule, query_string={"q": text})
            assert response.status_code == 400, (rule.rule, response.status_code)
            gets += 1
    assert posts >= 3 and gets >= 5


def test_tabs_and_line_breaks_are_text(logged_in):
    """The rule refuses control characters, not the white space people type."""
    response = logged_in.get("/inbox/", query_string={"q": "two\twords\r\nand a line"})
    assert response.status_code == 200


def test_a_multipart_part_without_a_name_is_not_a_500(api):
    """Werkzeug reads a part with no name as a None key: the form check must not trip on it."""
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nphone\r\n15551230001\r\n--{boundary}--\r\n"
    ).encode()
    response = api._call(
        "post", "/api/contacts/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code < 500, response.get_data()[:300]
