"""validate(): one test per rule, each problem naming its node and field."""

from __future__ import annotations

import pytest

from flowapp.engine import NODE_TYPES, Issue, validate
from flowapp.engine.registry import REPLY_UNANSWERED
from tests.engine.helpers import graph, node


def issues_of(document, trigger=None, known=None, level=None):
    found = validate(document, trigger, known)
    return [(i.level, i.node, i.field, i.message) for i in found if level is None or i.level == level]


def errors(document, **kwargs):
    return issues_of(document, level="error", **kwargs)


def test_a_sound_graph_has_no_issues():
    """A connected graph with valid settings validates clean."""
    document = graph(
        [node("hello", "send_text", text="Hi {{ contact.name }}"), node("done", "end")],
        [["start", "next", "hello"], ["hello", "next", "done"]],
    )
    assert validate(document) == []


def test_schema_errors_name_node_and_field():
    """A too-long button title is reported on the node, at buttons[0].title, with the limit."""
    document = graph(
        [node("ask", "send_buttons", text="Pick", buttons=[{"id": "a", "title": "x" * 25}])],
        [["start", "next", "ask"]],
    )
    assert ("error", "ask", "buttons[0].title", "at most 20 characters, not 25") in errors(document)


def test_unknown_settings_are_reported():
    """A misspelt setting is an error on the node."""
    document = graph([node("hello", "send_text", text="Hi", txt="typo")], [["start", "next", "hello"]])
    assert ("error", "hello", None, "unknown setting 'txt'") in errors(document)


def test_unknown_node_type():
    """A type the registry does not know is an error on its node's type field."""
    document = graph([node("x", "teleport")], [["start", "next", "x"]])
    assert any(e[1] == "x" and e[2] == "type" for e in errors(document))


def test_bad_node_id():
    """Node ids are letters, digits, _ and -."""
    document = graph([node("bad id", "end")], [])
    assert any(e[1] == "bad id" and e[2] == "id" for e in errors(document))


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_start(count):
    """No start node, or two of them, is an error."""
    nodes = [node(f"s{i}", "start") for i in range(count)] or [node("x", "end")]
    document = graph(nodes, [])
    if count == 0:
        document["nodes"] = [n for n in document["nodes"] if n["type"] != "start"]
    found = errors(document)
    if count == 0:
        assert ("error", None, "nodes", "a graph needs a start node: runs begin there") in found
    else:
        assert ("error", "s1", None, "only one start node is allowed") in found


def test_duplicate_node_ids():
    """Two nodes with one id is an error."""
    document = graph([node("a", "end"), node("a", "end")], [["start", "next", "a"]])
    assert ("error", "a", "id", "another node already has the id 'a'") in errors(document)


def test_edge_from_a_port_the_node_does_not_have():
    """An edge must leave by one of its node's ports."""
    document = graph([node("a", "end"), node("b", "end")], [["start", "next", "a"], ["a", "next", "b"]])
    assert ("error", "a", "edges[1].port", "this node has no port 'next' (its ports: none)") in errors(
        document
    )


def test_edge_to_or_from_a_missing_node():
    """Both ends of an edge must exist."""
    document = graph([node("a", "end")], [["start", "next", "ghost"], ["ghost", "next", "a"]])
    found = errors(document)
    assert ("error", "start", "edges[0].to", "no node has the id 'ghost'") in found
    assert ("error", None, "edges[1].from", "no node has the id 'ghost'") in found


def test_two_edges_from_one_port():
    """A port leads to one node."""
    document = graph([node("a", "end"), node("b", "end")], [["start", "next", "a"], ["start", "next", "b"]])
    assert any(e[1] == "start" and e[2] == "edges[1]" for e in errors(document))


def test_unreachable_nodes_warn():
    """A node no path reaches is a warning."""
    document = graph([node("a", "end"), node("lost", "end")], [["start", "next", "a"]])
    assert ("warning", "lost", None, "no path from the start reaches this node") in issues_of(document)


