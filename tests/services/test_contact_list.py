"""The contacts list: search by name, number in any format and field values; every filter; cursor
pages with no duplicates and no gaps; and the bulk changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowapp.models import Broadcast, Contact, utcnow
from flowapp.services import automations, broadcasts, contact_bulk, contact_list
from flowapp.services.contact_list import Filters
from tests import factories
from tests.services.test_maintenance import LOG_ONLY


def ids(filters: Filters) -> list[int]:
    return [row.contact.id for row in contact_list.list_contacts(filters).rows]


@pytest.fixture
def people(session):
    """Three contacts with different names, numbers, tags, fields, activity and conversations."""
    now = utcnow()
    ana = factories.make_contact(
        "351912345678",
        profile_name="Ana Silva",
        tags=["vip", "lisbon"],
        fields={"city": "Lisbon", "orders": 42, "member": True},
        last_inbound_at=now - timedelta(days=2),
    )
    bruno = factories.make_contact(
        "447700900123",
        display_name="Bruno Costa",
        tags=["wholesale"],
        fields={"city": "London", "plan": "gold"},
        last_inbound_at=now - timedelta(days=40),
    )
    carla = factories.make_contact("15551230001", profile_name="Carla", opted_out=True, tags=[], fields={})
    factories.make_conversation(ana, status="open")
    factories.make_conversation(bruno, status="closed")
    return {"ana": ana.id, "bruno": bruno.id, "carla": carla.id}


@pytest.mark.parametrize("q", ["+351 912 345 678", "00351912345678", "912345678", "912-345-678", "(351) 91"])
def test_search_finds_a_number_in_any_format(people, q):
    """However the number is typed, the contact stored as 351912345678 is found, and only it."""
    assert ids(Filters(q=q)) == [people["ana"]]


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("ana sil", "ana"),
        ("BRUNO", "bruno"),
        ("carla", "carla"),
        ("lisbon", "ana"),
        ("gold", "bruno"),
        ("42", "ana"),
    ],
)
def test_search_finds_names_and_custom_field_values(people, q, who):
    """Names (display or profile, any case) and custom field values (text or number) are searched."""
    assert ids(Filters(q=q)) == [people[who]]


def test_search_does_not_match_field_names(people):
    """A field's name is not its value: "plan" finds nobody although Bruno has a field called plan."""
    assert ids(Filters(q="plan")) == []


def test_search_escapes_like_wildcards(people):
    """ "%" and "_" are looked for literally."""
    assert ids(Filters(q="%")) == [] and ids(Filters(q="_")) == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(tag="vip"), ["ana"]),
        (Filters(tag="vi"), []),
        (Filters(field="city", value="London"), ["bruno"]),
        (Filters(field="orders", value="42"), ["ana"]),
        (Filters(field="member", value="true"), ["ana"]),
        (Filters(field="city", value="london"), []),
        (Filters(opted_out="yes"), ["carla"]),
        (Filters(opted_out="no"), ["bruno", "ana"]),
        (Filters(seen_days=7), ["ana"]),
        (Filters(seen_days=90), ["bruno", "ana"]),
        (Filters(open_conversation=True), ["ana"]),
        (Filters(tag="wholesale", seen_days=7), []),
    ],
)
def test_every_filter(people, filters, expected):
    """Tag, field = value (typed values too), opted out, seen within N days, open conversation."""
    assert ids(filters) == [people[name] for name in expected]


def test_rows_carry_their_conversation(people):
    """Each row has its conversation when it has one (for the link to the inbox), else None."""
    rows = {row.contact.id: row.conversation for row in contact_list.list_contacts(Filters()).rows}
    assert rows[people["ana"]].status == "open" and rows[people["carla"]] is None


def test_pages_follow_the_cursor_without_duplicates_or_gaps(session):
    """Walking 123 contacts page by page returns each exactly once, newest first, in three pages."""
    made = [factories.make_contact(f"35191000{n:04d}", tags=["x"]).id for n in range(123)]
    seen, cursor, pages = [], None, 0
    while True:
        page = contact_list.list_contacts(Filters(tag="x", after=cursor))
        seen += [row.contact.id for row in page.rows]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True) and pages == 3


