"""Declared contact fields: declaring them, and each type held to its rules through every writer
(contacts.create/update, the API, the inbox form, CSV imports and the Update contact node)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flowapp import engine
from flowapp.extensions import db
from flowapp.models import AutomationLog, Contact, ContactField
from flowapp.services import automations, contact_fields, contacts, inbox_edits, run_effects, runner
from flowapp.services.inbox import InboxError
from tests import factories
from tests.web.test_api import api  # noqa: F401  (fixture)

DECLARED = [
    {"key": "age", "label": "Age", "type": "number"},
    {"key": "renewal", "label": "Renewal", "type": "date"},
    {"key": "plan", "label": "Plan", "type": "choice", "choices": ["Gold", "Silver"]},
    {"key": "note", "label": "Note", "type": "text"},
]

# (key, value written, value stored) for every type
GOOD = [
    ("age", "41", 41),
    ("age", "2.5", 2.5),
    ("age", 7, 7),
    ("renewal", "2027-01-31", "2027-01-31"),
    ("plan", "gold", "Gold"),
    ("note", " hello ", "hello"),
]
# (key, value written, a piece of the reason)
BAD = [
    ("age", "forty", "is not a number"),
    ("age", "1,5", "decimals with a dot"),
    ("renewal", "31/01/2027", "YYYY-MM-DD"),
    ("renewal", "2027-02-30", "not a day of the calendar"),
    ("plan", "Platinum", "not one of the choices: Gold, Silver"),
    ("note", "x" * 1001, "at most 1000 characters"),
]


@pytest.fixture
def declared(session):
    for data in DECLARED:
        contact_fields.create(data)
    return contact_fields.declared()


def ids(cases):
    return [f"{key}={str(value)[:12]}" for key, value, _ in cases]


# -- declaring ---------------------------------------------------------------------------------

BAD_DECLARATIONS = [
    ({"key": "", "label": "X", "type": "text"}, "key"),
    ({"key": "a-b", "label": "X", "type": "text"}, "key"),
    ({"key": "x" * 65, "label": "X", "type": "text"}, "key"),
    ({"key": "Name", "label": "X", "type": "text"}, "key"),
    ({"key": "opted_out", "label": "X", "type": "text"}, "key"),
    ({"key": "ok", "label": "  ", "type": "text"}, "label"),
    ({"key": "ok", "label": "X", "type": "bool"}, "type"),
    ({"key": "ok", "label": "X", "type": "choice", "choices": []}, "choices"),
    ({"key": "ok", "label": "X", "type": "choice", "choices": [f"c{i}" for i in range(51)]}, "choices"),
    ({"key": "ok", "label": "X", "type": "choice", "choices": ["x" * 101]}, "choices"),
    ({"key": "ok", "label": "X", "type": "choice", "choices": ["Yes", "yes"]}, "choices"),
    ({"key": "ok", "label": "X", "type": "choice", "choices": "not a list"}, None),
]


@pytest.mark.parametrize(("data", "field"), BAD_DECLARATIONS, ids=lambda v: str(v)[:40])
def test_a_bad_declaration_is_refused_naming_its_setting(session, data, field):
    """Each bad setting raises ContactError naming it; nothing is declared."""
    if field is None:  # a text is read as one choice per line: "not a list" is one choice
        assert contact_fields.create(data).choices == ["not a list"]
        return
    with pytest.raises(contacts.ContactError) as caught:
        contact_fields.create(data)
    assert caught.value.field == field and caught.value.reason
    assert db.session.scalar(select(ContactField)) is None


def test_choices_are_trimmed_and_blank_lines_dropped(session):
    """A form's textarea: one choice per line, blank lines ignored, order kept."""
    field = contact_fields.create(
        {"key": "size", "label": "Size", "type": "choice", "choices": " S\n\nM \r\nL"}
    )
    assert field.choices == ["S", "M", "L"]


def test_the_key_cannot_change(declared):
    """Renaming a key would orphan its values and the automations that read it."""
    field = db.session.scalar(select(ContactField).where(ContactField.key == "age"))
    with pytest.raises(contacts.ContactError, match="cannot change"):
        contact_fields.update_field(field, {"key": "years", "label": "Age", "type": "number"})


