"""Settings > Contact fields: admins declare, change and delete typed fields; bad input is a 4xx with
the reason next to the input, and nothing is saved; agents and forged posts are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Contact, ContactField
from flowapp.services import contact_fields
from tests import factories

PAGE = "/settings/fields"


def form(client, **data):
    return {"csrf_token": factories.csrf_token(client, PAGE), **data}


def declared_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ContactField))


def test_an_admin_adds_a_choice_field_and_sees_it_listed_with_its_count(logged_in):
    """The new field is listed with its type, choices and how many contacts have a value."""
    factories.make_contact(wa_id="15551230001", fields={"plan": "gold"})
    data = form(logged_in, key="plan", label="Plan", type="choice", choices="Gold\nSilver\n")
    response = logged_in.post(PAGE, data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Field Plan (plan, choice) added." in html
    assert "Gold, Silver" in html and "<td>1</td>" in html
    field = db.session.scalar(select(ContactField))
    assert (field.key, field.type, field.choices) == ("plan", "choice", ["Gold", "Silver"])
    assert db.session.scalar(select(Contact.fields)) == {"plan": "Gold"}  # rewritten as declared


BAD_NEW = [
    ({"key": "1st", "label": "First", "type": "text"}, "key", "not starting with a digit"),
    ({"key": "tags", "label": "Tags", "type": "text"}, "key", "built-in"),
    ({"key": "ok", "label": "", "type": "text"}, "label", "a label is required"),
    ({"key": "ok", "label": "x" * 101, "type": "text"}, "label", "at most 100"),
    ({"key": "ok", "label": "Ok", "type": "money"}, "type", "the type is one of"),
    ({"key": "ok", "label": "Ok", "type": "choice", "choices": "\n \n"}, "choices", "1 to 50 choices"),
    ({"key": "ok", "label": "Ok", "type": "choice", "choices": "A\na"}, "choices", "listed twice"),
]


@pytest.mark.parametrize(("data", "field", "reason"), BAD_NEW, ids=[b[2] for b in BAD_NEW])
def test_a_bad_new_field_is_a_422_with_the_reason_next_to_its_input(logged_in, data, field, reason):
    """The error is rendered beside the wrong input (aria-invalid), the status is 422, nothing saved."""
    response = logged_in.post(PAGE, data=form(logged_in, **data))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="field-{field}-error"' in html and reason in html
    assert f'aria-describedby="field-{field}-error"' in html
    assert declared_count() == 0


def test_a_taken_key_is_refused(logged_in):
    """Declaring a key twice is a 422; the first declaration stays."""
    contact_fields.create({"key": "city", "label": "City", "type": "text"})
    response = logged_in.post(PAGE, data=form(logged_in, key="city", label="Town", type="text"))
    assert response.status_code == 422 and "declared already" in response.get_data(as_text=True)
    assert declared_count() == 1


def test_changing_the_type_is_refused_while_values_do_not_fit(logged_in):
    """Two contacts hold text that is not a number: the change is refused with that count."""
    field = contact_fields.create({"key": "age", "label": "Age", "type": "text"})
    factories.make_contact(wa_id="15551230001", fields={"age": "forty"})
    factories.make_contact(wa_id="15551230002", fields={"age": "n/a"})
    factories.make_contact(wa_id="15551230003", fields={"age": "33"})
    response = logged_in.post(f"{PAGE}/{field.id}", data=form(logged_in, label="Age", type="number"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "2 contacts have values in &#39;age&#39; that would not fit" in html
    assert db.session.get(ContactField, field.id).type == "text"
    assert sorted(str(f["age"]) for f in db.session.scalars(select(Contact.fields))) == ["33", "forty", "n/a"]


def test_changing_the_type_rewrites_values_that_fit(logged_in):
    """When every value fits, the field changes and values are stored in the new form."""
    field = contact_fields.create({"key": "age", "label": "Age", "type": "text"})
    factories.make_contact(wa_id="15551230001", fields={"age": "41", "city": "Lima"})
    response = logged_in.post(f"{PAGE}/{field.id}", data=form(logged_in, label="Age in years", type="number"))
    assert response.status_code == 302
    assert db.session.get(ContactField, field.id).label == "Age in years"
    assert db.session.scalar(select(Contact.fields)) == {"age": 41, "city": "Lima"}


def test_deleting_needs_the_confirmation_and_keeps_the_values(logged_in):
    """Without the box ticked it is a 422; with it the declaration goes and the values stay."""
    field = contact_fields.create({"key": "age", "label": "Age", "type": "number"})
    factories.make_contact(wa_id="15551230001", fields={"age": 41})
    edit = logged_in.get(f"{PAGE}/{field.id}").get_data(as_text=True)
    assert "Contacts keep their values" in edit
    refused = logged_in.post(f"{PAGE}/{field.id}/delete", data=form(logged_in))
    assert refused.status_code == 422 and declared_count() == 1
    done = logged_in.post(f"{PAGE}/{field.id}/delete", data=form(logged_in, confirm="1"))
    assert done.status_code == 302 and declared_count() == 0
    assert db.session.scalar(select(Contact.fields)) == {"age": 41}


def test_every_post_needs_the_csrf_token(logged_in):
    """A post without the token is refused and saves nothing."""
    field = contact_fields.create({"key": "age", "label": "Age", "type": "number"})
    posts = [
        (PAGE, {"key": "x", "label": "X", "type": "text"}),
        (f"{PAGE}/{field.id}", {"label": "Y", "type": "text"}),
        (f"{PAGE}/{field.id}/delete", {"confirm": "1"}),
    ]
    for path, data in posts:
        assert logged_in.post(path, data=data).status_code == 400
    assert [(f.key, f.label, f.type) for f in db.session.scalars(select(ContactField))] == [
        ("age", "Age", "number")
    ]


def test_agents_cannot_see_or_change_fields(client, user):
    """The pages and posts are for admins: an agent gets 403."""
    field = contact_fields.create({"key": "age", "label": "Age", "type": "number"})
    factories.login(client, user.email, "correct horse battery")
    token = factories.csrf_token(client, "/settings/")
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/{field.id}").status_code == 403
    assert (
        client.post(PAGE, data={"csrf_token": token, "key": "x", "label": "X", "type": "text"}).status_code
        == 403
    )
    assert (
        client.post(f"{PAGE}/{field.id}/delete", data={"csrf_token": token, "confirm": "1"}).status_code
        == 403
    )
    assert declared_count() == 1


def test_labels_and_choices_are_escaped(logged_in):
    """What an admin typed is shown as text, never as markup."""
    contact_fields.create({"key": "x", "label": "<b>bold</b>", "type": "choice", "choices": ["<i>a</i>"]})
    html = logged_in.get(PAGE).get_data(as_text=True)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<i>a</i>" not in html


def test_an_unknown_field_is_a_404(logged_in):
    """Editing or deleting a field that does not exist is a 404."""
    assert logged_in.get(f"{PAGE}/999999").status_code == 404
    assert logged_in.post(f"{PAGE}/999999", data=form(logged_in, label="X", type="text")).status_code == 404


def test_settings_links_to_the_page(logged_in):
    """The settings overview links to Contact fields."""
    assert f'href="{PAGE}"' in logged_in.get("/settings/").get_data(as_text=True)
