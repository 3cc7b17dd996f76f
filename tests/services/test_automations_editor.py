"""What the editor adds to the automation services: rename, import and export, the check of one
node, diffs between versions, and the run statistics the canvas shows."""

from datetime import timedelta

import pytest

from flowapp.extensions import db
from flowapp.models import AutomationLog, AutomationRun, utcnow
from flowapp.services import automations, stats
from tests import factories

GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 40}},
        {"id": "hi", "type": "send_text", "config": {"text": "Hi"}, "position": {"x": 300, "y": 40}},
        {"id": "bye", "type": "log", "config": {"message": "bye"}, "position": {"x": 600, "y": 40}},
    ],
    "edges": [{"from": "start", "port": "next", "to": "hi"}, {"from": "hi", "port": "next", "to": "bye"}],
}
TRIGGER = {"type": "keyword", "keywords": ["hi"], "match": "exact"}


@pytest.fixture
def automation(session):
    return automations.create("Greeter", trigger=TRIGGER, graph=GRAPH, description="Says hi")


def test_export_then_import_round_trips(automation):
    """An exported document imports as a new draft with the same name, trigger and graph."""
    document = automations.export_document(automation)
    assert document == {"name": "Greeter", "description": "Says hi", "trigger": TRIGGER, "graph": GRAPH}
    copy = automations.import_document(document)
    assert copy.id != automation.id and copy.status == "draft"
    assert (copy.name, copy.trigger, copy.draft) == ("Greeter", TRIGGER, GRAPH)


def test_import_upgrades_a_version_1_graph(session):
    """An early export (spec_version 1: data, source/target) is upgraded on import."""
    old = {
        "nodes": [{"id": "start", "type": "start", "data": {}}, {"id": "x", "type": "end", "data": {}}],
        "edges": [{"source": "start", "target": "x"}],
    }
    automation = automations.import_document({"name": "Old", "trigger": {"type": "manual"}, "graph": old})
    assert automation.draft["spec_version"] == 2
    assert automation.draft["edges"] == [{"from": "start", "port": "next", "to": "x"}]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "not an automation export"),
        ({"name": "x", "graph": GRAPH}, "it has no trigger"),
        ({"name": " ", "trigger": TRIGGER, "graph": GRAPH}, "has no name"),
        ({"name": "x", "trigger": {"type": "sometimes"}, "graph": GRAPH}, "whose type is one of"),
        ({"name": "x", "trigger": TRIGGER, "graph": {"spec_version": 9, "nodes": [], "edges": []}}, "newer"),
        ({"name": "x", "trigger": TRIGGER, "graph": {"spec_version": 2, "nodes": "no"}}, "not a valid"),
        ({"name": "x", "description": 3, "trigger": TRIGGER, "graph": GRAPH}, "description"),
    ],
)
def test_import_refuses_malformed_documents(session, document, message):
    """Malformed files are refused with a message that says what is wrong."""
    with pytest.raises(automations.AutomationError) as refused:
        automations.import_document(document)
    assert message in str(refused.value)


def test_rename(automation):
    """Renaming trims the name and refuses an empty one."""
    automations.rename(automation, "  Welcome  ")
    assert automation.name == "Welcome"
    with pytest.raises(automations.AutomationError):
        automations.rename(automation, "   ")


def test_check_node_reports_only_the_nodes_own_settings(session):
    """One node's check names its settings' problems, not its open ports or reachability."""
    issues = automations.check_node(
        {
            "id": "menu",
            "type": "send_buttons",
            "config": {"text": "", "buttons": [{"id": "a", "title": "x" * 21}]},
        },
        {},
    )
    assert {(issue.field, issue.level) for issue in issues} == {
        ("text", "error"),
        ("buttons[0].title", "error"),
    }
    assert automations.check_node({"id": "s", "type": "start", "config": {}}, {}) == []
    assert (
        automations.check_node({"id": "t", "type": "send_text", "config": {"text": "{{ oops"}}, {})[0].field
        == "text"
    )


