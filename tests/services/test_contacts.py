"""Contacts: number normalization, validation, and the CSV import's report."""

from __future__ import annotations

import pytest

from flowapp.services import contacts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 555-123-4567", "15551234567"),
        ("0044 (20) 7946.0958", "442079460958"),
        ("351912345678", "351912345678"),
        (5511987654321, "5511987654321"),
    ],
)
def test_numbers_are_normalized(raw, expected):
    """Spaces, dashes, dots, brackets, "+" and "00" are removed."""
    assert contacts.normalize_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("123456", "7 to 15"),
        ("1234567890123456", "7 to 15"),
        ("0912345678", "country code"),
        ("+1 555 CALL", "not a phone"),
        ("", "required"),
        (None, "required"),
        (True, "required"),
    ],
)
def test_bad_numbers_say_why(raw, reason):
    """Too short, too long, a leading 0, letters: each refused with a reason for people."""
    with pytest.raises(contacts.ContactError) as caught:
        contacts.normalize_number(raw)
    assert reason in caught.value.reason and caught.value.field == "wa_id"


def test_update_merges_fields_and_removes_nulls(session):
    """fields are merged; a field set to None is removed; tags are de-duplicated."""
    contact = contacts.create({"wa_id": "15551230001", "fields": {"a": "1", "b": 2}, "tags": ["x", "x", "y"]})
    assert contact.tags == ["x", "y"]
    contacts.update(contact, {"fields": {"b": None, "c": True}})
    assert contact.fields == {"a": "1", "c": True}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fields": {"bad key": "v"}}, "fields.bad key"),
        ({"fields": {"k": {"nested": 1}}}, "fields.k"),
        ({"opted_out": "yes"}, "opted_out"),
        ({"display_name": 5}, "display_name"),
        ({"timezone": "Nowhere/Else"}, "timezone"),
        ({"language": "portuguese"}, "language"),
        ({"language": "p"}, "language"),
        ({"language": "pt-Brazil"}, "language"),
        ({"language": 7}, "language"),
    ],
)
def test_invalid_values_are_refused(session, data, field):
    """Each bad value names its field."""
    with pytest.raises(contacts.ContactError) as caught:
        contacts.create({"wa_id": "15551230001", **data})
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("pt", "pt"),
        ("PT", "pt"),
        ("pt-br", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("es-419", "es-419"),
        ("fil", "fil"),
        ("", None),
        (None, None),
    ],
)
def test_a_language_is_stored_as_an_iso_639_code(session, raw, stored):
    contact = contacts.create({"wa_id": "15551230001", "language": raw})
    assert contact.language == stored


def test_csv_is_sniffed_and_needs_a_number_column():
    """Semicolon files work; a file without a number column is refused whole."""
    header, rows = contacts.parse_csv("Phone;Name\n+1 555 010 0001;Ana\n\n")
    assert header == ["phone", "name"] and rows == [{"phone": "+1 555 010 0001", "name": "Ana"}]
    with pytest.raises(contacts.ContactError):
        contacts.parse_csv("name,city\nAna,Lisbon\n")
    with pytest.raises(contacts.ContactError):
        contacts.parse_csv("")


def test_import_rows_reports_lines_and_reasons(session):
    """Refused rows carry their line in the file, the number, the field and the reason."""
    _, rows = contacts.parse_csv(
        "phone,name,birthday\n15550100001,Ana,\nabc,Bad,\n15550100001,Dup,\n15550100002,Eve,31-12-1990\n"
    )
    report = contacts.import_rows(rows, 2, {})
    assert report["created"] == 1
    assert [(r["line"], r["field"]) for r in report["refused"]] == [
        (3, "wa_id"),
        (4, "wa_id"),
        (5, "birthday"),
    ]
    assert contacts.find_by_number("15550100002") is None  # a refused row leaves nothing behind
