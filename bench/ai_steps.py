"""AI steps as users deploy them: what a step adds beyond the model's own latency, and whether contacts
waiting on a slow model slow anyone else's keyword replies (issue 14's two benchmarks).

    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python -m bench.ai_steps --seconds 20 --ai-workers 4

    options: [--latency-ms 200] [--overhead-rate 2] [--rate 5] [--slow-ms 2000] [--in-flight 50]
             [--ai-rate 25] [--workers 3] [--ai-workers 4] [--web-workers 4]

The stack is bench.served's: PostgreSQL (a database created and dropped by the run), gunicorn -w 4
--threads 4, `--workers` RQ workers on the pipeline's queues and `--ai-workers` `flask worker -q ai`
(the Procfile's ai-worker), the sandbox Graph API posting sent/delivered/read webhooks back, and two
fake model servers (flowapp.sandbox.fake_llm) holding every answer `--latency-ms` and `--slow-ms`.
Two automations: "hello" (exact) -> send_text, and "refund" (contains) -> Classify -> send_text (the
fake model classifies "refund" by its keywords). Every customer is new and writes once.

1. Overhead (the model at L = `--latency-ms`): AI and no-AI customers write at `--overhead-rate`/s each
   for `--seconds`. Per AI run, overhead = (reply queued - AI step logged) - L, where "AI step logged"
   is the created_at of the run's `ai` log entry (flushed in the transaction that processed the
   message, before its commit) and "reply queued" the reply's messages.queued_at (the send node
   after the resume). Before the first and after the second the path is the no-AI one: processing a
   message, then sending its reply. The parts, from ai_calls and the RQ job of each call:
   step logged -> job queued (the commit, the enqueue after it), queued -> job started (waiting for
   an ai worker), job started -> call started (reading the run, Settings, the budgets; the call
   started at ai_calls.created_at - latency_ms), the call beyond L (the HTTP client and the fake
   server's own work: latency_ms - L), call ended -> reply queued (committing the call's record,
   locking the contact, resuming the run, the send node). latency_ms is whole milliseconds, so each
   of the two parts around it is +-0.5 ms; the total is not affected. The cross-check with no per-run
   pairing: end-to-end p50 (webhook posted -> reply at the mock) of the AI customers minus that of the
   no-AI customers minus L. The same-run baseline: a no-AI message from stored to processed (its
   reply queued), p50; the overhead is also printed as a multiple of it. Target: overhead p50 < 5 ms.
2. Isolation (the model at `--slow-ms`, Settings > AI provider switched to the second fake server):
   phase A, no-AI customers at `--rate`/s for `--seconds`: their end-to-end p50/p95. Phase B, the
   same load while `--in-flight` other contacts are in AI steps all along (topped up as their runs
   complete, at most `--ai-rate` new ones per second): their p50/p95. MET when B's p50 is within 1.5x
   of A's. With fewer ai workers than contacts in AI steps, the calls queue on "ai" (their own
   workers): the queue depth is printed, and how many calls the workers make at once. B's extra
   work is real: the AI contacts' own messages, and their replies (with status webhooks) as their
   calls complete, about `--ai-workers` / (`--slow-ms` / 1000) per second. A runs before B (not
   interleaved: B leaves calls queued that would spill into a later A), so on a shared machine
   drift shows in the ratio; short runs here gave 0.46x to 1.71x.
3. Nothing lost: every customer message stored once, every reply sent once (bench.served's check,
   per load), every AI run completed with a successful call, no run left waiting. Exit 1 otherwise
   (a missed target prints MISSED and does not change the exit status, as in bench.e2e_latency).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime

import psycopg
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from bench.common import bench_env, free_port, fresh_database, percentile, redis_url
from bench.e2e_latency import breakdown, collect, publish_reply_automation, wait_settled
from bench.served import CustomerLoad, drain_and_check, fake_model, report_load, served_stack

AI_TEXT = "I want a refund for my order"
KEYWORD_GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 0, "y": 0}},
        {"id": "reply", "type": "send_text", "config": {"text": "Hello!"}, "position": {"x": 250, "y": 0}},
    ],
    "edges": [{"from": "start", "port": "next", "to": "reply"}],
}
CATEGORIES = [
    {"name": "refund", "description": "wants money back, a refund, a return"},
    {"name": "delivery", "description": "where is my parcel, shipping, late delivery"},
]
PORTS = ("refund", "delivery", "other", "failure")
AI_GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 0, "y": 0}},
        {
            "id": "triage",
            "type": "classify",
            "config": {"categories": CATEGORIES, "save_as": "intent"},
            "position": {"x": 250, "y": 0},
        },
    ]
    + [
        {"id": port, "type": "send_text", "config": {"text": f"{port}"}, "position": {"x": 500, "y": 0}}
        for port in PORTS
    ],
    "edges": [{"from": "start", "port": "next", "to": "triage"}]
    + [{"from": "triage", "port": port, "to": port} for port in PORTS],
}
TICK = 0.25  # seconds between the AI feeder's top-ups


class AIConversations(CustomerLoad):
    """New customers writing `AI_TEXT`, kept at `in_flight` contacts in AI steps (posted, run not yet
    completed), at most `rate` new ones per second; samples the "ai" queue meanwhile."""

    def __init__(self, web_url: str, dsn: str, redis: str, automation_id: int, in_flight: int, rate: float):
        super().__init__(web_url, rate, None, text=AI_TEXT, prefix="1773")
        self.dsn, self.automation_id, self.in_flight = dsn, automation_id, in_flight
        self.queue = Queue("ai", connection=Redis.from_url(redis))
        self.samples: list[tuple[int, int, int]] = []  # (in AI steps, "ai" queue depth, calls running)

    def run(self) -> None:
        self.started = time.perf_counter()
        n = 0
        with psycopg.connect(self.dsn, autocommit=True) as conn, ThreadPoolExecutor(8) as pool:
            before = completed_runs(conn, self.automation_id)  # other loads' runs of the automation
            while not self._halt.wait(TICK):  # the tick paces the top-ups
                done = completed_runs(conn, self.automation_id) - before
                self.samples.append((n - done, self.queue.count, self.queue.started_job_registry.count))
                for _ in range(max(0, min(self.in_flight - (n - done), math.ceil(self.rate * TICK)))):
                    pool.submit(self._post, *self.customer(n))
                    n += 1
        self.ended = time.perf_counter()


def completed_runs(conn, automation_id: int) -> int:
    query = (
        "SELECT count(*) FROM automation_runs "
        "WHERE automation_id = %s AND status NOT IN ('running', 'waiting')"
    )
    return conn.execute(query, (automation_id,)).fetchone()[0]


def dsn(env: dict) -> str:
    return env["DATABASE_URL"].replace("postgresql+psycopg", "postgresql")


def _ts(value: datetime) -> float:
    """Seconds since the epoch of a timestamp stored in UTC (naive or aware)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def run_load(load: CustomerLoad, seconds: float) -> CustomerLoad:
    load.start()
    time.sleep(seconds)  # the load runs on its own thread meanwhile
    load.stop()
    return load


