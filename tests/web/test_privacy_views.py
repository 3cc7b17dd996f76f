"""A contact's data through the API and the inbox: export, forget (delete or anonymise), for admins
only in the inbox, with CSRF, and an audit entry each time."""

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AuditEntry, Contact, Conversation, Message
from flowapp.services import api_tokens
from tests import factories
from tests.helpers import customer_message, deliver


def _contact():
    deliver(customer_message(sender="15557650000", name="Rui", text="hello there"))
    return db.session.scalar(select(Contact).where(Contact.wa_id == "15557650000"))


def test_the_api_exports_and_forgets(client, admin, redis):
    contact = _contact()
    _, token = api_tokens.create(admin, "privacy")
    headers = {"Authorization": f"Bearer {token}"}
    export = client.get(f"/api/contacts/{contact.id}/export", headers=headers)
    assert export.status_code == 200 and export.headers["Content-Disposition"].startswith("attachment")
    assert export.get_json()["messages"][0]["text"] == "hello there"
    assert client.delete(f"/api/contacts/{contact.id}?messages=shred", headers=headers).status_code == 400
    assert client.delete(f"/api/contacts/{contact.id}?messages=anonymise", headers=headers).status_code == 204
    db.session.expire_all()
    assert db.session.scalar(select(Message.text)) is None
    actions = list(db.session.scalars(select(AuditEntry.actor).order_by(AuditEntry.id)))
    assert len(actions) == 2 and all(actor.startswith("API token") for actor in actions)


def test_the_inbox_offers_both_to_admins_only(client, admin, redis):
    contact = _contact()
    conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    conversation_url = f"/inbox/c/{conversation.id}"
    factories.make_user(email="agent@example.com")
    db.session.commit()
    factories.login(client, "agent@example.com", "correct horse battery")
    assert client.get(f"/inbox/contacts/{contact.id}/export").status_code == 403
    assert client.get(f"/inbox/contacts/{contact.id}/forget").status_code == 403
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/inbox/")})
    factories.login(client, admin.email, "correct horse battery")
    panel = client.get(conversation_url).get_data(as_text=True)
    assert f"/inbox/contacts/{contact.id}/export" in panel and f"/inbox/contacts/{contact.id}/forget" in panel
    download = client.get(f"/inbox/contacts/{contact.id}/export")
    assert download.status_code == 200 and b"hello there" in download.data
    page = client.get(f"/inbox/contacts/{contact.id}/forget").get_data(as_text=True)
    assert 'value="anonymise"' in page and 'value="delete"' in page
    refused = client.post(f"/inbox/contacts/{contact.id}/forget", data={"messages": "delete"})
    assert refused.status_code == 400  # no CSRF token
    token = factories.csrf_token(client, f"/inbox/contacts/{contact.id}/forget")
    done = client.post(
        f"/inbox/contacts/{contact.id}/forget", data={"messages": "delete", "csrf_token": token}
    )
    assert done.status_code == 302 and db.session.get(Contact, contact.id) is None
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "contact.forget"
