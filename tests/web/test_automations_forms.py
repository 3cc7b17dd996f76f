"""Settings forms for every node type and every trigger kind: rendered by the server, labelled,
checked live, previewed, and applied back to the canvas as the same config."""

import html
import json
import re
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from flowapp import engine
from flowapp.extensions import db
from flowapp.services import automations, groups
from tests import factories


class Form(HTMLParser):
    """The fields a browser would submit from the first <form> of a fragment, and its labels."""

    def __init__(self, html, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields, self.labels, self.controls = form_id, False, [], set(), []
        self.select = self.textarea = None
        self.in_label = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.labels.add(a["for"])
        elif tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text")
            if kind != "hidden":
                self.controls.append((a.get("id"), self.in_label > 0))
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind != "submit":
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = [a["name"], None]
            self.controls.append((a.get("id"), self.in_label > 0))
        elif tag == "option" and self.select is not None:
            if self.select[1] is None or "selected" in a:
                self.select[1] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = [a["name"], ""]
            self.controls.append((a.get("id"), self.in_label > 0))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "label":
            self.in_label -= 1
        elif tag == "select" and self.select:
            self.fields.append(tuple(self.select))
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields.append(tuple(self.textarea))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def unlabelled(self):
        return [control for control, wrapped in self.controls if not wrapped and control not in self.labels]

    def set(self, name, value):
        self.fields = [(n, v) for n, v in self.fields if n != name] + [(name, value)]


@pytest.fixture
def token(logged_in):
    return factories.csrf_token(logged_in, "/automations/")


@pytest.fixture
def automation(session):
    automation = automations.create("Forms")
    db.session.commit()
    return automation


def post(client, url, token, data):
    data = MultiDict(data if isinstance(data, list) else list(data.items()))
    return client.post(url, data=data, headers={"X-CSRFToken": token, "HX-Request": "true"})


def open_form(client, token, automation, node, graph=None):
    graph = graph or {"spec_version": 2, "nodes": [node], "edges": []}
    response = post(
        client,
        f"/automations/{automation.id}/node/form",
        token,
        {"node": json.dumps(node), "graph": json.dumps(graph)},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def applied(html):
    match = re.search(r"data-applied='([^']*)'", html)
    return json.loads(match.group(1).replace("&#34;", '"').replace("&amp;", "&")) if match else None


def docstring_example(kind: str) -> dict:
    """The example node each node type's docstring ends with (a valid config of that type)."""
    doc = engine.NODE_TYPES[kind].execute.__doc__
    return json.loads(re.sub(r"\s+", " ", doc[doc.index('{"id"') :].strip()))


EXAMPLES = {kind: docstring_example(kind) for kind in engine.NODE_TYPES}


@pytest.mark.parametrize("kind", list(engine.NODE_TYPES))
def test_every_node_type_has_a_labelled_form_that_applies_its_config_unchanged(
    logged_in, token, automation, kind
):
    """Each type's form labels every field, and submitting it unchanged gives back the same config."""
    node = dict(EXAMPLES[kind])
    if kind == "run_automation":
        node["config"] = {**node["config"], "automation_id": automation.id}
    html = open_form(logged_in, token, automation, node)
    assert f'<input type="hidden" name="node_type" value="{kind}">' in html
    form = Form(html, "node-form")
    assert form.unlabelled() == []
    response = post(logged_in, f"/automations/{automation.id}/node/apply", token, form.fields)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    result = applied(response.get_data(as_text=True))
    assert result["node"]["config"] == node["config"]
    assert result["view"]["ports"] == engine.NODE_TYPES[kind].ports(node["config"])


def test_default_nodes_open_and_the_live_check_reports_the_engines_problems(logged_in, token, automation):
    """A node fresh from the palette opens; the live check lists exactly what the engine finds."""
    known = automations.known_references()
    for entry in engine.palette():
        node = {"id": "new", "type": entry["type"], "config": entry["default_config"]}
        form = Form(open_form(logged_in, token, automation, node), "node-form")
        response = post(logged_in, f"/automations/{automation.id}/node/check", token, form.fields)
        shown = html.unescape(response.get_data(as_text=True))
        done = post(logged_in, f"/automations/{automation.id}/node/apply", token, form.fields)
        expected = automations.check_node(applied(done.get_data(as_text=True))["node"], known)
        assert shown.count('class="issue issue-') == len(expected), entry["type"]
        for issue in expected:
            assert issue.message in shown, (entry["type"], issue)


def test_buttons_form_counts_checks_previews_and_changes_ports(logged_in, token, automation):
    """Counters at WhatsApp's limits, live problems, a WhatsApp preview, and new ports on apply."""
    node = {
        "id": "menu",
        "type": "send_buttons",
        "config": {"text": "Hi {{ contact.name }}", "buttons": [{"id": "a", "title": "Yes"}]},
    }
    html = open_form(logged_in, token, automation, node)
    assert 'data-max="20"' in html and "3 / 20" in html and 'data-max="1024"' in html
    form = Form(html, "node-form")
    form.set("c.buttons.0.title", "A title that is far too long")
    check = post(logged_in, f"/automations/{automation.id}/node/check", token, form.fields).get_data(
        as_text=True
    )
    assert 'data-field="buttons[0].title"' in check and "at most 20 characters" in check
    assert "Hi Ana" in check and 'class="wa-choice"' in check  # the preview, for the sample contact
    grown = post(
        logged_in, f"/automations/{automation.id}/node/form", token, form.fields + [("op", "add:buttons")]
    )
    form = Form(grown.get_data(as_text=True), "node-form")
    assert ("c.buttons.1.id", "button1") in form.fields
    form.set("c.buttons.0.title", "Yes")
    form.set("c.timeout", "1h")
    result = applied(
        post(logged_in, f"/automations/{automation.id}/node/apply", token, form.fields).get_data(as_text=True)
    )
    assert result["view"]["ports"] == ["a", "button1", "other", "timeout"]
    assert result["view"]["labels"]["a"] == "Yes" and result["node"]["config"]["timeout"] == "1h"
    removed = post(
        logged_in,
        f"/automations/{automation.id}/node/form",
        token,
        form.fields + [("op", "remove:buttons.0")],
    )
    assert ("c.buttons.0.id", "button1") in Form(removed.get_data(as_text=True), "node-form").fields


def test_names_in_scope_come_from_earlier_nodes(logged_in, token, automation):
    """The form lists the variables set before the node, the contact's fields and the message."""
    factories.make_contact(fields={"city": "Lima"})
    graph = {
        "spec_version": 2,
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "ask", "type": "wait_reply", "config": {"variable": "email"}},
            {"id": "say", "type": "send_text", "config": {"text": "Thanks"}},
            {"id": "later", "type": "set_variable", "config": {"name": "after", "value": "x"}},
        ],
        "edges": [
            {"from": "start", "port": "next", "to": "ask"},
            {"from": "ask", "port": "reply", "to": "say"},
            {"from": "say", "port": "next", "to": "later"},
        ],
    }
    html = open_form(logged_in, token, automation, graph["nodes"][2], graph)
    assert "{{ vars.email }}" in html and "vars.after" not in html
    assert "contact.fields.city" in html and "message.text" in html


