"""WHERE clauses on Contact shared by the contacts page's filters, segments and audiences, so they
agree on what "has the tag vip" or "city is Lisbon" means. Dialect-aware: JSONB containment on
PostgreSQL (served by the GIN indexes on tags and fields), json_each/json_extract on SQLite.
"""

from __future__ import annotations

import math
import re

from sqlalchemy import exists, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from flowapp.extensions import db
from flowapp.models import Contact

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def has_tag(tag: str):
    """Contacts whose tags hold `tag`: JSONB containment (GIN index) on PostgreSQL."""
    if postgresql():
        return type_coerce(Contact.tags, JSONB).contains([tag])
    items = func.json_each(Contact.tags).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == tag))


def field_equals(name: str, value: str):
    """Contacts whose custom field `name` is `value`; "42" also matches the number 42, "true" true."""
    if postgresql():
        fields = type_coerce(Contact.fields, JSONB)
        candidates = [value] + [typed for typed in _typed(value) if typed is not None]
        return or_(*(fields.contains({name: candidate}) for candidate in candidates))
    stored = func.json_extract(Contact.fields, f'$."{name}"')
    return or_(stored == value, *(stored == typed for typed in _typed(value) if typed is not None))


def _typed(value: str) -> tuple:
    """`value` as the JSON number or boolean it may have been stored as."""
    boolean = {"true": True, "false": False}.get(value.lower())
    try:
        number = int(value) if re.fullmatch(r"-?\d{1,15}", value) else float(value)
    except ValueError:
        number = None
    if isinstance(number, float) and not math.isfinite(number):
        number = None  # "nan" and "inf" are text here: NaN is not JSON, and PostgreSQL refuses it
    return (boolean, number)


def postgresql() -> bool:
    """Whether the session's database is PostgreSQL (else SQLite)."""
    return db.session.get_bind().dialect.name == "postgresql"
