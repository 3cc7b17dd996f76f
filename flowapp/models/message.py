"""Messages in and out, and the delivery statuses Meta reports for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow
from flowapp.models.conversation import Conversation

DIRECTIONS = ("in", "out")
# Outbound statuses in the only order they may move; `failed` is terminal and recorded apart.
STATUS_ORDER = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4}
STATUSES = ("queued", "sent", "delivered", "read", "played", "failed", "received")
AUTHOR_TYPES = ("contact", "run", "user", "system")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A thread reads messages of one conversation in time order.
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
        # The send pipeline and its sweeps look for queued messages oldest first.
        Index("ix_messages_status_created_at", "status", "created_at"),
        # Inbox search by message text: trigram GIN on PostgreSQL (ILIKE '%word%'); SQLite, which
        # has no GIN, gets an empty partial index of the same name and scans.
        Index(
            "ix_messages_text_trgm",
            "text",
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
            sqlite_where=text("0"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    # Meta's message id. Unique when present (several NULLs are allowed): the same inbound message
    # delivered twice is stored once.
    wamid: Mapped[str | None] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(32), default="text")
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(255))
    error_details: Mapped[str | None] = mapped_column(Text)
    reply_to_wamid: Mapped[str | None] = mapped_column(String(255))
    author_type: Mapped[str] = mapped_column(String(16), default="contact")
    author_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("automation_runs.id", ondelete="SET NULL"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The graph node that produced an automated message (for per-node delivery analytics).
    node_id: Mapped[str | None] = mapped_column(String(64))
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship()

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.direction} {self.type} {self.status}>"


class StatusEvent(Base):
    """One status webhook for one wamid, stored once per (wamid, status).

    The unique key deduplicates Meta's redeliveries. A status may arrive before the send job has
    stored the wamid it refers to; it stays here unapplied and is applied when the message appears.
    """

    __tablename__ = "status_events"
    __table_args__ = (UniqueConstraint("wamid", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wamid: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    errors: Mapped[list] = mapped_column(JSONType, default=list)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
