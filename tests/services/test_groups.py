"""Groups and audiences: static members added and removed in bulk (idempotently), segments saved
with their query checked, names unique, and audiences evaluated in the database that never hold an
opted-out contact (broadcasts, schedule triggers, the contacts page's bulk action)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Broadcast, ContactGroup, GroupMember, utcnow
from flowapp.services import audiences, broadcasts, contact_bulk, contact_list, groups, settings, triggers
from tests import factories
from tests.services.test_maintenance import published

VIP_RECENT = {
    "match": "all",
    "conditions": [
        {"kind": "tag", "op": "has", "value": "vip"},
        {"kind": "last_inbound", "op": "within_days", "value": 30},
    ],
}


@pytest.fixture
def people(session):
    """A recent VIP, an old VIP, a recent VIP who opted out, and a customer with no tags."""
    now = utcnow()
    make = factories.make_contact
    return {
        "recent": make("15550000001", tags=["vip"], last_inbound_at=now - timedelta(days=3)).id,
        "old": make("15550000002", tags=["vip"], last_inbound_at=now - timedelta(days=90)).id,
        "out": make("15550000003", tags=["vip"], opted_out=True, last_inbound_at=now - timedelta(days=1)).id,
        "plain": make("15550000004", tags=[], fields={"city": "Porto"}).id,
    }


def members(group: ContactGroup) -> set[int]:
    return set(db.session.scalars(select(GroupMember.contact_id).where(GroupMember.group_id == group.id)))


def test_adding_and_removing_is_idempotent(people):
    """Adding a contact twice or removing one that is not there changes nothing; counts say what changed."""
    group = groups.create_static("Fair")
    assert groups.add_contacts(group, [people["recent"], people["old"], 999999]) == 2
    assert groups.add_contacts(group, [people["recent"], people["plain"]]) == 1
    assert members(group) == {people["recent"], people["old"], people["plain"]}
    assert groups.remove_contacts(group, [people["old"], people["out"]]) == 1
    assert groups.count(group) == 2


def test_names_are_required_unique_and_trimmed(session):
    """An empty, too long or taken name (in any case) is refused, saving nothing."""
    groups.create_static("  Fair   visitors ")
    assert db.session.scalar(select(ContactGroup.name)) == "Fair visitors"
    for name, message in [("", "Give it a name"), ("x" * 101, "at most 100"), ("FAIR VISITORS", "already")]:
        with pytest.raises(groups.GroupError, match=message):
            groups.create_static(name)
    assert db.session.scalar(select(func.count()).select_from(ContactGroup)) == 1


def test_a_segment_with_a_bad_query_is_not_saved(session):
    """The query is checked before anything is stored; the error names the condition."""
    bad = {"conditions": [{"kind": "tag", "op": "has", "value": "vip"}, {"kind": "field", "op": "eq"}]}
    with pytest.raises(groups.GroupError, match=r"Condition 2 \(field\)") as refused:
        groups.create_segment("Broken", bad)
    assert (refused.value.field, refused.value.index) == ("query", 1)
    assert db.session.scalar(select(func.count()).select_from(ContactGroup)) == 0


def test_a_segment_counts_its_matches_opted_out_included(people):
    """A segment is whoever its query matches now; an opted-out contact may be in it."""
    segment = groups.create_segment("Recent VIPs", VIP_RECENT)
    assert groups.count(segment) == 2  # recent and out
    with pytest.raises(groups.GroupError, match="static group"):
        groups.add_contacts(segment, [people["plain"]])


def test_update_renames_and_replaces_the_query(people):
    """update_segment changes name and query together."""
    segment = groups.create_segment("VIPs", VIP_RECENT)
    groups.update_segment(
        segment, "Porto", {"conditions": [{"kind": "field", "key": "city", "op": "eq", "value": "Porto"}]}
    )
    assert (segment.name, groups.count(segment)) == ("Porto", 1)


def test_delete_is_refused_while_a_segment_or_automation_uses_it(people):
    """A group that a segment or a trigger's audience refers to cannot be deleted."""
    group = groups.create_static("Fair")
    groups.add_contacts(group, [people["recent"]])
    segment = groups.create_segment(
        "In fair", {"conditions": [{"kind": "group", "op": "in", "value": group.id}]}
    )
    with pytest.raises(groups.GroupError, match="In fair"):
        groups.delete_group(group)
    groups.delete_group(segment)
    published({"type": "manual", "audience": {"groups": [group.id]}})
    with pytest.raises(groups.GroupError, match="Upkeep"):
        groups.delete_group(group)