def test_removing_a_choice_in_use_is_refused_with_the_count(declared):
    """Choices are checked like types: a stored value that would not fit blocks the change."""
    contacts.create({"wa_id": "15551230001", "fields": {"plan": "silver"}})
    field = db.session.scalar(select(ContactField).where(ContactField.key == "plan"))
    with pytest.raises(contacts.ContactError, match="1 contact has a value") as caught:
        contact_fields.update_field(field, {"label": "Plan", "type": "choice", "choices": "Gold\nBronze"})
    assert caught.value.field == "type"
    assert field.choices == ["Gold", "Silver"]


def test_declaring_a_key_in_use_types_its_values_or_is_refused(session):
    """Untyped values already stored must fit the new declaration; they are then rewritten."""
    contacts.create({"wa_id": "15551230001", "fields": {"score": "10"}})
    contacts.create({"wa_id": "15551230002", "fields": {"score": 2.5, "other": "x"}})
    contact_fields.create({"key": "score", "label": "Score", "type": "number"})
    stored = sorted(db.session.scalars(select(Contact.fields)), key=lambda f: f["score"])
    assert stored == [{"score": 2.5, "other": "x"}, {"score": 10}]
    contacts.create({"wa_id": "15551230003", "fields": {"level": "high"}})
    with pytest.raises(contacts.ContactError, match="1 contact has a value in 'level'"):
        contact_fields.create({"key": "level", "label": "Level", "type": "number"})


def test_deleting_a_declaration_keeps_the_values_untyped(declared):
    """After deletion the key takes any short value again, and the old values remain."""
    contact = contacts.create({"wa_id": "15551230001", "fields": {"age": "41"}})
    contact_fields.delete(db.session.scalar(select(ContactField).where(ContactField.key == "age")))
    assert contact.fields == {"age": 41}
    contacts.update(contact, {"fields": {"age": "forty"}})
    assert contact.fields == {"age": "forty"}


def test_value_counts(declared):
    """How many contacts have a value for each declared key (on SQLite and PostgreSQL)."""
    contacts.create({"wa_id": "15551230001", "fields": {"age": 1, "plan": "Gold"}})
    contacts.create({"wa_id": "15551230002", "fields": {"age": 2}})
    assert contact_fields.value_counts() == {"age": 2, "renewal": 0, "plan": 1, "note": 0}


# -- the writers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "stored"), GOOD, ids=ids(GOOD))
def test_create_and_update_store_a_good_value_in_its_types_form(declared, key, value, stored):
    """contacts.create and contacts.update coerce declared fields."""
    created = contacts.create({"wa_id": "15551230001", "fields": {key: value}})
    assert created.fields == {key: stored}
    other = contacts.create({"wa_id": "15551230002"})
    contacts.update(other, {"fields": {key: value}})
    assert other.fields == {key: stored} and type(other.fields[key]) is type(stored)


@pytest.mark.parametrize(("key", "value", "reason"), BAD, ids=ids(BAD))
def test_create_and_update_refuse_a_bad_value_naming_the_field(declared, key, value, reason):
    """A value that does not fit raises ContactError("fields.<key>", reason) and changes nothing."""
    with pytest.raises(contacts.ContactError) as caught:
        contacts.create({"wa_id": "15551230001", "fields": {key: value}})
    assert caught.value.field == f"fields.{key}" and reason in caught.value.reason
    contact = contacts.create({"wa_id": "15551230002", "fields": {"city": "Lima"}})
    with pytest.raises(contacts.ContactError):
        contacts.update(contact, {"fields": {key: value, "city": "Quito"}})
    assert contact.fields == {"city": "Lima"}


def test_an_empty_value_clears_a_declared_field(declared):
    """ "" (an emptied form input) removes a declared field; an undeclared one keeps "" as before."""
    contact = contacts.create({"wa_id": "15551230001", "fields": {"age": 3, "city": "Lima"}})
    contacts.update(contact, {"fields": {"age": "", "city": ""}})
    assert contact.fields == {"city": ""}


