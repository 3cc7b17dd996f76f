"""`make run`'s stack: embedded Redis, migrations, demo login, web + worker + scheduler, clean stop."""

import os
import re
import signal
import socket
import subprocess
import time

import psutil
import pytest
import requests

from tests import live

pytestmark = pytest.mark.e2e


def test_dev_stack_serves_and_stops_cleanly(tmp_path):
    """`flask --app wsgi dev` with REDIS_URL unset: login, shell, healthz 200, a worker runs a ping."""
    port = live.free_port()
    mock_port = live.free_port()
    env = live.flask_env(
        INSTANCE_PATH=tmp_path / "instance",
        LOG_DIR=tmp_path / "logs",
        WHATSAPP_TOKEN="",
        GRAPH_API_URL=f"http://127.0.0.1:{mock_port}",
    )
    log = tmp_path / "dev.log"
    launcher = live.start(
        [live.python(), "-m", "flask", "--app", "wsgi", "dev", "--port", str(port)], env, log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = live.wait_for(lambda: requests.get(f"{base}/healthz", timeout=2), 90, "the web server")
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["redis"]["ok"]
        assert (tmp_path / "instance" / "redis.sock").exists()

        email, password = (tmp_path / "instance" / "demo-login.txt").read_text().split("\n")[:2]
        assert f"Log in as {email} with password {password}" in log.read_text()
        web, csrf = _log_in(base, tmp_path / "instance")
        ping = web.post(f"{base}/settings/workers/ping", headers={"X-CSRFToken": csrf}, timeout=5)
        nonce = re.search(r"ping/([0-9a-f]{16})", ping.text).group(1)
        answered = live.wait_for(
            lambda: "A worker answered" in web.get(f"{base}/settings/workers/ping/{nonce}", timeout=5).text,
            30,
            "the worker to answer the ping",
        )
        assert answered
        # No AI provider configured: the launcher's fake model answers Settings' test call.
        tested = web.post(f"{base}/settings/ai/test", headers={"X-CSRFToken": csrf}, timeout=10)
        assert "Connected: model" in tested.text, tested.text
        children = psutil.Process(launcher.pid).children(recursive=True)
        assert len(children) >= 6  # redis, gunicorn (+ workers), worker, scheduler, mock, fake model
    finally:
        code = live.stop(launcher, signal.SIGINT, timeout=40)
    assert code == 0, log.read_text()[-3000:]
    still_running = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert still_running == [], f"left behind: {still_running}"
    assert not (tmp_path / "instance" / "flowapp.pid").exists()


def _log_in(base: str, instance) -> tuple[requests.Session, str]:
    """Log in as the demo admin the launcher created; return the session and its CSRF token."""
    email, password = (instance / "demo-login.txt").read_text().split("\n")[:2]
    web = requests.Session()
    login_page = web.get(f"{base}/login", timeout=5)
    assert login_page.status_code == 200 and "Log in" in login_page.text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page.text).group(1)
    shell = web.post(
        f"{base}/login", data={"email": email, "password": password, "csrf_token": token}, timeout=5
    )
    assert shell.status_code == 200 and "Inbox" in shell.text and "Analytics" in shell.text
    return web, re.search(r'name="csrf-token" content="([^"]+)"', shell.text).group(1)


