"""Automations: a trigger beside a node graph, edited as a draft and published as immutable versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow
from flowapp.models.user import User

AUTOMATION_STATUSES = ("draft", "active", "paused")


class Automation(Base):
    __tablename__ = "automations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # Among automations whose triggers match the same message, the higher priority wins.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # The graph being edited. Publishing copies it into a new AutomationVersion.
    draft: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The automation's revision: SQLAlchemy bumps it on every change to the row (the draft, the name,
    # the status...) and its UPDATE carries `WHERE draft_revision = <the one read>`, so two writers
    # racing cannot both win. A client sends the revision it read; an older one is a conflict (409).
    # The column keeps its first name: the API has always shown it as "draft_revision".
    draft_revision: Mapped[int] = mapped_column(Integer, default=0)
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("automation_versions.id", use_alter=True, ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[AutomationVersion]] = relationship(
        back_populates="automation",
        foreign_keys="AutomationVersion.automation_id",
        order_by="AutomationVersion.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    published_version: Mapped[AutomationVersion | None] = relationship(
        foreign_keys=[published_version_id], post_update=True
    )
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": draft_revision}

    def __repr__(self) -> str:
        return f"<Automation {self.id} {self.name!r} {self.status}>"


class AutomationVersion(Base):
    """A published graph. Never changed after it is written: runs point at the version they began on."""

    __tablename__ = "automation_versions"
    __table_args__ = (UniqueConstraint("automation_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    graph: Mapped[dict] = mapped_column(JSONType)
    trigger: Mapped[dict] = mapped_column(JSONType, default=dict)
    spec_version: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    automation: Mapped[Automation] = relationship(back_populates="versions", foreign_keys=[automation_id])
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AutomationVersion {self.automation_id}#{self.number}>"
