"""Opt-out on the web: Settings > Opt-out, the inbox's contact panel and history, the API and audiences."""

from __future__ import annotations

from rq import Queue
from sqlalchemy import select

from flowapp.extensions import QUEUES, db
from flowapp.jobs.worker import FlowappWorker
from flowapp.models import AutomationRun, ConsentChange, Contact, utcnow
from flowapp.services import consent, settings
from tests import factories
from tests.web.test_api import api  # noqa: F401  (fixture)
from tests.web.test_api_automations import create
from tests.web.test_inbox import conversation_of, post, say


def settings_form(client, **data):
    return {"csrf_token": factories.csrf_token(client, "/settings/"), **data}


def changes() -> list[tuple]:
    rows = db.session.scalars(select(ConsentChange).order_by(ConsentChange.id))
    return [(row.opted_out, row.source, row.user_id) for row in rows]


def test_settings_store_keywords_and_confirmations(logged_in):
    """Admins set both lists and both confirmations; the pipeline uses them at once."""
    page = logged_in.get("/settings/").get_data(as_text=True)
    assert 'id="consent"' in page and "UNSUBSCRIBE" in page and consent.DEFAULT_OPT_OUT_REPLY in page
    data = settings_form(
        logged_in,
        opt_out_keywords="Halt, stop\nDETENER",
        opt_in_keywords="resume",
        opt_out_reply="No more offers.",
        opt_in_reply="",
    )
    html = logged_in.post("/settings/consent", data=data, follow_redirects=True).get_data(as_text=True)
    assert "Opt-out settings saved" in html
    stored = settings.get("consent")
    assert stored["opt_out_keywords"] == ["Halt", "stop", "DETENER"] and stored["opt_in_reply"] == ""
    assert consent.keyword_kind("detener") == "out" and consent.keyword_kind("resume") == "in"


def test_settings_refuse_an_empty_or_contradictory_list(logged_in):
    """No opt-out keyword, or a word in both lists, is refused and nothing is stored."""
    data = settings_form(logged_in, opt_out_keywords=" , ", opt_in_keywords="start, Stop", opt_out_reply="x")
    html = logged_in.post("/settings/consent", data=data, follow_redirects=True).get_data(as_text=True)
    assert "at least one opt-out keyword" in html
    data["opt_out_keywords"] = "stop"
    html = logged_in.post("/settings/consent", data=data, follow_redirects=True).get_data(as_text=True)
    assert "cannot both opt out and opt in: STOP" in html
    assert settings.get("consent") is None


def test_agents_cannot_change_keywords(client, user):
    """An agent's POST is 403; the agent sees the lists without a form."""
    factories.login(client, user.email, "correct horse battery")
    assert (
        client.post("/settings/consent", data=settings_form(client, opt_out_keywords="x")).status_code == 403
    )
    page = client.get("/settings/").get_data(as_text=True)
    assert "UNSUBSCRIBE" in page and 'name="opt_out_keywords"' not in page


def test_inbox_panel_shows_history_and_agent_opts_back_in(logged_in, admin):
    """STOP shows in the contact panel's history with the customer's words (escaped); the agent
    unticks the box and the change is recorded under their name."""
    say(text="hi")
    say(text="Arrêt")
    conversation = conversation_of()
    panel = logged_in.get(f"/inbox/c/{conversation.id}/contact").get_data(as_text=True)
    assert "Opt-out history" in panel and "by writing “Arrêt”" in panel
    assert 'name="opted_out" value="1" checked' in panel
    form = {"display_name": "", "birthday": "", "timezone": "", "tags": ""}
    html = post(logged_in, f"/inbox/c/{conversation.id}/contact", form).get_data(as_text=True)
    assert not conversation_of().contact.opted_out
    assert changes() == [(True, "keyword", None), (False, "agent", admin.id)]
    assert f"by {admin.name or admin.email} in the inbox" in html


def test_history_escapes_what_the_customer_wrote(logged_in):
    """A keyword configured with markup is shown as text in the history."""
    consent.save({**consent.current(), "opt_out_keywords": ["<b>out</b>"]})
    db.session.commit()
    say(text="<b>OUT</b>")
    panel = logged_in.get(f"/inbox/c/{conversation_of().id}/contact").get_data(as_text=True)
    assert "“&lt;b&gt;OUT&lt;/b&gt;”" in panel and "<b>OUT</b>" not in panel


def test_api_update_records_the_change(api, admin):  # noqa: F811
    """PUT /api/contacts/<id> with opted_out records an 'api' change by the token's user."""
    contact = factories.make_contact(wa_id="15551230001", opted_out=True)
    response = api.put(f"/api/contacts/{contact.id}", json={"opted_out": False})
    assert response.status_code == 200 and response.get_json()["opted_out"] is False
    created = api.post("/api/contacts", json={"wa_id": "15551230002", "opted_out": True})
    assert created.status_code == 201
    assert changes() == [(False, "api", admin.id), (True, "api", admin.id)]


def test_import_records_changes_and_an_empty_cell_keeps_the_opt_out(api, admin):  # noqa: F811
    """A CSV import's opted_out column is recorded as 'import'; an empty cell changes nothing."""
    factories.make_contact(wa_id="15551230001", opted_out=True)
    csv = "phone,opted_out\n15551230001,\n15551230002,yes\n"
    response = api.post("/api/contacts/import", data=csv, content_type="text/csv")
    assert response.status_code in (200, 201), response.get_json()
    opted = dict(db.session.execute(select(Contact.wa_id, Contact.opted_out)).all())
    assert opted == {"15551230001": True, "15551230002": True}
    assert changes() == [(True, "import", admin.id)]


def test_api_audience_leaves_out_opted_out_contacts(api, app, redis):  # noqa: F811
    """execute with an audience counts and starts only contacts who did not opt out, even by id."""
    ids = []
    for n, opted_out in enumerate((False, True, False)):
        contact = factories.make_contact(
            wa_id=f"155512300{n:02d}", tags=["vip"], fields={}, opted_out=opted_out, last_inbound_at=utcnow()
        )
        ids.append(contact.id)
    body = create(api)
    api.post(f"/api/automations/{body['id']}/publish")
    execute = f"/api/automations/{body['id']}/execute"
    by_tag = api.post(execute, json={"audience": {"tags": ["vip"]}}).get_json()["broadcast"]
    by_id = api.post(execute, json={"audience": {"contact_ids": [ids[1]]}}).get_json()["broadcast"]
    assert (by_tag["total"], by_id["total"]) == (2, 0)
    FlowappWorker([Queue(n, connection=redis) for n in QUEUES], connection=redis, app=app).work(burst=True)
    started = set(db.session.scalars(select(AutomationRun.contact_id)))
    assert started == {ids[0], ids[2]}
