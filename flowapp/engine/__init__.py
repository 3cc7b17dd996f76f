"""The automation engine: the graph format, its validator and a pure interpreter.

Pure means no Flask, database, network or clock: the services pass `now`, store the RunState,
perform the Effects and call resume() when an Event comes. See docs/automations.md.
"""

from flowapp.engine import nodes  # noqa: F401 - registers every node type in NODE_TYPES
from flowapp.engine.durations import parse_duration
from flowapp.engine.interpreter import resume, start
from flowapp.engine.issues import Issue
from flowapp.engine.migrations import SPEC_VERSION, UpgradeError, upgrade
from flowapp.engine.registry import NODE_TYPES, NodeType, palette
from flowapp.engine.state import Effect, Event, LogEntry, Result, RunState, StepBudgetExceeded
from flowapp.engine.templating import TemplateFailure
from flowapp.engine.text import normalize
from flowapp.engine.triggers import (
    TRIGGER_TYPES,
    keyword_matches,
    match_order,
    match_priority,
    validate_trigger,
)
from flowapp.engine.urls import check_url
from flowapp.engine.validation import validate
from flowapp.engine.validation.structure import schema_issues

__all__ = [
    "NODE_TYPES",
    "SPEC_VERSION",
    "TRIGGER_TYPES",
    "Effect",
    "Event",
    "Issue",
    "LogEntry",
    "NodeType",
    "Result",
    "RunState",
    "StepBudgetExceeded",
    "TemplateFailure",
    "UpgradeError",
    "check_url",
    "keyword_matches",
    "match_order",
    "match_priority",
    "normalize",
    "palette",
    "parse_duration",
    "resume",
    "schema_issues",
    "start",
    "upgrade",
    "validate",
    "validate_trigger",
]