@pytest.mark.parametrize(("key", "value", "stored"), GOOD, ids=ids(GOOD))
def test_the_api_stores_a_good_value(declared, api, key, value, stored):  # noqa: F811
    """PUT /api/contacts/<id> with a declared field answers the stored, typed value."""
    contact = contacts.create({"wa_id": "15551230001"})
    db.session.commit()
    response = api.put(f"/api/contacts/{contact.id}", json={"fields": {key: value}})
    assert response.status_code == 200 and response.get_json()["fields"] == {key: stored}


@pytest.mark.parametrize(("key", "value", "reason"), BAD, ids=ids(BAD))
def test_the_api_refuses_a_bad_value_with_422_naming_the_field(declared, api, key, value, reason):  # noqa: F811
    """POST /api/contacts with a misfit is a 422 naming fields.<key>; no contact is made."""
    db.session.commit()
    response = api.post("/api/contacts", json={"wa_id": "15551230001", "fields": {key: value}})
    error = response.get_json()["error"]
    # The documented body limits (1000 characters) answer 400 before the contact rules (422) run.
    assert response.status_code in (400, 422) and error["field"] == f"fields.{key}"
    assert reason in error["message"] or response.status_code == 400
    assert contacts.find_by_number("15551230001") is None


def test_the_api_lists_the_declared_fields(declared, api):  # noqa: F811
    """GET /api/fields: every declaration with its type and choices, by label."""
    db.session.commit()
    data = api.get("/api/fields").get_json()["data"]
    assert [(f["key"], f["type"]) for f in data] == [
        ("age", "number"),
        ("note", "text"),
        ("plan", "choice"),
        ("renewal", "date"),
    ]
    assert data[2]["choices"] == ["Gold", "Silver"]


@pytest.mark.parametrize(("key", "value", "reason"), BAD, ids=ids(BAD))
def test_the_inbox_form_refuses_a_bad_value(declared, key, value, reason):
    """The contact panel's save goes through the same check and reports the field."""
    contact = contacts.create({"wa_id": "15551230001", "fields": {"city": "Lima"}})
    with pytest.raises(InboxError) as caught:
        inbox_edits.update_contact(contact, {"fields": {"city": "Lima", key: value}})
    assert caught.value.field == f"fields.{key}" and reason in caught.value.reason


def test_a_csv_import_refuses_the_rows_with_bad_values_and_imports_the_rest(declared):
    """Each bad typed cell refuses its row with line, field and reason; other rows import, typed."""
    header = "phone,name,age,renewal,plan,note\n"
    rows = [
        f"1555010000{i},C{i},{age},{renewal},{plan},n\n"
        for i, (_, age, renewal, plan) in enumerate(
            [
                (0, "41", "2027-01-31", "gold"),
                (1, "forty", "", ""),
                (2, "", "31/01/2027", ""),
                (3, "", "", "Platinum"),
                (4, "2.5", "", "SILVER"),
            ]
        )
    ]
    _, parsed = contacts.parse_csv(header + "".join(rows))
    report = contacts.import_rows(parsed, 2, {})
    assert report["created"] == 2
    assert [(r["line"], r["field"]) for r in report["refused"]] == [
        (3, "fields.age"),
        (4, "fields.renewal"),
        (5, "fields.plan"),
    ]
    assert "is not a number" in report["refused"][0]["reason"]
    assert contacts.find_by_number("15550100000").fields == {
        "age": 41,
        "renewal": "2027-01-31",
        "plan": "Gold",
        "note": "n",
    }
    assert contacts.find_by_number("15550100004").fields == {"age": 2.5, "plan": "Silver", "note": "n"}
    assert contacts.find_by_number("15550100001") is None


def test_an_import_reads_the_declarations_once_per_batch(declared, monkeypatch):
    """Thousands of rows must not mean thousands of declaration queries."""
    calls = []
    real = contact_fields.declared
    monkeypatch.setattr(contact_fields, "declared", lambda: calls.append(1) or real())
    _, parsed = contacts.parse_csv("phone,age\n" + "".join(f"155501000{i:02d},{i}\n" for i in range(30)))
    assert contacts.import_rows(parsed, 2, {})["created"] == 30
    assert len(calls) == 1


# -- the Update contact node -------------------------------------------------------------------


def _node(node_id: str, kind: str, config: dict) -> dict:
    return {"id": node_id, "type": kind, "config": config, "position": {"x": 0, "y": 0}}


