"""The 24-hour window rule: a free-form send that can run outside the window is an error."""

from __future__ import annotations

import pytest

from flowapp.engine import validate
from tests.engine.helpers import graph, node

TEMPLATE = {"name": "hello_world", "language": "en_US"}


def window_errors(document, trigger):
    return [i for i in validate(document, trigger) if i.level == "error" and "24-hour window" in i.message]


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "schedule", "cron": "0 9 * * 1"},
        {"type": "date_field", "field": "birthday", "time": "09:00"},
        {"type": "manual"},
    ],
)
def test_free_form_send_right_after_a_non_message_trigger(trigger):
    """After a schedule, date or manual trigger the customer may not have written: text is refused."""
    document = graph([node("hello", "send_text", text="Hi")], [["start", "next", "hello"]])
    found = window_errors(document, trigger)
    assert [i.node for i in found] == ["hello"]
    assert "send_template" in found[0].message


@pytest.mark.parametrize(
    "trigger",
    [{"type": "any_message"}, {"type": "keyword", "keywords": ["hi"]}, {"type": "new_contact"}, None],
)
def test_message_triggers_open_the_window(trigger):
    """A run started by the customer's message may reply freely (and no trigger means no entry rule)."""
    document = graph([node("hello", "send_text", text="Hi")], [["start", "next", "hello"]])
    assert window_errors(document, trigger) == []


def test_a_template_is_allowed_and_a_reply_reopens_the_window():
    """schedule -> template -> wait for reply -> text is fine: the customer wrote."""
    document = graph(
        [
            node("t", "send_template", **TEMPLATE),
            node("ask", "wait_reply", variable="answer"),
            node("thanks", "send_text", text="Thanks"),
        ],
        [["start", "next", "t"], ["t", "next", "ask"], ["ask", "reply", "thanks"]],
    )
    assert window_errors(document, {"type": "schedule", "cron": "0 9 * * *"}) == []


def test_interactive_sends_are_free_form_too():
    """Buttons and lists need the window as much as text does."""
    document = graph(
        [node("b", "send_buttons", text="Pick", buttons=[{"id": "a", "title": "A"}])],
        [["start", "next", "b"]],
    )
    assert [i.node for i in window_errors(document, {"type": "manual"})] == ["b"]


def test_after_a_long_timeout_only_a_template():
    """The timeout port of a wait longer than 24 hours may be reached with the window closed."""
    document = graph(
        [
            node("ask", "wait_reply", variable="answer", timeout="2d"),
            node("late", "send_text", text="Still there?"),
            node("ok", "send_text", text="Thanks"),
        ],
        [["start", "next", "ask"], ["ask", "timeout", "late"], ["ask", "reply", "ok"]],
    )
    found = window_errors(document, {"type": "any_message"})
    assert [i.node for i in found] == ["late"]
    assert "2d timeout of 'ask'" in found[0].message


@pytest.mark.parametrize("timeout,expected", [("24h", []), ("25h", ["late"]), (86400, []), (86401, ["late"])])
def test_the_limit_is_more_than_24_hours(timeout, expected):
    """Exactly 24 hours is still inside the rule; one second more is not."""
    document = graph(
        [node("ask", "wait_reply", variable="a", timeout=timeout), node("late", "send_text", text="x")],
        [["start", "next", "ask"], ["ask", "timeout", "late"]],
    )
    assert [i.node for i in window_errors(document, {"type": "any_message"})] == expected


@pytest.mark.parametrize(
    "config,expected", [({"seconds": "3d"}, ["later"]), ({"seconds": "23h"}, []), ({"until": "09:00"}, [])]
)
def test_after_a_long_delay_only_a_template(config, expected):
    """A delay of more than 24 hours closes the window; a shorter one, or until a time of day, does not."""
    document = graph(
        [node("d", "delay", **config), node("later", "send_text", text="Hi again")],
        [["start", "next", "d"], ["d", "next", "later"]],
    )
    assert [i.node for i in window_errors(document, {"type": "keyword", "keywords": ["hi"]})] == expected


def test_the_closed_window_flows_on_until_a_reply():
    """Through logs, conditions and templates the window stays closed; it reopens at a reply."""
    document = graph(
        [
            node("d", "delay", seconds="2d"),
            node("n", "log", message="x"),
            node("t", "send_template", **TEMPLATE),
            node("c", "condition", cases=[{"id": "vip", "op": "has_tag", "value": "vip"}]),
            node("vip_text", "send_text", text="VIP"),
            node("b", "send_buttons", text="Pick", buttons=[{"id": "a", "title": "A"}]),
            node("after", "send_text", text="Thanks"),
        ],
        [
            ["start", "next", "d"],
            ["d", "next", "n"],
            ["n", "next", "t"],
            ["t", "next", "c"],
            ["c", "vip", "vip_text"],
            ["c", "else", "b"],
            ["b", "a", "after"],
        ],
    )
    assert [i.node for i in window_errors(document, {"type": "any_message"})] == ["vip_text", "b"]


def test_one_closed_path_into_a_node_is_enough():
    """Where an open and a closed path meet, the window may be closed."""
    document = graph(
        [
            node("ask", "wait_reply", variable="a", timeout="3d"),
            node("j", "log", message="join"),
            node("send", "send_text", text="x"),
        ],
        [["start", "next", "ask"], ["ask", "reply", "j"], ["ask", "timeout", "j"], ["j", "next", "send"]],
    )
    assert [i.node for i in window_errors(document, {"type": "any_message"})] == ["send"]


def test_loops_terminate():
    """The dataflow handles cycles (each node is visited at most twice)."""
    document = graph(
        [node("ask", "wait_reply", variable="a", timeout="2d"), node("again", "send_text", text="?")],
        [["start", "next", "ask"], ["ask", "timeout", "again"], ["again", "next", "ask"]],
    )
    assert [i.node for i in window_errors(document, {"type": "any_message"})] == ["again"]
