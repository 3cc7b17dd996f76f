"""The Contacts pages at scale, measured as users deploy them: 100,000 contacts in PostgreSQL, the
documented production server and RQ workers answering customers while the pages are read.

Headline (to run on a quiet machine; several minutes):

    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python -m bench.contacts_page \
        --contacts 100000 --requests 200 --rate 10

    options: [--contacts 100000] [--requests 200] [--rate 10] [--workers 3] [--in-process]

A fresh database (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres) is
created, migrated, filled with COPY (secondary indexes dropped during the load and rebuilt after),
analysed, read once into memory, and dropped at the end. Redis is REDIS_URL (database 14, flushed)
or an embedded one.

The data: names from bench.inbox's 50 first and 44 last names; Portuguese and British numbers; 0 to
3 tags of 8 (one rare: 0.2%); custom fields city (20 values), plan (4) and a nearly unique order
code; 3% opted out; last inbound spread over a year (a fifth never wrote); a conversation for 60%
of them, a quarter of those closed. Twenty contacts have a long history for their contact page:
300 messages and 30 finished automation runs each.
A static group holds every 20th contact, another 20 of the oldest, and a segment is "tag vip
and last inbound within 30 days" (the filter "in a group" and the groups list's counts are measured).

Default (the headline): gunicorn -w 4 --threads 4 (docs/deployment.md) serves the seeded database
with `--workers` RQ workers and the sandbox Graph API, which posts sent, delivered and read status
webhooks for every reply back to gunicorn, as Meta does. An automation answers every message.
While the pages are measured, customers write at `--rate` messages/s (an open loop; half new
customers, half existing contacts), so workers process and gunicorn takes the webhooks beside the
page requests. The pages are requested over HTTP by a logged-in `requests.Session` (the login form
and its CSRF token, as a browser; X-Forwarded-Proto as the TLS proxy sends): the full Contacts page,
search, filters and "Next page" as HTMX requests (HX-Request: true), a deep page reached by cursor,
one contact's page GET /contacts/<id> and its timeline fragment (the redraw, and "Older"). Each
kind's p50/p95/p99 over `--requests` requests, timed by the client (this process, where the
load's thread also runs: about 1% of a core at 10 messages/s). Baselines in the same run, on the
same server and session, under the same load: /healthz and the Settings page (the same layout: its
navigation counts the inbox's unread conversations). After the pages the load stops, the backlog
must drain, and every posted message must be stored once and answered once.

Target: p95 < 100 ms for every contacts request, full pages included (reported per row, met or
MISSED; a full page's ratio to the Settings page shows what the shared layout costs). Exit status 1
when a message or reply is lost or duplicated, a post failed, or the backlog does not drain; a
missed latency target is printed, not an error.

`--in-process`: DIAGNOSTIC ONLY, never the headline. The old measurement: Flask's test client in
this process, on an idle machine, no server, no workers, no load: the server's own time for each
page, to find a bottleneck.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench.common import bench_env, free_port, fresh_database, percentile, redis_url
from bench.inbox import (
    FIRST,
    LAST,
    MESSAGE_COLUMNS,
    PASSWORD,
    _automation,
    _copy,
    _drop_secondary_indexes,
    _prewarm,
    _users,
    login,
    words,
)

TAGS = ("vip", "wholesale", "newsletter", "lisbon", "london", "returns", "b2b")
RARE_TAG = "ambassador"
CITIES = (
    "Lisbon Porto Braga Faro Coimbra London Leeds Bristol Madrid Paris Berlin Rome Dublin Oslo Vienna Prague "
    "Warsaw Athens Zurich Milan"
).split()
PLANS = ("free", "basic", "gold", "platinum")
SEGMENT = {
    "match": "all",
    "conditions": [
        {"kind": "tag", "op": "has", "value": "vip"},
        {"kind": "last_inbound", "op": "within_days", "value": 30},
    ],
}
CONTACT_COLUMNS = (
    "id wa_id profile_name display_name fields tags opted_out last_inbound_at created_at updated_at".split()
)
CONVERSATION_COLUMNS = (
    "id contact_id status bot_paused needs_human labels unread_count last_message_at created_at updated_at"
).split()
RUN_COLUMNS = (
    "id automation_id version_id contact_id status current_node variables state trigger paused started_at "
    "ended_at"
).split()
HISTORIES, HISTORY_MESSAGES, HISTORY_RUNS = 20, 300, 30
SEQUENCED = "users automations automation_versions contacts conversations messages automation_runs".split()
TARGET_MS = 100
EMAIL = "agent0@bench.test"


def _contacts(rng: random.Random, count: int, now: datetime):
    for n in range(1, count + 1):
        number = f"3519{n:08d}" if n % 3 else f"447{n:09d}"
        tags = rng.sample(TAGS, rng.randint(0, 3)) + ([RARE_TAG] if rng.random() < 0.002 else [])
        fields = {
            "city": rng.choice(CITIES),
            "plan": rng.choice(PLANS),
            "order": f"A{rng.randrange(10**7):07d}",
        }
        seen = None if rng.random() < 0.2 else now - timedelta(days=rng.uniform(0, 365))
        created = now - timedelta(days=400 - n * 400 / count)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        yield (
            n,
            number,
            name,
            None,
            json.dumps(fields),
            json.dumps(tags),
            rng.random() < 0.03,
            seen,
            created,
            created,
        )


def _conversations(rng: random.Random, count: int, now: datetime) -> list[tuple]:
    ids = sorted(rng.sample(range(1, count + 1), count * 6 // 10))
    rows = []
    for n, contact_id in enumerate(ids, start=1):
        at = now - timedelta(days=rng.uniform(0, 365))
        status = "closed" if rng.random() < 0.25 else "open"
        rows.append((n, contact_id, status, False, False, "[]", 0, at, at, at))
    return rows


def _history(rng: random.Random, conversations: list[tuple], now: datetime) -> tuple[list, list]:
    """Messages and finished runs of the contacts with a long history: the last HISTORIES
    conversations' contacts (the newest contacts, on the list's first page)."""
    messages, runs = [], []
    for conversation_id, contact_id, *_ in conversations[-HISTORIES:]:
        at = now - timedelta(days=60)
        for k in range(HISTORY_MESSAGES):
            at += timedelta(minutes=rng.randint(1, 240))
            inbound = k % 2 == 0
            messages.append(
                (
                    len(messages) + 1,
                    conversation_id,
                    "in" if inbound else "out",
                    f"wamid.bench.{len(messages) + 1}",
                    "text",
                    words(rng, rng.randint(2, 14)),
                    "{}",
                    "received" if inbound else "read",
                    "contact" if inbound else "run",
                    0,
                    at,
                )
            )
        for k in range(HISTORY_RUNS):
            started = now - timedelta(days=59 - k * 2)
            ended = started + timedelta(minutes=rng.randint(1, 600))
            runs.append(
                (len(runs) + 1, 1, 1, contact_id, "completed", None, "{}", "{}", "{}", False, started, ended)
            )
    return messages, runs


def seed(url: str, count: int) -> list[int]:
    """Fill the database with COPY, rebuild the indexes, analyse and warm it; returns the ids of
    the contacts with a long history."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    conversations = _conversations(rng, count, now)
    messages, runs = _history(rng, conversations, now)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET session_replication_role = replica")
        indexes = _drop_secondary_indexes(conn)
        _users(conn, now)
        _automation(conn, now)  # an automation no message triggers: the runs' name
        _copy(conn, "contacts", CONTACT_COLUMNS, _contacts(rng, count, now))
        _copy(conn, "conversations", CONVERSATION_COLUMNS, conversations)
        _copy(conn, "messages", MESSAGE_COLUMNS, messages)
        _copy(conn, "automation_runs", RUN_COLUMNS, runs)
        conn.execute("SET session_replication_role = DEFAULT")
        for _name, definition in indexes:
            conn.execute(definition)
        _groups(conn, now)
        for table in SEQUENCED:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.execute("VACUUM ANALYZE")
        _prewarm(conn)
    return [row[1] for row in conversations[-HISTORIES:]]


