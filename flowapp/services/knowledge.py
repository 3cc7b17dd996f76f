"""Knowledge bases: create, rename and delete them; add sources (pasted text, an uploaded file, a web
page fetched once), cut into chunks for search; delete sources with their chunks and index rows.

Small files are read within the request; larger ones are kept in Redis for an hour and read by a
job (`index_knowledge_source`), the source showing "pending" until then. Services flush; the
caller commits, then enqueues the returned Work.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from flowapp.extensions import db, get_redis
from flowapp.models import KnowledgeBase, KnowledgeChunk, KnowledgeSource
from flowapp.services import knowledge_fetch, knowledge_text
from flowapp.services.knowledge_text import ExtractError
from flowapp.work import Work

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TEXT_CHARS = 1_000_000  # per source, after extraction
MAX_SOURCES = 200  # per knowledge base
INLINE_FILE_BYTES = 256 * 1024  # larger files are read by a job
UPLOAD_KEY = "flowapp:knowledge-upload:{}"
UPLOAD_TTL = 3600


class KnowledgeError(ValueError):
    """Refused input: `field` names the form field, `reason` is for people. Nothing was saved."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def bases() -> list[tuple[KnowledgeBase, int, int]]:
    """Every knowledge base by name, with its numbers of sources and chunks."""
    sources = select(func.count()).where(KnowledgeSource.kb_id == KnowledgeBase.id).scalar_subquery()
    chunks = select(func.count()).where(KnowledgeChunk.kb_id == KnowledgeBase.id).scalar_subquery()
    rows = db.session.execute(select(KnowledgeBase, sources, chunks).order_by(KnowledgeBase.name))
    return [tuple(row) for row in rows]


def sources_of(kb: KnowledgeBase) -> list[KnowledgeSource]:
    """The base's sources, newest first."""
    query = select(KnowledgeSource).where(KnowledgeSource.kb_id == kb.id)
    return list(db.session.scalars(query.order_by(KnowledgeSource.id.desc())))


def create_base(name: str, description: str = "", user_id: int | None = None) -> KnowledgeBase:
    """A new, empty knowledge base; KnowledgeError if the name is empty, too long or taken."""
    kb = KnowledgeBase(name=_name(name), description=_description(description), created_by_id=user_id)
    db.session.add(kb)
    db.session.flush()
    return kb


def update_base(kb: KnowledgeBase, name: str, description: str = "") -> None:
    """Rename the base or change its description."""
    kb.name = _name(name, kb.id)
    kb.description = _description(description)
    db.session.flush()


def delete_base(kb: KnowledgeBase) -> None:
    """Delete the base, its sources, chunks and index rows."""
    for source in sources_of(kb):
        delete_source(source)
    db.session.delete(kb)
    db.session.flush()


def delete_source(source: KnowledgeSource) -> None:
    """Delete a source with its chunks. The chunks are deleted by statement, not left to the
    foreign key's cascade, so that SQLite's index triggers run whatever the connection's pragmas."""
    db.session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.source_id == source.id))
    pending = source.status == "pending"
    db.session.delete(source)
    db.session.flush()
    if pending:  # the upload a job would have read; the job then finds no source and stops
        get_redis().delete(UPLOAD_KEY.format(source.id))


def add_text(kb: KnowledgeBase, title: str, text: str, user_id: int | None = None) -> KnowledgeSource:
    """A pasted text, chunked now."""
    title = _title(title)
    if not (text or "").strip():
        raise KnowledgeError("text", "Paste the text to add.")
    source = _new_source(kb, "text", title, "", len(text.encode()), user_id)
    _store(source, text, "text")
    return source


def add_file(
    kb: KnowledgeBase, filename: str, raw: bytes, user_id: int | None = None
) -> tuple[KnowledgeSource, Work | None]:
    """An uploaded .txt, .md, .pdf or .docx file: read now when small (KnowledgeError if it cannot
    be), otherwise kept for a job, which the returned Work names (enqueue it after committing)."""
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    _check_file(filename, raw)
    source = _new_source(kb, "file", filename, filename, len(raw), user_id)
    if len(raw) > INLINE_FILE_BYTES:
        get_redis().set(UPLOAD_KEY.format(source.id), raw, ex=UPLOAD_TTL)
        return source, Work("index_knowledge_source", (source.id,), job_id=f"knowledge-source-{source.id}")
    try:
        text = knowledge_text.extract(filename, raw)
    except ExtractError as exc:
        raise KnowledgeError("file", str(exc)) from exc
    _store(source, text, "file")
    return source, None


