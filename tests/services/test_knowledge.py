"""Knowledge bases: each kind of source ingested for real (text, .txt/.md, PDF, DOCX, a page from a
local server), refusals that save nothing, deletion taking the index rows with it, and search on the
session's database (SQLite FTS5 or PostgreSQL tsvector) with its threshold and hostile questions."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, text

from flowapp.extensions import db
from flowapp.jobs.knowledge import index_knowledge_source
from flowapp.models import KnowledgeChunk, KnowledgeSource
from flowapp.services import knowledge
from flowapp.services.knowledge import KnowledgeError
from flowapp.services.knowledge_search import query_terms, search
from tests.knowledge_files import docx_bytes, pdf_bytes

FAQ = {
    "Shipping": "We ship to Portugal and Spain. Shipping costs 5 euros and takes two working days.",
    "Returns": "Returns are free within 30 days. Send the parcel back with the printed label.",
    "Opening hours": "The shop opens Monday to Saturday from 9:00 to 18:00. It is closed on Sundays.",
    "Garantia": "Todos os produtos têm garantia de dois anos. A garantia não cobre danos por água.",
}

PAGE = (
    "<html><head><title>Help  centre</title><style>.x{color:red}</style></head><body>"
    "<h1>Payments</h1><p>We accept Multibanco, MB Way and Visa cards.</p>"
    "<script>var secret = 'tracking pixel';</script><p>Invoices are sent by e-mail.</p></body></html>"
)


class _Pages(BaseHTTPRequestHandler):
    routes = {
        "/help": (200, "text/html; charset=utf-8", PAGE.encode()),
        "/notes.txt": (200, "text/plain", b"Gift wrapping costs 2 euros."),
        "/logo.png": (200, "image/png", b"\x89PNG\r\n"),
        "/missing": (404, "text/html", b"not here"),
    }

    def do_GET(self):
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b""))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def pages():
    """A real HTTP server on 127.0.0.1 serving a few pages; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def kb(session, redis):
    kb = knowledge.create_base("Support", "What customers ask")
    db.session.commit()
    return kb


@pytest.fixture
def faq(kb):
    for title, body in FAQ.items():
        knowledge.add_text(kb, title, body)
    db.session.commit()
    return kb


def chunk_count(kb_id=None) -> int:
    query = select(func.count()).select_from(KnowledgeChunk)
    return db.session.scalar(query.where(KnowledgeChunk.kb_id == kb_id) if kb_id else query)


def index_rows() -> int:
    """Rows in the dialect's full-text structure: FTS5 entries on SQLite, indexed vectors on PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.scalar(text("SELECT count(*) FROM knowledge_chunks WHERE search_text <> ''"))
    return db.session.scalar(text("SELECT count(*) FROM knowledge_chunks_fts"))


# --- bases -------------------------------------------------------------------------------------------


def test_names_are_required_and_unique(kb):
    """An empty or taken name is refused, naming the field; renaming to one's own name is fine."""
    for bad in ("", "   ", "x" * 101, "Support"):
        with pytest.raises(KnowledgeError) as caught:
            knowledge.create_base(bad)
        assert caught.value.field == "name"
    knowledge.update_base(kb, "Support", "new description")
    assert kb.description == "new description"


def test_listing_counts_sources_and_chunks(faq):
    """The list shows each base with its numbers of sources and chunks."""
    knowledge.create_base("Empty")
    rows = {base.name: (sources, chunks) for base, sources, chunks in knowledge.bases()}
    assert rows == {"Empty": (0, 0), "Support": (4, 4)}


# --- sources -----------------------------------------------------------------------------------------