def test_second_launch_while_running_is_refused(tmp_path):
    """Starting the stack twice on one instance refuses the second with a clear message."""
    pid_file = tmp_path / "instance" / "flowapp.pid"
    pid_file.parent.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    pid_file.write_text(str(sleeper.pid))
    try:
        env = live.flask_env(INSTANCE_PATH=tmp_path / "instance", LOG_DIR=tmp_path / "logs")
        result = subprocess.run(
            [live.python(), "-m", "flask", "--app", "wsgi", "dev", "--port", str(live.free_port())],
            env=env,
            cwd=live.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 1
    assert "already running" in result.stdout


def _role(process: psutil.Process) -> str:
    """Which part of the stack a direct child of the launcher is, from its command line."""
    args = " ".join(process.cmdline())
    if args.endswith("worker -q ai"):
        return "ai-worker"
    for role in ("gunicorn", "redis-server", "scheduler", "worker", "fake_llm", "sandbox"):
        if role in args:
            return role
    return args


def test_ctrl_c_stops_web_workers_scheduler_then_redis_quietly(tmp_path):
    """Ctrl-C to the process group: web, workers, scheduler, Redis stop in turn; exit 0, no traceback."""
    port = live.free_port()
    env = live.flask_env(
        INSTANCE_PATH=tmp_path / "instance",
        LOG_DIR=tmp_path / "logs",
        WHATSAPP_TOKEN="",
        GRAPH_API_URL=f"http://127.0.0.1:{live.free_port()}",
    )
    log = tmp_path / "dev.log"
    launcher = live.start(
        [live.python(), "-m", "flask", "--app", "wsgi", "dev", "--port", str(port)], env, log
    )
    app_log = tmp_path / "logs" / "app.log"
    try:
        live.wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok, 90, "web")
        # Both workers and the scheduler hold Redis connections before the interrupt, else the
        # test would not see what a dead Redis does to them.
        live.wait_for(
            lambda: (
                app_log.read_text().count(" serving ") == 3 and "scheduler running" in app_log.read_text()
            ),
            60,
            "the workers and the scheduler",
        )
        children = {p: _role(p) for p in psutil.Process(launcher.pid).children()}
        assert sorted(children.values()) == [
            "ai-worker", "fake_llm", "gunicorn", "redis-server", "sandbox", "scheduler", "worker", "worker"
        ]  # fmt: skip
        everything = psutil.Process(launcher.pid).children(recursive=True)
        os.killpg(launcher.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        gone_at = _watch_them_go(children, timeout=40)
        launcher.wait(10)
    finally:
        code = live.stop(launcher, signal.SIGKILL)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert gone_at["gunicorn"] <= gone_at["worker"] <= gone_at["scheduler"] <= gone_at["redis-server"], (
        gone_at
    )
    assert gone_at["scheduler"] <= gone_at["fake_llm"], gone_at
    # The AI worker stops with the others, before the fake model it calls.
    assert gone_at["gunicorn"] <= gone_at["ai-worker"] <= gone_at["scheduler"] <= gone_at["fake_llm"], gone_at
    still_running = [p for p in everything if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert still_running == [], f"left behind: {still_running}"


def _watch_them_go(children: dict[psutil.Process, str], timeout: float) -> dict[str, int]:
    """Poll until every child has exited; return, per role, the poll round its last process went in."""
    gone_at: dict[str, int] = {}
    alive = dict(children)
    deadline = time.monotonic() + timeout
    round_ = 0
    while alive and time.monotonic() < deadline:
        for process, role in list(alive.items()):
            if _exited(process):
                del alive[process]
                if role not in alive.values():
                    gone_at[role] = round_
        round_ += 1
        time.sleep(0.01)
    assert not alive, f"still running after {timeout}s: {alive}"
    return gone_at


def _exited(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _port_before_a_free_one() -> int:
    """A free port whose successor is free too (where the launcher puts the sandbox's mock)."""
    while True:
        port = live.free_port()
        with socket.socket() as probe:
            if port < 65535 and probe.connect_ex(("127.0.0.1", port + 1)) != 0:
                return port


def test_two_copies_on_different_ports_each_get_their_own_mock(tmp_path):
    """Sandbox mode, GRAPH_API_URL unset: each copy's mock listens on PORT+1 and its web talks to it."""
    ports = [_port_before_a_free_one(), _port_before_a_free_one()]
    assert len({*ports, *(p + 1 for p in ports)}) == 4
    launchers = []
    try:
        for port in ports:
            env = live.flask_env(
                INSTANCE_PATH=tmp_path / str(port), LOG_DIR=tmp_path / f"logs-{port}", WHATSAPP_TOKEN=""
            )
            env.pop("GRAPH_API_URL", None)
            env.pop("SANDBOX_GRAPH_API_URL", None)
            command = [live.python(), "-m", "flask", "--app", "wsgi", "dev", "--port", str(port)]
            launchers.append(live.start(command, env, tmp_path / f"dev-{port}.log"))
        for port in ports:
            _phone_round_trip(port, tmp_path)
    finally:
        codes = [live.stop(launcher, signal.SIGINT, timeout=40) for launcher in launchers]
    assert codes == [0, 0]


def _phone_round_trip(port: int, tmp_path) -> None:
    """The copy on `port` announces its mock on port+1, and a phone message comes back through it."""
    base = f"http://127.0.0.1:{port}"
    live.wait_for(lambda: requests.get(f"{base}/healthz", timeout=2).ok, 90, f"web on {port}")
    output = (tmp_path / f"dev-{port}.log").read_text()
    assert f"mock Graph API listens on http://127.0.0.1:{port + 1};" in output, output
    web, csrf = _log_in(base, tmp_path / str(port))
    customer = {"wa_id": f"1555{port}", "name": "Tester"}
    sent = web.post(
        f"{base}/sandbox/phone/send",
        data={**customer, "kind": "text", "text": f"hello copy {port}"},
        headers={"X-CSRFToken": csrf},
        timeout=10,
    )
    assert sent.status_code == 200 and "does not answer" not in sent.text, sent.text
    # The mock posts the webhook to the copy it belongs to; only there does the message show.
    live.wait_for(
        lambda: f"hello copy {port}" in web.get(f"{base}/sandbox/phone/thread", params=customer).text,
        30,
        f"the message in copy {port}",
    )
