"""Inbox at scale: 100,000 conversations and 1,000,000 messages in PostgreSQL, and the server time of
the conversation list (with filters), search (name, number, message text) and thread pages.

    .venv/bin/python -m bench.inbox [--conversations 100000] [--messages 1000000] [--requests 40]

A fresh database (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres) is
created, migrated, filled with COPY (secondary indexes dropped during the load and rebuilt after,
as when restoring a dump), analysed, read once into memory, and dropped at the end. Redis is
REDIS_URL (database 14) or an embedded one.

The data: contacts with names drawn from 50 first and 44 last names (10% with a business-given
display name); messages per conversation from a heavy-tailed distribution (most have a few, some
hundreds, one has 5,000), written from a Zipf-like vocabulary with rare order codes; a quarter of
the conversations closed, 2% waiting for a person, 30% assigned, 10% labelled, 5% with a waiting
automation run; the agent has read a third of the conversations.

Pages are requested in-process through Flask's test client, logged in as an agent, so the time
measured is the server's (routing, login, queries, rendering), not the network's. The baseline,
in the same run: /healthz (a database and a Redis round trip) and the Settings page (a plain page
in the same layout). Target: p95 < 100 ms for every inbox page.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench.common import bench_env, fresh_database, percentile, redis_url

FIRST = (
    "Ana Bruno Carla Diego Elena Fatima Gabriel Helena Igor Joana Karim Laura Marco Nadia Omar Paula "
    "Rui Sofia Tiago Ursula Vera Wagner Xavier Yara Zeca Maria John Aisha Chen Priya Lucas Emma Noah "
    "Olivia Mateo Lina Hugo Ines Tomas Clara Pedro Marta Luis Rosa Ivan Nora Felix Alba Dario Irene"
).split()
LAST = (
    "Silva Santos Costa Pereira Oliveira Rodrigues Martins Ferreira Almeida Lopes Gomes Ribeiro Carvalho "
    "Smith Garcia Muller Rossi Dubois Novak Kowalski Jensen Haddad Okafor Tanaka Kim Nguyen Patel Cohen "
    "Moreau Fischer Romano Horvat Larsen Ahmed Mensah Sato Park Tran Shah Levi Bianchi Weber Brown"
).split()
COMMON = (
    "hello hi thanks thank you please order delivery when where is my the a to and of for it can "
    "price how much available today tomorrow yes no ok great perfect address payment card cash "
    "size colour return refund help time open close shop store number track tracking package"
).split()
LABELS = ("vip", "billing", "delivery", "returns", "wholesale")
AGENTS = 5
PASSWORD = "bench-password-123"


def words(rng: random.Random, n: int) -> str:
    """A message: mostly common words (Zipf-like), sometimes an order code that is nearly unique."""
    out = [COMMON[min(int(rng.paretovariate(1.1)) - 1, len(COMMON) - 1)] for _ in range(n)]
    if rng.random() < 0.05:
        out.append(f"ORD-{rng.randrange(1_000_000):06d}")
    out[0] = out[0].capitalize()
    return " ".join(out)


def seed(url: str, conversations: int, messages: int) -> None:
    """Fill the database with COPY (conversation 1 is the one with thousands of messages)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        # Foreign keys hold by construction; checking them row by row would double the load time.
        conn.execute("SET session_replication_role = replica")
        indexes = _drop_secondary_indexes(conn)
        _users(conn, now)
        _automation(conn, now)
        _copy(conn, "contacts", CONTACT_COLUMNS, _contacts(rng, conversations, now))
        last: dict[int, tuple] = {}
        counts = _message_counts(rng, conversations, messages)
        _copy(conn, "messages", MESSAGE_COLUMNS, _messages(rng, counts, now, last))
        _copy(conn, "conversations", CONVERSATION_COLUMNS, _conversations(rng, last))
        _copy(conn, "automation_runs", RUN_COLUMNS, _runs(rng, conversations, now))
        reads = (
            (n, 1, last[n][2] or 0, now) for n in rng.sample(range(1, conversations + 1), conversations // 3)
        )
        _copy(
            conn,
            "conversation_reads",
            ("conversation_id", "user_id", "last_read_message_id", "read_at"),
            reads,
        )
        conn.execute("SET session_replication_role = DEFAULT")
        for _name, definition in indexes:
            conn.execute(definition)
        for table in ("users", "contacts", "conversations", "messages", "automation_runs"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.execute("VACUUM ANALYZE")
        _prewarm(conn)


def _copy(conn, table: str, columns: tuple[str, ...], rows) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _drop_secondary_indexes(conn) -> list[tuple[str, str]]:
    """Indexes that back no constraint, dropped for the load; their definitions to rebuild them."""
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    ).fetchall()
    for name, _definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return rows


def _prewarm(conn) -> None:
    """Read the tables and indexes once, as a running inbox has them in memory (pg_prewarm when
    the server has it, else sequential reads, which warm the operating system's cache)."""
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        conn.execute(
            "SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
        )
    except psycopg.Error:
        for table in ("contacts", "conversations", "messages", "automation_runs", "conversation_reads"):
            conn.execute(f"SELECT count(*) FROM {table}")


def _users(conn, now) -> None:
    from flowapp.models import User

    holder = User(email="x")
    holder.set_password(PASSWORD)
    created = now - timedelta(days=400)
    rows = (
        (n + 1, f"agent{n}@bench.test", f"Agent {n}", holder.password_hash, "agent", True, created)
        for n in range(AGENTS)
    )
    _copy(conn, "users", ("id", "email", "name", "password_hash", "role", "active", "created_at"), rows)


def _automation(conn, now) -> None:
    graph = json.dumps({"spec_version": 2, "nodes": [], "edges": []})
    conn.execute(
        "INSERT INTO automations (id, name, description, trigger, status, priority, draft, draft_revision, "
        "created_at, updated_at) VALUES (1, 'Menu', '', '{}', 'active', 0, %s, 0, %s, %s)",
        (graph, now, now),
    )
    conn.execute(
        "INSERT INTO automation_versions (id, automation_id, number, graph, trigger, spec_version, "
        "created_at) VALUES (1, 1, 1, %s, '{}', 2, %s)",
        (graph, now),
    )
    conn.execute("UPDATE automations SET published_version_id = 1")


def _message_counts(rng: random.Random, conversations: int, messages: int) -> list[int]:
    """Messages per conversation: most have a few, some many, the first has thousands."""
    weights = [rng.paretovariate(1.5) for _ in range(conversations)]
    giant = min(5000, messages // 10)
    scale = (messages - giant) / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] = giant
    counts[-1] += max(0, messages - sum(counts))
    return counts


CONTACT_COLUMNS = (
    "id wa_id profile_name display_name fields tags opted_out first_inbound_at last_inbound_at created_at "
    "updated_at"
).split()


def _contacts(rng, conversations: int, now):
    for n in range(1, conversations + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        display = f"{name} ({rng.choice(('VIP', 'shop', 'wholesale'))})" if rng.random() < 0.1 else None
        when = now - timedelta(days=rng.uniform(0, 90))
        yield (n, f"3519{n:08d}", name, display, "{}", "[]", False, when, when, when, when)


MESSAGE_COLUMNS = (
    "id conversation_id direction wamid type text payload status author_type send_attempts created_at".split()
)


def _messages(rng, counts: list[int], now, last: dict):
    """Every message; fills `last` with each conversation's last time, preview and inbound id."""
    message_id = 0
    for conversation_id, count in enumerate(counts, start=1):
        # The conversation ends at a random moment of the last 90 days, whatever its length.
        gaps = [rng.randint(5, 600) for _ in range(count)]
        at = now - timedelta(days=rng.uniform(0, 90), seconds=sum(gaps))
        last_in = None
        for k, gap in enumerate(gaps):
            message_id += 1
            at += timedelta(seconds=gap)
            inbound = k % 2 == 0
            text = words(rng, rng.randint(2, 14))
            status = "received" if inbound else rng.choice(("sent", "delivered", "read", "read"))
            author = "contact" if inbound else rng.choice(("run", "user"))
            direction = "in" if inbound else "out"
            yield (
                message_id,
                conversation_id,
                direction,
                f"wamid.bench.{message_id}",
                "text",
                text,
                "{}",
                status,
                author,
                0,
                at,
            )
            last_in = message_id if inbound else last_in
        last[conversation_id] = (at, text[:200], last_in)


CONVERSATION_COLUMNS = (
    "id contact_id status assignee_id bot_paused needs_human handoff_reason labels unread_count "
    "last_message_at last_message_preview last_inbound_message_id created_at updated_at"
).split()


def _conversations(rng, last: dict):
    for n, (at, preview, last_in) in sorted(last.items()):
        status = "closed" if rng.random() < 0.25 else "open"
        needs = status == "open" and rng.random() < 0.02
        assignee = rng.randint(1, AGENTS) if rng.random() < 0.3 else None
        labels = json.dumps([rng.choice(LABELS)] if rng.random() < 0.1 else [])
        reason = "asked for a person" if needs else None
        yield (
            n,
            n,
            status,
            assignee,
            needs,
            needs,
            reason,
            labels,
            rng.randint(0, 3),
            at,
            preview,
            last_in,
            at,
            at,
        )


RUN_COLUMNS = (
    "id automation_id version_id contact_id status current_node variables state trigger wait_deadline paused "
    "started_at"
).split()


def _runs(rng, conversations: int, now):
    for n, contact_id in enumerate(rng.sample(range(1, conversations + 1), conversations // 20), start=1):
        state = json.dumps({"wait": {"kind": "reply", "node": "menu", "token": f"t{n}"}})
        yield (
            n,
            1,
            1,
            contact_id,
            "waiting",
            "menu",
            "{}",
            state,
            "{}",
            now + timedelta(hours=1),
            False,
            now,
        )


def login(client, email: str, password: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, "login failed"


def pages(client, url: str) -> dict[str, list]:
    """Each measured page: request paths (cycled), or (path, headers) for conditional polls."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        codes = [
            row[0]
            for row in conn.execute(
                "SELECT substring(text from 'ORD-[0-9]{6}') FROM messages WHERE text LIKE '%ORD-%' LIMIT 20"
            )
        ]
        numbers = [
            row[0][-8:] for row in conn.execute("SELECT wa_id FROM contacts ORDER BY random() LIMIT 20")
        ]
        threads = [row[0] for row in conn.execute("SELECT id FROM conversations ORDER BY random() LIMIT 20")]
    list_etag = client.get("/inbox/list").headers["ETag"]
    cursor = re.search(
        r'class="older" href="[^"]*before=([0-9-]+)', client.get("/inbox/").get_data(as_text=True)
    )
    page = client.get(f"/inbox/c/{threads[0]}").get_data(as_text=True)
    poll = re.search(r'id="thread-recent"[^>]*hx-get="([^"]+)"[^>]*hx-headers=\'([^\']+)\'', page, re.S)
    thread_poll = (poll.group(1).replace("&amp;", "&"), json.loads(poll.group(2)))
    return {
        "list: active (default)": ["/inbox/list"],
        "list: full page": ["/inbox/"],
        "list: page 2 (keyset)": [f"/inbox/list?before={cursor.group(1)}"],
        **{f"list: {name}": [f"/inbox/list?{query}"] for name, query in LIST_FILTERS},
        "list: label": ["/inbox/list?label=vip", "/inbox/list?label=returns"],
        "list: poll, unchanged (304)": [("/inbox/list", {"If-None-Match": list_etag})],
        "search: name": [
            f"/inbox/list?q={name}" for name in ("Wagner Okafor", "Elena Sato", "Marta", "silva")
        ],
        "search: number": [f"/inbox/list?q={number}" for number in numbers],
        "search: message text (rare)": [f"/inbox/list?q={code}" for code in codes],
        "search: message text (common)": [
            f"/inbox/list?q={w}" for w in ("delivery", "tracking", "refund", "store", "open")
        ],
        "search: no match": ["/inbox/list?q=zebracorn"],
        "thread: conversation page": [f"/inbox/c/{t}" for t in threads],
        "thread: fragment": [f"/inbox/c/{t}/thread" for t in threads],
        "thread: 5,000 messages": ["/inbox/c/1"],
        "thread: poll, unchanged (304)": [thread_poll],
    }


LIST_FILTERS = (
    ("open (people)", "status=open"),
    ("bot", "status=bot"),
    ("closed", "status=closed"),
    ("mine", "assignee=mine"),
    ("unassigned", "assignee=unassigned"),
    ("needs a person", "needs=1"),
)


def timed(client, target, expect: int) -> float:
    path, headers = target if isinstance(target, tuple) else (target, {})
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == expect, f"{path}: {response.status_code}"
    return elapsed


def measure(client, targets: list, count: int) -> list[float]:
    expect = 304 if isinstance(targets[0], tuple) else 200
    for target in targets:
        timed(client, target, expect)  # warm: connection pool, template cache, each query's pages
    return [timed(client, targets[n % len(targets)], expect) for n in range(count)]


def report(results: dict[str, list[float]]) -> bool:
    baseline = percentile(results["baseline: /healthz"], 50)
    print(f"\n{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'p95 / healthz p50':>18}")
    ok = True
    for name, values in results.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {p95 / baseline:18.1f}")
        ok = ok and (name.startswith("baseline") or p95 < 100)
    print(f"\nTarget, every inbox page p95 < 100 ms: {'met' if ok else 'NOT met'}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    args = parser.parse_args(argv)
    from flowapp import create_app

    with fresh_database("postgresql") as (url, workdir), redis_url() as redis:
        started = time.perf_counter()
        seed(url, args.conversations, args.messages)
        took = time.perf_counter() - started
        print(f"seeded {args.conversations:,} conversations and {args.messages:,} messages in {took:.0f} s")
        env = bench_env(url, redis, workdir)
        app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"  # production cookies are Secure
        login(client, "agent0@bench.test", PASSWORD)
        results = {
            "baseline: /healthz": measure(client, ["/healthz"], args.requests),
            "baseline: settings page": measure(client, ["/settings/"], args.requests),
        }
        for name, targets in pages(client, url).items():
            results[name] = measure(client, targets, args.requests)
        ok = report(results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