# Every node type with all its ports open, and the ports that warn: only those where something is
# lost (a reply nothing answers, a start leading nowhere, an HTTP failure nobody hears of).
CHOICES = {"timeout": "1h", "variable": "choice"}
OPEN_PORTS = {
    "start": ({}, ["next"]),
    "send_text": ({"text": "Hi"}, []),
    "send_media": ({"kind": "image", "link": "https://example.com/a.png"}, []),
    "send_template": ({"name": "hello", "language": "en_US"}, []),
    "send_buttons": ({"text": "Pick", "buttons": [{"id": "a", "title": "A"}], **CHOICES}, ["a", "other"]),
    "send_list": (
        {"text": "Pick", "button": "Days", "sections": [{"rows": [{"id": "mon", "title": "M"}]}], **CHOICES},
        ["mon", "other"],
    ),
    "wait_reply": (
        {"variable": "email", "timeout": "1h", "validate": {"kind": "email"}},
        ["reply", "invalid"],
    ),
    "condition": ({"cases": [{"id": "yes", "left": "message.text", "op": "contains_any", "value": "y"}]}, []),
    "set_variable": ({"name": "x", "value": "1"}, []),
    "update_contact": ({"add_tags": ["vip"]}, []),
    "classify": ({"categories": [{"name": "refund"}]}, ["failure"]),
    "extract": ({"fields": [{"name": "email", "type": "email"}]}, ["failure"]),
    "generate": ({"prompt": "Be kind."}, ["failure"]),
    "answer": ({"base": 1}, ["unknown", "failure"]),
    "http_request": ({"method": "POST", "url": "https://example.com/leads"}, ["failure"]),
    "delay": ({"seconds": "1h"}, []),
    "random_split": ({"branches": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]}, []),
    "run_automation": ({"automation_id": 7, "wait": True}, []),
    "handoff": ({}, []),
    "log": ({"message": "here"}, []),
    "end": ({}, []),
}


def test_the_open_port_table_covers_every_node_type():
    """Each node type has its row in OPEN_PORTS."""
    assert set(OPEN_PORTS) == set(NODE_TYPES)


@pytest.mark.parametrize("type_name", list(OPEN_PORTS))
def test_open_ports_warn_only_where_something_is_lost(type_name):
    """A port with nothing connected ends the run, which is no warning, unless its node type says
    what is lost there; the node's other settings are valid, so these are its only issues."""
    config, warned = OPEN_PORTS[type_name]
    if type_name == "start":
        document = graph([node("start", "start")], [])
    else:
        document = graph([node("n", type_name, **config)], [["start", "next", "n"]])
    node_id = "start" if type_name == "start" else "n"
    found = issues_of(document)
    if not warned:
        assert found == []
        return
    assert len(found) == 1
    level, where, field, message = found[0]
    assert (level, where, field) == ("warning", node_id, "ports")
    assert message.startswith("nothing is connected to " + ", ".join(f'"{p}"' for p in warned) + ": ")


def test_open_port_warnings_say_what_is_lost():
    """One warning per node and risk, naming every open port at risk and the consequence; the
    timeout port is left out (ending the run when nobody answers is what a timeout is for)."""
    document = graph(
        [
            node("ask", "send_buttons", text="Pick", buttons=[{"id": "a", "title": "A"}], timeout="1h"),
            node("crm", "http_request", method="POST", url="https://example.com/leads"),
        ],
        [["start", "next", "ask"], ["ask", "a", "crm"]],
    )
    assert [i for i in issues_of(document) if i[2] == "ports"] == [
        ("warning", "ask", "ports", 'nothing is connected to "other": ' + REPLY_UNANSWERED),
        (
            "warning",
            "crm",
            "ports",
            'nothing is connected to "failure": a failed request would end the run as completed, unnoticed',
        ),
    ]


def test_open_ports_that_end_the_run_do_not_warn():
    """A "keyword, send text" bot validates clean: its last port simply ends the run."""
    document = graph([node("hello", "send_text", text="Hi!")], [["start", "next", "hello"]])
    assert validate(document) == []


