"""One contact's page: details (fields, tags, language), opt-out with its history, groups and segments, the
conversation, automation runs and an activity timeline.

Each section is a fragment the page includes and its POST answers (hx-target="this"), so saving the
details never redraws the timeline, and a failed save answers the form with the problem beside it.
"""

from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Automation, AutomationRun, Contact, Conversation, User
from flowapp.services import consent, contact_fields, contact_timeline, groups, inbox, inbox_edits
from flowapp.web.contacts import bp

RECENT_RUNS = 20
# Offered while typing (any ISO 639 code is accepted): the languages WhatsApp templates exist in most.
LANGUAGES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "en-GB": "English (UK)",
    "en-US": "English (US)",
    "es": "Spanish",
    "fr": "French",
    "hi": "Hindi",
    "id": "Indonesian",
    "it": "Italian",
    "ms": "Malay",
    "nl": "Dutch",
    "pt": "Portuguese",
    "pt-BR": "Portuguese (Brazil)",
    "ru": "Russian",
    "sw": "Swahili",
    "tr": "Turkish",
    "zh": "Chinese",
}


def get_contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    return contact


@bp.get("/<int:contact_id>")
def contact_page(contact_id: int):
    """Everything about one contact on one page; the timeline redraws itself when a section changes."""
    contact = get_contact(contact_id)
    return render_template(
        "contacts/contact.html",
        **{**details_context(contact), **consent_context(contact), **groups_context(contact)},
        conversation=_conversation(contact),
        runs=_recent_runs(contact),
        timeline=contact_timeline.page(contact),
    )


@bp.post("/<int:contact_id>")
def save_contact(contact_id: int):
    """Save the details form: name, language, birthday, time zone, tags and custom fields."""
    contact = get_contact(contact_id)
    keys, values = request.form.getlist("field_key"), request.form.getlist("field_value")
    form = {
        "display_name": request.form.get("display_name", ""),
        "language": request.form.get("language", ""),
        "birthday": request.form.get("birthday", ""),
        "timezone": request.form.get("timezone", ""),
        "tags": request.form.get("tags", ""),
        "fields": dict(zip(keys, values, strict=False)),
        "opted_out": contact.opted_out,  # changed by its own section, with a confirmation
    }
    try:
        inbox_edits.update_contact(contact, form, user_id=current_user.id)
    except inbox.InboxError as exc:
        db.session.rollback()
        context = details_context(get_contact(contact_id), error=(exc.field, exc.reason), submitted=form)
        return render_template("contacts/_details.html", **context), 422
    db.session.commit()
    return _changed(render_template("contacts/_details.html", **details_context(contact), saved=True))


@bp.post("/<int:contact_id>/consent")
def set_consent(contact_id: int):
    """Opt the contact out, or back in at their request; the history records who did it."""
    contact = get_contact(contact_id)
    wanted = request.form.get("opted_out")
    if wanted not in ("0", "1"):
        return render_template("contacts/_consent.html", **consent_context(contact), error=True), 400
    consent.set_opted_out(contact, wanted == "1", source="agent", user_id=current_user.id)
    db.session.commit()
    return _changed(render_template("contacts/_consent.html", **consent_context(contact)))


@bp.post("/<int:contact_id>/groups")
def change_groups(contact_id: int):
    """Add the contact to a static group, or take them out of one ("remove" names the group)."""
    contact = get_contact(contact_id)
    removing = request.form.get("remove", type=int)
    group = groups.get(removing or request.form.get("group_id", type=int))
    if group is None or group.kind != "static":
        context = groups_context(contact, error="Choose one of the groups (segments fill themselves).")
        return render_template("contacts/_groups.html", **context), 422
    if removing:
        groups.remove_contacts(group, [contact.id])
    else:
        groups.add_contacts(group, [contact.id])
    db.session.commit()
    return _changed(render_template("contacts/_groups.html", **groups_context(contact)))


@bp.get("/<int:contact_id>/timeline")
def timeline(contact_id: int):
    """The next page of the activity timeline (the "Older" button)."""
    contact = get_contact(contact_id)
    page = contact_timeline.page(contact, request.args.get("cursor", "")[:80])
    return render_template("contacts/_timeline.html", contact=contact, timeline=page)


def _changed(body: str):
    """The answer to a change, telling the page's timeline to show it (HX-Trigger)."""
    response = make_response(body)
    response.headers["HX-Trigger"] = "contact-changed"
    return response


def details_context(contact: Contact, error: tuple[str, str] | None = None, submitted=None) -> dict:
    """The details form: what is stored, or what was typed when it was refused."""
    declared = contact_fields.listing()
    return {
        "contact": contact,
        "declared_fields": declared,
        "declared_keys": {field.key for field in declared},
        "languages": LANGUAGES,
        "details_error": error,
        "submitted": submitted,
    }


def consent_context(contact: Contact) -> dict:
    return {"contact": contact, "consent_history": consent.history(contact)}


def _conversation(contact: Contact) -> tuple[Conversation, str | None] | None:
    row = db.session.execute(
        select(Conversation, User.name, User.email)
        .outerjoin(User, User.id == Conversation.assignee_id)
        .where(Conversation.contact_id == contact.id)
    ).first()
    if row is None:
        return None
    conversation, name, email = row
    return conversation, name or email


def _recent_runs(contact: Contact) -> list[tuple[AutomationRun, str]]:
    query = (
        select(AutomationRun, Automation.name)
        .join(Automation, Automation.id == AutomationRun.automation_id)
        .where(AutomationRun.contact_id == contact.id)
        .order_by(AutomationRun.id.desc())
        .limit(RECENT_RUNS)
    )
    return [(run, name) for run, name in db.session.execute(query)]


def groups_context(contact: Contact, error: str | None = None) -> dict:
    """The static groups the contact is in (removable), the segments matching them, and the static
    groups they could be added to."""
    static, matching = groups.of_contact(contact)
    joined = {group.id for group in static}
    addable = [g for g in groups.all_groups() if g.kind == "static" and g.id not in joined]
    return {
        "contact": contact,
        "static_groups": static,
        "segments": matching,
        "addable_groups": addable,
        "groups_error": error,
    }
