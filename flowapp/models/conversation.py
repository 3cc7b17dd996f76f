"""A conversation is the thread between the business and one contact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow
from flowapp.models.contact import Contact
from flowapp.models.user import User

CONVERSATION_STATUSES = ("open", "pending", "closed")

# PostgreSQL-only indexes (GIN) get an empty partial index of the same name on SQLite, which has no
# GIN: the schema then has the same index names on both databases, and SQLite searches by scanning.
_NOT_ON_SQLITE = text("0")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The inbox lists by recency, filtered by status (and assignee).
        Index("ix_conversations_status_last_message_at", "status", "last_message_at"),
        Index("ix_conversations_last_message_at", "last_message_at"),
        Index("ix_conversations_assignee_id_last_message_at", "assignee_id", "last_message_at"),
        # The "needs a person" filter, newest first, without walking every conversation.
        Index("ix_conversations_needs_human_last_message_at", "needs_human", "last_message_at"),
        # The inbox's live-update fingerprint reads max(updated_at) on every poll.
        Index("ix_conversations_updated_at", "updated_at"),
        # The label filter: JSONB containment (labels @> '["vip"]') on PostgreSQL.
        Index(
            "ix_conversations_labels",
            "labels",
            postgresql_using="gin",
            postgresql_ops={"labels": "jsonb_path_ops"},
            sqlite_where=_NOT_ON_SQLITE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One thread per contact: WhatsApp shows the business one chat per person, and so does the inbox.
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    bot_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by a hand-off node: the conversation waits for a person, with the reason shown in the inbox.
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff_reason: Mapped[str | None] = mapped_column(String(500))
    labels: Mapped[list] = mapped_column(JSONType, default=list)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Denormalised so the list needs no join to messages (100,000 conversations must list fast).
    last_message_preview: Mapped[str | None] = mapped_column(String(200))
    last_inbound_message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Conversation {self.id} contact={self.contact_id} {self.status}>"


class ConversationRead(Base):
    """How far each user has read a conversation: unread counts per user."""

    __tablename__ = "conversation_reads"
    # A user's latest read: part of the inbox's live-update fingerprint.
    __table_args__ = (Index("ix_conversation_reads_user_id_read_at", "user_id", "read_at"),)

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """A saved reply an agent inserts with its shortcut."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(40), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Inbox search by name or number: trigram GIN over the contact's names and number (ILIKE '%ana%'
# uses it on PostgreSQL). Declared here, beside the inbox that searches with it.
Index(
    "ix_contacts_search_trgm",
    Contact.__table__.c.display_name,
    Contact.__table__.c.profile_name,
    Contact.__table__.c.wa_id,
    postgresql_using="gin",
    postgresql_ops={"display_name": "gin_trgm_ops", "profile_name": "gin_trgm_ops", "wa_id": "gin_trgm_ops"},
    sqlite_where=_NOT_ON_SQLITE,
)
