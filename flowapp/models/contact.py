"""The people who write to the business on WhatsApp."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow

# GIN indexes exist on PostgreSQL only; SQLite gets an empty partial index of the same name (as in
# conversation.py), so both databases have the same index names.
_NOT_ON_SQLITE = text("0")


class Contact(Base):
    __tablename__ = "contacts"
    # The contacts page's filters (tag, field = value, seen within N days) on 100,000 contacts. Its
    # search in custom field values uses ix_contacts_fields_trgm (see base.PG_ONLY_INDEXES).
    __table_args__ = (
        Index(
            "ix_contacts_tags",
            "tags",
            postgresql_using="gin",
            postgresql_ops={"tags": "jsonb_path_ops"},
            sqlite_where=_NOT_ON_SQLITE,
        ),
        Index(
            "ix_contacts_fields",
            "fields",
            postgresql_using="gin",
            postgresql_ops={"fields": "jsonb_path_ops"},
            sqlite_where=_NOT_ON_SQLITE,
        ),
        Index("ix_contacts_last_inbound_at", "last_inbound_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # E.164 digits without the plus, as Meta sends them in `wa_id` / `from`.
    wa_id: Mapped[str] = mapped_column(String(20), unique=True)
    # Meta's business-scoped user id (BSUID, "US.…"), when a webhook carries it.
    bsuid: Mapped[str | None] = mapped_column(String(64), index=True)
    profile_name: Mapped[str | None] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(256))
    birthday: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[str | None] = mapped_column(String(64))
    # ISO 639 code (e.g. "pt", or "pt-BR"): set by an agent, the API, an import or a node.
    language: Mapped[str | None] = mapped_column(String(16))
    fields: Mapped[dict] = mapped_column(JSONType, default=dict)
    tags: Mapped[list] = mapped_column(JSONType, default=list)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    first_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def name(self) -> str:
        """What to call the contact: the name the business gave, else their profile name, else the number."""
        return self.display_name or self.profile_name or f"+{self.wa_id}"

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.wa_id}>"
