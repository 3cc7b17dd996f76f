"""Contact groups: static lists people add contacts to, and dynamic segments defined by a query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow

GROUP_KINDS = ("static", "dynamic")


class ContactGroup(Base):
    __tablename__ = "contact_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="static")
    # A dynamic segment's conditions (see flowapp.services.segments); None for a static group.
    query: Mapped[dict | None] = mapped_column(JSONType)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<ContactGroup {self.id} {self.kind} {self.name!r}>"


class GroupMember(Base):
    """A contact in a static group. Dynamic segments have no members stored: they are a query."""

    __tablename__ = "contact_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
