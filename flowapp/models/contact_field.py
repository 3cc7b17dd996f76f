"""Custom contact fields declared in Settings, each with a type every writer is held to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow

FIELD_TYPES = ("text", "number", "date", "choice")


class ContactField(Base):
    """A declared custom field. Values live in Contact.fields under `key`; a key nobody declared is
    still stored (as RapidPro's flows create text fields), but only declared keys are typed."""

    __tablename__ = "contact_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16), default="text")
    # For type "choice": the allowed values, in the order forms show them.
    choices: Mapped[list] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ContactField {self.key} {self.type}>"