def test_pasted_text_is_chunked_and_indexed(kb):
    """A pasted text becomes ready, cut into chunks of at most 800 characters, each in the index."""
    sentence = "Customers ask about delivery times often. "
    body = "\n\n".join(f"Paragraph {i}. " + sentence * 6 for i in range(12))
    source = knowledge.add_text(kb, "Long text", body)
    db.session.commit()
    chunks = db.session.scalars(select(KnowledgeChunk).order_by(KnowledgeChunk.position)).all()
    assert source.status == "ready" and source.chunk_count == len(chunks) > 3
    assert all(len(c.text) <= 800 for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert index_rows() == len(chunks)


@pytest.mark.parametrize(
    ("filename", "raw", "expected"),
    [
        ("notes.txt", b"Entrega em 24 horas em Lisboa.", "24 horas"),
        ("README.md", "\ufeff# Envíos\n\nEnviamos a toda España.".encode(), "toda España"),
        ("terms.pdf", pdf_bytes(["Warranty: two years.", "Water damage is not covered."]), "two years"),
        ("manual.docx", docx_bytes(["Garantia de dois anos.", "Devoluções grátis."]), "Devoluções"),
    ],
)
def test_each_file_type_is_read(kb, filename, raw, expected):
    """.txt, .md (UTF-8, BOM or not), .pdf and .docx files are read into chunks."""
    source, job = knowledge.add_file(kb, filename, raw)
    db.session.commit()
    assert job is None and source.status == "ready" and source.size_bytes == len(raw)
    assert source.title == filename and expected in db.session.scalar(select(KnowledgeChunk.text))


@pytest.mark.parametrize(
    ("filename", "raw", "reason"),
    [
        ("photo.png", b"\x89PNG\r\n", "Upload a .txt, .md, .pdf or .docx file."),
        ("latin.txt", "Promoção".encode("latin-1"), "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4 not really", "could not be read as PDF"),
        ("broken.docx", b"PK\x03\x04 no zip", "could not be read as DOCX"),
        ("empty.txt", b"", "Choose a file"),
        ("blank.md", b"   \n\n  ", "No text was found"),
        ("huge.txt", b"a" * (knowledge.MAX_FILE_BYTES + 1), "larger than 5 MB"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_saved(kb, filename, raw, reason):
    """Another type, another encoding, a damaged file, an empty one or a huge one: a clear reason."""
    with pytest.raises(KnowledgeError) as caught:
        knowledge.add_file(kb, filename, raw)
    db.session.rollback()
    assert caught.value.field == "file" and reason in caught.value.reason
    assert db.session.scalar(select(func.count()).select_from(KnowledgeSource)) == 0


def test_text_over_the_limit_is_refused(kb):
    """More than 1,000,000 characters in one source is refused; split it."""
    with pytest.raises(KnowledgeError, match="longer than 1,000,000"):
        knowledge.add_text(kb, "Too long", "word " * 200_001)


def test_a_base_holds_a_limited_number_of_sources(kb, monkeypatch):
    """Past the limit of sources per base, adding one is refused."""
    monkeypatch.setattr(knowledge, "MAX_SOURCES", 2)
    knowledge.add_text(kb, "One", "one")
    knowledge.add_text(kb, "Two", "two")
    with pytest.raises(KnowledgeError, match="at most 2 sources"):
        knowledge.add_text(kb, "Three", "three")


def test_large_files_are_read_by_the_job(kb, monkeypatch):
    """A file over the inline size waits as pending for the job, which chunks it and commits."""
    monkeypatch.setattr(knowledge, "INLINE_FILE_BYTES", 100)
    raw = pdf_bytes(["Our warehouse is in Porto.", "Orders leave it every weekday."])
    source, job = knowledge.add_file(kb, "warehouse.pdf", raw)
    db.session.commit()
    assert source.status == "pending" and job.job == "index_knowledge_source" and job.args == (source.id,)
    assert search(kb.id, "warehouse") == []
    assert index_knowledge_source(source.id) == "ready"
    assert [p.source_title for p in search(kb.id, "Where is the warehouse?")] == ["warehouse.pdf"]
    assert index_knowledge_source(source.id) == "ready"  # run twice: nothing more is added
    assert chunk_count() == 1


def test_a_large_file_that_cannot_be_read_fails_with_the_reason(kb, monkeypatch, redis):
    """The job marks an unreadable file failed with why; an expired upload too."""
    monkeypatch.setattr(knowledge, "INLINE_FILE_BYTES", 10)
    bad, _ = knowledge.add_file(kb, "scan.pdf", b"%PDF-1.4 garbage garbage garbage")
    gone, _ = knowledge.add_file(kb, "gone.txt", b"text that expires before the job")
    db.session.commit()
    redis.delete(knowledge.UPLOAD_KEY.format(gone.id))
    assert index_knowledge_source(bad.id) == "failed" and "could not be read as PDF" in bad.error
    assert index_knowledge_source(gone.id) == "failed" and "expired" in gone.error
    assert index_knowledge_source(999_999) == "missing"


def test_a_page_is_fetched_once_as_text(kb, pages, app):
    """A page from a (private, allowed) server: its title, its text without scripts and styles."""
    source = knowledge.add_url(kb, f"{pages}/help", allow_private=True)
    db.session.commit()
    stored = db.session.scalar(select(KnowledgeChunk.text))
    assert source.kind == "url" and source.title == "Help centre" and source.origin == f"{pages}/help"
    assert "MB Way" in stored and "Invoices" in stored and "tracking" not in stored and "color" not in stored
    plain = knowledge.add_url(kb, f"{pages}/notes.txt", allow_private=True)
    assert plain.title == f"{pages}/notes.txt"


def test_the_address_guard_refuses_private_targets(kb, pages):
    """Without HTTP_ALLOW_PRIVATE, 127.0.0.1, localhost and the metadata address are refused."""
    for url in (f"{pages}/help", "http://localhost/", "http://169.254.169.254/", "ftp://example.com/x"):
        with pytest.raises(KnowledgeError) as caught:
            knowledge.add_url(kb, url)
        assert caught.value.field == "url" and "cannot be fetched" in caught.value.reason
    db.session.rollback()
    assert chunk_count() == 0


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/moved", "redirects (to http://169.254.169.254/latest/meta-data/)"),
        ("/missing", "HTTP 404"),
        ("/logo.png", "image/png"),
    ],
)
def test_redirects_errors_and_other_types_are_refused(kb, pages, path, reason):
    """A redirect is not followed (it could lead inside); errors and non-text pages are refused."""
    with pytest.raises(KnowledgeError) as caught:
        knowledge.add_url(kb, pages + path, allow_private=True)
    assert reason in caught.value.reason


# --- search ------------------------------------------------------------------------------------------


def test_search_finds_the_passage_that_answers(faq):
    """The passage holding the question's words comes first, with its source's title and score."""
    best = search(faq.id, "How much does shipping cost?")[0]
    assert best.source_title == "Shipping" and best.score == 1.0 and "5 euros" in best.text
    assert search(faq.id, "Are you open on Sundays?")[0].source_title == "Opening hours"
    assert search(faq.id, "returns")[0].source_title == "Returns"


def test_accents_and_case_do_not_matter(faq):
    """'garantia nao' finds 'garantia não'; 'GARANTÍA' finds it too (folded on both databases)."""
    assert search(faq.id, "A GARANTÍA cobre água?")[0].source_title == "Garantia"
    assert search(faq.id, "garantia nao cobre agua")[0].score == 1.0


def test_plural_and_prefix_words_match(faq):
    """'costs' finds 'cost', 'return' finds 'returns' (a final s dropped; 4+ letters: a prefix)."""
    assert search(faq.id, "shipping costs")[0].source_title == "Shipping"
    assert search(faq.id, "return")[0].source_title == "Returns"


def test_nothing_relevant_gives_no_passages(faq):
    """A question the base cannot answer gives an empty list: the node's `unknown` port."""
    assert search(faq.id, "Do you sell gift cards for birthdays?") == []
    assert search(faq.id, "") == [] and search(faq.id, "the of and") == []
    bitcoin = "Can I pay with bitcoin on Sundays?"
    assert search(faq.id, bitcoin, min_score=0.0)[0].source_title == "Opening hours"
    assert search(faq.id, bitcoin) == []  # 1 of 3 words: below the threshold


def test_search_stays_within_its_base_and_limit(faq):
    """Another base's passages are never returned; `limit` caps the list."""
    other = knowledge.create_base("Other")
    knowledge.add_text(other, "Shipping elsewhere", "Shipping to Brazil costs 30 euros.")
    db.session.commit()
    assert {p.source_title for p in search(faq.id, "shipping cost", min_score=0)} == {"Shipping"}
    assert [p.source_title for p in search(other.id, "shipping")] == ["Shipping elsewhere"]
    assert len(search(faq.id, "the shop ships returns garantia", limit=2, min_score=0)) == 2


@pytest.mark.parametrize(
    "query",
    [
        'shipping" OR "x',
        "shipping:cost",
        "NEAR(shipping cost)",
        "shipp*",
        "shipping AND NOT cost",
        "shipping'; DROP TABLE knowledge_chunks; --",
        "(shipping) -cost ^cost {cost}",
        "shipping 🚚 ☺ \u200b cost",
        "shipping\x00cost",
        "\\ shipping & | ! <-> cost",
        "配送 shipping 送料",
    ],
)
def test_hostile_questions_are_just_words(faq, query):
    """Quotes, colons, NEAR, *, boolean words, SQL, emoji and operators never break the query."""
    passages = search(faq.id, query, min_score=0)
    assert passages and passages[0].source_title == "Shipping"
    assert chunk_count() == 4


def test_query_terms_leave_common_words_out():
    """Common English, Portuguese and Spanish words and repeats are not searched for."""
    assert query_terms("What is the price of the price?") == ["price"]
    assert query_terms("Qual é o preço da entrega?") == ["preco", "entrega"]
    assert query_terms("¿Cuál es el horario de la tienda?") == ["horario", "tienda"]


def test_ranking_prefers_the_passage_with_more_of_the_words(kb):
    """Two passages sharing one word: the one holding more of the question's words ranks first."""
    knowledge.add_text(kb, "Delivery", "Delivery to Lisbon takes one day.")
    knowledge.add_text(kb, "Delivery fees", "Delivery fees to Lisbon are 3 euros, delivery to Porto 4 euros.")
    db.session.commit()
    passages = search(kb.id, "delivery fees Lisbon", min_score=0)
    assert [p.source_title for p in passages] == ["Delivery fees", "Delivery"]
    assert passages[0].score == 1.0 and passages[1].score == pytest.approx(0.667)


# --- deletion ----------------------------------------------------------------------------------------


def test_deleting_a_source_removes_its_chunks_and_index_rows(faq):
    """After deleting a source, search no longer finds it, and its index rows are gone."""
    shipping = db.session.scalar(select(KnowledgeSource).where(KnowledgeSource.title == "Shipping"))
    assert search(faq.id, "shipping")
    knowledge.delete_source(shipping)
    db.session.commit()
    assert search(faq.id, "shipping", min_score=0) == []
    assert chunk_count() == 3 and index_rows() == 3


def test_deleting_a_base_removes_everything(faq):
    """Deleting a base deletes its sources, chunks and index rows."""
    knowledge.delete_base(faq)
    db.session.commit()
    assert chunk_count() == 0 and index_rows() == 0
    assert db.session.scalar(select(func.count()).select_from(KnowledgeSource)) == 0


def test_postgresql_search_can_use_the_gin_index(faq):
    """On PostgreSQL the query's expression is the index's, so the planner can use it (on a table
    this small it prefers the kb_id index when the base is also filtered on, so that is left out)."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite searches its FTS5 table")
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = db.session.scalars(
        text(
            "EXPLAIN SELECT c.id FROM knowledge_chunks c, to_tsquery('simple'::regconfig, 'shipping') q "
            "WHERE to_tsvector('simple'::regconfig, c.search_text) @@ q"
        )
    ).all()
    assert any("ix_knowledge_chunks_search" in line for line in plan), plan


def test_the_source_title_is_searched_with_each_passage(kb):
    """A passage whose text never names the subject is found by its source's title."""
    knowledge.add_text(kb, "Warranty policy", "Two years on every product. Water damage is excluded.")
    db.session.commit()
    assert [p.source_title for p in search(kb.id, "warranty")] == ["Warranty policy"]
