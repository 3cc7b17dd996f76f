"""Validation beyond the schema: structure, settings, WhatsApp's limits, references, loops and the
24-hour window. Every problem names its node and setting, as an error or a warning."""

from __future__ import annotations

from flowapp.engine.issues import Issue, error
from flowapp.engine.migrations import SPEC_VERSION, UpgradeError, upgrade
from flowapp.engine.triggers import validate_trigger
from flowapp.engine.validation import content, paths, structure


def validate(graph: dict, trigger: dict | None = None, known: dict | None = None) -> list[Issue]:
    """Every problem in `graph` (upgraded first) and, when given, its `trigger`.

    `known` = {"templates": {(name, language): parameter counts}, "fields": set of contact field
    names, "automations": set of automation ids, "knowledge_bases": set of knowledge base ids,
    "field_types": {key: {"type", "choices"}} of the declared custom fields}; a missing key skips
    that kind of reference check.
    Errors come first, each kind in graph order.
    """
    try:
        # Validation only reads: a current document needs no upgraded copy.
        current = isinstance(graph, dict) and graph.get("spec_version") == SPEC_VERSION
        document = graph if current else upgrade(graph)
    except UpgradeError as exc:
        return [error(None, "spec_version", str(exc))]
    issues = structure.schema_issues(document)
    if not structure.readable(document):
        return issues
    view, found = structure.build_view(document)
    issues += found
    issues += content.node_issues(view, known or {})
    issues += structure.reach_issues(view)
    issues += paths.loop_issues(view)
    issues += paths.window_issues(view, trigger)
    if trigger is not None:
        issues += validate_trigger(trigger, known)
    return sorted(issues, key=lambda issue: issue.level != "error")
