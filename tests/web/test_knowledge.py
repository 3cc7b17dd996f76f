"""The Knowledge pages: admins create bases and add or delete sources, everyone logged in looks and
tries questions; CSRF on every POST, refusals beside their box with 4xx and nothing saved, escaping."""

from __future__ import annotations

import io
from html import unescape

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from flowapp.extensions import db, get_queue
from flowapp.models import KnowledgeBase, KnowledgeChunk, KnowledgeSource
from flowapp.services import knowledge
from tests import factories
from tests.knowledge_files import docx_bytes
from tests.services.test_knowledge import pages  # noqa: F401 - the local page server fixture


def token(client, path="/knowledge/") -> str:
    return factories.csrf_token(client, path)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def kb(session):
    kb = knowledge.create_base("Support", "FAQ")
    knowledge.add_text(kb, "Shipping", "Shipping costs 5 euros and takes two days.")
    db.session.commit()
    return kb


def test_every_route_needs_a_login(app, client, kb):
    """Logged out, every knowledge route (found, not listed) answers the login, never data."""
    source = db.session.scalar(select(KnowledgeSource))
    adapter = app.url_map.bind("localhost")
    csrf = token(client, "/login")
    routes = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("knowledge.")]
    assert len(routes) >= 10
    for rule in routes:
        url = adapter.build(rule.endpoint, {"kb_id": kb.id, "source_id": source.id} if rule.arguments else {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                url, method=method, data={"csrf_token": csrf} if method == "POST" else None
            )
            assert response.status_code in (302, 401), (method, url, response.status_code)
            assert "Shipping" not in response.get_data(as_text=True)
    assert count(KnowledgeSource) == 1 and count(KnowledgeBase) == 1


def test_an_admin_creates_a_base_and_adds_pasted_text(logged_in):
    """Create a base, paste a text, and its passages are listed with the counts."""
    response = logged_in.post(
        "/knowledge/", data={"csrf_token": token(logged_in), "name": "Help", "description": ""}
    )
    assert response.status_code == 302
    kb = db.session.scalar(select(KnowledgeBase))
    page = f"/knowledge/{kb.id}"
    data = {"csrf_token": token(logged_in, page), "title": "Returns", "text": "Returns are free for 30 days."}
    response = logged_in.post(f"{page}/text", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Added “Returns”: 1 passage(s)." in html
    listing = logged_in.get("/knowledge/").get_data(as_text=True)
    assert "Help" in listing and "<td>1</td><td>1</td>" in listing


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"name": ""}, "name", "Give the knowledge base a name"),
        ({"name": "Support"}, "name", "Another knowledge base has that name."),
        ({"name": "New", "description": "d" * 1001}, "description", "under 1,000 characters"),
    ],
)
def test_a_bad_base_is_a_422_beside_its_box(logged_in, kb, data, field, reason):
    """A refused name or description is shown beside its box, and nothing is saved."""
    response = logged_in.post("/knowledge/", data={"csrf_token": token(logged_in), **data})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and f'id="kb-{field}-error"' in html and reason in html
    assert count(KnowledgeBase) == 1


@pytest.mark.parametrize(
    ("path", "data", "field", "reason"),
    [
        ("text", {"title": "", "text": "something"}, "title", "Give the text a title"),
        ("text", {"title": "Empty", "text": "  "}, "text", "Paste the text to add."),
        (
            "url",
            {"url": "http://127.0.0.1:9/"},
            "url",
            "internal address 127.0.0.1 are not allowed",
        ),
        ("url", {"url": "file:///etc/passwd"}, "url", "only http:// and https://"),
    ],
)
def test_a_bad_source_is_a_422_beside_its_box(logged_in, kb, path, data, field, reason):
    """A refused source is named beside its box (422), what was typed is kept, nothing is saved."""
    page = f"/knowledge/{kb.id}"
    response = logged_in.post(f"{page}/{path}", data={"csrf_token": token(logged_in, page), **data})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and f'id="kb-{field}-error"' in html and reason in html
    assert count(KnowledgeSource) == 1


