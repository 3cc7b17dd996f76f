"""The outbox: outbound messages waiting to be sent, one row per message until it leaves.

Kept apart from `messages` so that the send pipeline's queries touch a small table however many
messages the inbox holds. A row exists while its message is queued; sending (or failing for good)
deletes it. The message with the lowest id of a conversation is the head of its line: only heads are
sent, which keeps one contact's messages in the order they were created, retries included.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, UTCDateTime, utcnow


class OutboxEntry(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_conversation_id_message_id", "conversation_id", "message_id"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(Integer)
    # Not before this time (a retry's backoff, or a per-recipient pause after a pair-rate-limit error).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A sender has claimed the row until then; an expired lease means that sender died.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # How many times Meta answered 131056 (pair rate limit) in a row: the backoff is 4**n seconds.
    pair_backoffs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