def test_a_page_is_stable_when_contacts_arrive_meanwhile(session):
    """A contact created while someone pages does not shift the next page (it is newer than the cursor)."""
    for n in range(60):
        factories.make_contact(f"35191100{n:04d}")
    first = contact_list.list_contacts(Filters())
    factories.make_contact("351911999999")
    second = contact_list.list_contacts(Filters(after=first.next_cursor))
    assert second.rows[0].contact.id == first.rows[-1].contact.id - 1


def test_format_number_groups_after_the_country_code():
    """Each country's own grouping, from libphonenumber's metadata."""
    assert contact_list.format_number("351912345678") == "+351 912 345 678"
    assert contact_list.format_number("447700900123") == "+44 7700 900123"
    assert contact_list.format_number("15551230001") == "+1 555-123-0001"
    assert contact_list.format_number("999123") == "+999123"  # no such country: left as it is


def test_add_and_remove_tag_count_only_changes(people):
    """Adding a tag counts the contacts that lacked it; removing counts those that had it."""
    everyone = contact_bulk.selected(list(people.values()))
    assert contact_bulk.add_tag(everyone, " vip ").changed == 2
    assert all("vip" in c.tags for c in everyone)
    assert contact_bulk.remove_tag(everyone, "vip").changed == 3
    assert not any("vip" in c.tags for c in everyone)


def test_add_tag_skips_a_contact_at_the_tag_limit(session):
    """A contact with 50 tags already is skipped and counted as such."""
    full = factories.make_contact("351912000001", tags=[f"t{n}" for n in range(50)])
    outcome = contact_bulk.add_tag([full], "more")
    assert (outcome.changed, outcome.skipped) == (0, 1) and "more" not in full.tags


def test_bulk_refuses_empty_selection_and_bad_tags(people):
    """Nothing selected, or an empty or over-long tag, is refused as a whole."""
    with pytest.raises(contact_bulk.BulkError):
        contact_bulk.selected([])
    with pytest.raises(contact_bulk.BulkError):
        contact_bulk.add_tag(contact_bulk.selected([people["ana"]]), "  ")
    with pytest.raises(contact_bulk.BulkError):
        contact_bulk.add_tag(contact_bulk.selected([people["ana"]]), "x" * 65)


def test_opt_out_counts_only_those_opted_in(people, session):
    """Opting out everyone changes the two who were opted in."""
    assert contact_bulk.opt_out(contact_bulk.selected(list(people.values()))).changed == 2
    assert session.get(Contact, people["ana"]).opted_out is True


def test_start_automation_records_a_broadcast_of_the_opted_in(people, session):
    """Starting a published automation makes a broadcast of the selected contacts who did not opt out."""
    automation = automations.create("Welcome", trigger={"type": "manual"}, graph=LOG_ONLY)
    automations.publish(automation)
    chosen = contact_bulk.selected([people["ana"], people["carla"]])
    started, outcome = contact_bulk.start_automation(chosen, automation.id, factories.make_user())
    broadcast = session.query(Broadcast).one()
    assert started.id == automation.id and (outcome.changed, outcome.skipped) == (1, 1)
    assert broadcast.total == 1 and sorted(broadcast.audience["contact_ids"]) == [
        people["ana"],
        people["carla"],
    ]
    # The worker's job body starts the run for Ana alone.
    assert broadcasts.run(broadcast.id) == {"started": 1, "skipped": 0, "total": 1}


def test_start_automation_refuses_an_unpublished_one(people):
    """A draft that was never published cannot be started."""
    draft = automations.create("Draft", trigger={"type": "manual"}, graph=LOG_ONLY)
    with pytest.raises(contact_bulk.BulkError):
        contact_bulk.start_automation(contact_bulk.selected([people["ana"]]), draft.id, factories.make_user())


def test_known_tags_are_the_newest_contacts_tags_each_once_sorted(session):
    factories.make_contact("351912000001", tags=["old-only"])
    factories.make_contact("351912000002", tags=["vip", "b2b"])
    factories.make_contact("351912000003", tags=["vip", "Açores"])
    factories.make_contact("351912000004", tags=[])
    assert contact_list.known_tags() == sorted(["old-only", "vip", "b2b", "Açores"])
    assert contact_list.known_tags(recent=3) == sorted(["vip", "b2b", "Açores"])
    assert contact_list.known_tags(limit=2) == sorted(["old-only", "vip", "b2b", "Açores"])[:2]
