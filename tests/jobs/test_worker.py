"""The RQ worker runs jobs enqueued by the web process, each in its own app context."""

import os
import re
import subprocess
import sys

from redis import Redis
from rq import Queue

from flowapp.extensions import QUEUES
from flowapp.jobs.worker import FlowappWorker
from tests import factories


def run_worker_burst(app, redis):
    worker = FlowappWorker([Queue(n, connection=redis) for n in QUEUES], connection=redis, app=app)
    worker.work(burst=True)
    return worker


def test_web_enqueues_and_worker_runs(app, logged_in, redis):
    """The settings page's ping is enqueued by a request and answered by a worker."""
    token = factories.csrf_token(logged_in, "/settings/")
    response = logged_in.post("/settings/workers/ping", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200
    nonce = re.search(r"/settings/workers/ping/([0-9a-f]{16})", response.get_data(as_text=True)).group(1)
    assert "Waiting for a worker" in logged_in.get(f"/settings/workers/ping/{nonce}").get_data(as_text=True)
    run_worker_burst(app, redis)
    answer = logged_in.get(f"/settings/workers/ping/{nonce}").get_data(as_text=True)
    assert "A worker answered" in answer


def test_ping_with_redis_down_says_so(app, logged_in, monkeypatch):
    """With Redis down the ping is refused with a clear message, not a crash."""
    monkeypatch.setitem(app.extensions, "flowapp_redis", Redis.from_url("redis://127.0.0.1:1/0"))
    token = factories.csrf_token(logged_in, "/settings/")
    response = logged_in.post("/settings/workers/ping", headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert "Redis does not answer" in response.get_data(as_text=True)
    assert "Redis does not answer" in logged_in.get("/settings/").get_data(as_text=True)


def test_worker_process_runs_a_job(app, base_config, redis, tmp_path):
    """`flask --app wsgi worker --burst`, a real process, runs a job the app enqueued."""
    from flowapp import work
    from flowapp.services import workers

    with app.app_context():
        nonce, job = workers.ping()
        work.submit([job])
    env = {
        **os.environ,
        "DATABASE_URL": base_config["DATABASE_URL"],
        "REDIS_URL": base_config["REDIS_URL"],
        "INSTANCE_PATH": str(tmp_path),
        "LOG_DIR": str(tmp_path / "logs"),
        "FLOWAPP_ENV": "development",
        "SECRET_KEY": "k" * 20,
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=app.root_path + "/..",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with app.app_context():
        assert workers.ping_answer(nonce) is not None