def test_files_upload_and_other_types_are_refused(logged_in, kb):
    """A DOCX is read into passages; an image is refused with the accepted types named."""
    page = f"/knowledge/{kb.id}"
    upload = {
        "csrf_token": token(logged_in, page),
        "file": (io.BytesIO(docx_bytes(["Garantia de dois anos."])), "g.docx"),
    }
    response = logged_in.post(f"{page}/file", data=upload, content_type="multipart/form-data")
    assert response.status_code == 302 and count(KnowledgeSource) == 2
    image = {"csrf_token": token(logged_in, page), "file": (io.BytesIO(b"\x89PNG\r\n"), "logo.png")}
    response = logged_in.post(f"{page}/file", data=image, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Upload a .txt, .md, .pdf or .docx file." in html
    assert count(KnowledgeSource) == 2


def test_a_page_is_fetched_when_private_targets_are_allowed(logged_in, kb, pages, app):  # noqa: F811
    """With HTTP_ALLOW_PRIVATE (the test's server is on 127.0.0.1) the page is fetched and indexed."""
    page = f"/knowledge/{kb.id}"
    app.config["HTTP_ALLOW_PRIVATE"] = True
    try:
        response = logged_in.post(
            f"{page}/url", data={"csrf_token": token(logged_in, page), "url": f"{pages}/help"}
        )
    finally:
        app.config["HTTP_ALLOW_PRIVATE"] = False
    assert response.status_code == 302
    assert (
        db.session.scalar(select(KnowledgeSource.title).where(KnowledgeSource.kind == "url")) == "Help centre"
    )


def test_try_a_question_shows_passages_and_scores(logged_in, kb):
    """The htmx fragment lists the passages with their score; nothing relevant says unknown."""
    response = logged_in.get(
        f"/knowledge/{kb.id}/try?q=How+much+is+shipping%3F", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert "Shipping costs 5 euros" in html and '<span class="kb-score">1.00</span>' in html
    unknown = logged_in.get(f"/knowledge/{kb.id}/try?q=gift+cards", headers={"HX-Request": "true"})
    assert "unknown" in unknown.get_data(as_text=True)
    whole = logged_in.get(f"/knowledge/{kb.id}/try?q=shipping").get_data(as_text=True)
    assert "<html" in whole and "Shipping costs 5 euros" in whole


def test_deleting_a_source_removes_it_from_search(logged_in, kb):
    """Deleting a source (through hx-confirm) deletes its passages: search no longer finds them."""
    source = db.session.scalar(select(KnowledgeSource))
    page = f"/knowledge/{kb.id}"
    response = logged_in.post(
        f"{page}/sources/{source.id}/delete",
        data={"csrf_token": token(logged_in, page)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response.headers["HX-Redirect"] == page
    assert count(KnowledgeSource) == 0 and count(KnowledgeChunk) == 0
    html = logged_in.get(f"{page}/try?q=shipping", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Nothing found" in html


def test_rename_and_delete_a_base(logged_in, kb):
    """A base is renamed, then deleted with its sources."""
    page = f"/knowledge/{kb.id}"
    data = {"csrf_token": token(logged_in, page), "name": "Help desk", "description": "All of it"}
    assert logged_in.post(page, data=data).status_code == 302 and kb.name == "Help desk"
    assert logged_in.post(f"{page}/delete", data={"csrf_token": token(logged_in, page)}).status_code == 302
    assert count(KnowledgeBase) == 0 and count(KnowledgeChunk) == 0
    assert logged_in.get(page).status_code == 404


def test_a_source_of_another_base_is_a_404(logged_in, kb):
    """The source's base must be the one in the address."""
    other = knowledge.create_base("Other")
    db.session.commit()
    source = db.session.scalar(select(KnowledgeSource))
    path = f"/knowledge/{other.id}/sources/{source.id}/delete"
    assert logged_in.post(path, data={"csrf_token": token(logged_in)}).status_code == 404
    assert count(KnowledgeSource) == 1


def test_every_post_needs_the_csrf_token(logged_in, kb):
    """Without the token every POST is refused and nothing changes."""
    source = db.session.scalar(select(KnowledgeSource))
    page = f"/knowledge/{kb.id}"
    posts = [
        ("/knowledge/", {"name": "X"}), (page, {"name": "Y"}), (f"{page}/delete", {}),
        (f"{page}/text", {"title": "T", "text": "t"}), (f"{page}/url", {"url": "https://example.com/"}),
        (f"{page}/file", {}), (f"{page}/sources/{source.id}/delete", {}),
    ]  # fmt: skip
    for path, data in posts:
        assert logged_in.post(path, data=data).status_code == 400, path
    assert count(KnowledgeBase) == 1 and count(KnowledgeSource) == 1 and kb.name == "Support"


def test_agents_look_and_try_but_cannot_change(client, user, kb):
    """An agent sees the bases and tries questions; every change is a 403 and the forms are hidden."""
    factories.login(client, user.email, "correct horse battery")
    page = f"/knowledge/{kb.id}"
    html = client.get(page).get_data(as_text=True)
    assert "Shipping" in html and "Add a source" not in html and "Delete" not in html
    assert client.get(f"{page}/try?q=shipping").status_code == 200
    csrf = token(client, page)
    source = db.session.scalar(select(KnowledgeSource))
    for path in ("/knowledge/", page, f"{page}/delete", f"{page}/text", f"{page}/url", f"{page}/file",
                 f"{page}/sources/{source.id}/delete"):  # fmt: skip
        assert (
            client.post(path, data={"csrf_token": csrf, "name": "X", "title": "T", "text": "t"}).status_code
            == 403
        )
    assert count(KnowledgeBase) == 1 and count(KnowledgeSource) == 1


def test_content_is_escaped(logged_in):
    """Names, titles, texts and questions are shown as text, never as markup."""
    kb = knowledge.create_base("<b>KB</b>", "<i>desc</i>")
    knowledge.add_text(kb, "<script>alert(1)</script>", "<img src=x onerror=alert(2)> shipping")
    db.session.commit()
    for path in (
        "/knowledge/",
        f"/knowledge/{kb.id}",
        f"/knowledge/{kb.id}/try?q=<svg/onload=alert(3)>shipping",
    ):
        html = logged_in.get(path).get_data(as_text=True)
        assert "<b>KB</b>" not in html and "<script>alert" not in html and "<img src=x" not in html
        assert "<svg/onload" not in html and "<i>desc</i>" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in logged_in.get(
        f"/knowledge/{kb.id}/try?q=shipping"
    ).get_data(as_text=True)


def test_the_sidebar_links_to_knowledge(logged_in):
    """Knowledge has its own entry in the sidebar."""
    html = logged_in.get("/automations/").get_data(as_text=True)
    assert 'href="/knowledge/"' in html


def test_a_large_file_shows_pending_and_the_table_polls(logged_in, kb, monkeypatch):
    """A file left to the job shows pending, and the sources fragment polls until it is ready."""
    from flowapp.jobs.knowledge import index_knowledge_source

    monkeypatch.setattr(knowledge, "INLINE_FILE_BYTES", 10)
    page = f"/knowledge/{kb.id}"
    upload = {
        "csrf_token": token(logged_in, page),
        "file": (io.BytesIO(b"Gift wrapping is free."), "gifts.txt"),
    }
    response = logged_in.post(
        f"{page}/file", data=upload, content_type="multipart/form-data", follow_redirects=True
    )
    assert "is being read" in response.get_data(as_text=True)
    fragment = logged_in.get(f"{page}/sources", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="pending"' in fragment and 'hx-trigger="every 2s"' in fragment
    source = db.session.scalar(select(KnowledgeSource).where(KnowledgeSource.title == "gifts.txt"))
    assert get_queue("default").job_ids == [f"knowledge-source-{source.id}"]
    assert (
        get_queue("default").fetch_job(f"knowledge-source-{source.id}").perform() == "ready"
    )  # a worker's call
    db.session.expire_all()
    assert source.status == "ready" and index_knowledge_source(source.id) == "ready"
    fragment = logged_in.get(f"{page}/sources", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="pending"' not in fragment and "hx-trigger" not in fragment


def multipart(fields: dict, filename: str, content: bytes) -> dict:
    """A multipart body built in memory (the test client spools large ones to a temporary file it
    never closes, which fails the next test under filterwarnings=error)."""
    upload = FileStorage(io.BytesIO(content), filename=filename, content_type="text/plain")
    boundary, body = encode_multipart({**fields, "file": upload})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def test_uploads_beyond_the_request_limit_up_to_5_mb_are_taken(logged_in, kb):
    """A 4 MB file (over the app's 3 MB body limit) is taken and left to the job, which refuses
    its 4,000,000 characters by name; a file over 5 MB is refused at once."""
    from flowapp.jobs.knowledge import index_knowledge_source

    page = f"/knowledge/{kb.id}"
    big = multipart({"csrf_token": token(logged_in, page)}, "big.txt", b"a" * 4_000_000)
    response = logged_in.post(f"{page}/file", **big)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    source = db.session.scalar(select(KnowledgeSource).where(KnowledgeSource.title == "big.txt"))
    assert index_knowledge_source(source.id) == "failed" and "longer than 1,000,000" in source.error
    huge = multipart({"csrf_token": token(logged_in, page)}, "huge.txt", b"a" * (5 * 1024 * 1024 + 1))
    response = logged_in.post(f"{page}/file", **huge)
    assert response.status_code == 422 and "larger than 5 MB" in response.get_data(as_text=True)
    assert count(KnowledgeSource) == 2