def use_model(env: dict, base_url: str) -> None:
    """Settings > AI provider: the base URL (read by the ai workers at every call)."""
    from flowapp import create_app
    from flowapp.extensions import db
    from flowapp.services import ai_settings, settings

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    with app.app_context():
        saved = settings.get(ai_settings.PROVIDER_KEY) or {}
        settings.put(ai_settings.PROVIDER_KEY, {**saved, "base_url": base_url})
        db.session.commit()


def ai_parts(env: dict, redis: str, automation_id: int, latency_ms: int) -> dict[str, list[float]]:
    """Per AI run, the overhead and its parts in milliseconds (the module docstring's definitions)."""
    jobs = Job.fetch_many(
        FinishedJobRegistry("ai", connection=Redis.from_url(redis)).get_job_ids(), Redis.from_url(redis)
    )
    queued = {job.args[0]: (_ts(job.enqueued_at), _ts(job.started_at)) for job in jobs if job is not None}
    query = """
        SELECT r.id, l.created_at, c.created_at, c.latency_ms, m.queued_at
        FROM automation_runs r
        JOIN automation_logs l ON l.run_id = r.id AND l.event = 'ai'
        JOIN ai_calls c ON c.run_id = r.id
        JOIN conversations v ON v.contact_id = r.contact_id
        JOIN messages m ON m.conversation_id = v.id AND m.direction = 'out'
        WHERE r.automation_id = %s"""
    parts: dict[str, list[float]] = {
        "overhead": [],
        "step logged -> job queued (commit, enqueue)": [],
        "queued -> job started (waiting for an ai worker)": [],
        "job started -> call started (run, Settings, budgets)": [],
        f"the call beyond {latency_ms} ms (HTTP client, fake server)": [],
        "call ended -> reply queued (record, lock, resume, send node)": [],
    }
    with psycopg.connect(dsn(env)) as conn:
        rows = conn.execute(query, (automation_id,)).fetchall()
    for run_id, logged, call_ended, call_ms, reply_queued in rows:
        if run_id not in queued:
            continue
        enqueued, started = queued[run_id]
        logged, call_ended, reply_queued = _ts(logged), _ts(call_ended), _ts(reply_queued)
        spans = [
            reply_queued - logged - latency_ms / 1000,
            enqueued - logged,
            started - enqueued,
            call_ended - call_ms / 1000 - started,
            (call_ms - latency_ms) / 1000,
            reply_queued - call_ended,
        ]
        for values, span in zip(parts.values(), spans, strict=True):
            values.append(span * 1000)
    return parts


