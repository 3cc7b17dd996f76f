"""The groups API (create static groups and segments, members in bulk, their contacts, delete) and
the execute endpoint with a groups audience."""

from __future__ import annotations

from flowapp.models import utcnow
from tests import factories
from tests.web.test_api import api  # noqa: F401  (fixture)
from tests.web.test_api_automations import create

VIP_QUERY = {"match": "all", "conditions": [{"kind": "tag", "op": "has", "value": "vip"}]}


def contacts(n: int, **fields) -> list[int]:
    return [factories.make_contact(wa_id=f"1555987{i:04d}", **fields).id for i in range(n)]


def test_static_group_members_and_contacts(api, session):  # noqa: F811
    """Create a group, add members (idempotent), list them, remove one, then delete it."""
    ids = contacts(3)
    created = api.post("/api/groups", json={"name": "Fair"})
    assert created.status_code == 201 and created.get_json()["count"] == 0
    url = created.headers["Location"]
    added = api.post(f"{url}/members", json={"contact_ids": [ids[0], ids[1], 999999]}).get_json()
    assert added == {"added": 2, "count": 2}
    assert api.post(f"{url}/members", json={"contact_ids": [ids[0]]}).get_json() == {"added": 0, "count": 2}
    listed = api.get(f"{url}/contacts").get_json()["data"]
    assert [c["id"] for c in listed] == [ids[1], ids[0]]
    assert api.post(f"{url}/members/remove", json={"contact_ids": [ids[1]]}).get_json()["removed"] == 1
    assert [g["name"] for g in api.get("/api/groups").get_json()["data"]] == ["Fair"]
    assert api.delete(url).status_code == 204 and api.get(url).status_code == 404


def test_segment_counts_its_query_and_refuses_members(api, session):  # noqa: F811
    """A segment's contacts are its query's matches; members cannot be added to it."""
    contacts(2, tags=["vip"])
    created = api.post("/api/groups", json={"name": "VIPs", "kind": "dynamic", "query": VIP_QUERY})
    body = created.get_json()
    assert created.status_code == 201 and (body["kind"], body["count"]) == ("dynamic", 2)
    refused = api.post(f"/api/groups/{body['id']}/members", json={"contact_ids": [1]})
    assert refused.status_code == 422


def test_bad_groups_are_refused_naming_the_field(api, session):  # noqa: F811
    """A taken name is 409; a bad query 422 naming the condition; bad member lists 400; nothing saved."""
    api.post("/api/groups", json={"name": "Fair"})
    taken = api.post("/api/groups", json={"name": "fair"})
    assert taken.status_code == 409 and taken.get_json()["error"]["field"] == "name"
    query = {"conditions": [{"kind": "tag", "op": "has"}]}
    bad = api.post("/api/groups", json={"name": "Broken", "kind": "dynamic", "query": query})
    assert bad.status_code == 422 and "Condition 1 (tag)" in bad.get_json()["error"]["message"]
    group_id = api.get("/api/groups").get_json()["data"][0]["id"]
    for body in ({"contact_ids": []}, {"contact_ids": ["1"]}, {}):
        assert api.post(f"/api/groups/{group_id}/members", json=body).status_code == 400
    assert len(api.get("/api/groups").get_json()["data"]) == 1


def test_execute_for_groups_unions_them_and_skips_the_opted_out(api, session):  # noqa: F811
    """A groups audience broadcasts to the groups' opted-in contacts; an unknown group is 422."""
    fair = contacts(2, last_inbound_at=utcnow())
    factories.make_contact(wa_id="15559990001", tags=["vip"], opted_out=True)
    vip = factories.make_contact(wa_id="15559990002", tags=["vip"], last_inbound_at=utcnow()).id
    group = api.post("/api/groups", json={"name": "Fair"}).get_json()
    api.post(f"/api/groups/{group['id']}/members", json={"contact_ids": fair})
    segment = api.post("/api/groups", json={"name": "VIPs", "kind": "dynamic", "query": VIP_QUERY}).get_json()
    automation = create(api)
    api.post(f"/api/automations/{automation['id']}/publish")
    url = f"/api/automations/{automation['id']}/execute"
    response = api.post(url, json={"audience": {"groups": [group["id"], segment["id"]]}})
    assert response.status_code == 202 and response.get_json()["broadcast"]["total"] == 3
    narrowed = api.post(url, json={"audience": {"groups": [segment["id"]], "contact_ids": [vip]}})
    assert narrowed.get_json()["broadcast"]["total"] == 1
    unknown = api.post(url, json={"audience": {"groups": [999999]}})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["field"] == "audience.groups[0]"
    assert api.post(url, json={"audience": {"groups": ["x"]}}).status_code == 400
