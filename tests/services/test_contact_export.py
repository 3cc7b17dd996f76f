"""The contacts CSV: the filters on screen, every page of them, streamed in batches with memory
flat, and every cell a spreadsheet would take for a formula neutralised."""

from __future__ import annotations

import csv
import io

import pytest

from flowapp.extensions import db
from flowapp.models import AuditEntry
from flowapp.services import contact_export
from flowapp.services.contact_list import Filters
from tests import factories


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ana", "Ana"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_formula_cells_are_neutralised(value, written):
    assert contact_export.safe_cell(value) == written


def _read(chunks) -> list[dict]:
    return list(csv.DictReader(io.StringIO("".join(chunks))))


def test_every_matching_contact_streamed_in_batches_with_memory_flat(session, monkeypatch):
    """Seven pages' worth of VIPs (batches of 3 here) and some others: the VIPs come out, newest
    first, each batch its own chunk, and the session never holds more than one batch of contacts."""
    monkeypatch.setattr(contact_export, "BATCH", 3)
    for n in range(20):
        factories.make_contact(
            wa_id=f"1555000{n:04d}",
            display_name="=cmd|' /C calc'!A0" if n == 7 else f"Contact {n}",
            tags=["vip"] if n % 2 == 0 else [],
            fields={"city": "Porto"} if n == 18 else {},
        )
    session.commit()
    session.expunge_all()
    held = []
    chunks = []
    for chunk in contact_export.rows(Filters(tag="vip")):
        held.append(sum(1 for obj in session.identity_map.values() if type(obj).__name__ == "Contact"))
        chunks.append(chunk)
    rows = _read(chunks)
    assert [r["number"] for r in rows] == [f"1555000{n:04d}" for n in range(18, -1, -2)]
    assert len(chunks) == 1 + 4  # the header, then ten rows in batches of three
    assert max(held) <= 3
    assert rows[0]["field:city"] == "Porto" and rows[1]["field:city"] == ""
    everyone = _read(contact_export.rows(Filters()))
    assert len(everyone) == 20
    assert [r["name"] for r in everyone if r["number"] == "15550000007"] == ["'=cmd|' /C calc'!A0"]


def test_the_page_exports_its_filters_and_records_it(logged_in, session):
    factories.make_contact(wa_id="15550009991", display_name="Vip One", tags=["vip"])
    factories.make_contact(wa_id="15550009992", display_name="Plain")
    session.commit()
    page = logged_in.get("/contacts/?tag=vip").get_data(as_text=True)
    assert "/contacts/export.csv?tag=vip" in page
    response = logged_in.get("/contacts/export.csv?tag=vip&after=1")  # the cursor is ignored
    assert response.is_streamed and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    rows = _read([response.get_data(as_text=True)])
    assert [r["name"] for r in rows] == ["Vip One"]
    entry = db.session.query(AuditEntry).filter_by(action="contacts.export").one()
    assert entry.detail == {"filters": ["tag"]}


def test_the_export_needs_a_login(client):
    assert client.get("/contacts/export.csv").status_code in (302, 401)
