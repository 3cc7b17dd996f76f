"""Each node's settings: the type's schema, required settings, its own checks (WhatsApp's limits,
uniqueness), templates that must compile, and references to templates, fields and automations."""

from __future__ import annotations

import re
from functools import cache

from jsonschema import Draft202012Validator

from flowapp.engine import fields as typed
from flowapp.engine.conform import compile_schema
from flowapp.engine.durations import PATTERN as DURATION_PATTERN
from flowapp.engine.durations import parse_duration
from flowapp.engine.issues import Issue
from flowapp.engine.jsonerrors import describe, field_path
from flowapp.engine.nodes.common import DURATION
from flowapp.engine.nodes.messages import supplied_counts
from flowapp.engine.registry import NODE_TYPES, NodeType
from flowapp.engine.templating import compile_check, expression_check
from flowapp.engine.validation.structure import View

_FIELD_REFERENCE = re.compile(r"contact\.fields\.([A-Za-z0-9_]+)")


@cache
def _config_validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(NODE_TYPES[kind].config_schema)


@cache
def _config_conforms(kind: str):
    return compile_schema(NODE_TYPES[kind].config_schema)


def _missing(value: object) -> bool:
    return value is None or (
        isinstance(value, str | list | dict) and not (value.strip() if isinstance(value, str) else value)
    )


def _schema_issues(node_id: str, node_type: NodeType, config: dict) -> list[Issue]:
    issues, reported = [], set()
    for key in node_type.required:
        if _missing(config.get(key)):
            issues.append(Issue("error", node_id, key, "is required"))
            reported.add(key)
    if _config_conforms(node_type.type)(config):
        return issues
    for problem in _config_validator(node_type.type).iter_errors(config):
        path, message = describe(problem)
        field = field_path(path)
        if field not in reported:
            issues.append(Issue("error", node_id, field, message))
    return issues


def _duration_issues(node_id: str, node_type: NodeType, config: dict) -> list[Issue]:
    """Every duration setting through parse_duration: one rule, whether it is 0 or "0s"."""
    issues = []
    for key, schema in node_type.config_schema.get("properties", {}).items():
        value = config.get(key)
        if schema is not DURATION or value is None or isinstance(value, bool):
            continue
        if isinstance(value, int) or (isinstance(value, str) and re.match(DURATION_PATTERN, value)):
            try:
                parse_duration(value)
            except ValueError as exc:
                issues.append(Issue("error", node_id, key, str(exc)))
    return issues


def _own_checks(node_id: str, node_type: NodeType, config: dict) -> list[Issue]:
    try:
        problems = list(node_type.check(config))
    except (TypeError, AttributeError, KeyError):
        # The checks read the shapes the schema promises; a config that breaks them has
        # already been reported by the schema.
        return []
    return [Issue(level, node_id, field, message) for level, field, message in problems]


def _text_issues(node_id: str, node_type: NodeType, config: dict) -> list[Issue]:
    issues = []
    for field, source in node_type.texts(config):
        problem = compile_check(source)
        if problem:
            issues.append(Issue("error", node_id, field, f"the template does not compile: {problem}"))
    for field, source in node_type.expressions(config):
        problem = expression_check(source)
        if problem:
            issues.append(Issue("error", node_id, field, f"the expression does not compile: {problem}"))
    return issues


def _template_issues(node_id: str, config: dict, templates: dict) -> list[Issue]:
    name, language = config.get("name"), config.get("language")
    if not name or not language:
        return []
    expected = templates.get((name, language))
    if expected is None:
        others = sorted(lang for (known, lang) in templates if known == name)
        hint = f" (it exists in {', '.join(others)})" if others else ""
        return [Issue("error", node_id, "name", f"no approved template {name!r} in {language!r}{hint}")]
    supplied = supplied_counts(config)
    issues = []
    for key in sorted(set(expected) | set(supplied)):
        want, got = expected.get(key, 0), supplied.get(key, 0)
        if want != got:
            field = (
                f"parameters.buttons.{key.split(':', 1)[1]}"
                if key.startswith("button:")
                else f"parameters.{key}"
            )
            message = f"the template expects {want} parameter{'s' if want != 1 else ''} here, not {got}"
            issues.append(Issue("error", node_id, field, message))
    return issues


def _field_issues(node_id: str, node_type: NodeType, config: dict, fields: set) -> list[Issue]:
    issues = []
    if node_type.type == "update_contact" and isinstance(config.get("fields"), dict):
        for name in config["fields"]:
            if name not in fields:
                issues.append(
                    Issue("warning", node_id, f"fields.{name}", f"no contact field named {name!r} yet")
                )
    for field, source in [*node_type.texts(config), *node_type.expressions(config)]:
        for name in _FIELD_REFERENCE.findall(source):
            if name not in fields:
                issues.append(Issue("warning", node_id, field, f"no contact field named {name!r}"))
    return issues


def _typed_field_issues(node_id: str, config: dict, types: dict) -> list[Issue]:
    """Literal values of declared fields that would never fit their type (templates are checked
    when they are rendered, by the node)."""
    issues = []
    values = config.get("fields") if isinstance(config.get("fields"), dict) else {}
    for name, value in values.items():
        if name not in types or not isinstance(value, str) or not typed.is_literal(value):
            continue
        if len(value) > typed.MAX_TEXT:
            continue  # the schema reports it already
        try:
            typed.coerce(types[name], value)
        except ValueError as exc:
            kind = types[name].get("type")
            issues.append(Issue("error", node_id, f"fields.{name}", f"the {kind} field {name!r}: {exc}"))
    return issues


def _reference_issues(node_id: str, node_type: NodeType, config: dict, known: dict) -> list[Issue]:
    issues = []
    if node_type.type == "update_contact" and "field_types" in known:
        issues += _typed_field_issues(node_id, config, known["field_types"])
    if node_type.type == "send_template" and "templates" in known:
        issues += _template_issues(node_id, config, known["templates"])
    if "fields" in known:
        issues += _field_issues(node_id, node_type, config, known["fields"])
    if node_type.type == "answer" and "knowledge_bases" in known:
        base = config.get("base")
        if base is not None and base not in known["knowledge_bases"]:
            issues.append(Issue("error", node_id, "base", f"no knowledge base has the id {base!r}"))
    if node_type.type == "run_automation" and "automations" in known:
        target = config.get("automation_id")
        if target is not None and target not in known["automations"]:
            issues.append(Issue("error", node_id, "automation_id", f"no automation has the id {target!r}"))
    return issues


def node_issues(view: View, known: dict) -> list[Issue]:
    """Every node's settings problems, in graph order."""
    issues = []
    for node_id, node in view.nodes.items():
        node_type = view.types.get(node_id)
        config = node.get("config")
        if node_type is None or not isinstance(config, dict):
            continue  # the schema reported the unknown type or the missing config
        issues += _schema_issues(node_id, node_type, config)
        issues += _duration_issues(node_id, node_type, config)
        issues += _own_checks(node_id, node_type, config)
        issues += _text_issues(node_id, node_type, config)
        issues += _reference_issues(node_id, node_type, config, known)
    return issues
