"""Contacts: create, change and delete them, and import them from CSV with a report of what was refused.

Numbers are stored as WhatsApp shows them in `wa_id`: E.164 digits without the plus. People type them
with spaces, dashes, dots, brackets, a "+" or an international "00"; all of that is removed, and what
is left must be 7 to 15 digits not starting with 0.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from flowapp.extensions import db, get_redis
from flowapp.models import Contact, utcnow
from flowapp.services import consent, contact_fields
from flowapp.work import Work

_SEPARATORS = re.compile(r"[\s\-.()/]")
# ISO 639-1 or -2/3 letters, optionally a region (ISO 3166 letters or a UN M49 number), as in BCP 47.
_LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|\d{3}))?")
MAX_FIELDS = 50
MAX_TAGS = 50
NUMBER_COLUMNS = ("phone", "wa_id", "number", "phone_number", "whatsapp", "mobile")
NAME_COLUMNS = ("name", "display_name", "full_name")


class ContactError(ValueError):
    """A contact value that cannot be stored; `field` names it, `reason` says why for people."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalize_number(raw: object) -> str:
    """E.164 digits without the plus, from what a person typed. Raises ContactError."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ContactError("wa_id", "a phone number is required")
    text = _SEPARATORS.sub("", str(raw).strip())
    if not text:
        raise ContactError("wa_id", "a phone number is required")
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not text.isdigit() or not text.isascii():
        raise ContactError(
            "wa_id", f"{str(raw)[:40]!r} is not a phone number (digits, with the country code)"
        )
    if not 7 <= len(text) <= 15:
        raise ContactError("wa_id", "a phone number has 7 to 15 digits, country code included")
    if text.startswith("0"):
        raise ContactError("wa_id", "start with the country code (e.g. 44 or +44), not with 0")
    return text


def find_by_number(raw: str) -> Contact | None:
    """The contact with this number (any usual format), or None. Raises ContactError for a bad one."""
    return db.session.scalar(select(Contact).where(Contact.wa_id == normalize_number(raw)))


def create(
    data: dict, *, source: str = "api", user_id: int | None = None, declared: dict | None = None
) -> Contact:
    """A new contact from API-shaped data (flushed). Raises ContactError (a taken number included).
    `source` and `user_id` say who made it, for the opt-out history (consent.CONSENT_SOURCES).
    `declared`: contact_fields.declared(), when the caller has it (else it is read here)."""
    wa_id = normalize_number(data.get("wa_id", data.get("phone")))
    if db.session.scalar(select(Contact.id).where(Contact.wa_id == wa_id)) is not None:
        raise ContactError("wa_id", f"a contact with number +{wa_id} already exists")
    contact = Contact(wa_id=wa_id, fields={}, tags=[], opted_out=False)
    _apply(contact, data, declared=declared)
    db.session.add(contact)
    db.session.flush()
    _apply_opt_out(contact, data, source, user_id)
    return contact


def update(
    contact: Contact,
    data: dict,
    *,
    source: str = "api",
    user_id: int | None = None,
    declared: dict | None = None,
) -> Contact:
    """Change the given attributes (flushed). `fields` is merged; a field set to null is removed.
    A change of `opted_out` is recorded in the contact's history with `source` and `user_id`.
    `declared`: contact_fields.declared(), when the caller has it (else it is read here)."""
    if "wa_id" in data:
        wa_id = normalize_number(data["wa_id"])
        if wa_id != contact.wa_id:
            raise ContactError("wa_id", "a contact's number cannot change; create another contact")
    _apply(contact, data, merge_fields=True, declared=declared)
    _apply_opt_out(contact, data, source, user_id)
    contact.updated_at = utcnow()
    db.session.flush()
    return contact


def _apply_opt_out(contact: Contact, data: dict, source: str, user_id: int | None) -> None:
    if "opted_out" in data:
        consent.set_opted_out(contact, data["opted_out"], source=source, user_id=user_id)


def delete(contact: Contact) -> None:
    """Delete a contact with its conversation, messages and runs (flushed)."""
    db.session.delete(contact)
    db.session.flush()


def _apply(contact: Contact, data: dict, merge_fields: bool = False, declared: dict | None = None) -> None:
    if "display_name" in data or "name" in data:
        contact.display_name = _text(data.get("display_name", data.get("name")), "display_name", 256)
    if "birthday" in data:
        contact.birthday = _birthday(data["birthday"])
    if "timezone" in data:
        contact.timezone = _timezone(data["timezone"])
    if "language" in data:
        contact.language = language_code(data["language"])
    if "opted_out" in data and not isinstance(data["opted_out"], bool):
        raise ContactError("opted_out", "must be true or false")  # applied by _apply_opt_out()
    if "tags" in data:
        contact.tags = _tags(data["tags"])
    if "fields" in data:
        if declared is None:
            declared = contact_fields.declared()
        base = dict(contact.fields or {}) if merge_fields else {}
        contact.fields = contact_fields.merged(data["fields"], base, declared)


def _text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ContactError(field, "must be text")
    value = value.strip()
    if len(value) > limit:
        raise ContactError(field, f"at most {limit} characters")
    return value or None


def _birthday(value) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ContactError("birthday", "a date like 1990-04-25") from None


def _timezone(value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ContactError("timezone", "an IANA time zone name like Europe/Lisbon")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ContactError(
            "timezone", f"{value!r} is not an IANA time zone name (like Europe/Lisbon)"
        ) from None
    return value


def language_code(value) -> str | None:
    """An ISO 639 code as stored: "pt", "pt-BR" (region upper-cased), or None for an empty value."""
    if value in (None, ""):
        return None
    match = isinstance(value, str) and _LANGUAGE.fullmatch(value.strip())
    if not match:
        raise ContactError("language", "an ISO 639 language code like pt, en or pt-BR")
    language, region = match.group(1).lower(), match.group(2)
    return f"{language}-{region.upper()}" if region else language


def _tags(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t.strip()) <= 64 for t in value):
        raise ContactError("tags", "a list of short texts")
    tags = list(dict.fromkeys(t.strip() for t in value))
    if len(tags) > MAX_TAGS:
        raise ContactError("tags", f"at most {MAX_TAGS} tags")
    return tags


# --- CSV import -----------------------------------------------------------------------------------


def csv_reader(text: str):
    """A csv reader for an uploaded file: UTF-8 with or without BOM, comma, semicolon or tab
    separated (sniffed)."""
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # A cell as long as the whole file is read, and then refused as that row's problem (the csv
    # module's own limit, 128 KB, would refuse the whole file instead).
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    # Universal newlines: a file saved with bare carriage returns (old Mac Excel) reads as lines.
    return csv.reader(io.StringIO(text, newline=None), dialect)


def parse_csv(text: str) -> tuple[list[str], list[dict]]:
    """The header (lower-cased) and the rows of a CSV file. Raises ContactError when it has no number
    column. Comma, semicolon or tab separated (sniffed), UTF-8 with or without BOM."""
    reader = csv_reader(text)
    try:
        header = [h.strip().lower() for h in next(reader)]
        if not any(h in NUMBER_COLUMNS for h in header):
            raise ContactError("file", f"no phone number column; name one of: {', '.join(NUMBER_COLUMNS)}")
        rows = [dict(zip(header, row, strict=False)) for row in reader if any(c.strip() for c in row)]
    except StopIteration:
        raise ContactError("file", "the file is empty") from None
    except csv.Error as exc:  # a cell over the csv module's limit, a stray quote or NUL...
        raise ContactError("file", f"line {reader.line_num} cannot be read as CSV: {exc}") from None
    return header, rows


def row_data(row: dict) -> dict:
    """API-shaped contact data from one CSV row: number, name, birthday, timezone, tags (separated by
    ";" or "|"), opted_out, and every other column as a custom field."""
    data: dict = {"fields": {}}
    for column, raw in row.items():
        value = (raw or "").strip()
        if column in NUMBER_COLUMNS:
            data.setdefault("wa_id", value)
        elif column in NAME_COLUMNS:
            if value:
                data["display_name"] = value
        elif column in ("birthday", "timezone", "language"):
            if value:
                data[column] = value
        elif column == "tags":
            data["tags"] = [t.strip() for t in re.split(r"[;|]", value) if t.strip()]
        elif column == "opted_out":
            if value:  # an empty cell must not opt back in someone who wrote STOP
                data["opted_out"] = value.lower() in ("1", "true", "yes", "y")
        elif column and value:
            data["fields"][re.sub(r"\W", "_", column)[:64]] = value
    return data


def import_rows(rows: list[dict], first_row: int, seen: dict[str, int], user_id: int | None = None) -> dict:
    """Create or update a contact per row (flushed). Returns counts and the rows refused, each with its
    line number in the file (the header is line 1) and the reason. `seen` maps numbers to their first
    line, across batches, so a number repeated in the file is refused the second time."""
    report = {"created": 0, "updated": 0, "refused": []}
    declared = contact_fields.declared()  # once per batch: a row's typed fields are checked with it
    for offset, row in enumerate(rows):
        line = first_row + offset
        data = row_data(row)
        try:
            wa_id = normalize_number(data.get("wa_id", ""))
            if wa_id in seen:
                raise ContactError("wa_id", f"the same number as line {seen[wa_id]}")
            with db.session.begin_nested():
                existing = db.session.scalar(select(Contact).where(Contact.wa_id == wa_id))
                if existing is None:
                    create({**data, "wa_id": wa_id}, source="import", user_id=user_id, declared=declared)
                    report["created"] += 1
                else:
                    changes = {k: v for k, v in data.items() if k != "wa_id"}
                    update(existing, changes, source="import", user_id=user_id, declared=declared)
                    report["updated"] += 1
            seen[wa_id] = line
        except ContactError as exc:
            number = (data.get("wa_id") or "")[:40]
            report["refused"].append(
                {"line": line, "number": number, "field": exc.field, "reason": exc.reason}
            )
    return report


# --- imports and their progress -------------------------------------------------------------------

# Files up to this many rows are imported within the request; larger ones by a job, with progress.
INLINE_ROWS = 500
BATCH_ROWS = 200
# The report keeps this many refused rows (the count is always complete).
MAX_REPORTED = 1000
IMPORT_TTL = 7 * 24 * 3600
_IMPORT_KEY = "flowapp:contact-import:{id}"


def start_import(text: str, user_id: int | None = None) -> tuple[dict, Work | None]:
    """Import a CSV file: within the call when it is small, else by a job the caller enqueues.

    Returns the import's progress record ({"id", "status", "total", "processed", "created",
    "updated", "refused_count", "refused", ...}) and the job that imports a large file (None when
    the file was imported already), for the caller to enqueue once it commits. Raises ContactError
    for a file that cannot be read.
    """
    header, rows = parse_csv(text)
    progress = {
        "id": secrets.token_hex(8),
        "status": "queued",
        "total": len(rows),
        "processed": 0,
        "created": 0,
        "updated": 0,
        "refused_count": 0,
        "refused": [],
        "user_id": user_id,
        "created_at": utcnow().isoformat(),
        "finished_at": None,
        "error": None,
    }
    if len(rows) <= INLINE_ROWS:
        _merge(progress, import_rows(rows, 2, {}, user_id))
        _finish(progress)
        save_progress(progress)
        return progress, None
    _redis().set(_IMPORT_KEY.format(id=progress["id"]) + ":csv", text.encode(), ex=IMPORT_TTL)
    save_progress(progress)
    return progress, Work("import_contacts", (progress["id"],), job_id=f"contact-import-{progress['id']}")


def run_import(import_id: str) -> dict:
    """The job's body: import a stored file in batches, committing and recording progress after each."""
    progress = get_progress(import_id)
    raw = _redis().get(_IMPORT_KEY.format(id=import_id) + ":csv")
    if progress is None or progress["status"] == "done":
        return progress or {"status": "missing"}
    if raw is None:
        progress.update(status="failed", error="the uploaded file expired before it was imported")
        save_progress(progress)
        return progress
    _, rows = parse_csv(raw.decode())
    progress["status"] = "running"
    seen: dict[str, int] = {}
    # A retried job starts again from the top: rows done before are simply updated again.
    progress.update(processed=0, created=0, updated=0, refused_count=0, refused=[])
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        _merge(progress, import_rows(batch, start + 2, seen, progress.get("user_id")))
        db.session.commit()
        save_progress(progress)
    _finish(progress)
    save_progress(progress)
    _redis().delete(_IMPORT_KEY.format(id=import_id) + ":csv")
    return progress


def get_progress(import_id: str) -> dict | None:
    """An import's progress record, or None (unknown, or older than a week)."""
    if not re.fullmatch(r"[0-9a-f]{16}", import_id or ""):
        return None
    raw = _redis().get(_IMPORT_KEY.format(id=import_id))
    return json.loads(raw) if raw else None


def save_progress(progress: dict) -> None:
    """Store an import's progress record in Redis for a week."""
    _redis().set(_IMPORT_KEY.format(id=progress["id"]), json.dumps(progress), ex=IMPORT_TTL)


def _merge(progress: dict, report: dict) -> None:
    progress["created"] += report["created"]
    progress["updated"] += report["updated"]
    progress["refused_count"] += len(report["refused"])
    room = MAX_REPORTED - len(progress["refused"])
    progress["refused"].extend(report["refused"][: max(0, room)])
    progress["processed"] = progress["created"] + progress["updated"] + progress["refused_count"]


def _finish(progress: dict) -> None:
    progress["status"] = "done"
    progress["finished_at"] = utcnow().isoformat()


def _redis():
    return get_redis()
