"""Text comparison shared by keyword triggers, choices and conditions: case- and accent-insensitive."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"\w+")
_LIST_SEPARATOR = re.compile(r"[\s,]+")


def normalize(text: object) -> str:
    """`text` casefolded, without accents, whitespace collapsed: " Menú  DEL día" -> "menu del dia"."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if text.isascii():
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def words(text: object) -> list[str]:
    """The words of the normalized text, punctuation dropped: "¡Hola, MENÚ!" -> ["hola", "menu"]."""
    return _WORD.findall(normalize(text))


def word_list(value: object) -> list[str]:
    """A space- or comma-separated list of words, normalized: "yes, Sí ok" -> ["yes", "si", "ok"]."""
    return [item for item in _LIST_SEPARATOR.split(normalize(value)) if item]


def contains_sequence(haystack: list[str], needle: list[str]) -> bool:
    """Whether the words `needle` appear consecutively in `haystack`."""
    if not needle:
        return False
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern:
    """A case-insensitive regex, compiled once per pattern. Raises re.error."""
    return re.compile(pattern, re.IGNORECASE)


def regex_error(pattern: object) -> str | None:
    """Why `pattern` is not a valid regular expression, or None."""
    if not isinstance(pattern, str) or not pattern:
        return "a regular expression is required"
    try:
        compile_regex(pattern)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    return None