def test_missing_required_settings_once():
    """An empty required setting is reported once, as required."""
    document = graph([node("hello", "send_text", text="  ")], [["start", "next", "hello"]])
    assert [e for e in errors(document) if e[1] == "hello"] == [("error", "hello", "text", "is required")]
    document = graph([node("hello", "send_text")], [["start", "next", "hello"]])
    assert [e for e in errors(document) if e[1] == "hello"] == [("error", "hello", "text", "is required")]


def test_templates_must_compile():
    """A template that does not compile is an error on its field."""
    document = graph([node("hello", "send_text", text="Hi {{ contact.name ")], [["start", "next", "hello"]])
    found = errors(document)
    assert len(found) == 1 and found[0][:3] == ("error", "hello", "text")
    assert "does not compile" in found[0][3]


def test_unknown_filters_are_caught_at_validation():
    """A filter that does not exist is a compile error, not a runtime surprise."""
    document = graph([node("n", "log", message="{{ contact.name | shout }}")], [["start", "next", "n"]])
    assert "No filter named 'shout'" in errors(document)[0][3]


def test_expressions_must_compile():
    """A condition's left expression is checked as an expression."""
    cases = [{"id": "a", "left": "contact.name ==", "op": "not_empty"}]
    document = graph([node("c", "condition", cases=cases)], [["start", "next", "c"]])
    assert errors(document)[0][:3] == ("error", "c", "cases[0].left")


def test_button_limits():
    """At most 3 buttons, unique titles ignoring case, and no id named like another port."""
    four = [{"id": f"b{i}", "title": f"B{i}"} for i in range(4)]
    document = graph([node("a", "send_buttons", text="x", buttons=four)], [["start", "next", "a"]])
    assert ("error", "a", "buttons", "at most 3 items, not 4") in errors(document)
    same = [{"id": "a", "title": "Yes"}, {"id": "b", "title": "YES"}, {"id": "other", "title": "Other"}]
    document = graph([node("a", "send_buttons", text="x", buttons=same)], [["start", "next", "a"]])
    found = errors(document)
    assert ("error", "a", "buttons[1].title", "'YES' is already used by another button") in found
    assert ("error", "a", "buttons[2].id", "'other' is the name of another port: choose another id") in found


def test_list_limits():
    """At most 10 rows in all sections, row titles of at most 24, titled sections when several."""
    rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(6)]
    sections = [
        {"title": "A", "rows": rows},
        {"rows": [{"id": f"s{i}", "title": "x" * 25} for i in range(5)]},
    ]
    document = graph(
        [node("l", "send_list", text="x", button="Open", sections=sections)], [["start", "next", "l"]]
    )
    found = errors(document)
    assert ("error", "l", "sections", "at most 10 rows in all sections together, not 11") in found
    assert ("error", "l", "sections[1].rows[0].title", "at most 24 characters, not 25") in found
    assert ("error", "l", "sections[1].title", "every section needs a title when there are several") in found


def test_text_header_and_footer_lengths():
    """WhatsApp's lengths: text 4096, header and footer 60."""
    document = graph([node("t", "send_text", text="x" * 4097)], [["start", "next", "t"]])
    assert ("error", "t", "text", "at most 4096 characters, not 4097") in errors(document)
    buttons = [{"id": "a", "title": "A"}]
    document = graph(
        [node("b", "send_buttons", text="x", buttons=buttons, header="h" * 61, footer="f" * 61)],
        [["start", "next", "b"]],
    )
    fields = {e[2] for e in errors(document)}
    assert {"header", "footer"} <= fields


def test_button_headers_need_their_content():
    """A text header needs text; a media header one of a link or a media id."""
    buttons = [{"id": "a", "title": "A"}]
    for header, field in (({"type": "text"}, "header.text"), ({"type": "image"}, "header.link")):
        document = graph(
            [node("b", "send_buttons", text="x", buttons=buttons, header=header)], [["start", "next", "b"]]
        )
        assert field in {e[2] for e in errors(document)}