def test_http_body_that_is_not_json_is_refused(logged_in, token, automation):
    """A JSON body that does not parse is not applied; the form says why."""
    html = open_form(logged_in, token, automation, EXAMPLES["http_request"])
    form = Form(html, "node-form")
    form.set("body", "{broken")
    response = post(logged_in, f"/automations/{automation.id}/node/apply", token, form.fields)
    assert response.status_code == 422 and "the body is not valid JSON" in response.get_data(as_text=True)
    assert applied(response.get_data(as_text=True)) is None


def test_unknown_node_type(logged_in, token, automation):
    """A node of an unknown type has no form."""
    html = open_form(logged_in, token, automation, {"id": "x", "type": "teleport", "config": {}})
    assert "unknown type" in html


TRIGGERS = [
    {"type": "any_message"},
    {"type": "keyword", "keywords": ["menu", "hola"], "match": "exact", "interrupts": True},
    {"type": "new_contact"},
    {"type": "date_field", "field": "birthday", "offset_days": -2, "time": "08:30", "timezone": "contact"},
    {"type": "schedule", "cron": "0 9 * * 1", "audience": {"tags": ["vip"], "fields": {"city": "Lima"}}},
    {"type": "schedule", "at": "2026-12-24T09:00"},
    {"type": "manual", "audience": {"tags": ["vip"]}},
    {"type": "manual"},
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t["type"] + ("_at" if "at" in t else ""))
def test_every_trigger_kind_has_a_labelled_form_that_applies_unchanged(logged_in, token, automation, trigger):
    """Each trigger kind's form labels its fields and gives back the same trigger when submitted."""
    response = post(
        logged_in, f"/automations/{automation.id}/trigger/form", token, {"trigger": json.dumps(trigger)}
    )
    form = Form(response.get_data(as_text=True), "trigger-form")
    assert form.unlabelled() == []
    result = applied(
        post(logged_in, f"/automations/{automation.id}/trigger/apply", token, form.fields).get_data(
            as_text=True
        )
    )
    assert result["trigger"] == trigger and result["summary"]


