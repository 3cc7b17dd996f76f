"""Importing contacts from the Contacts page: columns guessed and chosen, a preview, progress, and
the refused rows with their reasons as a CSV download."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from flowapp.extensions import db, get_queue
from flowapp.models import Contact
from flowapp.services import contact_import_map
from tests import factories

FILE = (
    "Telemóvel;Cliente;Cidade;Notas\n"
    "+351 912 345 678;Ana;Porto;<script>alert(1)</script>\n"
    'not a number;=HYPERLINK("x");Lisboa;\n'
    "351913000000;Rui;Braga;vip\n"
)


def _upload(client, text: str, name: str = "clientes.csv"):
    token = factories.csrf_token(client, "/contacts/import")
    data = {"csrf_token": token, "file": (io.BytesIO(text.encode("utf-8")), name)}
    return client.post("/contacts/import", data=data, content_type="multipart/form-data")


def _choices(html: str) -> dict[str, str]:
    return dict(re.findall(r'<select id="(column-\d+)".*?<option value="(\w+)" selected', html, re.S))


def test_columns_are_guessed_and_previewed(logged_in):
    response = _upload(logged_in, FILE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Telemóvel" in html
    assert _choices(html) == {
        "column-0": "number",
        "column-1": "name",
        "column-2": "field",
        "column-3": "field",
    }
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def test_the_chosen_columns_are_imported_and_refusals_reported(logged_in):
    html = _upload(logged_in, FILE).get_data(as_text=True)
    action = re.search(r'action="(/contacts/import/\w+)"', html).group(1)
    token = factories.csrf_token(logged_in, "/contacts/import")
    form = {
        "csrf_token": token,
        "column-0": "number",
        "column-1": "name",
        "column-2": "field",
        "column-3": "ignore",
    }
    started = logged_in.post(action, data=form)
    assert started.status_code == 302
    page = logged_in.get(started.headers["Location"]).get_data(as_text=True)
    assert (
        'data-status="done"' in page
        and "<strong>2</strong> created" in page
        and "<strong>1</strong> refused" in page
    )
    ana = db.session.scalar(select(Contact).where(Contact.wa_id == "351912345678"))
    assert ana.display_name == "Ana" and ana.fields == {"cidade": "Porto"}  # "Notas" was ignored
    refused = logged_in.get(started.headers["Location"] + "/refused.csv").get_data(as_text=True)
    assert refused.splitlines()[0] == "line,number,field,reason" and refused.splitlines()[1].startswith("3,")
    assert logged_in.post(action, data=form).status_code == 410  # the upload is used up


def test_mapping_mistakes_are_refused_with_the_reason(logged_in):
    html = _upload(logged_in, FILE).get_data(as_text=True)
    action = re.search(r'action="(/contacts/import/\w+)"', html).group(1)
    token = factories.csrf_token(logged_in, "/contacts/import")
    both = {
        "csrf_token": token,
        "column-0": "number",
        "column-1": "number",
        "column-2": "ignore",
        "column-3": "ignore",
    }
    refused = logged_in.post(action, data=both)
    assert refused.status_code == 422 and "exactly one column as the phone number" in refused.get_data(
        as_text=True
    )
    assert db.session.scalar(select(Contact)) is None


def test_bad_files_are_refused(logged_in):
    token = factories.csrf_token(logged_in, "/contacts/import")
    latin1 = {
        "csrf_token": token,
        "file": (io.BytesIO("número;nome\n351912345678;Zé\n".encode("latin-1")), "x.csv"),
    }
    assert (
        logged_in.post("/contacts/import", data=latin1, content_type="multipart/form-data").status_code == 422
    )
    empty = {"csrf_token": token, "file": (io.BytesIO(b""), "x.csv")}
    assert (
        logged_in.post("/contacts/import", data=empty, content_type="multipart/form-data").status_code == 422
    )


def test_a_large_file_runs_as_a_job_with_progress(logged_in, redis):
    rows = "\n".join(f"3519{n:08d},Person {n}" for n in range(600))
    html = _upload(logged_in, "phone,name\n" + rows + "\n").get_data(as_text=True)
    action = re.search(r'action="(/contacts/import/\w+)"', html).group(1)
    token = factories.csrf_token(logged_in, "/contacts/import")
    started = logged_in.post(action, data={"csrf_token": token, "column-0": "number", "column-1": "name"})
    progress_url = started.headers["Location"]
    waiting = logged_in.get(progress_url).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and 'hx-trigger="every 1s"' in waiting
    [job_id] = get_queue("default").job_ids
    get_queue("default").fetch_job(job_id).perform()  # what a worker does
    done = logged_in.get(progress_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert (
        'data-status="done"' in done and "<strong>600</strong> created" in done and "hx-trigger" not in done
    )


def test_guesses():
    assert [contact_import_map.guess(c) for c in ("Phone", "WhatsApp", "Nome", "tags", "", "Plan")] == [
        "number",
        "number",
        "name",
        "tags",
        "ignore",
        "field",
    ]


@pytest.mark.parametrize(
    ("column", "holds"),
    [
        ("Telemóvel", "number"),
        ("WhatsApp", "number"),
        ("Cliente", "name"),
        ("Full name", "name"),
        ("Língua", "language"),
        ("Idioma", "language"),
        ("language", "language"),
        ("birthday", "birthday"),
        ("Cidade", "field"),
        ("", "ignore"),
    ],
)
def test_what_a_column_holds_is_guessed_from_its_name(column, holds):
    assert contact_import_map.guess(column) == holds
