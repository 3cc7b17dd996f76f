"""Knowledge: the bases the "Answer from knowledge" step answers from. Everyone logged in sees them
and may try a question; only admins create, rename or delete bases and add or delete sources."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp import work
from flowapp.extensions import db
from flowapp.models import KnowledgeBase, KnowledgeSource
from flowapp.services import knowledge, knowledge_search
from flowapp.services.knowledge import KnowledgeError
from flowapp.web.security import admin_required
from flowapp.web.strict_json import large_body

bp = Blueprint("knowledge", __name__, url_prefix="/knowledge")
SOURCE_FIELDS = ("title", "text", "url")


@bp.get("/")
def index():
    """Every base with its numbers of sources and chunks; admins also get the form to add one."""
    return render_template("knowledge/index.html", bases=knowledge.bases(), form={}, error=None)


@bp.post("/")
@admin_required
def create():
    """Add a base; a refused name is shown beside its box (422) and nothing is saved."""
    form = {key: request.form.get(key, "") for key in ("name", "description")}
    try:
        kb = knowledge.create_base(form["name"], form["description"], user_id=current_user.id)
    except KnowledgeError as exc:
        db.session.rollback()
        html = render_template("knowledge/index.html", bases=knowledge.bases(), form=form, error=exc)
        return html, 422
    db.session.commit()
    return redirect(url_for("knowledge.show", kb_id=kb.id))


@bp.get("/<int:kb_id>")
def show(kb_id: int):
    """A base: its sources, the forms to add more (admins), and the "Try a question" box."""
    return _page(_base(kb_id))


@bp.post("/<int:kb_id>")
@admin_required
def update(kb_id: int):
    """Rename the base or change its description."""
    kb = _base(kb_id)
    try:
        knowledge.update_base(kb, request.form.get("name", ""), request.form.get("description", ""))
    except KnowledgeError as exc:
        db.session.rollback()
        return _page(_base(kb_id), error=exc, base_form=request.form.to_dict()), 422
    db.session.commit()
    flash("Knowledge base saved.")
    return redirect(url_for("knowledge.show", kb_id=kb_id))


@bp.post("/<int:kb_id>/delete")
@admin_required
def delete(kb_id: int):
    """Delete the base with every source, chunk and index row."""
    kb = _base(kb_id)
    name = kb.name
    knowledge.delete_base(kb)
    db.session.commit()
    flash(f"Deleted the knowledge base “{name}”.")
    return _go(url_for("knowledge.index"))


@bp.post("/<int:kb_id>/text")
@admin_required
def add_text(kb_id: int):
    """Add a pasted text."""
    kb = _base(kb_id)
    return _added(kb, lambda: knowledge.add_text(kb, *_form("title", "text"), user_id=current_user.id))


@bp.post("/<int:kb_id>/url")
@admin_required
def add_url(kb_id: int):
    """Fetch a page once and add its text (private addresses only with HTTP_ALLOW_PRIVATE)."""
    kb = _base(kb_id)
    allow = bool(current_app.config.get("HTTP_ALLOW_PRIVATE"))
    return _added(
        kb, lambda: knowledge.add_url(kb, *_form("url"), allow_private=allow, user_id=current_user.id)
    )


@bp.post("/<int:kb_id>/file")
@admin_required
@large_body(knowledge.MAX_FILE_BYTES + 64 * 1024)
def add_file(kb_id: int):
    """Upload a .txt, .md, .pdf or .docx file: read now, or by a job when large."""
    kb = _base(kb_id)
    upload = request.files.get("file")
    raw = upload.read(knowledge.MAX_FILE_BYTES + 1) if upload is not None else b""
    name = (upload.filename or "") if upload is not None else ""

    def add():
        source, job = knowledge.add_file(kb, name, raw, user_id=current_user.id)
        if job is not None:
            work.after_commit(job)
        return source

    return _added(kb, add)


@bp.post("/<int:kb_id>/sources/<int:source_id>/delete")
@admin_required
def delete_source(kb_id: int, source_id: int):
    """Delete a source with its chunks and index rows: search no longer finds it."""
    source = db.session.get(KnowledgeSource, source_id)
    if source is None or source.kb_id != kb_id:
        abort(404)
    title = source.title
    knowledge.delete_source(source)
    db.session.commit()
    flash(f"Deleted “{title}”.")
    return _go(url_for("knowledge.show", kb_id=kb_id))


@bp.get("/<int:kb_id>/sources")
def sources_fragment(kb_id: int):
    """The sources table alone (it polls itself while a file is pending)."""
    kb = _base(kb_id)
    return render_template("knowledge/_sources.html", kb=kb, sources=knowledge.sources_of(kb))


@bp.get("/<int:kb_id>/try")
def try_question(kb_id: int):
    """The passages search returns for a question, with their scores (a fragment for htmx)."""
    kb = _base(kb_id)
    question = request.args.get("q", "")[:1000]
    context = {
        "question": question,
        "passages": knowledge_search.search(kb.id, question, min_score=0) if question.strip() else [],
        "threshold": knowledge_search.MIN_SCORE,
    }
    if request.headers.get("HX-Request"):
        response = current_app.make_response(render_template("knowledge/_passages.html", **context))
    else:
        response = current_app.make_response(_page(kb, **context))
    response.vary.add("HX-Request")
    return response


def _added(kb: KnowledgeBase, add):
    """Run `add`; on KnowledgeError show the base again with the reason beside the field (422)."""
    try:
        source = add()
    except KnowledgeError as exc:
        db.session.rollback()
        form = {key: request.form.get(key, "") for key in SOURCE_FIELDS}
        return _page(_base(kb.id), error=exc, source_form=form), 422
    db.session.commit()
    if source.status == "pending":
        flash(f"“{source.title}” is being read; it becomes searchable when it shows ready.")
    else:
        flash(f"Added “{source.title}”: {source.chunk_count} passage(s).")
    return redirect(url_for("knowledge.show", kb_id=kb.id))


def _go(url: str):
    """A redirect; for htmx (the delete buttons confirm through hx-confirm, as the CSP allows no
    inline script) an HX-Redirect, so the browser loads the page whole."""
    if request.headers.get("HX-Request"):
        response = current_app.make_response("")
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def _form(*keys: str) -> list[str]:
    return [request.form.get(key, "") for key in keys]


def _base(kb_id: int) -> KnowledgeBase:
    kb = db.session.get(KnowledgeBase, kb_id)
    if kb is None:
        abort(404)
    return kb


def _page(kb: KnowledgeBase, error=None, base_form=None, source_form=None, **context) -> str:
    return render_template(
        "knowledge/show.html",
        kb=kb,
        sources=knowledge.sources_of(kb),
        error=error,
        base_form=base_form or {"name": kb.name, "description": kb.description},
        source_form=source_form or {},
        limits={"file_mb": knowledge.MAX_FILE_BYTES // (1024 * 1024), "sources": knowledge.MAX_SOURCES},
        **{"question": "", "passages": None, "threshold": knowledge_search.MIN_SCORE, **context},
    )