def test_audience_of_groups_is_a_union_anded_with_tags_and_never_opted_out(people):
    """{"groups": [a, b]} is in a or b; tags narrow it further; opted-out contacts never count."""
    fair = groups.create_static("Fair")
    groups.add_contacts(fair, [people["plain"], people["out"]])
    segment = groups.create_segment("Recent VIPs", VIP_RECENT)
    assert audiences.ids({"groups": [fair.id, segment.id]}) == sorted([people["recent"], people["plain"]])
    assert audiences.ids({"groups": [fair.id, segment.id], "tags": ["vip"]}) == [people["recent"]]
    assert audiences.ids({"groups": [fair.id], "fields": {"city": "Porto"}}) == [people["plain"]]
    assert audiences.count({}) == 3  # everyone but the opted-out
    with pytest.raises(audiences.AudienceError, match="No group with id 999999") as refused:
        audiences.ids({"groups": [999999]})
    assert refused.value.field == "groups[0]"


def test_a_broadcast_to_a_segment_skips_the_opted_out(people, redis):
    """A broadcast to a segment counts and starts runs only for those not opted out."""
    segment = groups.create_segment("Recent VIPs", VIP_RECENT)
    automation, _ = published({"type": "manual"})
    broadcast = broadcasts.create(automation, {"groups": [segment.id]})
    assert broadcast.total == 1
    assert broadcasts.run(broadcast.id) == {"started": 1, "skipped": 0, "total": 1}


def test_a_schedule_with_a_group_audience_broadcasts_to_its_members(people, redis):
    """A schedule trigger whose audience names a group broadcasts to the group's opted-in members."""
    settings.put("timezone", "UTC")
    group = groups.create_static("Fair")
    groups.add_contacts(group, [people["old"], people["out"]])
    published({"type": "schedule", "at": "2099-01-01T09:00", "audience": {"groups": [group.id]}})
    assert triggers.fire_schedules(datetime(2099, 1, 1, 9, 0, tzinfo=UTC)) == 1
    broadcast = db.session.scalars(select(Broadcast)).one()
    assert broadcasts.audience_ids(broadcast.audience) == [people["old"]] and broadcast.total == 1


def test_bulk_add_to_group_and_the_in_a_group_filter(people):
    """The contacts page adds the selection to a static group, and its "in a group" filter lists them."""
    group = groups.create_static("Fair")
    chosen = contact_bulk.selected([people["recent"], people["plain"]])
    assert contact_bulk.add_to_group(chosen, group.id)[1].changed == 2
    assert contact_bulk.add_to_group(chosen, group.id)[1].skipped == 2
    page = contact_list.list_contacts(contact_list.Filters(group=group.id))
    assert [row.contact.id for row in page.rows] == [people["plain"], people["recent"]]
    segment = groups.create_segment("Recent VIPs", VIP_RECENT)
    with pytest.raises(contact_bulk.BulkError, match="Choose a group"):
        contact_bulk.add_to_group(chosen, segment.id)
    page = contact_list.list_contacts(contact_list.Filters(group=segment.id))
    assert [row.contact.id for row in page.rows] == [people["out"], people["recent"]]
    assert contact_list.list_contacts(contact_list.Filters(group=999999)).rows == []


def test_a_broadcast_whose_group_was_deleted_since_ends_with_nobody(people, redis):
    """The worker finds the audience's group gone: the broadcast ends done with 0, not a failed job."""
    group = groups.create_static("Fair")
    groups.add_contacts(group, [people["recent"]])
    automation, _ = published({"type": "manual"})
    broadcast = broadcasts.create(automation, {"groups": [group.id]})
    groups.delete_group(group)
    assert broadcasts.run(broadcast.id) == {"started": 0, "skipped": 0, "total": 0}
    assert broadcast.status == "done"
