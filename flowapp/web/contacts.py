"""The contacts page: search, filters and keyset pages, and bulk actions on the selected contacts.

The page includes templates/contacts/_list.html, and the same URL answers that fragment alone to an
HTMX request (the filter form, the page links), hence `Vary: HX-Request`. Bulk actions are POSTs
that answer the refreshed list with a message saying how many contacts changed.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, make_response, render_template, request, stream_with_context, url_for
from flask_login import current_user

from flowapp import transactions
from flowapp.extensions import db
from flowapp.services import audit, contact_bulk, contact_export, contact_list, groups

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

FILTER_KEYS = ("q", "tag", "field", "value", "opted_out", "seen_days", "open", "group")
SEEN_CHOICES = (1, 7, 30, 90)


@bp.app_template_filter("phone")
def phone(wa_id: str) -> str:
    return contact_list.format_number(wa_id)


@bp.get("/")
def index():
    """Contacts, newest first, with search and filters; the list alone to HTMX."""
    context = list_context(request.args)
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        response = make_response(render_template("contacts/_list.html", **context))
    else:
        response = make_response(render_template("contacts/index.html", **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/export.csv")
def export_csv():
    """Every contact the filters on screen match (all pages), as CSV streamed in batches."""
    filters = dataclasses.replace(parse_filters(request.args), after=None)
    used = sorted(key for key in FILTER_KEYS if request.args.get(key))
    with transactions.unit_of_work():  # the audit entry; it names the filters used, not their values
        audit.record("contacts.export", "contacts", None, user=current_user, detail={"filters": used})
    response = Response(stream_with_context(contact_export.rows(filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="contacts.csv"'
    return response


@bp.post("/bulk/add-tag")
def add_tag():
    """Add a tag to the selected contacts."""
    return _bulk(lambda contacts: _tagged(contact_bulk.add_tag(contacts, _tag()), "tagged"))


@bp.post("/bulk/remove-tag")
def remove_tag():
    """Remove a tag from the selected contacts."""
    return _bulk(lambda contacts: _tagged(contact_bulk.remove_tag(contacts, _tag()), "untagged"))


@bp.post("/bulk/opt-out")
def opt_out():
    """Opt the selected contacts out of automations and broadcasts."""
    return _bulk(lambda contacts: f"{_count(contact_bulk.opt_out(contacts).changed)} opted out.")


@bp.post("/bulk/start")
def start_automation():
    """Start a published automation for the selected contacts (a broadcast a worker runs)."""

    def start(contacts):
        automation_id = request.form.get("automation_id", type=int)
        automation, outcome = contact_bulk.start_automation(contacts, automation_id, current_user)
        note = f" ({outcome.skipped} opted out, left out)" if outcome.skipped else ""
        return f"Starting “{automation.name}” for {_count(outcome.changed)}{note}."

    return _bulk(start)


@bp.post("/bulk/add-to-group")
def add_to_group():
    """Add the selected contacts to a static group."""

    def add(contacts):
        group, outcome = contact_bulk.add_to_group(contacts, request.form.get("group_id", type=int))
        already = f" ({outcome.skipped} already in it)" if outcome.skipped else ""
        return f"{_count(outcome.changed)} added to “{group.name}”{already}."

    return _bulk(add)


@bp.post("/bulk/remove-from-group")
def remove_from_group():
    """Take the selected contacts out of the static group the list is filtered by."""

    def remove(contacts):
        group, outcome = contact_bulk.remove_from_group(contacts, request.form.get("group", type=int))
        return f"{_count(outcome.changed)} removed from “{group.name}”."

    return _bulk(remove)


@bp.get("/matching")
def matching():
    """ "Select all that match": how many contacts the filters match, as the selection's banner."""
    found = contact_list.count(dataclasses.replace(parse_filters(request.args), after=None))
    return render_template("contacts/_select_all.html", found=found, limit=contact_bulk.MAX_MATCHING)


def _bulk(action):
    """Run `action(contacts)` on the selection; commit and answer the list with its message, or roll
    back and answer the list with why nothing changed."""
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    try:
        if request.form.get("all_matching") == "1":  # every page of the filters, not the ticked rows
            contacts = contact_bulk.matching(parse_filters(request.form))
        else:
            contacts = contact_bulk.selected(ids)
        message = action(contacts)
    except contact_bulk.BulkError as exc:
        db.session.rollback()
        return _list(error=str(exc)), 422
    db.session.commit()
    return _list(message=message)


def _list(**notice) -> str:
    # The form carries the list's filters and cursor, so the answer is the page the user was on.
    return render_template("contacts/_list.html", **list_context(request.form), **notice)


def _tag() -> str:
    return request.form.get("bulk_tag", "")


def _tagged(outcome: contact_bulk.Outcome, verb: str) -> str:
    skipped = f"; {_count(outcome.skipped)} already had 50 tags" if outcome.skipped else ""
    return f"{_count(outcome.changed)} {verb}{skipped}."


def _count(n: int) -> str:
    return f"{n} contact" if n == 1 else f"{n} contacts"


def parse_filters(args) -> contact_list.Filters:
    """The list's filters from query (or form) arguments; unknown values are ignored."""
    seen = args.get("seen_days", type=int)
    return contact_list.Filters(
        q=(args.get("q") or "").strip()[:100],
        tag=(args.get("tag") or "").strip()[:64],
        field=(args.get("field") or "").strip()[:64],
        value=(args.get("value") or "").strip()[:1000],
        opted_out=args.get("opted_out") if args.get("opted_out") in ("yes", "no") else "",
        seen_days=seen if seen in SEEN_CHOICES else None,
        open_conversation=args.get("open") == "1",
        group=args.get("group", type=int),
        after=args.get("after", type=int),
    )


def list_context(args) -> dict:
    filters = parse_filters(args)
    page = contact_list.list_contacts(filters)
    list_args = {key: args[key] for key in FILTER_KEYS if args.get(key)}
    return {
        "page": page,
        "filters": filters,
        "list_args": list_args,
        "first_url": url_for("contacts.index", **list_args) if filters.after else None,
        "next_url": url_for("contacts.index", **list_args, after=page.next_cursor)
        if page.next_cursor
        else None,
        "tags": contact_list.known_tags(),
        "automations": contact_bulk.published_automations(),
        "groups": groups.all_groups(),
        "group": groups.get(filters.group),
        "seen_choices": SEEN_CHOICES,
    }


# Registered last: the contact page's, the import's and the groups' views add their routes to `bp`.
from flowapp.web import contact_page, contacts_groups, contacts_import  # noqa: E402, F401
