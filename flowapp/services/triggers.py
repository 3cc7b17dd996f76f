"""Which automations a message starts, and the triggers that fire on time (dates and schedules).

Message triggers are matched against the PUBLISHED version's trigger (what was published is what
runs). When several match, engine.match_order decides (docs/automations.md, "Priority").
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import extract, or_, select
from sqlalchemy.orm import joinedload

from flowapp import engine
from flowapp.extensions import db
from flowapp.models import Automation, AutomationRun, AutomationVersion, Contact, Message, utcnow
from flowapp.services import audiences, broadcasts, settings

log = logging.getLogger("flowapp.automations")

MESSAGE_TRIGGERS = ("keyword", "new_contact", "any_message")


def active_automations(kinds: tuple[str, ...]) -> list[Automation]:
    """Active, published automations whose published trigger is one of `kinds`."""
    rows = db.session.scalars(
        select(Automation).where(Automation.status == "active", Automation.published_version_id.is_not(None))
    )
    return [a for a in rows if published_trigger(a).get("type") in kinds]


def published_trigger(automation: Automation) -> dict:
    return (
        automation.published_version.trigger if automation.published_version else automation.trigger
    ) or {}


def matching(message: Message, contact: Contact) -> list[Automation]:
    """Automations whose trigger this message fires, best first.

    One query reads the published triggers (not the automations' graphs); only automations that
    match are loaded.
    """
    first = contact.first_inbound_at is not None and message.created_at <= contact.first_inbound_at
    rows = db.session.execute(_PUBLISHED_TRIGGERS).all()
    found = []
    for automation_id, priority, trigger in rows:
        trigger = trigger or {}
        kind = trigger.get("type")
        if (
            (kind == "keyword" and engine.keyword_matches(trigger, message.text))
            or (kind == "new_contact" and first)
            or kind == "any_message"
        ):
            found.append((engine.match_order(trigger, priority, automation_id), automation_id))
    if not found:
        return []
    # One query for the matching automations and their published versions (the runner reads both).
    loaded = {
        a.id: a
        for a in db.session.scalars(
            select(Automation)
            .options(joinedload(Automation.published_version))
            .where(Automation.id.in_([automation_id for _, automation_id in found]))
        )
    }
    return [loaded[automation_id] for _, automation_id in sorted(found) if automation_id in loaded]


# Built once: read for every inbound message.
_PUBLISHED_TRIGGERS = (
    select(Automation.id, Automation.priority, AutomationVersion.trigger)
    .join(AutomationVersion, AutomationVersion.id == Automation.published_version_id)
    .where(Automation.status == "active")
)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def fire_date_triggers(now: datetime | None = None) -> int:
    """Start date-field automations whose day (plus offset) has come at its local time. Once per
    contact and occurrence: a birthday fires once a year, even if this runs every minute."""
    now = now or utcnow()
    started = 0
    for automation in active_automations(("date_field",)):
        trigger = published_trigger(automation)
        done = _fired_occurrences(automation, now)
        for contact in _date_candidates(trigger, now):
            occurrence = due_occurrence(trigger, contact, now, settings.get("timezone"))
            if occurrence is None or (contact.id, occurrence) in done:
                continue
            from flowapp.services import runner

            run = runner.start_run(
                automation,
                runner.lock_contact(contact.id),
                trigger_data={"type": "date_field", "field": trigger.get("field"), "occurrence": occurrence},
            )
            started += run is not None
    return started


def due_occurrence(trigger: dict, contact: Contact, now: datetime, account_tz: str | None) -> str | None:
    """The occurrence key ("2026-05-04") if the trigger is due for this contact now, else None."""
    tz = zone(contact.timezone if trigger.get("timezone") == "contact" and contact.timezone else account_tz)
    local = now.astimezone(tz)
    base = _field_date(contact, trigger.get("field", "birthday"))
    if base is None:
        return None
    offset = timedelta(days=int(trigger.get("offset_days") or 0))
    if trigger.get("field", "birthday") == "birthday":
        base = _in_year(base, (local.date() - offset).year)  # birthdays come back every year
    day = base + offset
    hour, minute = (int(part) for part in (trigger.get("time") or "09:00").split(":"))
    if local.date() != day or (local.hour, local.minute) < (hour, minute):
        return None
    return day.isoformat()


def _in_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def _field_date(contact: Contact, field: str) -> date | None:
    value = contact.birthday if field == "birthday" else (contact.fields or {}).get(field)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _date_candidates(trigger: dict, now: datetime):
    """Contacts that may be due: for birthdays, those whose month and day fall near today (any time
    zone, any offset); for custom fields, every contact that has the field."""
    field = trigger.get("field", "birthday")
    query = select(Contact).where(Contact.opted_out.is_(False))
    if field == "birthday":
        offset = int(trigger.get("offset_days") or 0)
        days = [(now - timedelta(days=offset) + timedelta(days=d)).date() for d in (-1, 0, 1)]
        query = query.where(
            Contact.birthday.is_not(None),
            or_(
                *[
                    (extract("month", Contact.birthday) == d.month)
                    & (extract("day", Contact.birthday) == d.day)
                    for d in days
                ]
                + [(extract("month", Contact.birthday) == 2) & (extract("day", Contact.birthday) == 29)]
            ),
        )
    return db.session.scalars(query).all()


def _fired_occurrences(automation: Automation, now: datetime) -> set[tuple[int, str]]:
    runs = db.session.scalars(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation.id, AutomationRun.started_at >= now - timedelta(days=3)
        )
    )
    return {(run.contact_id, run.trigger.get("occurrence")) for run in runs if run.trigger.get("occurrence")}


def fire_schedules(now: datetime | None = None) -> int:
    """Start a broadcast for each schedule trigger whose time has come (in the account's time zone)."""
    now = now or utcnow()
    fired = 0
    for automation in active_automations(("schedule",)):
        trigger = published_trigger(automation)
        key = f"schedule:{automation.id}"
        last = settings.get(key)
        due = next_due(trigger, last, automation, now)
        if due is None:
            continue
        settings.put(key, due.isoformat())
        try:
            broadcasts.create(automation, trigger.get("audience") or {}, note=f"schedule {due.isoformat()}")
        except audiences.AudienceError as exc:  # one broken audience must not hold back the others
            log.warning("schedule of automation %s skipped: %s", automation.id, exc)
            continue
        fired += 1
    return fired


def next_due(trigger: dict, last: str | None, automation: Automation, now: datetime) -> datetime | None:
    """The latest scheduled time at or before now that has not fired yet, or None."""
    tz = zone(settings.get("timezone"))
    since = datetime.fromisoformat(last) if last else automation.published_version.created_at
    if trigger.get("at"):
        at = datetime.fromisoformat(trigger["at"])
        at = at.replace(tzinfo=tz) if at.tzinfo is None else at
        return at if since < at <= now else None
    if not trigger.get("cron"):
        return None
    due = None
    iterator = croniter(trigger["cron"], since.astimezone(tz))
    for _ in range(10000):  # missed occurrences fire once, as the latest one
        candidate = iterator.get_next(datetime)
        if candidate > now:
            break
        due = candidate
    return due
