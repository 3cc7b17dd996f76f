"""Knowledge text: files and web pages to plain text, text to chunks, and the words search sees.

No database and no network here: bytes in, strings out, deterministic, so the same file always
gives the same chunks.
"""

from __future__ import annotations

import io
import re
import unicodedata
from html.parser import HTMLParser

CHUNK_CHARS = 800
OVERLAP_CHARS = 120  # the end of one chunk starts the next, so an answer cut by a boundary is still found
FILE_TYPES = {".txt": "text", ".md": "text", ".pdf": "pdf", ".docx": "docx"}

_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…。])\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


class ExtractError(ValueError):
    """A file or page that cannot be read as text; the message is for people."""


def extract(filename: str, raw: bytes) -> str:
    """The text of an uploaded .txt, .md, .pdf or .docx file, or ExtractError saying why not."""
    kind = FILE_TYPES.get(suffix(filename))
    if kind is None:
        raise ExtractError("Upload a .txt, .md, .pdf or .docx file.")
    try:
        return {"text": _utf8, "pdf": _pdf, "docx": _docx}[kind](raw)
    except ExtractError:
        raise
    except Exception as exc:  # the libraries raise many types for a damaged file
        raise ExtractError(f"The file could not be read as {kind.upper()}: {type(exc).__name__}.") from exc


def suffix(filename: str) -> str:
    """The file name's extension in lower case, with its dot ("" if none)."""
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractError("The file is not UTF-8 text; save it as UTF-8.") from exc


def _pdf(raw: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(raw))
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)


def _docx(raw: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(raw))
    return "\n\n".join(paragraph.text for paragraph in document.paragraphs)


class _TextOfHTML(HTMLParser):
    """Collects the visible text of a page: no scripts, styles or templates; blocks become paragraphs."""

    SKIP = frozenset({"script", "style", "template", "noscript", "svg"})
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                        "article", "blockquote", "pre", "table", "ul", "ol", "dt", "dd"})  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.skipping = 0
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        self.in_title = tag == "title"
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        self.in_title = False
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """A page's title and visible text (one paragraph per block element; no scripts or styles)."""
    parser = _TextOfHTML()
    parser.feed(html)
    parser.close()
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split("".join(parser.parts)))
    return " ".join("".join(parser.title).split()), "\n\n".join(p for p in paragraphs if p)


def chunk(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Cut `text` into chunks of at most `size` characters, between sentences (a sentence longer
    than that between words); paragraphs stay separated by a blank line. Each chunk after the first
    starts with the last sentences (up to `overlap` characters) of the one before, when they fit."""
    chunks: list[str] = []
    current: list[tuple[str, bool]] = []  # (sentence, starts a paragraph)
    for unit in _sentences(text, size):
        if current and _length([*current, unit]) > size:
            chunks.append(_join(current))
            current = _tail(current, overlap)
            if current and _length([*current, unit]) > size:
                current = []  # no room for the overlap before this sentence
        current.append(unit)
    if current:
        chunks.append(_join(current))
    return chunks


def _sentences(text: str, size: int) -> list[tuple[str, bool]]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    units = []
    for paragraph in _PARAGRAPH.split(text):
        parts = [p for s in _SENTENCE_END.split(" ".join(paragraph.split())) for p in _split_long(s, size)]
        units.extend((part, i == 0) for i, part in enumerate(parts))
    return units


def _join(units: list[tuple[str, bool]]) -> str:
    out = ""
    for i, (sentence, starts) in enumerate(units):
        out += ("\n\n" if starts else " ") + sentence if i else sentence
    return out


def _length(units: list[tuple[str, bool]]) -> int:
    return len(_join(units))


def _tail(units: list[tuple[str, bool]], overlap: int) -> list[tuple[str, bool]]:
    """The last whole sentences of a chunk that fit in `overlap` characters (none if none do)."""
    tail: list[tuple[str, bool]] = []
    for unit in reversed(units[1:]):
        if _length([unit, *tail]) > overlap:
            break
        tail.insert(0, unit)
    return [(tail[0][0], True), *tail[1:]] if tail else []


def _split_long(sentence: str, size: int) -> list[str]:
    """A sentence longer than `size` cut between words (and a word longer than `size` cut in it)."""
    words_in = [w[i : i + size] for w in sentence.split(" ") for i in range(0, max(len(w), 1), size)]
    parts, current = [], ""
    for word in words_in:
        if current and len(current) + 1 + len(word) > size:
            parts.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    return [p for p in [*parts, current] if p]


def fold(text: str) -> str:
    """Lower case without accents ('Não' -> 'nao'): what search compares, on both databases."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of `text` as search sees them: folded, letters and digits only."""
    return _WORD.findall(fold(text))


def search_text(text: str) -> str:
    """What a chunk is indexed by: its words, separated by single spaces."""
    return " ".join(words(text))


def token_estimate(text: str) -> int:
    """About how many model tokens `text` costs (4 characters a token, the usual rule of thumb)."""
    return max(1, (len(text) + 3) // 4)
