"""Flask CLI commands: `flask --app wsgi <command>`."""

from __future__ import annotations

import logging
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from flowapp.extensions import db, get_redis

log = logging.getLogger("flowapp.cli")


def register_cli(app: Flask) -> None:
    for command in (
        create_user,
        create_token,
        worker,
        scheduler,
        dev,
        ensure_demo_user,
        sync_templates,
        aggregate_analytics,
    ):
        app.cli.add_command(command)


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "agent"]), default="admin", show_default=True)
@click.option("--name", default="")
@with_appcontext
def create_user(email: str, password: str, role: str, name: str) -> None:
    """Create a user who can log in."""
    from flowapp.services.users import UserError
    from flowapp.services.users import create_user as create

    try:
        user = create(email, password, role=role, name=name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")


@click.command("create-token")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="What uses the token (shown in Settings).")
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Create an API token and print it (once: only its hash is stored)."""
    from flowapp.services import api_tokens
    from flowapp.services.users import find_by_email

    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    try:
        token, value = api_tokens.create(user, name)
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"Token {token.name!r} for {user.email} (prefix {token.prefix}); copy it now, it is not shown again:"
    )
    click.echo(value)


@click.command("aggregate-analytics")
@click.option("--days", default=2, show_default=True, type=click.IntRange(1, 3660), help="Days to recompute.")
@with_appcontext
def aggregate_analytics(days: int) -> None:
    """Recompute the analytics counters now (the scheduler does the last two days hourly)."""
    from flowapp.services import maintenance

    count = maintenance.aggregate_analytics(days)
    db.session.commit()
    click.echo(f"{count} counters for the last {days} days")


@click.command("ensure-demo-user")
@with_appcontext
def ensure_demo_user() -> None:
    """Create a demo admin when there is no user at all, and print how to log in."""
    from flowapp.devserver import ensure_demo_login

    click.echo(ensure_demo_login())


@click.command("sync-templates")
@with_appcontext
def sync_templates() -> None:
    """Fetch the business account's message templates from Meta now."""
    from flowapp.services import graph, templates
    from flowapp.whatsapp.errors import GraphError

    try:
        counts = templates.sync(graph.client())
    except GraphError as exc:
        raise click.ClickException(f"Meta refused: {exc.reason}") from None
    db.session.commit()
    click.echo(f"Templates: {counts['created']} new, {counts['updated']} updated, {counts['gone']} removed")


@click.command("worker")
@click.option(
    "--queues",
    "-q",
    multiple=True,
    help="Queues to serve (default: webhooks, sends, default; the AI steps' queue is ai).",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker on Flowapp's queues, with RQ's scheduler for retries."""
    from rq import Queue
    from rq.worker import DequeueStrategy

    from flowapp.extensions import QUEUES
    from flowapp.jobs.worker import FlowappWorker

    app = current_app._get_current_object()
    connection = get_redis(app)
    names = queues or QUEUES
    rq_worker = FlowappWorker(
        [Queue(n, connection=connection) for n in names], connection=connection, app=app
    )
    log.info("worker %s serving %s", rq_worker.name, ", ".join(names))
    # with_scheduler: RQ's own scheduler moves jobs retried with an interval back to their queues.
    # Round robin: a steady stream of inbound webhooks must not starve the sends (and the other way
    # round) on a machine with a single worker.
    rq_worker.work(
        burst=burst,
        with_scheduler=True,
        logging_level=current_app.config["LOG_LEVEL"],
        dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
    )


@click.command("scheduler")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between checks for due jobs.")
@click.option("--burst", is_flag=True, help="Enqueue what is due once, then stop.")
@with_appcontext
def scheduler(interval: float, burst: bool) -> None:
    """Run rq-scheduler after reconciling Flowapp's periodic jobs."""
    from rq_scheduler import Scheduler

    from flowapp import work
    from flowapp.jobs import schedule
    from flowapp.services import deadlines

    app = current_app._get_current_object()
    rq_scheduler = Scheduler(queue_name="default", connection=get_redis(app), interval=interval)
    schedule.reconcile(rq_scheduler)
    # The database holds every wait's deadline; Redis may have lost their jobs (flushed, restarted).
    wake_ups = deadlines.wake_ups()
    work.submit(wake_ups, app)
    log.info("scheduled %d deadlines from the database", len(wake_ups))
    _first_template_sync(app)
    db.session.remove()
    log.info("scheduler running every %.1fs", interval)
    rq_scheduler.run(burst=burst)


def _first_template_sync(app: Flask) -> None:
    """A new installation (or the sandbox) knows no templates yet: fetch them now, not at 03:17."""
    from rq import Retry

    from flowapp.jobs import enqueue
    from flowapp.jobs.sends import sync_templates
    from flowapp.services import templates

    if not templates.all_templates():
        enqueue(
            "default",
            sync_templates,
            job_id="sync-templates-at-start",
            app=app,
            retry=Retry(max=5, interval=[5, 15, 30, 60, 120]),
        )
        log.info("no message templates known yet: fetching them")


@click.command("dev")
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def dev(port: int, host: str) -> None:
    """Start everything on this machine: (embedded) Redis, web, worker and scheduler."""
    from flowapp.devserver import run_stack

    sys.exit(run_stack(host=host, port=port))