def _graph(fields: dict) -> dict:
    return {
        "spec_version": engine.SPEC_VERSION,
        "nodes": [
            _node("start", "start", {}),
            _node("save", "update_contact", {"fields": fields}),
            _node("done", "log", {"message": "done"}),
        ],
        "edges": [
            {"from": "start", "port": "next", "to": "save"},
            {"from": "save", "port": "next", "to": "done"},
        ],
    }


def _published(fields: dict):
    automation = automations.create("typed", trigger={"type": "manual"}, graph=_graph(fields))
    automations.publish(automation)
    return automation


def _contact_rendering(value) -> tuple[Contact, str]:
    """A contact holding `value` in two untyped halves (each short enough to store), and the
    template that renders them back together."""
    text = str(value)
    half = len(text) // 2
    contact = contacts.create({"wa_id": "15551230001", "fields": {"raw1": text[:half], "raw2": text[half:]}})
    return contact, "{{ contact.fields.raw1 }}{{ contact.fields.raw2 }}"


@pytest.mark.parametrize(("key", "value", "reason"), BAD, ids=ids(BAD))
def test_publishing_refuses_a_literal_that_does_not_fit(declared, key, value, reason):
    """A literal (non-template) value of a declared field is an error naming node and field."""
    graph = _graph({key: str(value)})
    issues = [i for i in automations.check(graph, {"type": "manual"}) if i.level == "error"]
    assert [(i.node, i.field) for i in issues] == [("save", f"fields.{key}")]
    assert reason in issues[0].message
    with pytest.raises(automations.AutomationError):
        _published({key: str(value)})


@pytest.mark.parametrize(("key", "value", "stored"), GOOD, ids=ids(GOOD))
def test_a_run_stores_a_rendered_value_in_its_types_form(declared, key, value, stored):
    """A template rendering a good value stores it typed."""
    contact, template = _contact_rendering(value)
    run = runner.start_run(_published({key: template}), contact)
    assert run.status == "completed"
    assert contact.fields[key] == stored and type(contact.fields[key]) is type(stored)


@pytest.mark.parametrize(("key", "value", "reason"), BAD, ids=ids(BAD))
def test_a_run_does_not_store_a_rendered_misfit_and_logs_why(declared, key, value, reason):
    """The field is left as it was, the run's log names the field and the reason, and it goes on."""
    contact, template = _contact_rendering(value)
    run = runner.start_run(_published({key: template}), contact)
    assert run.status == "completed" and key not in contact.fields
    logs = db.session.scalars(select(AutomationLog).where(AutomationLog.run_id == run.id)).all()
    refused = [log.detail for log in logs if log.event == "field_refused"]
    assert refused and refused[0]["field"] == key and reason in refused[0]["reason"]
    assert "done" in [log.node_id for log in logs]


def test_the_host_checks_again_what_the_engine_asks_to_store(declared):
    """An effect written before the field was declared (the engine had no types) is checked when
    it is applied: the misfit is logged, never stored; a fit is stored typed."""
    contact = contacts.create({"wa_id": "15551230001", "fields": {"age": 3}})
    run = runner.start_run(_published({"city": "Lima"}), contact)
    effect = engine.Effect("update_contact", "save", {"fields": {"age": "old", "plan": "silver"}})
    run_effects.apply(run, effect, None)
    db.session.flush()
    assert contact.fields == {"age": 3, "city": "Lima", "plan": "Silver"}
    logs = db.session.scalars(select(AutomationLog).where(AutomationLog.event == "field_refused")).all()
    assert [log.detail["field"] for log in logs] == ["age"]


def test_names_in_use_suggest_declared_fields_first_then_the_newest_contacts_keys(session):
    factories.make_contact("351912000001", fields={"old_key": "x"})
    factories.make_contact("351912000002", fields={"city": "Porto", "plan": "gold"})
    contact_fields.create({"key": "visits", "label": "Visits", "type": "number"})
    contact_fields.create({"key": "plan", "label": "A plan", "type": "text"})
    assert contact_fields.names_in_use() == ["plan", "visits", "city", "old_key"]
    assert contact_fields.names_in_use(recent=1) == ["plan", "visits", "city"]
