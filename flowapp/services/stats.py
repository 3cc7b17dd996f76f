"""Statistics of an automation: runs by status, visits per node and per edge (for drop-off), and for
each send node how its messages fared (delivered, read, failed and why)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from flowapp.extensions import db
from flowapp.models import Automation, AutomationLog, AutomationRun, Contact, Message, utcnow

# Log events the trace shows as a step's outcome (the rest are bookkeeping: "version", "ended").
TRACE_HIDDEN = frozenset({"version"})


def automation_stats(automation: Automation, since: datetime | None = None) -> dict:
    """Everything the canvas overlay and the API show, for runs started since `since` (all by default)."""
    since = since or datetime(1970, 1, 1, tzinfo=utcnow().tzinfo)
    runs = select(AutomationRun.id).where(
        AutomationRun.automation_id == automation.id, AutomationRun.started_at >= since
    )
    by_status = dict(
        db.session.execute(
            select(AutomationRun.status, func.count())
            .where(AutomationRun.id.in_(runs))
            .group_by(AutomationRun.status)
        ).all()
    )
    visits = dict(
        db.session.execute(
            select(AutomationLog.node_id, func.count())
            .where(AutomationLog.run_id.in_(runs), AutomationLog.event == "entered")
            .group_by(AutomationLog.node_id)
        ).all()
    )
    edges: dict[str, int] = {}
    for node_id, detail in db.session.execute(
        select(AutomationLog.node_id, AutomationLog.detail).where(
            AutomationLog.run_id.in_(runs), AutomationLog.event == "port"
        )
    ):
        key = f"{node_id}:{(detail or {}).get('port')}"
        edges[key] = edges.get(key, 0) + 1
    return {
        "runs": {
            status: by_status.get(status, 0)
            for status in ("running", "waiting", "completed", "failed", "expired", "interrupted")
        },
        "runs_started": sum(by_status.values()),
        "node_visits": visits,
        "edge_visits": edges,
        "drop_off": _drop_off(visits, edges),
        "sends": send_node_stats(automation, since),
    }


def _drop_off(visits: dict, edges: dict) -> dict:
    """Per node: visits that left by no port (the run waited there and never came back, or ended)."""
    left: dict[str, int] = {}
    for key, count in edges.items():
        node = key.rsplit(":", 1)[0]
        left[node] = left.get(node, 0) + count
    return {node: max(0, count - left.get(node, 0)) for node, count in visits.items()}


def send_node_stats(automation: Automation, since: datetime) -> dict:
    """{node_id: {"queued", "sent", "delivered", "read", "failed", "errors": {code: count}}}."""
    rows = db.session.execute(
        select(Message.node_id, Message.status, Message.error_code, func.count())
        .join(AutomationRun, AutomationRun.id == Message.author_run_id)
        .where(AutomationRun.automation_id == automation.id, Message.created_at >= since)
        .group_by(Message.node_id, Message.status, Message.error_code)
    ).all()
    result: dict[str, dict] = {}
    for node, status, code, count in rows:
        entry = result.setdefault(
            node or "?", {"queued": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0, "errors": {}}
        )
        entry[status] = entry.get(status, 0) + count
        if status == "failed" and code is not None:
            entry["errors"][str(code)] = entry["errors"].get(str(code), 0) + count
    for entry in result.values():
        # read implies delivered implies sent: counts are cumulative, as people read them
        entry["delivered"] += entry["read"]
        entry["sent"] += entry["delivered"]
    return result


def runs_last_days(automation: Automation, days: int = 7) -> int:
    """Runs of the automation started in the last `days` days."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AutomationRun)
            .where(
                AutomationRun.automation_id == automation.id,
                AutomationRun.started_at >= utcnow() - timedelta(days=days),
            )
        )
        or 0
    )


def runs_last_days_by_automation(days: int = 7) -> dict[int, int]:
    """{automation_id: runs started in the last `days` days}, in one query (for the list page)."""
    rows = db.session.execute(
        select(AutomationRun.automation_id, func.count())
        .where(AutomationRun.started_at >= utcnow() - timedelta(days=days))
        .group_by(AutomationRun.automation_id)
    ).all()
    return dict(rows)


def recent_runs(automation: Automation, search: str = "", limit: int = 20) -> list[AutomationRun]:
    """The automation's most recent runs, newest first; `search` filters by contact name or number."""
    query = (
        select(AutomationRun)
        .join(Contact, Contact.id == AutomationRun.contact_id)
        .where(AutomationRun.automation_id == automation.id)
        .order_by(AutomationRun.id.desc())
        .limit(limit)
    )
    search = search.strip()
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            or_(
                func.lower(Contact.display_name).like(pattern),
                func.lower(Contact.profile_name).like(pattern),
                Contact.wa_id.like(f"%{search.lstrip('+')}%"),
            )
        )
    return list(db.session.scalars(query))


def run_trace(run: AutomationRun) -> dict:
    """One run's path for the canvas: its steps (node, event, detail, time), the nodes it entered
    and the ports it took ("node:port"), in order."""
    logs = db.session.scalars(
        select(AutomationLog).where(AutomationLog.run_id == run.id).order_by(AutomationLog.id)
    )
    steps, nodes, ports = [], [], []
    for entry in logs:
        if entry.event in TRACE_HIDDEN:
            continue
        detail = entry.detail or {}
        steps.append({"node": entry.node_id, "event": entry.event, "detail": detail, "at": entry.created_at})
        if entry.event == "entered" and entry.node_id not in nodes:
            nodes.append(entry.node_id)
        elif entry.event == "port":
            ports.append(f"{entry.node_id}:{detail.get('port')}")
    return {"steps": steps, "nodes": nodes, "ports": ports, "current": run.current_node}