def test_trigger_check_uses_the_engine(logged_in, token, automation):
    """The live check reports the engine's problems (a bad cron) and the next times of a good one."""
    fields = [("t.type", "schedule"), ("schedule_mode", "cron"), ("t.cron", "61 * * * *")]
    bad = post(logged_in, f"/automations/{automation.id}/trigger/check", token, fields).get_data(as_text=True)
    assert 'data-field="trigger.cron"' in bad and "minute" in bad
    fields[-1] = ("t.cron", "0 9 * * mon")
    good = post(logged_in, f"/automations/{automation.id}/trigger/check", token, fields).get_data(
        as_text=True
    )
    assert "This trigger is valid" in good and good.count("<time") == 3
    switched = post(logged_in, f"/automations/{automation.id}/trigger/form", token, [("t.type", "keyword")])
    assert 'name="t.keywords"' in switched.get_data(as_text=True)


def test_update_contact_says_which_fields_are_typed_and_how(logged_in, token, automation):
    """A declared field's row says its type (a choice lists its choices); an undeclared one says nothing."""
    from flowapp.services import contact_fields

    contact_fields.create({"key": "plan", "label": "Plan", "type": "choice", "choices": ["Free", "Gold"]})
    db.session.commit()
    node = {"id": "u", "type": "update_contact", "config": {"fields": {"plan": "Gold", "note": "hi"}}}
    html = open_form(logged_in, token, automation, node)
    hints = re.findall(r'<p class="hint small field-type">([^<]*)</p>', html)
    assert hints == [
        "Plan is a declared choice field: one of Free, Gold. "
        "A value that does not fit is not stored (the run goes on)."
    ]


def test_trigger_audience_picks_groups_and_names_a_missing_one(logged_in, token, automation):
    """A schedule's audience lists the groups and segments to tick; it applies unchanged, and a
    group that does not exist (deleted since) is an error of the trigger naming it."""
    group = groups.create_static("Fair visitors")
    db.session.commit()
    trigger = {"type": "schedule", "cron": "0 9 * * 1", "audience": {"groups": [group.id], "tags": ["vip"]}}
    response = post(
        logged_in, f"/automations/{automation.id}/trigger/form", token, {"trigger": json.dumps(trigger)}
    )
    form = Form(response.get_data(as_text=True), "trigger-form")
    assert form.unlabelled() == [] and ("a.groups", str(group.id)) in form.fields
    applied_html = post(logged_in, f"/automations/{automation.id}/trigger/apply", token, form.fields)
    assert applied(applied_html.get_data(as_text=True))["trigger"] == trigger
    missing = [("t.type", "manual"), ("a.groups", "999999")]
    page = post(logged_in, f"/automations/{automation.id}/trigger/check", token, missing).get_data(
        as_text=True
    )
    assert 'data-field="trigger.audience.groups[0]"' in page and "no contact group with id 999999" in page
