"""Searching a knowledge base: the passages that answer a customer's question, best first.

Both databases find the same chunks: the question is reduced to its words as the index stores them
(folded: lower case, no accents; see knowledge_text.words), common words of English, Portuguese and
Spanish are left out, and a chunk matches when it holds any remaining word (a word of 4+ letters also
matches words it begins, and a final "s" is dropped, a little stemming that suits all three
languages). The database ranks the matches (PostgreSQL `ts_rank_cd`, SQLite FTS5 `bm25`); the score
shown and compared with the threshold is computed here, the same way on both: the share of the
question's words the passage holds, from 0 to 1. Below `MIN_SCORE` a passage is not relevant, and
an empty answer means the base does not know.

Customer text never reaches the query syntax: only words of letters and digits do, each quoted, so
quotes, colons, NEAR, `*`, parentheses or SQL in a question are just characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from flowapp.extensions import db
from flowapp.models import KnowledgeChunk, KnowledgeSource
from flowapp.services.knowledge_text import words

MIN_SCORE = 0.5
MAX_TERMS = 16
CANDIDATES = 50  # matches ranked by the database, re-scored here

STOP_WORDS = frozenset(
    # English
    "a about an and any are as at be by can could do does for from has have how i if in is it its me "
    "many much my of on or our should some "
    "please the their there this to was we what when where which who why will with you your "
    # Portuguese
    "ao aos as com como da das de do dos e ela ele em eu isso na nas no nos o os ou para pelo pela "
    "por qual quando que se sem seu sua um uma voce voces tem ter esta estao sao "
    # Spanish
    "al con cual cuando del el en es esta estan hay la las lo los mi mis por que se sin su sus "
    "tiene tienen un una usted ustedes y yo".split()
)


@dataclass(frozen=True)
class Passage:
    """One chunk found: its text, where it comes from, and how well it matches (0 to 1)."""

    text: str
    source_title: str
    score: float
    source_id: int
    chunk_id: int


def query_terms(query: str) -> list[str]:
    """The words of `query` that search looks for (folded, no common words, no repeats)."""
    terms: list[str] = []
    for word in words(query or ""):
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()) or word in terms:
            continue
        terms.append(word)
    return terms[:MAX_TERMS]


def search(kb_id: int, query: str, limit: int = 5, min_score: float = MIN_SCORE) -> list[Passage]:
    """The passages of knowledge base `kb_id` that match `query`, best first, at most `limit`, each
    scoring at least `min_score`. An empty list: nothing relevant (the node's `unknown` port)."""
    terms = query_terms(query)
    if not terms:
        return []
    ranked = _ranked_ids(kb_id, terms)
    if not ranked:
        return []
    rows = db.session.execute(
        select(KnowledgeChunk, KnowledgeSource.title)
        .join(KnowledgeSource, KnowledgeSource.id == KnowledgeChunk.source_id)
        .where(KnowledgeChunk.id.in_(ranked), KnowledgeSource.status == "ready")
    ).all()
    order = {chunk_id: i for i, chunk_id in enumerate(ranked)}
    passages = [
        Passage(chunk.text, title, _score(terms, chunk.search_text), chunk.source_id, chunk.id)
        for chunk, title in rows
    ]
    passages.sort(key=lambda p: (-p.score, order[p.chunk_id]))
    return [p for p in passages if p.score >= min_score][:limit]


def _pattern(term: str) -> tuple[str, bool]:
    """The term searched for, and whether it is a prefix."""
    if len(term) >= 4 and not term.isdigit():
        return (term[:-1] if term.endswith("s") and len(term) >= 5 else term), True
    return term, False


def _score(terms: list[str], search_text: str) -> float:
    """The share of `terms` found in a chunk's words, matched as the database matches them."""
    chunk_words = set(search_text.split())
    found = 0
    for term in terms:
        pattern, prefix = _pattern(term)
        found += any(w.startswith(pattern) for w in chunk_words) if prefix else pattern in chunk_words
    return round(found / len(terms), 3)


def _ranked_ids(kb_id: int, terms: list[str]) -> list[int]:
    """The ids of the chunks holding any term, best ranked first, by the database's own ranking."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgresql(kb_id, terms)
    return _sqlite(kb_id, terms)


def _sqlite(kb_id: int, terms: list[str]) -> list[int]:
    # Each term quoted for FTS5 ("" escapes a quote, though words hold none), * after it for a prefix.
    parts = []
    for term in terms:
        pattern, prefix = _pattern(term)
        parts.append('"' + pattern.replace('"', '""') + '"' + (" *" if prefix else ""))
    statement = text(
        "SELECT c.id FROM knowledge_chunks_fts f JOIN knowledge_chunks c ON c.id = f.rowid "
        "WHERE knowledge_chunks_fts MATCH :match AND c.kb_id = :kb_id "
        "ORDER BY bm25(knowledge_chunks_fts), c.id LIMIT :limit"
    )
    params = {"match": " OR ".join(parts), "kb_id": kb_id, "limit": CANDIDATES}
    return list(db.session.scalars(statement, params))


def _postgresql(kb_id: int, terms: list[str]) -> list[int]:
    # The expression matches the GIN index's (migration k1n0w1e2d008), so the index is used. Each
    # term is a quoted tsquery lexeme ('' escapes a quote, though words hold none), :* for a prefix.
    parts = []
    for term in terms:
        pattern, prefix = _pattern(term)
        parts.append("'" + pattern.replace("'", "''") + "'" + (":*" if prefix else ""))
    statement = text(
        "SELECT c.id FROM knowledge_chunks c, to_tsquery('simple'::regconfig, :query) q "
        "WHERE to_tsvector('simple'::regconfig, c.search_text) @@ q AND c.kb_id = :kb_id "
        "ORDER BY ts_rank_cd(to_tsvector('simple'::regconfig, c.search_text), q) DESC, c.id LIMIT :limit"
    )
    params = {"query": " | ".join(parts), "kb_id": kb_id, "limit": CANDIDATES}
    return list(db.session.scalars(statement, params))
