"""The history of a contact's opt-out: every change, where it came from and who made it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, UTCDateTime, utcnow

# keyword: the customer wrote STOP/START; agent: the inbox's contact panel; api: the JSON API;
# import: a CSV import; automation: an "update contact" node; whatsapp: Meta refused a message because
# the customer stopped the business's marketing messages in WhatsApp (error 131050).
CONSENT_SOURCES = ("keyword", "agent", "api", "import", "automation", "whatsapp")


class ConsentChange(Base):
    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)  # the state after the change
    source: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The customer's words (or an automation's id): kept even when the message is deleted.
    text: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        state = "out" if self.opted_out else "in"
        return f"<ConsentChange {self.id} contact={self.contact_id} {state} by {self.source}>"
