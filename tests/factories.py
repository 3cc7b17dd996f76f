"""Helpers that make rows for tests, with sensible defaults."""

from __future__ import annotations

import re

from flowapp.extensions import db
from flowapp.models import Contact, Conversation, User


def make_user(email="user@example.com", password="correct horse battery", role="agent", **fields) -> User:
    user = User(email=email, role=role, **fields)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def make_contact(wa_id="15551230001", **fields) -> Contact:
    contact = Contact(wa_id=wa_id, **fields)
    db.session.add(contact)
    db.session.flush()
    return contact


def make_conversation(contact=None, **fields) -> Conversation:
    conversation = Conversation(contact=contact or make_contact(), **fields)
    db.session.add(conversation)
    db.session.flush()
    return conversation


def csrf_token(client, path="/login") -> str:
    """The CSRF token a page hands out (read from its meta tag or hidden field)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf[-_]token"\s+(?:value|content)="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email, password):
    token = csrf_token(client)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response
