"""The fake model's deterministic answers: classify by keywords, extract by patterns, answer from
numbered sources, else echo.

Documented in docs/ai.md ("The built-in fake model"); tests/ai/test_fake_server.py holds the table.
"""

from __future__ import annotations

import json
import math
import re

WORD = re.compile(r"[^\W_]+", re.UNICODE)
CATEGORY_LINE = re.compile(r"^\s*[-*]\s*([^:\n]{1,80}?)\s*:\s*(.+?)\s*$", re.MULTILINE)
STOPWORDS = frozenset(
    "the and for with you your our are was were this that from have has not but any can about "
    "what when where which who how all out get got into please want".split()
)
STEM = 5  # words of at least this many letters match on their first STEM letters (refund ~ refunds)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
DMY_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
ORDER = re.compile(r"(?:#\s?(\d{3,})|\b([A-Z]{1,5}-?\d{3,})\b)")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])")
NAME = re.compile(r"\b(?:my name is|i am|i'm|this is)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)", re.IGNORECASE)


def count_tokens(text: str) -> int:
    """Whitespace-separated words * 4/3, rounded up: roughly what real tokenizers give for English."""
    return math.ceil(len(text.split()) * 4 / 3)


def answer(messages: list[dict], response_format: dict | None) -> str:
    """The fake model's reply to `messages` (already checked to be a list of role/content dicts)."""
    system = "\n".join(_text(m) for m in messages if m.get("role") in ("system", "developer"))
    user = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    # Categories first: a Classify step also sends a schema ({"category": enum, "confidence"}), and
    # the answer must follow the descriptions, not the first category name the customer typed.
    categories = parse_categories(system)
    if categories:
        category, confidence = classify(user, categories)
        return json.dumps({"category": category, "confidence": confidence})
    schema = _schema(response_format)
    if schema is not None:
        return json.dumps(extract(user, schema))
    sources = parse_sources(system)
    if sources:
        return answer_from(user, sources)
    if "summar" in system.lower():
        return "Summary: " + " ".join(user.split()[:20])
    return "Echo: " + user[:300]


SOURCE = re.compile(r"^\[(\d{1,3})\] [^\n]*\n(.+?)(?=\n\n\[\d{1,3}\] |\Z)", re.MULTILINE | re.DOTALL)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def parse_sources(system: str) -> list[tuple[int, str]]:
    """(number, text) of each source when the system messages hold a "Sources:" list of
    "[n] title" lines each followed by its passage (what an Answer from knowledge step sends)."""
    if "Sources:" not in system:
        return []
    return [(int(number), text.strip()) for number, text in SOURCE.findall(system.split("Sources:", 1)[1])]


def answer_from(user: str, sources: list[tuple[int, str]]) -> str:
    """The sentences of the sources sharing the most with the question (each shared word weighs its
    length, so "return" outweighs "two"; words match on their first 4 letters: ship ~ shipping), at
    most two on a tie, in the sources' order, with their sources' numbers; when no sentence shares a
    word, that the sources do not say."""
    words = keywords(user)
    scored = []
    for number, text in sources:
        for sentence in SENTENCE.findall(text):
            vocabulary = keywords(sentence)
            score = sum(len(w) for w in words if any(w[:4] == k[:4] for k in vocabulary))
            if score:
                scored.append((score, number, sentence.strip()))
    if not scored:
        return "I cannot answer that from the sources I have."
    best = max(score for score, _, _ in scored)
    chosen = [(number, sentence) for score, number, sentence in scored if score == best][:2]
    cited = sorted({number for number, _ in chosen})
    return " ".join(sentence for _, sentence in chosen) + " " + "".join(f"[{n}]" for n in cited)


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):  # the "parts" form: [{"type": "text", "text": ...}]
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _schema(response_format: dict | None) -> dict | None:
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else None


def parse_categories(system: str) -> list[tuple[str, str]]:
    """`- name: description` lines after a line that mentions categories, in order."""
    match = re.search(r"categor", system, re.IGNORECASE)
    if not match:
        return []
    return [(name, description) for name, description in CATEGORY_LINE.findall(system[match.start() :])]


def keywords(text: str) -> set[str]:
    """Lower-case words of 3+ letters that are not stop words."""
    return {w for w in (w.lower() for w in WORD.findall(text)) if len(w) >= 3 and w not in STOPWORDS}


def _matches(word: str, keyword: str) -> bool:
    if word == keyword:
        return True
    return len(word) >= STEM and len(keyword) >= STEM and word[:STEM] == keyword[:STEM]


def classify(user: str, categories: list[tuple[str, str]]) -> tuple[str, float]:
    """The category whose name and description share the most words with `user` (first on a tie),
    and a confidence of 0.5 + 0.5 * its share of all matches (at most 0.99); ("other", 0.0) when
    no word matches."""
    words = keywords(user)
    scores = []
    for name, description in categories:
        vocabulary = keywords(f"{name} {description}")
        scores.append(sum(1 for w in words if any(_matches(w, k) for k in vocabulary)))
    best = max(scores, default=0)
    if best == 0:
        return "other", 0.0
    return categories[scores.index(best)][0], round(min(0.99, 0.5 + 0.5 * best / sum(scores)), 2)


def extract(user: str, schema: dict) -> dict:
    """Every property of `schema` pulled from `user` by a pattern, or None (see docs/ai.md)."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    return {
        name: _field(name, spec if isinstance(spec, dict) else {}, user) for name, spec in properties.items()
    }


def _field(name: str, spec: dict, text: str):
    lowered = name.lower()
    kind = spec.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    choices = spec.get("enum")
    if isinstance(choices, list):
        return _choice(choices, text)
    if spec.get("format") == "email" or "email" in lowered:
        return _first(EMAIL, text)
    if spec.get("format") == "date" or "date" in lowered:
        return _date(text)
    if "phone" in lowered or spec.get("format") == "phone":
        return _phone(text)
    if "order" in lowered or "reference" in lowered:
        match = ORDER.search(text)
        return None if match is None else (match.group(1) or match.group(2))
    if kind in ("number", "integer"):
        return _number(text, integer=kind == "integer")
    if "name" in lowered:
        match = NAME.search(text)
        return None if match is None else match.group(1)
    return None


def _first(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return None if match is None else match.group(0)


def _phone(text: str) -> str | None:
    """The first run of 7+ digits (spaces, dots, dashes, brackets allowed) that is not a date."""
    for pattern in (ISO_DATE, DMY_DATE):
        text = pattern.sub(" ", text)
    for match in PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) >= 7:
            return ("+" if match.group(0).startswith("+") else "") + digits
    return None


def _choice(choices: list, text: str):
    lowered = text.lower()
    for choice in choices:
        if isinstance(choice, str) and re.search(rf"\b{re.escape(choice.lower())}\b", lowered):
            return choice
    return None


def _date(text: str) -> str | None:
    match = ISO_DATE.search(text)
    if match:
        return match.group(0)
    match = DMY_DATE.search(text)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return None


def _number(text: str, integer: bool):
    # Numbers inside emails, phones, dates and order numbers are not quantities.
    for pattern in (EMAIL, PHONE, ISO_DATE, DMY_DATE, ORDER):
        text = pattern.sub(" ", text)
    match = NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group(0).replace(",", "."))
    return int(value) if integer or value.is_integer() else value