def overhead(args, env, redis, web_url, mock_url, ai_id) -> tuple[dict, list[CustomerLoad]]:
    """Part 1: AI and no-AI customers side by side, the model at --latency-ms."""
    plain = CustomerLoad(web_url, args.overhead_rate, None, prefix="1661")
    ai = CustomerLoad(web_url, args.overhead_rate, None, text=AI_TEXT, prefix="1662")
    plain.start()
    run_load(ai, args.seconds)
    plain.stop()
    e2e = {name: collect(mock_url, load.times, 120) for name, load in (("plain", plain), ("ai", ai))}
    wait_settled(env)
    result = {
        "parts": ai_parts(env, redis, ai_id, args.latency_ms),
        "e2e": e2e,
        "plain": breakdown(env, plain.times),
    }
    return result, [plain, ai]


def isolation(args, env, redis, web_url, mock_url, ai_id) -> tuple[dict, list[CustomerLoad]]:
    """Part 2: keyword replies alone (A), then while --in-flight contacts sit in AI steps (B)."""
    phase_a = run_load(CustomerLoad(web_url, args.rate, None, prefix="1771"), args.seconds)
    e2e_a = collect(mock_url, phase_a.times, 120)
    wait_settled(env)
    feeder = AIConversations(web_url, dsn(env), redis, ai_id, args.in_flight, args.ai_rate)
    feeder.start()
    deadline = time.monotonic() + 2 * args.in_flight / args.ai_rate + 5
    while time.monotonic() < deadline and (not feeder.samples or feeder.samples[-1][0] < args.in_flight):
        time.sleep(TICK)  # filling up to --in-flight before phase B's keyword load starts
    phase_b = run_load(CustomerLoad(web_url, args.rate, None, prefix="1772"), args.seconds)
    feeder.stop()
    e2e_b = collect(mock_url, phase_b.times, 120)
    result = {"a": e2e_a, "b": e2e_b, "samples": feeder.samples[-int(args.seconds / TICK) :]}
    return result, [phase_a, phase_b, feeder]


def report_overhead(args, result: dict) -> bool:
    parts, e2e = result["parts"], result["e2e"]
    total = parts.pop("overhead")
    met = bool(total) and percentile(total, 50) < 5
    print(
        f"\n1. AI step overhead, fake model at {args.latency_ms} ms; {args.overhead_rate:g}/s AI and "
        f"{args.overhead_rate:g}/s no-AI customers for {args.seconds:g} s"
    )
    print(
        f"  (reply queued - AI step logged) - {args.latency_ms} ms over {len(total)} AI runs: p50 "
        f"{percentile(total, 50):.1f} ms, p95 {percentile(total, 95):.1f} ms, "
        f"max {max(total, default=math.nan):.1f} ms  (target p50 < 5 ms: {'MET' if met else 'MISSED'})"
    )
    for name, values in parts.items():
        print(f"    {name}: p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms")
    processed = percentile(result["plain"]["stored -> processed"], 50)
    print(
        f"  same-run baseline, a no-AI message from stored to processed (its reply queued): p50 "
        f"{processed:.1f} ms; the AI step's overhead p50 is {percentile(total, 50) / processed:.1f}x that"
    )
    p50 = {name: percentile([v * 1000 for v in lat.values()], 50) for name, lat in e2e.items()}
    print(
        f"  cross-check, webhook -> reply at the mock: AI p50 {p50['ai']:.0f} ms, "
        f"no-AI p50 {p50['plain']:.0f} ms;"
        f" AI - no-AI - {args.latency_ms} = {p50['ai'] - p50['plain'] - args.latency_ms:.1f} ms"
    )
    return met


def report_isolation(args, result: dict) -> bool:
    a, b = ([v * 1000 for v in result[k].values()] for k in ("a", "b"))
    ratio = percentile(b, 50) / percentile(a, 50)
    met = ratio <= 1.5
    in_ai, depth, running = zip(*result["samples"], strict=True) if result["samples"] else ((0,), (0,), (0,))
    print(
        f"\n2. Isolation, fake model at {args.slow_ms} ms; keyword replies at {args.rate:g}/s for "
        f"{args.seconds:g} s per phase"
    )
    print(
        f"  A, keyword replies alone: {len(a)} replies, p50 {percentile(a, 50):.0f} ms, "
        f"p95 {percentile(a, 95):.0f} ms"
    )
    print(
        f"  B, with contacts in AI steps: {len(b)} replies, p50 {percentile(b, 50):.0f} ms, "
        f"p95 {percentile(b, 95):.0f} ms"
    )
    print(
        f"    contacts in AI steps during B: min {min(in_ai)}, mean {sum(in_ai) / len(in_ai):.0f}, "
        f"max {max(in_ai)}; "
        f'"ai" queue depth mean {sum(depth) / len(depth):.0f}, max {max(depth)}; calls being made at once '
        f"max {max(running)} ({args.ai_workers} ai worker{'s' if args.ai_workers != 1 else ''})"
    )
    print(f"  B/A p50: {ratio:.2f}x (target <= 1.5x: {'MET' if met else 'MISSED'})")
    return met