def test_media_needs_exactly_one_source_and_fitting_extras():
    """A link or a media id, not both; no caption on audio; a file name only on documents."""
    document = graph(
        [
            node(
                "m",
                "send_media",
                kind="audio",
                link="https://x.test/a.ogg",
                media_id="1",
                caption="c",
                filename="f",
            )
        ],
        [["start", "next", "m"]],
    )
    fields = {e[2] for e in errors(document)}
    assert {"link", "caption", "filename"} <= fields


KNOWN = {"templates": {("birthday_greeting", "en_US"): {"body": 1}, ("birthday_greeting", "es"): {"body": 1}}}


def test_unknown_template():
    """A template name and language that are not approved is an error, with the languages it has."""
    document = graph(
        [node("t", "send_template", name="birthday_greeting", language="fr", parameters={"body": ["x"]})],
        [["start", "next", "t"]],
    )
    assert (
        "error",
        "t",
        "name",
        "no approved template 'birthday_greeting' in 'fr' (it exists in en_US, es)",
    ) in (errors(document, known=KNOWN))


def test_template_parameter_counts():
    """The number of parameters must match the template's placeholders."""
    document = graph(
        [
            node(
                "t",
                "send_template",
                name="birthday_greeting",
                language="en_US",
                parameters={"body": ["a", "b"]},
            )
        ],
        [["start", "next", "t"]],
    )
    assert errors(document, known=KNOWN) == [
        ("error", "t", "parameters.body", "the template expects 1 parameter here, not 2")
    ]
    assert errors(document) == []  # without known templates, nothing is checked


def test_unknown_contact_fields_warn():
    """Fields written by update_contact or read in templates are checked against known fields."""
    document = graph(
        [
            node("u", "update_contact", fields={"email": "x", "shoe_size": "42"}),
            node("n", "log", message="{{ contact.fields.city }} {{ contact.fields.zodiac }}"),
        ],
        [["start", "next", "u"], ["u", "next", "n"]],
    )
    found = issues_of(document, known={"fields": {"email", "city"}}, level="warning")
    assert ("warning", "u", "fields.shoe_size", "no contact field named 'shoe_size' yet") in found
    assert ("warning", "n", "message", "no contact field named 'zodiac'") in found
    assert not any("'email'" in w[3] or "'city'" in w[3] for w in found)


def test_unknown_automation():
    """run_automation must point at an automation that exists."""
    document = graph([node("r", "run_automation", automation_id=7, wait=False)], [["start", "next", "r"]])
    assert ("error", "r", "automation_id", "no automation has the id 7") in errors(
        document, known={"automations": {1}}
    )
    assert errors(document, known={"automations": {7}}) == []


def test_a_loop_without_a_wait_is_an_error():
    """set_variable -> condition -> back again can spin forever."""
    cases = [{"id": "done", "left": "vars.n", "op": "equals", "value": "3"}]
    document = graph(
        [
            node("inc", "set_variable", name="n", value="1"),
            node("check", "condition", cases=cases),
            node("end", "end"),
        ],
        [
            ["start", "next", "inc"],
            ["inc", "next", "check"],
            ["check", "else", "inc"],
            ["check", "done", "end"],
        ],
    )
    found = errors(document)
    assert len(found) == 1 and found[0][1] == "inc"
    assert "this loop can spin without waiting (inc → check → inc)" in found[0][3]