def _groups(conn, now: datetime) -> None:
    """A static group of every 20th contact (5%), one of 20 old contacts, and a segment "tag vip,
    wrote within 30 days"."""
    conn.execute(
        "INSERT INTO contact_groups (id, name, kind, query, created_at, updated_at) VALUES "
        "(1, 'Fair visitors', 'static', NULL, %s, %s), (2, 'Recent VIPs', 'dynamic', %s, %s, %s), "
        "(3, 'Jury', 'static', NULL, %s, %s)",
        (now, now, json.dumps(SEGMENT), now, now, now, now),
    )
    # The jury: 20 of the oldest contacts, so the newest-first list must look far for them.
    conn.execute(
        "INSERT INTO contact_group_members (group_id, contact_id, added_at) "
        "SELECT 3, id, %s FROM contacts ORDER BY id LIMIT 20",
        (now,),
    )
    conn.execute(
        "INSERT INTO contact_group_members (group_id, contact_id, added_at) "
        "SELECT 1, id, %s FROM contacts WHERE id %% 20 = 0",
        (now,),
    )
    conn.execute("SELECT setval(pg_get_serial_sequence('contact_groups', 'id'), 3)")


def pages(get, url: str, histories: list[int]) -> dict[str, list]:
    """Each measured page: the paths it cycles through, requested as HTMX does, or (path, {}) for a
    full page load. `get(path, headers)` answers (status, text)."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        numbers = [row[0] for row in conn.execute("SELECT wa_id FROM contacts ORDER BY random() LIMIT 20")]
        orders = [
            row[0] for row in conn.execute("SELECT fields->>'order' FROM contacts ORDER BY random() LIMIT 20")
        ]
    deep = _deep_cursor(get, "/contacts/?tag=newsletter", 40)
    formatted = [f"%2B{n[:3]}+{n[3:6]}+{n[6:9]}+{n[9:]}" for n in numbers]
    return {
        "full page (layout and nav)": [("/contacts/", {})],
        "first page": ["/contacts/"],
        "search: name": [f"/contacts/?q={q}" for q in ("Wagner+Okafor", "Elena", "silva", "Yara+Kim")],
        "search: number, formatted": [f"/contacts/?q={q}" for q in formatted],
        "search: number, last 9 digits": [f"/contacts/?q={n[-9:]}" for n in numbers],
        "search: number, 00 prefix": [f"/contacts/?q=00{n}" for n in numbers],
        "search: field value (rare)": [f"/contacts/?q={code}" for code in orders],
        "search: field value (common)": [f"/contacts/?q={city}" for city in ("Lisbon", "Dublin", "Oslo")],
        "search: no match": ["/contacts/?q=zebracorn"],
        "filter: tag (common)": ["/contacts/?tag=vip", "/contacts/?tag=b2b"],
        "filter: tag (rare)": [f"/contacts/?tag={RARE_TAG}"],
        "filter: field = value": ["/contacts/?field=plan&value=gold", "/contacts/?field=city&value=Porto"],
        "filter: opted out": ["/contacts/?opted_out=yes"],
        "filter: seen in 7 days": ["/contacts/?seen_days=7"],
        "filter: open conversation": ["/contacts/?open=1"],
        "filter: tag + field + seen": ["/contacts/?tag=vip&field=city&value=Lisbon&seen_days=90"],
        "filter: in a group (5%)": ["/contacts/?group=1"],
        "filter: in a small, old group": ["/contacts/?group=3"],
        "filter: in a segment": ["/contacts/?group=2"],
        "full page: groups list + counts": [("/contacts/groups", {})],
        "page 41 by cursor (tag filter)": [deep],
        "page 1,500 by cursor (no filter)": [f"/contacts/?after={_id_at_depth(url, 1500 * 50)}"],
        "contact page (full, 300 messages)": [(f"/contacts/{c}", {}) for c in histories],
        "contact timeline (redraw)": [f"/contacts/{c}/timeline" for c in histories],
        "contact timeline (Older)": [_older(get, c) for c in histories],
    }


def _deep_cursor(get, path: str, page: int) -> str:
    """Follow "Next page" `page - 1` times, as a person would, and return that page's URL."""
    for _ in range(page - 1):
        match = re.search(r'class="next" href="([^"]+)"', get(path, {})[1])
        if match is None:  # a small database has fewer pages: the last one
            return path
        path = match.group(1).replace("&amp;", "&")
    return path


