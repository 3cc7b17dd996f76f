"""Knowledge bases: texts the AI "Answer from knowledge" step answers from (issue 14, item 7).

A base holds sources (pasted text, an uploaded file, a web page fetched once); each source is cut
into chunks, and the chunks are what full-text search finds. The search index itself differs per
database and is created by the migration, not declared here: on PostgreSQL a GIN index over
`to_tsvector('simple', search_text)`, on SQLite the FTS5 table `knowledge_chunks_fts` kept in step
with `knowledge_chunks` by triggers (see flowapp/services/knowledge_search.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, UTCDateTime, utcnow

SOURCE_KINDS = ("text", "file", "url")
# pending: a job is still extracting it (large files); ready: chunked and searchable; failed: see error
SOURCE_STATUSES = ("pending", "ready", "failed")


class KnowledgeBase(Base):
    __tablename__ = "knowledge_bases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<KnowledgeBase {self.id} {self.name!r}>"


class KnowledgeSource(Base):
    __tablename__ = "knowledge_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kb_id: Mapped[int] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    # The uploaded file's name, or the URL fetched; empty for pasted text.
    origin: Mapped[str] = mapped_column(String(2000), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnowledgeChunk(Base):
    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_knowledge_chunks_source_id_position", "source_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("knowledge_sources.id", ondelete="CASCADE"))
    kb_id: Mapped[int] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # The source's title and the text as search sees them: lower case, accents removed, words
    # separated by single spaces, so PostgreSQL's 'simple' parser and SQLite's FTS5 tokenizer find
    # the same words.
    search_text: Mapped[str] = mapped_column(Text)
    token_estimate: Mapped[int] = mapped_column(Integer, default=0)
