"""The import's column mapping: read any CSV's header and first rows for a preview, guess what each
column holds, and rewrite the file with the columns the importer knows (services/contacts.py), so
a file whose columns are called "Telemóvel" or "Cliente" imports without editing it first."""

from __future__ import annotations

import csv
import io
import re

from flowapp.services.contacts import NAME_COLUMNS, NUMBER_COLUMNS, ContactError, csv_reader

# What a column can be: its canonical header for the importer ("field" keeps the column's own name).
TARGETS = {
    "number": "phone",
    "name": "name",
    "birthday": "birthday",
    "timezone": "timezone",
    "language": "language",
    "tags": "tags",
    "opted_out": "opted_out",
    "field": None,
    "ignore": None,
}
FIELD_NAME = re.compile(r"[^a-z0-9_]+")
PREVIEW_ROWS = 5


def read_table(text: str, limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and rows (up to `limit`) of a CSV file, sniffing , ; or tab. ContactError when
    it cannot be read."""
    reader = csv_reader(text)
    try:
        header = [h.strip() for h in next(reader)]
        rows = []
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                if limit is not None and len(rows) >= limit:
                    break
    except StopIteration:
        raise ContactError("file", "the file is empty") from None
    except csv.Error as exc:
        raise ContactError("file", f"line {reader.line_num} cannot be read as CSV: {exc}") from None
    return header, rows


def guess(column: str) -> str:
    """What a column most likely holds, from its name."""
    name = column.strip().lower()
    if name in NUMBER_COLUMNS or re.search(r"phone|mobile|whats|tel|number|n[uú]mero", name):
        return "number"
    if name in NAME_COLUMNS or re.search(r"name|nome|nombre|cliente|customer", name):
        return "name"
    if re.fullmatch(r"lang(uage)?|l[ií]ngua|idioma|sprache|langue", name):
        return "language"
    for target in ("birthday", "timezone", "tags", "opted_out"):
        if name == target:
            return target
    return "field" if name else "ignore"


def field_name(column: str) -> str:
    """A custom field's name from a column's: lower case, letters, digits and underscores."""
    name = FIELD_NAME.sub("_", column.strip().lower()).strip("_")[:64]
    return (
        name if name and name not in TARGETS and name not in ("phone", *NUMBER_COLUMNS, *NAME_COLUMNS) else ""
    )


def remap(text: str, choices: list[str]) -> str:
    """The file rewritten with canonical headers: one choice per column (a TARGETS key). Exactly one
    column must be the number; ignored columns are left out."""
    header, rows = read_table(text)
    if len(choices) != len(header) or any(choice not in TARGETS for choice in choices):
        raise ContactError("mapping", "choose what each column holds")
    if choices.count("number") != 1:
        raise ContactError("mapping", "choose exactly one column as the phone number")
    for target in ("name", "birthday", "timezone", "language", "tags", "opted_out"):
        if choices.count(target) > 1:
            raise ContactError("mapping", f"only one column can be the {target.replace('_', ' ')}")
    keep, names = [], []
    for index, (column, choice) in enumerate(zip(header, choices, strict=True)):
        if choice == "ignore":
            continue
        name = TARGETS[choice] or field_name(column)
        if not name:
            raise ContactError("mapping", f"column {column!r} needs a plainer name to become a field")
        if name in names:
            raise ContactError("mapping", f"two columns would both be the field {name!r}")
        keep.append(index)
        names.append(name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    for row in rows:
        writer.writerow([row[i] if i < len(row) else "" for i in keep])
    return out.getvalue()
