"""Every webhook body Meta delivered, stored raw before it is acknowledged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, UTCDateTime, utcnow


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        # Retention deletes processed bodies by age; the sweep finds unrouted ones.
        Index("ix_webhook_events_processed_at_id", "processed_at", "id"),
        # A contact's pending events in arrival order (small: only what waits is in it).
        Index(
            "ix_webhook_events_contact_pending",
            "contact_key",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
        # The bulk lane's pending events in arrival order.
        Index(
            "ix_webhook_events_bulk_pending",
            "id",
            postgresql_where=text("processed_at IS NULL AND lane = 'bulk'"),
            sqlite_where=text("processed_at IS NULL AND lane = 'bulk'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The exact bytes Meta signed; parsing happens later, in a worker.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # SHA-256 of the body: the same delivery retried by Meta is stored once.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="meta")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # After a failed attempt, not again before this time.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # Where processing takes it (flowapp/pipeline): "contact" events are handled per sender, in
    # arrival order, one at a time; "bulk" events (statuses and the rest) in batches, in parallel.
    # NULL: stored before events were routed; the sweep routes it.
    lane: Mapped[str | None] = mapped_column(String(8))
    # The sender's wa_id, for the contact lane.
    contact_key: Mapped[str | None] = mapped_column(String(20))
    # The business number it came to: work is shared fairly between numbers.
    phone_number_id: Mapped[str | None] = mapped_column(String(64))
    # Failed on every attempt: kept, shown to admins, and its contact's later events wait behind it
    # until someone retries or dismisses it.
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<WebhookEvent {self.id} processed={self.processed_at is not None}>"