def check_ai_runs(env: dict, ai_id: int, posted: int) -> int:
    """Every AI run completed after a successful call, none left waiting; 1 otherwise."""
    with psycopg.connect(dsn(env)) as conn:
        active = conn.execute(
            "SELECT count(*) FROM automation_runs WHERE status IN ('running', 'waiting')"
        ).fetchone()[0]
        done = completed_runs(conn, ai_id)
        calls = dict(conn.execute("SELECT status, count(*) FROM ai_calls GROUP BY status").fetchall())
        failed = conn.execute("SELECT count(*) FROM automation_runs WHERE status = 'failed'").fetchone()[0]
    ok = active == 0 and failed == 0 and done == posted == calls.get("ok", 0) and len(calls) == 1
    print(
        f"AI runs: {posted} started, {done} completed, {failed} runs failed, "
        f"{active} left running or waiting;"
        f" calls by status {calls}: {'passed' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per load (part 1, phases A and B)")
    parser.add_argument("--latency-ms", type=int, default=200, help="the model's latency in part 1")
    parser.add_argument(
        "--overhead-rate", type=float, default=2.0, help="AI (and no-AI) customers/s in part 1"
    )
    parser.add_argument("--rate", type=float, default=5.0, help="keyword customers/s in part 2")
    parser.add_argument("--slow-ms", type=int, default=2000, help="the model's latency in part 2")
    parser.add_argument("--in-flight", type=int, default=50, help="contacts kept in AI steps in phase B")
    parser.add_argument("--ai-rate", type=float, default=25.0, help="at most this many new AI contacts/s")
    parser.add_argument("--workers", type=int, default=3, help="RQ workers on the pipeline's queues")
    parser.add_argument("--ai-workers", type=int, default=4, help="RQ workers on the ai queue")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (4 threads each)")
    args = parser.parse_args(argv)
    web_port, mock_port, fast_port, slow_port = (free_port() for _ in range(4))
    mock_url = f"http://127.0.0.1:{mock_port}"
    with (
        fresh_database("postgresql") as (database_url, workdir),
        redis_url(13) as redis,
        ExitStack() as stack,
    ):
        env = bench_env(
            database_url,
            redis,
            workdir,
            GRAPH_API_URL=mock_url,
            WHATSAPP_TOKEN="bench",
            SEND_RATE=1000,
            AI_BASE_URL=f"http://127.0.0.1:{fast_port}/v1",
        )
        stack.enter_context(fake_model(fast_port, args.latency_ms, env, workdir / "fake-fast.log"))
        stack.enter_context(fake_model(slow_port, args.slow_ms, env, workdir / "fake-slow.log"))
        served = served_stack(
            env, workdir, web_port, mock_port, args.workers, args.web_workers, ai_workers=args.ai_workers
        )
        web_url, _ = stack.enter_context(served)
        publish_reply_automation(
            env, {"type": "keyword", "keywords": ["hello"], "match": "exact"}, KEYWORD_GRAPH, "Hello"
        )
        trigger = {"type": "keyword", "keywords": ["refund"], "match": "contains"}
        ai_id = publish_reply_automation(env, trigger, AI_GRAPH, "Triage")
        part1, loads = overhead(args, env, redis, web_url, mock_url, ai_id)
        use_model(env, f"http://127.0.0.1:{slow_port}/v1")
        part2, more = isolation(args, env, redis, web_url, mock_url, ai_id)
        loads += more
        checks = [drain_and_check(env, mock_url, load) for load in loads]
        print(
            f"\nAI steps, postgresql, gunicorn -w {args.web_workers} --threads 4, "
            f"{args.workers} RQ workers + "
            f"{args.ai_workers} on the ai queue, status webhooks on"
        )
        ok = report_overhead(args, part1)
        ok = report_isolation(args, part2) and ok
        print("\n3. Nothing lost or duplicated")
        failures = 0
        for name, load, check in zip(("1 no-AI", "1 AI", "2A", "2B", "2B AI"), loads, checks, strict=True):
            print(f"[{name}]")
            failures += report_load(load.rate, load, check)
        failures += check_ai_runs(env, ai_id, len(loads[1].posted) + len(loads[4].posted))
    print(
        f"\nresult: targets {'MET' if ok else 'MISSED'}; "
        f"{'nothing lost' if not failures else 'LOSSES, see above'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
