"""start() and resume(): stale events, the step budget, failures that stay inside the result."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from flowapp.engine import NODE_TYPES, Event, Result, RunState, resume, start
from flowapp.engine.registry import NodeType
from tests.engine.helpers import NOW, context, graph, node, reply

ASK = graph(
    [
        node("ask", "wait_reply", variable="answer", timeout="1h"),
        node("say", "log", message="{{ message.text }}"),
    ],
    [["start", "next", "ask"], ["ask", "reply", "say"], ["ask", "timeout", "say"]],
)


def waiting() -> Result:
    result = start(ASK, context(), NOW)
    assert result.status == "waiting"
    return result


@pytest.mark.parametrize(
    "event",
    [
        Event("timeout", {"node": "ask", "token": "ask:999"}),
        Event("timeout", {"node": "other", "token": "ask:2"}),
        Event("delay_over", {"node": "ask", "token": "ask:2"}),
        Event("http_result", {"status": 200}),
        Event("run_done", {"status": "completed"}),
        Event("start", {}),
        Event("nonsense", {}),
    ],
)
def test_events_the_run_does_not_wait_for_are_stale(event):
    """A stale or mismatched event returns the state unchanged, no effects, one "stale" entry."""
    before = waiting().state
    result = resume(ASK, before, event, context(), NOW)
    assert result.state == before
    assert result.effects == []
    assert [entry.event for entry in result.log] == ["stale"]


def test_a_timeout_after_the_reply_is_stale():
    """The run moved on: its old deadline fires and nothing happens."""
    first = waiting()
    token = first.state.wait["token"]
    answered = resume(ASK, first.state, Event(**reply("hi")), context(), NOW)
    assert answered.status == "completed"
    late = resume(ASK, answered.state, Event("timeout", {"node": "ask", "token": token}), context(), NOW)
    assert late.state == answered.state
    assert late.log[0].event == "stale"
    assert "completed, not waiting" in late.log[0].detail["reason"]


def test_the_matching_timeout_takes_the_timeout_port():
    """The current token wakes the run through "timeout"."""
    state = waiting().state
    result = resume(
        ASK, state, {"kind": "timeout", "data": {"node": "ask", "token": state.wait["token"]}}, context(), NOW
    )
    assert result.ports == [("ask", "timeout"), ("say", "next")]


def test_resume_never_changes_what_it_is_given():
    """The state dict, the graph and the context passed in are left as they were."""
    state = waiting().state.to_dict()
    saved_state, saved_graph, ctx = copy.deepcopy(state), copy.deepcopy(ASK), context()
    saved_context = copy.deepcopy(ctx)
    resume(ASK, state, Event(**reply("hello")), ctx, NOW)
    assert (state, ASK, ctx) == (saved_state, saved_graph, saved_context)


def test_start_does_not_change_the_contact():
    """update_contact changes the run's copy, not the host's dict."""
    document = graph(
        [node("u", "update_contact", add_tags=["new"], fields={"city": "Cusco"})], [["start", "next", "u"]]
    )
    ctx = context()
    start(document, ctx, NOW)
    assert ctx["contact"]["tags"] == ["customer"] and ctx["contact"]["fields"]["city"] == "Lima"


def test_reply_becomes_the_message():
    """After a reply, templates see it as `message`."""
    result = resume(ASK, waiting().state, Event(**reply("second message")), context(), NOW)
    assert result.effects[-1].data == {"message": "second message"}


def loop_graph() -> dict:
    cases = [{"id": "never", "left": "vars.n", "op": "equals", "value": "x"}]
    return graph(
        [
            node("inc", "set_variable", name="n", value="{{ vars.n | int + 1 }}"),
            node("check", "condition", cases=cases),
        ],
        [["start", "next", "inc"], ["inc", "next", "check"], ["check", "else", "inc"]],
    )


def test_the_step_budget_fails_a_spinning_run():
    """More than 100 steps without a wait fail the run with a clear entry, never an exception."""
    result = start(loop_graph(), context(), NOW)
    assert result.status == "failed"
    assert result.state.error == "more than 100 steps without waiting: a loop?"
    assert result.log[-1].event == "budget_exceeded"
    assert result.state.steps == 100
    assert result.state.vars["n"] == "50"


def test_the_budget_is_configurable():
    """max_steps sets the budget."""
    result = start(loop_graph(), context(), NOW, max_steps=10)
    assert result.state.error == "more than 10 steps without waiting: a loop?"
    assert result.state.steps == 10


def test_exactly_the_budget_is_allowed():
    """max_steps node executions are fine; one more is not."""
    chain = [node(f"n{i}", "log", message="x") for i in range(9)]
    edges = [["start", "next", "n0"]] + [[f"n{i}", "next", f"n{i + 1}"] for i in range(8)]
    assert start(graph(chain, edges), context(), NOW, max_steps=10).status == "completed"
    assert start(graph(chain, edges), context(), NOW, max_steps=9).status == "failed"


def test_the_budget_is_per_event():
    """A loop through a wait runs forever, 100 steps at a time, without failing."""
    nodes = [node(f"n{i}", "log", message="x") for i in range(60)] + [node("ask", "wait_reply", variable="a")]
    edges = [["start", "next", "n0"]] + [[f"n{i}", "next", f"n{i + 1}"] for i in range(59)]
    edges += [["n59", "next", "ask"], ["ask", "reply", "n0"]]
    document = graph(nodes, edges)
    result = start(document, context(), NOW)
    for _ in range(3):
        result = resume(document, result.state, Event(**reply("again")), context(), NOW)
        assert result.status == "waiting"
    assert result.state.steps == 4 * 61 + 1


def test_an_unconnected_port_completes_the_run():
    """A port with no edge ends the run as completed, saying why."""
    result = start(graph([node("n", "log", message="x")], [["start", "next", "n"]]), context(), NOW)
    assert result.status == "completed"
    assert result.log[-1].detail == {"reason": "nothing is connected to port 'next'"}


@pytest.mark.parametrize(
    "document,message",
    [
        (graph([node("x", "teleport")], [["start", "next", "x"]]), "unknown node type 'teleport'"),
        (graph([node("start", "start"), node("b", "start")], []), "exactly one start node"),
        ({"spec_version": 2, "nodes": [{"type": "start"}], "edges": []}, "cannot be read"),
        ({"spec_version": 9, "nodes": [], "edges": []}, "newer than this engine"),
        ("not a graph", "cannot be read"),
    ],
)
def test_broken_graphs_fail_the_run(document, message):
    """Whatever is wrong with the graph comes back as a failed result."""
    result = start(document, context(), NOW)
    assert result.status == "failed"
    assert message in result.state.error


def test_a_bug_in_a_node_type_fails_the_run_not_the_worker(monkeypatch):
    """An unexpected exception in a node becomes a failed run with the node named."""

    def explode(run, node_id, config):
        raise RuntimeError("boom")

    broken = NodeType(**{**NODE_TYPES["log"].__dict__, "execute": explode})
    monkeypatch.setitem(NODE_TYPES, "log", broken)
    result = start(graph([node("n", "log", message="x")], [["start", "next", "n"]]), context(), NOW)
    assert result.status == "failed" and result.state.node == "n"
    assert "RuntimeError('boom')" in result.state.error


def test_a_waiting_node_removed_from_the_graph():
    """Resuming on a graph without the waiting node fails the run clearly."""
    state = waiting().state
    other = graph([node("n", "log", message="x")], [["start", "next", "n"]])
    result = resume(other, state, Event(**reply("hi")), context(), NOW)
    assert result.status == "failed"
    assert "no node 'ask'" in result.state.error


def test_state_round_trips_through_json():
    """RunState.to_dict() -> JSON -> from_dict() gives the same state; Result.to_dict() is JSON."""
    result = waiting()
    result.state.vars.update(number=1.5, nested={"list": [1, "two", None, True]})
    data = json.loads(json.dumps(result.state.to_dict()))
    assert RunState.from_dict(data) == result.state
    assert json.loads(json.dumps(result.to_dict()))["state"]["status"] == "waiting"


def test_steps_accumulate_and_tokens_are_unique():
    """steps counts every node entered in the run; each wait has its own token."""
    document = graph(
        [node("a", "wait_reply", variable="x"), node("b", "wait_reply", variable="y")],
        [["start", "next", "a"], ["a", "reply", "b"]],
    )
    first = start(document, context(), NOW)
    second = resume(document, first.state, Event(**reply("1")), context(), NOW)
    assert (first.state.steps, second.state.steps) == (2, 3)
    assert first.state.wait["token"] != second.state.wait["token"]


def test_naive_now_is_taken_as_utc():
    """A naive datetime is read as UTC."""
    document = graph([node("d", "delay", seconds=60)], [["start", "next", "d"]])
    result = start(document, context(), datetime(2026, 1, 1, 12, 0))
    assert result.state.wait["deadline"] == "2026-01-01T12:01:00+00:00"


def test_log_tells_the_path():
    """The log says what happened, in order, for the run's activity view."""
    result = start(ASK, context(), NOW)
    assert [(e.node, e.event) for e in result.log] == [
        (None, "started"),
        ("start", "entered"),
        ("start", "port"),
        ("ask", "entered"),
        ("ask", "wait_until"),
        ("ask", "waiting"),
    ]