def add_url(
    kb: KnowledgeBase, url: str, *, allow_private: bool = False, user_id: int | None = None
) -> KnowledgeSource:
    """A web page, fetched once now (never again: add it again to refresh it). Makes a network
    call, so nothing may be pending in the session (flowapp/transactions.py)."""
    url = (url or "").strip()
    if not url or len(url) > 2000:
        raise KnowledgeError("url", "Enter the page's address (at most 2,000 characters).")
    _check_room(kb)
    try:
        title, text = knowledge_fetch.fetch_page(url, allow_private=allow_private)
    except ExtractError as exc:
        raise KnowledgeError("url", str(exc)) from exc
    source = _new_source(kb, "url", (title or url)[:200], url, len(text.encode()), user_id)
    _store(source, text, "url")
    return source


def index_source(source_id: int) -> KnowledgeSource | None:
    """The job's body: read a large upload kept in Redis, and chunk it (or mark the source failed
    with the reason). Returns the source, or None when it was deleted meanwhile."""
    source = db.session.get(KnowledgeSource, source_id)
    if source is None or source.status != "pending":
        return source
    raw = get_redis().get(UPLOAD_KEY.format(source.id))
    try:
        if raw is None:
            raise KnowledgeError("file", "The upload expired before it was read; upload it again.")
        try:
            text = knowledge_text.extract(source.origin, raw)
        except ExtractError as exc:
            raise KnowledgeError("file", str(exc)) from exc
        _store(source, text, "file")
    except KnowledgeError as exc:
        source.status, source.error = "failed", exc.reason
        db.session.flush()
    get_redis().delete(UPLOAD_KEY.format(source.id))
    return source


def _store(source: KnowledgeSource, text: str, field: str) -> None:
    """Chunk `text` into the source, which becomes ready; KnowledgeError if there is nothing to index."""
    text = text.replace("\x00", "")
    if len(text) > MAX_TEXT_CHARS:
        raise KnowledgeError(field, f"The text is longer than {MAX_TEXT_CHARS:,} characters; split it.")
    pieces = knowledge_text.chunk(text)
    # The source's title is searched with every passage: a passage of "Shipping policy" that never
    # says "shipping" still answers a question about it.
    title_words = knowledge_text.search_text(source.title)
    if not pieces:
        raise KnowledgeError(field, "No text was found in it (a scanned PDF holds images, not text).")
    for position, piece in enumerate(pieces):
        db.session.add(
            KnowledgeChunk(
                source_id=source.id, kb_id=source.kb_id, position=position, text=piece,
                search_text=f"{title_words} {knowledge_text.search_text(piece)}".strip(),
                token_estimate=knowledge_text.token_estimate(piece),
            )
        )  # fmt: skip
    source.status, source.error, source.chunk_count = "ready", None, len(pieces)
    db.session.flush()


def _new_source(kb, kind, title, origin, size, user_id) -> KnowledgeSource:
    _check_room(kb)
    source = KnowledgeSource(
        kb_id=kb.id, kind=kind, title=title, origin=origin, size_bytes=size, status="pending",
        chunk_count=0, created_by_id=user_id,
    )  # fmt: skip
    db.session.add(source)
    db.session.flush()
    return source


def _check_room(kb: KnowledgeBase) -> None:
    count = db.session.scalar(select(func.count()).where(KnowledgeSource.kb_id == kb.id))
    if count >= MAX_SOURCES:
        raise KnowledgeError("source", f"A knowledge base holds at most {MAX_SOURCES} sources.")


def _check_file(filename: str, raw: bytes) -> None:
    if not raw:
        raise KnowledgeError("file", "Choose a file to upload.")
    if len(raw) > MAX_FILE_BYTES:
        raise KnowledgeError("file", f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    if knowledge_text.FILE_TYPES.get(knowledge_text.suffix(filename)) is None:
        raise KnowledgeError("file", "Upload a .txt, .md, .pdf or .docx file.")


def _name(name: str, own_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise KnowledgeError("name", "Give the knowledge base a name of 1 to 100 characters.")
    taken = db.session.scalar(select(KnowledgeBase.id).where(KnowledgeBase.name == name))
    if taken is not None and taken != own_id:
        raise KnowledgeError("name", "Another knowledge base has that name.")
    return name


def _description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > 1000:
        raise KnowledgeError("description", "Keep the description under 1,000 characters.")
    return description


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise KnowledgeError("title", "Give the text a title of 1 to 200 characters.")
    return title