def test_a_self_loop_is_an_error():
    """A node whose port leads back to itself spins."""
    document = graph(
        [
            node("ab", "random_split", branches=[{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]),
            node("e", "end"),
        ],
        [["start", "next", "ab"], ["ab", "a", "ab"], ["ab", "b", "e"]],
    )
    assert "can spin without waiting" in errors(document)[0][3]


@pytest.mark.parametrize(
    "waiter",
    [
        node("w", "wait_reply", variable="x"),
        node("w", "delay", seconds="1m"),
        node("w", "http_request", method="GET", url="https://example.com"),
        node("w", "run_automation", automation_id=2),
    ],
)
def test_a_loop_through_a_wait_is_fine(waiter):
    """A loop that passes a reply, a delay, an HTTP call or a sub-run waits each time round."""
    port = {"wait_reply": "reply", "delay": "next", "http_request": "success", "run_automation": "done"}[
        waiter["type"]
    ]
    document = graph(
        [node("n", "log", message="again"), waiter],
        [["start", "next", "n"], ["n", "next", "w"], ["w", port, "n"]],
    )
    assert errors(document) == []


def test_a_sub_run_without_wait_does_not_break_a_loop():
    """run_automation with wait false goes straight on, so it does not make a loop safe."""
    document = graph(
        [node("n", "log", message="again"), node("r", "run_automation", automation_id=2, wait=False)],
        [["start", "next", "n"], ["n", "next", "r"], ["r", "next", "n"]],
    )
    assert "can spin" in errors(document)[0][3]


def test_delay_needs_one_of_seconds_or_until():
    """A delay with both (or neither) settings is an error."""
    for config in ({"seconds": 5, "until": "09:00"}, {}):
        document = graph([node("d", "delay", **config)], [["start", "next", "d"]])
        assert (
            "error",
            "d",
            "seconds",
            "give either a duration (seconds) or a time of day (until), not both",
        ) in (errors(document))


def test_http_urls():
    """Only http(s); a literal private address is a warning (the server may allow it)."""
    document = graph(
        [node("h", "http_request", method="GET", url="ftp://example.com/x")], [["start", "next", "h"]]
    )
    assert ("error", "h", "url", "only http:// and https:// URLs can be called") in errors(document)
    document = graph(
        [node("h", "http_request", method="GET", url="http://127.0.0.1:8080/")], [["start", "next", "h"]]
    )
    warnings = issues_of(document, level="warning")
    assert any(w[2] == "url" and "127.0.0.1" in w[3] for w in warnings)


def test_condition_cases_need_their_values():
    """Operators that compare need a value, between an upper bound, regex a valid pattern."""
    cases = [
        {"id": "a", "left": "message.text", "op": "equals"},
        {"id": "b", "left": "contact.fields.age", "op": "between", "value": 1},
        {"id": "c", "left": "message.text", "op": "regex", "value": "(("},
        {"id": "else", "left": "message.text", "op": "empty"},
    ]
    document = graph([node("c", "condition", cases=cases)], [["start", "next", "c"]])
    fields = {e[2] for e in errors(document)}
    assert {"cases[0].value", "cases[1].value2", "cases[2].value", "cases[3].id"} <= fields


def test_random_split_needs_some_weight():
    """All-zero weights can never choose."""
    branches = [{"id": "a", "weight": 0}, {"id": "b", "weight": 0}]
    document = graph([node("ab", "random_split", branches=branches)], [["start", "next", "ab"]])
    assert ("error", "ab", "branches", "at least one branch needs a weight above 0") in errors(document)


def test_trigger_issues_are_included():
    """validate() checks the trigger given beside the graph."""
    document = graph([node("t", "send_template", name="x", language="en")], [["start", "next", "t"]])
    found = errors(document, trigger={"type": "schedule", "cron": "61 * * * *"})
    assert ("error", None, "trigger.cron", "minute: '61' is outside 0-59") in found


def test_unreadable_documents():
    """A document that is not a graph gets an error, not an exception."""
    assert validate({"spec_version": 7})[0].field == "spec_version"
    assert validate({"spec_version": 2, "nodes": {}, "edges": []})[0].level == "error"
    assert validate([])[0].level == "error"


def test_errors_come_before_warnings():
    """The editor lists what blocks publishing first."""
    document = graph([node("lost", "end"), node("t", "send_text", text="")], [["start", "next", "t"]])
    levels = [issue.level for issue in validate(document)]
    assert levels == sorted(levels, key=lambda level: level != "error")


def test_issues_are_json_able():
    """Issue.to_dict() is what the API returns."""
    assert Issue("error", "a", "text", "is required").to_dict() == {
        "level": "error",
        "node": "a",
        "field": "text",
        "message": "is required",
    }
