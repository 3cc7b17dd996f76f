"""Aggregated counters, so that analytics pages read a few rows instead of scanning messages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flowapp.models.base import Base


class AnalyticsCounter(Base):
    """One number for one day, optionally for one automation and one node (or edge).

    `automation_id` 0 and `node_id` "" mean "all": sentinels instead of NULL so that the unique key
    works the same on SQLite and PostgreSQL (NULLs never collide in a unique index).
    """

    __tablename__ = "analytics_counters"
    __table_args__ = (UniqueConstraint("day", "metric", "automation_id", "node_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(64))
    automation_id: Mapped[int] = mapped_column(Integer, default=0)
    node_id: Mapped[str] = mapped_column(String(140), default="")
    value: Mapped[int] = mapped_column(BigInteger, default=0)
