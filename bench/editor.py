"""Editor benchmark: open a 300-node automation in Chromium, and save it with validation.

    .venv/bin/python -m bench.editor [--db sqlite|postgresql] [--nodes 300] [--runs 7]

The web app runs under gunicorn (2 workers, 4 threads) on a fresh database. Opening is measured in
the browser: the editor marks the moment its canvas is drawn (`performance.now()` at its
"flowapp:editor-ready" event), which counts from the navigation's start, so it includes the
server's render, the transfer, parsing and drawing. Saving is measured on the server: the draft
endpoint reports its own time (saving, validating, rendering the problem list) in Server-Timing;
the round trip seen by the client is printed beside it. The baseline, in the same run, is an
automation with only its start node. Targets: open < 1.5 s, save < 300 ms of server time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

import requests

from bench.common import bench_env, free_port, fresh_database, gunicorn, percentile, redis_url, wait_http

OPEN_TARGET_MS = 1500
SAVE_TARGET_MS = 300
CHROMIUM = "/usr/bin/chromium"
EMAIL, PASSWORD = "bench@example.com", "correct horse battery"


def _node(index: int) -> tuple[dict, list[str]]:
    """The index-th node of the benchmark graph (a realistic mix) and the ports it continues by."""
    node_id = f"n{index}"
    kind = index % 6
    if kind == 0:
        buttons = [{"id": f"b{index}_{k}", "title": f"Option {k}"} for k in range(3)]
        config = {"text": "Hi {{ contact.name }}, pick one", "buttons": buttons, "timeout": "1h"}
        return {"id": node_id, "type": "send_buttons", "config": config}, [b["id"] for b in buttons]
    if kind == 1:
        return {
            "id": node_id,
            "type": "send_text",
            "config": {"text": f"Step {index} for {{{{ vars.v1 }}}}"},
        }, ["next"]
    if kind == 2:
        config = {"name": f"v{index % 7}", "value": "{{ message.text | trim }}"}
        return {"id": node_id, "type": "set_variable", "config": config}, ["next"]
    if kind == 3:
        cases = [{"id": "big", "left": "vars.v1 | int", "op": "gt", "value": 10}]
        return {"id": node_id, "type": "condition", "config": {"cases": cases}}, ["big", "else"]
    if kind == 4:
        return {"id": node_id, "type": "wait_reply", "config": {"variable": f"a{index}"}}, ["reply"]
    return {"id": node_id, "type": "log", "config": {"message": "at {{ vars.v2 }}"}}, ["next"]


def build_graph(size: int) -> dict:
    """start and `size - 1` nodes on a grid; each node's first port leads on, the others to nearby
    nodes, so the canvas draws about 1.5 edges per node."""
    nodes = [{"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 40}}]
    edges, ports = [], [("start", ["next"])]
    for index in range(1, size):
        node, node_ports = _node(index)
        node["position"] = {"x": 40 + (index % 15) * 280, "y": 40 + (index // 15) * 200}
        nodes.append(node)
        ports.append((node["id"], node_ports))
    for position, (node_id, node_ports) in enumerate(ports[:-1]):
        for offset, port in enumerate(node_ports):
            target = ports[min(len(ports) - 1, position + 1 + offset * 2)][0]
            edges.append({"from": node_id, "port": port, "to": target})
    return {"spec_version": 2, "nodes": nodes, "edges": edges}


def _setup(env: dict, size: int) -> tuple[int, int]:
    """The admin and two automations (empty, and `size` nodes) in the bench database."""
    import os

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from flowapp import create_app
        from flowapp.extensions import db
        from flowapp.services import automations, users

        app = create_app({"LOAD_DOTENV": False})
        with app.app_context():
            users.create_user(EMAIL, PASSWORD, role="admin", name="Bench")
            empty = automations.create("Empty")
            big = automations.create(
                f"{size} nodes", trigger={"type": "keyword", "keywords": ["go"]}, graph=build_graph(size)
            )
            db.session.commit()
            return empty.id, big.id
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _login(session: requests.Session, base: str) -> str:
    html = session.get(f"{base}/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    session.post(f"{base}/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    page = session.get(f"{base}/automations/").text
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def measure_open(base: str, automation_id: int, runs: int) -> list[float]:
    """Milliseconds from navigation start to the editor's ready event, `runs` times (first dropped)."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{base}/login")
        page.fill("#email", EMAIL)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/automations/**")
        for _ in range(runs + 1):  # the first load warms caches (static files, templates)
            page.goto(f"{base}/automations/{automation_id}/edit")
            page.wait_for_selector("html[data-editor-ready=true]", state="attached")
            times.append(page.evaluate("window.flowappEditor.readyAt"))
        browser.close()
    return times[1:]


def measure_save(base: str, automation_id: int, runs: int) -> tuple[list[float], list[float]]:
    """(server ms from Server-Timing, round-trip ms) of `runs` draft saves with validation."""
    session = requests.Session()
    token = _login(session, base)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    draft = session.get(f"{base}/automations/{automation_id}/draft", headers=headers).json()
    revision, server, client = draft["revision"], [], []
    for index in range(runs + 1):
        graph = draft["graph"]
        graph["nodes"][-1]["position"] = {"x": 40 + index, "y": 40}  # a real change every time
        began = time.perf_counter()
        response = session.post(
            f"{base}/automations/{automation_id}/draft",
            json={"graph": graph, "trigger": draft["trigger"], "base_revision": revision},
            headers=headers,
        )
        elapsed = (time.perf_counter() - began) * 1000
        response.raise_for_status()
        revision = response.json()["revision"]
        timing = re.search(r"dur=([\d.]+)", response.headers.get("Server-Timing", ""))
        if index:  # the first save warms the validator's caches
            server.append(float(timing.group(1)))
            client.append(elapsed)
    return server, client


def _line(label: str, values: list[float]) -> str:
    return f"  {label:<44} median {statistics.median(values):8.1f} ms   p95 {percentile(values, 95):8.1f} ms"


def _report(args, open_empty: list[float], open_big: list[float], saves: tuple) -> None:
    save_empty, save_big, round_big = saves
    graph = build_graph(args.nodes)
    size, median = args.nodes, statistics.median
    print(f"editor: {size}-node automation ({len(graph['edges'])} edges), {args.db}, {args.runs} runs each")
    print(_line("open, empty automation (baseline)", open_empty))
    print(_line(f"open, {size} nodes", open_big))
    print(f"  ratio open {size} nodes / empty:{median(open_big) / median(open_empty):>27.2f}")
    print(_line("save + validate, empty (server, baseline)", save_empty))
    print(_line(f"save + validate, {size} nodes (server)", save_big))
    print(_line(f"save + validate, {size} nodes (round trip)", round_big))
    print(f"  ratio save {size} nodes / empty (server):{median(save_big) / median(save_empty):>18.2f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with fresh_database(args.db) as (database_url, workdir), redis_url() as redis:
        env = bench_env(database_url, redis, workdir, FLOWAPP_ENV="development")
        empty_id, big_id = _setup(env, args.nodes)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with gunicorn("wsgi:app", port, workers=2, threads=4, env=env, log=workdir / "web.log"):
            wait_http(f"{base}/healthz")
            open_empty = measure_open(base, empty_id, args.runs)
            open_big = measure_open(base, big_id, args.runs)
            save_empty, round_empty = measure_save(base, empty_id, args.runs)
            save_big, round_big = measure_save(base, big_id, args.runs)
    _report(args, open_empty, open_big, (save_empty, save_big, round_big))
    ok_open = statistics.median(open_big) < OPEN_TARGET_MS
    ok_save = statistics.median(save_big) < SAVE_TARGET_MS
    print(
        f"  target open < {OPEN_TARGET_MS} ms: {'met' if ok_open else 'MISSED'};"
        f" save < {SAVE_TARGET_MS} ms server: {'met' if ok_save else 'MISSED'}"
    )
    return 0 if ok_open and ok_save else 1


if __name__ == "__main__":
    sys.exit(main())
