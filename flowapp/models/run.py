"""Runs of an automation for one contact, and the log of every step they took."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flowapp.models.automation import Automation, AutomationVersion
from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow
from flowapp.models.contact import Contact

RUN_STATUSES = ("running", "waiting", "completed", "failed", "expired", "interrupted")
ACTIVE_RUN_STATUSES = ("running", "waiting")

_ACTIVE = text("status IN ('running', 'waiting')")


class AutomationRun(Base):
    __tablename__ = "automation_runs"
    __table_args__ = (
        # A reply goes to the contact's active run first.
        Index("ix_automation_runs_contact_id_status", "contact_id", "status"),
        # The deadline sweep reads waiting runs by deadline.
        Index("ix_automation_runs_status_wait_deadline", "status", "wait_deadline"),
        # One active run per contact and automation, enforced by the database itself.
        Index(
            "uq_automation_runs_one_active",
            "automation_id",
            "contact_id",
            unique=True,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("automation_versions.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # A run started by a "run another automation" node returns to its parent when it ends.
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("automation_runs.id", ondelete="SET NULL"))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="running")
    current_node: Mapped[str | None] = mapped_column(String(64))
    variables: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The engine's resumable state (what the run waits for, retries left, the call stack).
    state: Mapped[dict] = mapped_column(JSONType, default=dict)
    trigger: Mapped[dict] = mapped_column(JSONType, default=dict)
    wait_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Taken over by a person in the inbox: the run keeps its place but receives nothing.
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    automation: Mapped[Automation] = relationship()
    version: Mapped[AutomationVersion] = relationship()
    contact: Mapped[Contact] = relationship()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    def __repr__(self) -> str:
        return f"<AutomationRun {self.id} {self.status} at {self.current_node}>"


class AutomationLog(Base):
    """One step of a run: the node, what happened, and its details (input, port, effects)."""

    __tablename__ = "automation_logs"
    __table_args__ = (Index("ix_automation_logs_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("automation_runs.id", ondelete="CASCADE"))
    node_id: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    run: Mapped[AutomationRun] = relationship()


class Broadcast(Base):
    """An automation started for an audience (manual, API or schedule), with visible progress."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id", ondelete="CASCADE"))
    audience: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    started: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
