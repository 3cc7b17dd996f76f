"""The contacts API: create, read, update, delete, filters, and CSV imports with progress."""

from __future__ import annotations

import io

import pytest
from rq import Queue

from flowapp.extensions import QUEUES
from flowapp.jobs.worker import FlowappWorker
from flowapp.services import contacts
from tests import factories
from tests.web.test_api import api  # noqa: F401  (fixture)


def test_create_read_update_delete(api):  # noqa: F811
    """The whole life of a contact through the API, with the number normalized."""
    created = api.post(
        "/api/contacts",
        json={
            "wa_id": "+351 912-345-678",
            "display_name": "Ana",
            "tags": ["vip"],
            "fields": {"city": "Lisbon"},
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["wa_id"] == "351912345678" and body["name"] == "Ana"
    url = created.headers["Location"]
    assert api.get(url).get_json()["fields"] == {"city": "Lisbon"}
    updated = api.put(url, json={"fields": {"plan": "gold", "city": None}, "birthday": "1990-04-25"})
    assert updated.status_code == 200
    assert updated.get_json()["fields"] == {"plan": "gold"}
    assert updated.get_json()["birthday"] == "1990-04-25"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_duplicate_number_is_409(api):  # noqa: F811
    """The same number twice (written differently) is a conflict."""
    assert api.post("/api/contacts", json={"wa_id": "15551230001"}).status_code == 201
    response = api.post("/api/contacts", json={"wa_id": "+1 (555) 123-0001"})
    assert response.status_code == 409 and response.get_json()["error"]["field"] == "wa_id"


def test_invalid_values_name_their_field(api):  # noqa: F811
    """Bad numbers, dates and time zones are 422 naming the field; a value of the wrong JSON type
    (tags as a string) is a 400 naming it, before any rule runs."""
    cases = {
        "wa_id": ({"wa_id": "12345"}, 422),
        "birthday": ({"wa_id": "15551230002", "birthday": "25/04/1990"}, 422),
        "timezone": ({"wa_id": "15551230003", "timezone": "Mars/Olympus"}, 422),
        "tags": ({"wa_id": "15551230004", "tags": "vip"}, 400),
    }
    for field, (body, status) in cases.items():
        response = api.post("/api/contacts", json=body)
        assert response.status_code == status, field
        assert response.get_json()["error"]["field"] == field


def test_number_cannot_change(api, session):  # noqa: F811
    """A contact's number is its identity: changing it is refused."""
    contact = factories.make_contact(wa_id="15551230009")
    response = api.put(f"/api/contacts/{contact.id}", json={"wa_id": "15551230010"})
    assert response.status_code == 422


def test_filters(api, session):  # noqa: F811
    """q searches number and name; tag and opted_out filter."""
    factories.make_contact(wa_id="15551110001", display_name="Ana", tags=["vip"], fields={})
    factories.make_contact(wa_id="15552220002", display_name="Bruno", tags=[], fields={}, opted_out=True)

    def numbers(query):
        return [c["wa_id"] for c in api.get("/api/contacts?" + query).get_json()["data"]]

    assert numbers("q=ana") == ["15551110001"]
    assert numbers("q=2220") == ["15552220002"]
    assert numbers("tag=vip") == ["15551110001"]
    assert numbers("opted_out=true") == ["15552220002"]


CSV = """phone,name,birthday,tags,city
+1 555 010 0001,Ana,1990-04-25,vip;new,Lisbon
555,Too short,,,
+1 555 010 0001,Ana again,,,
0044 7700 900123,Chris,not-a-date,,
0044 7700 900124,Dee,,,Porto
"""


def test_small_import_reports_refused_rows(api):  # noqa: F811
    """A small file is imported at once: 201 with counts and each refused line with its reason."""
    response = api.post(
        "/api/contacts/import",
        data={"file": (io.BytesIO(CSV.encode()), "contacts.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["status"] == "done" and report["total"] == 5
    assert (report["created"], report["updated"], report["refused_count"]) == (2, 0, 3)
    refused = {row["line"]: row for row in report["refused"]}
    assert refused[3]["field"] == "wa_id" and "7 to 15" in refused[3]["reason"]
    assert "line 2" in refused[4]["reason"]
    assert refused[5]["field"] == "birthday"
    ana = api.get("/api/contacts?q=Ana").get_json()["data"][0]
    assert ana["tags"] == ["vip", "new"] and ana["fields"] == {"city": "Lisbon"}
    assert api.get(response.headers["Location"]).get_json()["id"] == report["id"]


def test_import_as_csv_body_updates_known_numbers(api, session):  # noqa: F811
    """A text/csv body works too; a known number is updated, not duplicated."""
    factories.make_contact(wa_id="15550100002", fields={"city": "Faro"}, tags=[])
    body = "wa_id,name,city\n15550100002,Eva,Braga\n"
    response = api.post("/api/contacts/import", data=body, content_type="text/csv")
    assert response.status_code == 201
    assert response.get_json()["updated"] == 1
    assert contacts.find_by_number("15550100002").fields == {"city": "Braga"}


def test_import_without_a_number_column_is_422(api):  # noqa: F811
    """A file with no phone column is refused as a whole."""
    response = api.post("/api/contacts/import", data="name,city\nAna,Lisbon\n", content_type="text/csv")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_file"
    assert api.post("/api/contacts/import", data=b"", content_type="text/csv").status_code == 400


def test_large_import_runs_as_a_job_with_progress(api, app, redis, monkeypatch):  # noqa: F811
    """Past INLINE_ROWS rows the import is a job: 202, then progress until done."""
    monkeypatch.setattr(contacts, "INLINE_ROWS", 3)
    monkeypatch.setattr(contacts, "BATCH_ROWS", 2)
    rows = "\n".join(f"+1555020{n:04d},Person {n}" for n in range(7))
    response = api.post(
        "/api/contacts/import", data=f"phone,name\n{rows}\nbad,Nobody\n", content_type="text/csv"
    )
    assert response.status_code == 202, response.get_json()
    progress_url = response.headers["Location"]
    assert api.get(progress_url).get_json()["status"] == "queued"
    FlowappWorker([Queue(n, connection=redis) for n in QUEUES], connection=redis, app=app).work(burst=True)
    done = api.get(progress_url).get_json()
    assert done["status"] == "done"
    assert (done["total"], done["processed"], done["created"], done["refused_count"]) == (8, 8, 7, 1)
    assert done["refused"][0]["line"] == 9
    assert len(api.get("/api/contacts?q=Person&limit=200").get_json()["data"]) == 7


def test_unknown_import_is_404(api, redis):  # noqa: F811
    """An import id nobody handed out (or malformed) is 404."""
    assert api.get("/api/contacts/imports/0123456789abcdef").status_code == 404
    assert api.get("/api/contacts/imports/not-an-id").status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("phone,name\r15551230001,Ana\r+1 555 123 0002,Ben\r", 201),  # bare carriage returns
        ('phone,name\n15551230001,"unclosed\n', 201),  # a quote never closed: read to the end
    ],
    ids=["carriage-returns", "unclosed-quote"],
)
def test_csv_files_the_csv_module_struggles_with(api, body, status):  # noqa: F811
    """Bare carriage returns are line ends, an unclosed quote reads to the end of the file; neither
    is a 500 (schemathesis found the first)."""
    response = api.post("/api/contacts/import", data=body.encode(), content_type="text/csv")
    assert response.status_code == status, response.get_json()
    assert response.get_json()["created"] >= 1


def test_a_cell_over_the_limits_is_a_refused_row_not_a_refused_file(api):  # noqa: F811
    """One 200 KB cell in a file under the size limit: that row is refused with its reason, the
    other rows are imported (the csv module alone would refuse the whole file past 128 KB)."""
    body = "phone,name,note\n15551230001,Ana," + "x" * 200_000 + "\n15551230002,Ben,fine\n"
    response = api.post("/api/contacts/import", data=body.encode(), content_type="text/csv")
    report = response.get_json()
    assert response.status_code == 201 and report["created"] == 1
    [refused] = report["refused"]
    assert refused["line"] == 2 and refused["field"] == "fields.note" and "1000" in refused["reason"]