def test_diff_graphs_names_added_removed_changed_and_moved_nodes():
    """The diff compares nodes by id: settings or outgoing edges changed, position moved."""
    new = {
        "spec_version": 2,
        "nodes": [
            {"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 40}},
            {"id": "hi", "type": "send_text", "config": {"text": "Hello"}, "position": {"x": 300, "y": 40}},
            {"id": "end", "type": "end", "config": {}, "position": {"x": 600, "y": 40}},
        ],
        "edges": [{"from": "start", "port": "next", "to": "hi"}, {"from": "hi", "port": "next", "to": "end"}],
    }
    moved = {**GRAPH, "nodes": [dict(GRAPH["nodes"][0], position={"x": 0, "y": 0}), *GRAPH["nodes"][1:]]}
    diff = automations.diff_graphs(GRAPH, new)
    assert diff["added"] == ["end"] and diff["removed"] == ["bye"] and diff["changed"] == ["hi"]
    assert diff["edges_added"] == [{"from": "hi", "port": "next", "to": "end"}]
    assert diff["edges_removed"] == [{"from": "hi", "port": "next", "to": "bye"}]
    assert automations.diff_graphs(GRAPH, moved)["moved"] == ["start"]
    assert automations.diff_graphs(GRAPH, GRAPH) == {key: [] for key in diff}


def test_version_graph(automation):
    """Versions are found by "draft", "published" or number; others are refused."""
    assert automations.version_graph(automation, "draft")[1] == GRAPH
    with pytest.raises(automations.AutomationError):
        automations.version_graph(automation, "published")
    automations.publish(automation)
    assert automations.version_graph(automation, "1")[0] == "Version 1"
    assert automations.version_graph(automation, "published")[1] == GRAPH
    with pytest.raises(automations.AutomationError):
        automations.version_graph(automation, "7")


def make_run(automation, contact, status="completed", days_ago=0, steps=()):
    run = AutomationRun(
        automation=automation,
        version=automation.published_version,
        contact=contact,
        status=status,
        current_node="bye",
        started_at=utcnow() - timedelta(days=days_ago),
    )
    db.session.add(run)
    for node_id, event, detail in steps:
        db.session.add(AutomationLog(run=run, node_id=node_id, event=event, detail=detail))
    db.session.flush()
    return run


STEPS = (
    (None, "version", {"version": 1}),
    ("start", "entered", {"type": "start"}),
    ("start", "port", {"port": "next", "to": "hi"}),
    ("hi", "entered", {"type": "send_text"}),
    ("hi", "sent", {"type": "text", "text": "Hi"}),
    ("hi", "port", {"port": "next", "to": "bye"}),
    ("bye", "entered", {"type": "log"}),
)


def test_run_trace_gives_the_path_and_the_steps(automation):
    """A run's trace: nodes entered, ports taken and each step with its detail (bookkeeping hidden)."""
    automations.publish(automation)
    run = make_run(automation, factories.make_contact(display_name="Ana"), steps=STEPS)
    trace = stats.run_trace(run)
    assert trace["nodes"] == ["start", "hi", "bye"]
    assert trace["ports"] == ["start:next", "hi:next"]
    assert [step["event"] for step in trace["steps"]] == [
        "entered",
        "port",
        "entered",
        "sent",
        "port",
        "entered",
    ]
    assert trace["current"] == "bye"


def test_recent_runs_and_search(automation):
    """Recent runs come newest first; the search finds a contact by name or number."""
    automations.publish(automation)
    ana = factories.make_contact(wa_id="34600111222", display_name="Ana")
    bob = factories.make_contact(wa_id="34600333444", profile_name="Bob")
    first, second = make_run(automation, ana), make_run(automation, bob)
    assert stats.recent_runs(automation) == [second, first]
    assert stats.recent_runs(automation, "ana") == [first]
    assert stats.recent_runs(automation, "+34600333") == [second]
    assert stats.recent_runs(automation, "nobody") == []


def test_runs_last_days_by_automation(automation):
    """Runs of the last 7 days per automation, in one query."""
    automations.publish(automation)
    contact = factories.make_contact()
    make_run(automation, contact)
    make_run(automation, contact, days_ago=10)
    assert stats.runs_last_days_by_automation(7) == {automation.id: 1}
