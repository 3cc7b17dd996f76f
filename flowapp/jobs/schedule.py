"""Periodic work, declared in one list and reconciled with rq-scheduler when the scheduler starts.

Each entry's job id is derived from its definition (redash's pattern): starting the scheduler
again, or on a second machine, replaces the entries instead of duplicating them, and an entry
removed from the list is cancelled.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from rq_scheduler import Scheduler

log = logging.getLogger("flowapp.scheduler")

ID_PREFIX = "periodic-"


@dataclass(frozen=True)
class Periodic:
    """A job run on a cron schedule (UTC), or every `every` seconds when cron is empty."""

    func: str  # dotted path, so that this module imports none of the jobs
    cron: str
    queue: str = "default"
    timeout: int = 600
    every: int | None = None

    @property
    def job_id(self) -> str:
        definition = f"{self.func}|{self.cron}|{self.queue}" + (f"|{self.every}" if self.every else "")
        digest = hashlib.sha1(definition.encode()).hexdigest()[:12]
        return f"{ID_PREFIX}{self.func.rsplit('.', 1)[-1]}-{digest}"


PERIODIC: list[Periodic] = [
    # Every 15 s: what Redis lost (a flush, an outage, a killed worker's contact) is found again soon.
    Periodic("flowapp.jobs.inbound.sweep_inbound", "", queue="webhooks", timeout=120, every=15),
    Periodic("flowapp.jobs.sends.kick_outbox", "* * * * *", queue="sends"),
    Periodic("flowapp.jobs.sends.probe_token", "* * * * *", queue="sends"),
    Periodic("flowapp.jobs.sends.sync_templates", "17 3 * * *"),
    Periodic("flowapp.jobs.automations.fire_scheduled_triggers", "* * * * *"),
    Periodic("flowapp.jobs.automations.sweep_deadlines", "* * * * *"),
    Periodic("flowapp.jobs.automations.expire_runs", "7 * * * *"),
    Periodic("flowapp.jobs.automations.aggregate_analytics", "5 * * * *"),
    Periodic("flowapp.jobs.automations.cleanup_logs", "30 4 * * 0"),
]


def reconcile(scheduler: Scheduler, periodic: list[Periodic] | None = None) -> list[str]:
    """Make the scheduler hold exactly the periodic jobs in `periodic`. Returns their ids."""
    periodic = PERIODIC if periodic is None else periodic
    wanted = {entry.job_id: entry for entry in periodic}
    for job in scheduler.get_jobs():
        if job.id.startswith(ID_PREFIX) and job.id not in wanted:
            log.info("cancelling periodic job %s (no longer declared)", job.id)
            scheduler.cancel(job)
    existing = {job.id for job in scheduler.get_jobs()}
    for job_id, entry in wanted.items():
        if job_id in existing:
            continue
        if entry.every:
            scheduler.schedule(
                datetime.now(UTC),
                func=entry.func,
                id=job_id,
                queue_name=entry.queue,
                timeout=entry.timeout,
                interval=entry.every,
                repeat=None,
            )
            log.info("scheduled %s every %ds on %s", entry.func, entry.every, entry.queue)
            continue
        scheduler.cron(
            entry.cron,
            func=entry.func,
            id=job_id,
            queue_name=entry.queue,
            timeout=entry.timeout,
            use_local_timezone=False,
        )
        log.info("scheduled %s (%s) on %s", entry.func, entry.cron, entry.queue)
    return list(wanted)
