"""The names a node's settings can use: variables saved by the nodes before it (AI nodes included)."""

from flowapp.web.automations_views import variables_in_scope


def node(node_id, kind, config):
    return {"id": node_id, "type": kind, "config": config}


def test_ai_nodes_variables_are_in_scope_after_them():
    """Classify saves its save_as; Extract saves one variable per field and the missing list."""
    graph = {
        "nodes": [
            node("triage", "classify", {"categories": [{"name": "a"}], "save_as": "intent"}),
            node(
                "details",
                "extract",
                {"fields": [{"name": "email", "type": "email"}, {"name": "qty", "type": "number"}]},
            ),
            node("after", "send_text", {"text": "hi"}),
        ],
        "edges": [
            {"from": "triage", "port": "a", "to": "details"},
            {"from": "details", "port": "complete", "to": "after"},
        ],
    }
    names = [item["name"] for item in variables_in_scope(graph, "after")]
    assert names == ["email", "intent", "missing", "qty"]
    assert [item["name"] for item in variables_in_scope(graph, "details")] == ["intent"]