def _older(get, contact_id: int) -> str:
    """The URL of the timeline's "Older" button on the contact's page."""
    html = get(f"/contacts/{contact_id}", {})[1]
    return re.search(r'hx-get="(/contacts/\d+/timeline\?cursor=[^"]+)"', html).group(1).replace("&amp;", "&")


def _id_at_depth(url: str, depth: int) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        row = (
            conn.execute("SELECT id FROM contacts ORDER BY id DESC OFFSET %s LIMIT 1", (depth,)).fetchone()
            or conn.execute("SELECT min(id) FROM contacts").fetchone()
        )
        return row[0]


def measure(get, targets: list, count: int) -> list[float]:
    """Milliseconds of `count` requests cycling through `targets`: paths requested as HTMX does,
    or (path, headers) for a plain page load."""
    requests = [t if isinstance(t, tuple) else (t, {"HX-Request": "true"}) for t in targets]
    for path, headers in requests:
        _timed(get, path, headers)  # warm: connection pool, template cache, each query's pages
    return [_timed(get, *requests[n % len(requests)]) for n in range(count)]


def _timed(get, path: str, headers: dict) -> float:
    started = time.perf_counter()
    status, _text = get(path, headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert status == 200, f"{path}: {status}"
    return elapsed


def measure_all(get, url: str, histories: list[int], count: int) -> dict[str, list[float]]:
    results = {
        "baseline: /healthz": measure(get, [("/healthz", {})], count),
        "baseline: settings page": measure(get, [("/settings/", {})], count),
    }
    for name, targets in pages(get, url, histories).items():
        results[name] = measure(get, targets, count)
    return results


def report(results: dict[str, list[float]]) -> None:
    health = percentile(results["baseline: /healthz"], 50)
    settings = percentile(results["baseline: settings page"], 50)
    print(
        f"\n{'request':36} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p95/healthz':>11} "
        f"{'p95/settings':>12}  target p95 < {TARGET_MS} ms"
    )
    for name, values in results.items():
        p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
        verdict = "(baseline)" if name.startswith("baseline") else ("met" if p95 < TARGET_MS else "MISSED")
        ratios = f"{p95 / health:11.1f} {p95 / settings:12.2f}"
        print(f"{name:36} {p50:7.1f} {p95:7.1f} {p99:7.1f} {ratios}  {verdict}")
    print(
        f"ratios: each p95 over the /healthz p50 ({health:.1f} ms) and the Settings page p50 "
        f"({settings:.1f} ms, the same layout) measured in this run"
    )


def run_in_process(url: str, env: dict, histories: list[int], count: int) -> int:
    """DIAGNOSTIC: Flask's test client in this process, no server, workers or load."""
    from flowapp import create_app

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # production cookies are Secure
    login(client, EMAIL, PASSWORD)

    def get(path: str, headers: dict) -> tuple[int, str]:
        response = client.get(path, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    print("DIAGNOSTIC ONLY (--in-process): test client, no server, no workers, no load; not the headline")
    report(measure_all(get, url, histories, count))
    return 0


def run_served(args, url: str, env: dict, workdir, histories: list[int]) -> int:
    """The headline: the production server, workers and status webhooks, customers writing in."""
    from bench.e2e_latency import publish_reply_automation
    from bench.served import BrowserSession, CustomerLoad, drain_and_check, report_load, served_stack

    web_port, mock_port = free_port(), free_port()
    mock_url = f"http://127.0.0.1:{mock_port}"
    env = {**env, "GRAPH_API_URL": mock_url, "WHATSAPP_TOKEN": "bench", "SEND_RATE": "1000"}
    with served_stack(env, workdir, web_port, mock_port, args.workers) as (web_url, mock_url):
        publish_reply_automation(env)
        browser = BrowserSession(web_url, EMAIL, PASSWORD)

        def get(path: str, headers: dict) -> tuple[int, str]:
            response = browser.get(path, headers)
            return response.status_code, response.text

        load = CustomerLoad(web_url, args.rate, _existing_customers(url, histories))
        load.start()
        try:
            results = measure_all(get, url, histories, args.requests)
        finally:
            load.stop()
        check = drain_and_check(env, mock_url, load, args.drain_timeout)
    print(
        f"\nContacts pages over HTTP, {args.contacts:,} contacts: gunicorn -w 4 --threads 4, {args.workers} "
        f"RQ workers, status webhooks on (sent, delivered, read), customers writing at {args.rate:g}/s"
    )
    report(results)
    return report_load(args.rate, load, check)


def _existing_customers(url: str, histories: list[int]) -> list[str]:
    """Contacts that may write in during the load: not opted out (an opted-out contact gets no
    reply), and not the long histories (their pages are measured, their counts kept apart)."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute(
            "SELECT wa_id FROM contacts WHERE NOT opted_out AND id <> ALL(%s) ORDER BY random() LIMIT 50000",
            (histories,),
        )
        return [row[0] for row in rows]


def _interrupted(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C: the servers, workers and database are cleaned up on the way out."""
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per kind")
    parser.add_argument("--rate", type=float, default=10.0, help="customer messages per second")
    parser.add_argument("--workers", type=int, default=3, help="RQ worker processes")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--in-process", action="store_true", help="diagnostic only: test client, no load")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    with fresh_database("postgresql") as (url, workdir), redis_url() as redis:
        started = time.perf_counter()
        histories = seed(url, args.contacts)
        print(f"seeded {args.contacts:,} contacts in {time.perf_counter() - started:.0f} s")
        env = bench_env(url, redis, workdir)
        if args.in_process:
            return run_in_process(url, env, histories, args.requests)
        return run_served(args, url, env, workdir, histories)


if __name__ == "__main__":
    raise SystemExit(main())
