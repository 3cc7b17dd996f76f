"""One call to a language model: who made it, what it cost, how it went (issue 14)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base, UTCDateTime, utcnow

# ok: answered; error: failed after the client's retries; budget: refused before calling (over budget)
AI_CALL_STATUSES = ("ok", "error", "budget")


class AICall(Base):
    __tablename__ = "ai_calls"
    __table_args__ = (
        # Budgets sum today's tokens, for the account and for one automation.
        Index("ix_ai_calls_automation_id_created_at", "automation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    automation_id: Mapped[int | None] = mapped_column(ForeignKey("automations.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("automation_runs.id", ondelete="SET NULL"))
    node_id: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(200))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    # Micro-units (1e-6) of the prices' currency; None when the model has no price in Settings.
    cost_micros: Mapped[int | None] = mapped_column(BigInteger)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))
    # What went wrong, for people; never the key (the client masks it) nor the prompt.
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
