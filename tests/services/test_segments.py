"""Segments: every condition kind and op on a fixed set of contacts, evaluated by the database (the
same exact ids on SQLite and PostgreSQL), and every bad query refused with a message naming it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Contact, ContactGroup, utcnow
from flowapp.services import groups, segments
from tests import factories


@pytest.fixture
def people(session):
    """Four contacts that differ in tags, fields (numbers as numbers and as text), activity, language."""
    now = utcnow()
    ana = factories.make_contact(
        "351910000001",
        profile_name="Ana",
        tags=["vip", "lisbon"],
        fields={"city": "Lisbon", "orders": 9, "score": "10", "since": "2026-01-05", "member": True},
        last_inbound_at=now - timedelta(days=2),
        language="pt-BR",
    )
    bruno = factories.make_contact(
        "351910000002",
        profile_name="Bruno",
        tags=["wholesale"],
        fields={"city": "London", "orders": 10, "score": "9", "since": "2025-06-30"},
        last_inbound_at=now - timedelta(days=40),
        language="en",
        created_at=now - timedelta(days=100),
    )
    carla = factories.make_contact("351910000003", profile_name="Carla", opted_out=True, tags=[], fields={})
    dora = factories.make_contact(
        "351910000004",
        profile_name="Dora",
        tags=["vip"],
        fields={"city": "", "orders": "abc", "score": 2.5},
        last_inbound_at=now - timedelta(days=10),
        language="PT",
    )
    static = groups.create_static("Fair visitors")
    groups.add_contacts(static, [ana.id, carla.id])
    return {"ana": ana.id, "bruno": bruno.id, "carla": carla.id, "dora": dora.id, "static": static.id}


def matching(query: dict) -> set[str]:
    found = set(db.session.scalars(select(Contact.profile_name).where(segments.clause(query))))
    return {name.lower() for name in found}


def one(condition: dict) -> dict:
    return {"match": "all", "conditions": [condition]}


CASES = [
    ({"kind": "tag", "op": "has", "value": "vip"}, {"ana", "dora"}),
    ({"kind": "tag", "op": "has_not", "value": "vip"}, {"bruno", "carla"}),
    ({"kind": "field", "key": "city", "op": "eq", "value": "Lisbon"}, {"ana"}),
    ({"kind": "field", "key": "city", "op": "neq", "value": "Lisbon"}, {"bruno", "carla", "dora"}),
    ({"kind": "field", "key": "orders", "op": "eq", "value": 9}, {"ana"}),
    ({"kind": "field", "key": "orders", "op": "eq", "value": "10"}, {"bruno"}),
    ({"kind": "field", "key": "member", "op": "eq", "value": True}, {"ana"}),
    ({"kind": "field", "key": "city", "op": "contains", "value": "lon"}, {"bruno"}),
    ({"kind": "field", "key": "city", "op": "contains", "value": "%"}, set()),
    ({"kind": "field", "key": "orders", "op": "gt", "value": 9}, {"bruno"}),
    ({"kind": "field", "key": "orders", "op": "lt", "value": 10}, {"ana"}),
    # Text that holds a number compares as one: "10" > 9.5 > "9", 2.5 < 3.
    ({"kind": "field", "key": "score", "op": "gt", "value": 9.5}, {"ana"}),
    ({"kind": "field", "key": "score", "op": "lt", "value": 3}, {"dora"}),
    ({"kind": "field", "key": "since", "op": "gt", "value": "2025-12-31"}, {"ana"}),
    ({"kind": "field", "key": "since", "op": "lt", "value": "2025-12-31"}, {"bruno"}),
    ({"kind": "field", "key": "city", "op": "set"}, {"ana", "bruno"}),
    ({"kind": "field", "key": "city", "op": "not_set"}, {"carla", "dora"}),
    ({"kind": "last_inbound", "op": "within_days", "value": 30}, {"ana", "dora"}),
    ({"kind": "last_inbound", "op": "within_days", "value": 5}, {"ana"}),
    ({"kind": "last_inbound", "op": "not_within_days", "value": 30}, {"bruno", "carla"}),
    ({"kind": "last_inbound", "op": "never"}, {"carla"}),
    ({"kind": "created", "op": "within_days", "value": 30}, {"ana", "carla", "dora"}),
    ({"kind": "created", "op": "not_within_days", "value": 30}, {"bruno"}),
    ({"kind": "opted_out", "op": "is", "value": True}, {"carla"}),
    ({"kind": "opted_out", "op": "is", "value": False}, {"ana", "bruno", "dora"}),
    ({"kind": "language", "op": "eq", "value": "pt"}, {"ana", "dora"}),
    ({"kind": "language", "op": "neq", "value": "pt"}, {"bruno", "carla"}),
    ({"kind": "language", "op": "set"}, {"ana", "bruno", "dora"}),
    ({"kind": "language", "op": "not_set"}, {"carla"}),
]


@pytest.mark.parametrize(
    ("condition", "expected"), CASES, ids=[f"{c['kind']}-{c['op']}-{i}" for i, (c, _) in enumerate(CASES)]
)
def test_each_condition_matches_exactly(people, condition, expected):
    """Each kind and op matches exactly the contacts it should, in the database."""
    assert matching(one(condition)) == expected


@pytest.mark.parametrize(("op", "expected"), [("in", {"ana", "carla"}), ("not_in", {"bruno", "dora"})])
def test_group_condition_on_a_static_group(people, op, expected):
    """ "in" a static group is its members; "not_in" everyone else."""
    assert matching(one({"kind": "group", "op": op, "value": people["static"]})) == expected


def test_vip_and_recent_combines_with_all_and_any(people):
    """ "all" is AND, "any" is OR (the issue's example: tag vip and last inbound within 5 days)."""
    conditions = [
        {"kind": "tag", "op": "has", "value": "vip"},
        {"kind": "last_inbound", "op": "within_days", "value": 5},
    ]
    assert matching({"match": "all", "conditions": conditions}) == {"ana"}
    assert matching({"match": "any", "conditions": conditions}) == {"ana", "dora"}
    assert matching({"conditions": conditions}) == {"ana"}  # "all" when not said


def test_a_segment_can_refer_to_another_segment(people):
    """A group condition on a segment uses that segment's query."""
    vip = groups.create_segment("VIP", one({"kind": "tag", "op": "has", "value": "vip"}))
    recent_vip = one({"kind": "group", "op": "in", "value": vip.id})
    recent_vip["conditions"].append({"kind": "last_inbound", "op": "within_days", "value": 5})
    assert matching(recent_vip) == {"ana"}


def test_a_cycle_through_segments_is_refused(people):
    """A segment that would include itself, directly or through another, is refused, naming the condition."""
    first = groups.create_segment("First", one({"kind": "tag", "op": "has", "value": "vip"}))
    second = groups.create_segment("Second", one({"kind": "group", "op": "in", "value": first.id}))
    with pytest.raises(groups.GroupError, match="cannot include itself") as refused:
        groups.update_segment(first, "First", one({"kind": "group", "op": "in", "value": second.id}))
    assert refused.value.index == 0
    with pytest.raises(segments.SegmentError, match="cannot include itself"):
        segments.clause(one({"kind": "group", "op": "in", "value": first.id}), segment_id=first.id)
    assert db.session.get(ContactGroup, first.id).query == one({"kind": "tag", "op": "has", "value": "vip"})


def test_nesting_deeper_than_the_cap_is_refused(people):
    """Segments nest at most MAX_DEPTH deep, so a chain cannot grow without end: saving the segment
    that would make the chain too deep is refused, naming its condition."""
    group = groups.create_segment("Level 0", one({"kind": "tag", "op": "has", "value": "vip"}))
    for level in range(1, segments.MAX_DEPTH):
        group = groups.create_segment(f"Level {level}", one({"kind": "group", "op": "in", "value": group.id}))
    assert groups.count(group) == 2  # the deepest chain allowed still works
    with pytest.raises(groups.GroupError, match=r"Condition 1 \(group\): segments nest at most"):
        groups.create_segment("Too deep", one({"kind": "group", "op": "in", "value": group.id}))


BAD = [
    ("not a query", "the query must be an object"),
    ({}, "conditions is required"),
    ({"conditions": []}, "conditions at least 1 item"),
    ({"match": "some", "conditions": [{"kind": "tag", "op": "has", "value": "x"}]}, "match must be one of"),
    ({"conditions": [{"kind": "mood", "op": "is"}]}, "Condition 1: kind must be one of"),
    ({"conditions": [{"kind": "tag", "op": "is", "value": "x"}]}, r"Condition 1 \(tag\): op must be one of"),
    ({"conditions": [{"kind": "tag", "op": "has"}]}, r"Condition 1 \(tag\): has needs a value"),
    (
        {"conditions": [{"kind": "field", "op": "eq", "value": "x"}]},
        r"Condition 1 \(field\): key is required",
    ),
    ({"conditions": [{"kind": "field", "key": "a b", "op": "eq", "value": "x"}]}, r"key 'a b' is not valid"),
    (
        {"conditions": [{"kind": "field", "key": "n", "op": "gt", "value": "abc"}]},
        r"gt compares a number or a date",
    ),
    (
        {"conditions": [{"kind": "last_inbound", "op": "within_days", "value": 0}]},
        r"value must be at least 1",
    ),
    ({"conditions": [{"kind": "group", "op": "in", "value": 999999}]}, r"no group with id 999999"),
    ({"conditions": [{"kind": "opted_out", "op": "is", "value": "yes"}]}, r"value must be true or false"),
    (
        {
            "conditions": [
                {"kind": "tag", "op": "has", "value": "a"},
                {"kind": "tag", "op": "has", "value": "a", "x": 1},
            ]
        },
        r"Condition 2 \(tag\): tag unknown setting 'x'",
    ),
    ({"conditions": [{"kind": "tag", "op": "has", "value": "a"}] * 21}, "conditions at most 20 items"),
]


@pytest.mark.parametrize(("query", "message"), BAD)
def test_bad_queries_are_refused_naming_the_condition(session, query, message):
    """Every bad query gets a SegmentError whose message says which condition and why."""
    with pytest.raises(segments.SegmentError, match=message):
        segments.clause(query)


def test_count_and_sample_are_the_databases(people):
    """count() and sample() answer from the clause: the number and the newest few."""
    vip = segments.clause(one({"kind": "tag", "op": "has", "value": "vip"}))
    assert segments.count(vip) == 2
    assert [c.id for c in segments.sample(vip, 1)] == [people["dora"]]


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_text_that_python_reads_as_a_non_finite_number_is_text(people, text):
    """ "nan" compares as text (PostgreSQL would refuse NaN in JSON): it matches nobody here, no error."""
    assert matching(one({"kind": "field", "key": "city", "op": "eq", "value": text})) == set()
