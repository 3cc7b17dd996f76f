"""Webhook intake benchmark: signed one-message bodies posted concurrently, Flowapp against bare Flask.

    .venv/bin/python -m bench.webhook_intake [--db postgresql|sqlite] [--duration 10] [--connections 32]
                                             [--processing-workers 1]

Both apps run under the documented production server (gunicorn -w 4 --threads 4); wrk posts
pre-signed bodies, each with its own wamid, first to a bare Flask endpoint that only answers 200,
then to Flowapp's /webhooks/whatsapp (signature check, store, commit, announce). Meanwhile RQ
workers process what arrives, as in production (`--processing-workers 0` measures intake alone).
Afterwards every wamid posted and answered 200 is looked up: stored exactly once, none missing.
Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import (
    APP_SECRET,
    PYTHON,
    ROOT,
    Child,
    bench_env,
    free_port,
    fresh_database,
    gunicorn,
    redis_url,
    wait_http,
)
from flowapp.whatsapp.signature import sign
from flowapp.whatsapp.simulate import inbound_payload

LUA = """
local bodies = dofile("%(bodies)s")
local per_thread = math.floor(#bodies / %(threads)d)
local threads = {}
counter, first, statuses = 0, 0, {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  first = id * per_thread
end
function request()
  local item = bodies[first + (counter %% per_thread) + 1]
  counter = counter + 1
  return wrk.format("POST", "/webhooks/whatsapp",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = item[2]}, item[1])
end
function unused_response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local out = {}
  for _, t in ipairs(threads) do
    local fields = {t:get("id"), t:get("first"), t:get("counter")}
    table.insert(out, string.format('{"id":%%d,"first":%%d,"sent":%%d}', fields[1], fields[2], fields[3]))
  end
  io.write("THREADS [" .. table.concat(out, ",") .. "]\\n")
  local p50, p99 = latency:percentile(50), latency:percentile(99)
  io.write(string.format("LATENCY %%d %%d %%d\\n", p50, p99, latency.max))
end
"""


def write_bodies(path: Path, count: int) -> list[str]:
    """Pre-sign `count` unique bodies into a Lua file returning them in order; returns their wamids.

    Written in chunks of 5,000 (one function each): a Lua function holds at most 65,536 constants.
    """
    wamids = []
    lines = ["local all = {}", "local function add(t) for _, v in ipairs(t) do all[#all + 1] = v end end"]
    for start in range(0, count, 5000):
        lines.append("add((function() return {")
        for i in range(start, min(count, start + 5000)):
            wamid = f"wamid.BENCH{i:08d}"
            payload = inbound_payload(
                {"from": f"1555{i % 1000:07d}", "name": "Bench", "text": f"hello {i}", "wamid": wamid},
                phone_number_id="106540352242922",
                display_phone_number="15550100000",
                waba_id="102290129340398",
            )
            body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()
            lines.append(f"{{{_lua_string(body.decode())}, {_lua_string(sign(body, APP_SECRET))}}},")
            wamids.append(wamid)
        lines.append("} end)())")
    lines.append("return all")
    path.write_text("\n".join(lines))
    return wamids


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_wrk(url: str, script: Path, duration: int, connections: int, threads: int) -> dict:
    result = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    if "LATENCY" not in out:
        raise RuntimeError(f"wrk did not finish its run:\n{out}\n{result.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99, worst = (int(v) / 1000 for v in re.search(r"LATENCY (\d+) (\d+) (\d+)", out).groups())
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": worst,
        "non_2xx": non2xx,
        "socket_errors": errors.group(1) if errors else "none",
        "threads": json.loads(re.search(r"THREADS (\[.*\])", out).group(1)),
    }


def verify_stored(
    database_url: str, wamids: list[str], threads: list[dict], per_thread: int, in_flight: int
) -> dict:
    """Every wamid wrk posted must be stored exactly once.

    wrk counts a request when it writes it; the last `in_flight` of each thread may still have been
    on the wire when wrk stopped, so only the ones before them are certainly answered. wrk also calls
    request() once in its first thread before sending anything (to see whether the script builds
    requests dynamically), so that thread's first body is never sent.
    """
    from sqlalchemy import create_engine, text

    from flowapp.config import normalize_database_url

    posted, answered = set(), set()
    for thread in threads:
        sent = min(thread["sent"], per_thread)
        for n in range(sent):
            posted.add(wamids[thread["first"] + n])
            if n < sent - in_flight and not (thread["id"] == 0 and n == 0):
                answered.add(wamids[thread["first"] + n])
    engine = create_engine(normalize_database_url(database_url))
    with engine.connect() as connection:
        bodies = connection.execute(text("SELECT body FROM webhook_events")).scalars().all()
        processed = connection.execute(
            text("SELECT count(*) FROM webhook_events WHERE processed_at IS NOT NULL")
        ).scalar()
        messages = connection.execute(text("SELECT count(*), count(DISTINCT wamid) FROM messages")).one()
    engine.dispose()
    stored = [json.loads(b)["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for b in bodies]
    missing = sorted(answered - set(stored))
    if missing:
        print("answered but not stored:", missing[:10])
    return {
        "posted": len(posted),
        "stored": len(stored),
        "distinct_stored": len(set(stored)),
        "missing": len(missing),
        "unexpected": len(set(stored) - posted),
        "processed": processed,
        "messages": messages[0],
        "distinct_messages": messages[1],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (1 = sync)")
    parser.add_argument(
        "--processing-workers", type=int, default=1, help="RQ workers processing while webhooks arrive"
    )
    parser.add_argument("--bodies", type=int, default=80000)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="flowapp-intake-"))
    script = workdir / "post.lua"
    wamids = write_bodies(workdir / "bodies.lua", args.bodies)
    script.write_text(LUA % {"bodies": workdir / "bodies.lua", "threads": args.wrk_threads})
    per_thread = args.bodies // args.wrk_threads

    port = free_port()
    with gunicorn("bench.bare_app:app", port, args.workers, args.threads) as _bare:
        wait_http(f"http://127.0.0.1:{port}/")
        bare = run_wrk(f"http://127.0.0.1:{port}", script, args.duration, args.connections, args.wrk_threads)

    with fresh_database(args.db) as (database_url, dbdir), redis_url() as redis:
        env = bench_env(database_url, redis, dbdir)
        port = free_port()
        processing = [
            Child([PYTHON, "-m", "flask", "--app", "wsgi", "worker"], env=env, log=dbdir / f"worker{n}.log")
            for n in range(args.processing_workers)
        ]
        try:
            with gunicorn("wsgi:app", port, args.workers, args.threads, env=env, log=dbdir / "gunicorn.log"):
                wait_http(f"http://127.0.0.1:{port}/healthz")
                flowapp = run_wrk(
                    f"http://127.0.0.1:{port}", script, args.duration, args.connections, args.wrk_threads
                )
        finally:
            for worker in processing:
                worker.stop()
        in_flight = -(-args.connections // args.wrk_threads)
        stored = verify_stored(database_url, wamids, flowapp["threads"], per_thread, in_flight)

    report(args, bare, flowapp, stored)
    shutil.rmtree(workdir, ignore_errors=True)
    ok = (
        stored["missing"] == 0
        and stored["stored"] == stored["distinct_stored"]
        and stored["messages"] == stored["distinct_messages"]
        and flowapp["non_2xx"] == 0
    )
    return 0 if ok else 1


def report(args, bare: dict, flowapp: dict, stored: dict) -> None:
    ratio = flowapp["rps"] / bare["rps"]
    server = f"gunicorn -w {args.workers}" + (f" --threads {args.threads}" if args.threads > 1 else " (sync)")
    print(
        f"\nWebhook intake, {args.db}, {server}, wrk -c {args.connections} "
        f"-t {args.wrk_threads} -d {args.duration}s, "
        f"{args.processing_workers} RQ worker(s) processing, {ROOT.name}"
    )
    print(f"{'':12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'non-2xx':>10}")
    for name, r in (("bare Flask", bare), ("Flowapp", flowapp)):
        print(
            f"{name:12}{r['rps']:>10.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['max_ms']:>10.1f}{r['non_2xx']:>10}"
        )
    print(f"ratio Flowapp / bare Flask: {ratio:.2f}  (target >= 0.5; p99 target < 50 ms)")
    print(
        f"wamids posted {stored['posted']}, stored {stored['stored']} ({stored['distinct_stored']} "
        f"distinct), answered but missing {stored['missing']}, stored but never posted {stored['unexpected']}"
    )
    print(
        f"processed while the load ran: {stored['processed']} events, {stored['messages']} messages "
        f"({stored['distinct_messages']} distinct wamids)"
    )


if __name__ == "__main__":
    sys.exit(main())
