"""Every webhook body Meta delivered, stored raw before it is acknowledged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, UTCDateTime, utcnow


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        # The processor reads unprocessed events in arrival order.
        Index("ix_webhook_events_processed_at_id", "processed_at", "id"),
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

    def __repr__(self) -> str:
        return f"<WebhookEvent {self.id} processed={self.processed_at is not None}>"
