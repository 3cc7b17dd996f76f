"""The served stack for benchmarks that measure pages while the real load runs: the documented
production server, RQ workers, the sandbox Graph API posting status webhooks back, an open-loop load
of customers writing in, a browser-like logged-in session, and the loss/duplication check at the end.

Pieces, used together by bench.contacts_page:
- `served_stack`: mock + gunicorn -w 4 --threads 4 + RQ workers (and workers of the "ai" queue when
  asked); every process is stopped on the way out, whatever happens (an exception, Ctrl-C).
- `fake_model`: the built-in fake model server (flowapp.sandbox.fake_llm) as a child process, with a
  fixed artificial latency.
- `CustomerLoad`: a thread posting signed customer messages at a steady rate (an open loop: a slow
  answer never slows the load), each message with its own wamid, from new and existing customers.
- `BrowserSession`: a `requests.Session` that logs in through the form with its CSRF token, behind the
  TLS proxy the deployment guide puts in front of gunicorn (X-Forwarded-Proto: https).
- `drain_and_check`: waits until the backlog is gone, then counts what was stored and sent;
  `report_load` prints it and gives the exit status.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

from bench.common import APP_SECRET, PYTHON, Child, gunicorn, wait_http
from flowapp.whatsapp.signature import sign
from flowapp.whatsapp.simulate import inbound_payload

NUMBER = "106540352242922"


@contextmanager
def served_stack(
    env: dict,
    workdir: Path,
    web_port: int,
    mock_port: int,
    workers: int = 3,
    web_workers: int = 4,
    statuses: bool = True,
    ai_workers: int = 0,
):
    """Mock Graph API (posting status webhooks back unless `statuses` is off), gunicorn
    -w `web_workers` --threads 4, `workers` RQ workers and `ai_workers` workers of the "ai" queue
    (`flask worker -q ai`, as the Procfile's ai-worker), all stopped on exit. Yields (web_url, mock_url)."""
    web_url, mock_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{mock_port}"
    mock_args = [PYTHON, "-m", "flowapp.sandbox", "--port", str(mock_port)]
    mock_args += ["--webhook-url", f"{web_url}/webhooks/whatsapp"] + ([] if statuses else ["--no-statuses"])
    with ExitStack() as stack:
        stack.enter_context(Child(mock_args, env={**env, "APP_SECRET": APP_SECRET}, log=workdir / "mock.log"))
        web = gunicorn("wsgi:app", web_port, web_workers, threads=4, env=env, log=workdir / "web.log")
        stack.enter_context(web)
        for n in range(workers):
            worker = [PYTHON, "-m", "flask", "--app", "wsgi", "worker"]
            stack.enter_context(Child(worker, env=env, log=workdir / f"worker{n}.log"))
        for n in range(ai_workers):
            worker = [PYTHON, "-m", "flask", "--app", "wsgi", "worker", "-q", "ai"]
            stack.enter_context(Child(worker, env=env, log=workdir / f"ai-worker{n}.log"))
        wait_http(f"{web_url}/healthz")
        wait_http(f"{mock_url}/_mock/stats")
        yield web_url, mock_url


def fake_model(port: int, latency_ms: int, env: dict, log: Path) -> Child:
    """The fake model server on 127.0.0.1:`port` (base URL http://127.0.0.1:`port`/v1), every answer
    held `latency_ms`; stop it (or use it as a context manager)."""
    args = [PYTHON, "-m", "flowapp.sandbox.fake_llm", "--port", str(port), "--latency-ms", str(latency_ms)]
    return Child(args, env=env, log=log)


def message_body(wa_id: str, name: str, wamid: str | None = None, text: str = "hello") -> bytes:
    """The webhook body of customer `wa_id` writing `text` (a random wamid unless given); unsigned."""
    payload = inbound_payload(
        {"from": wa_id, "name": name, "text": text, "wamid": wamid},
        phone_number_id=NUMBER,
        display_phone_number="15550100000",
        waba_id="102290129340398",
    )
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


class CustomerLoad(threading.Thread):
    """Posts one customer message (`text`) every 1/rate seconds until stopped (or `existing` runs
    out): every other one from a new customer, the rest from `existing` customers; every one from a
    new customer when `existing` is None. Each customer writes once, so each message earns exactly
    one reply and a duplicate shows. New customers' numbers start with `prefix` (one per load)."""

    def __init__(
        self, web_url: str, rate: float, existing: list[str] | None, text: str = "hello", prefix: str = "1555"
    ):
        super().__init__(daemon=True)
        self.url, self.rate, self.text, self.prefix = f"{web_url}/webhooks/whatsapp", rate, text, prefix
        self.new_only, self.existing = existing is None, list(existing or ())
        self.posted: dict[str, str] = {}  # wa_id -> wamid, answered 2xx
        self.times: dict[str, float] = {}  # wa_id -> time.time() the post started, answered 2xx
        self.failed = 0
        self.started = self.ended = 0.0
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._session = requests.Session()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def achieved(self) -> float:
        """Messages accepted per second over the load's span."""
        return len(self.posted) / max(self.ended - self.started, 1e-9)

    def run(self) -> None:
        self.started = time.perf_counter()
        n = 0
        with ThreadPoolExecutor(8) as pool:
            while not self._halt.is_set() and (self.new_only or n % 2 == 0 or n // 2 < len(self.existing)):
                delay = self.started + n / self.rate - time.perf_counter()
                if delay > 0 and self._halt.wait(delay):  # pacing the open loop, not awaiting answers
                    break
                pool.submit(self._post, *self.customer(n))
                n += 1
        self.ended = time.perf_counter()

    def customer(self, n: int) -> tuple[str, str]:
        """The `n`th message's (wa_id, wamid)."""
        if self.new_only:
            return f"{self.prefix}{n:07d}", f"wamid.LOAD{self.prefix}.{n}"
        wa_id = f"{self.prefix}{n // 2:07d}" if n % 2 == 0 else self.existing[n // 2]
        return wa_id, f"wamid.LOAD{self.prefix}.{n}"

    def _post(self, wa_id: str, wamid: str) -> None:
        body = message_body(wa_id, f"Customer {wa_id[-4:]}", wamid, self.text)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)}
        started = time.time()
        try:
            self._session.post(self.url, data=body, headers=headers, timeout=10).raise_for_status()
        except requests.RequestException:
            with self._lock:
                self.failed += 1
            return
        with self._lock:
            self.posted[wa_id] = wamid
            self.times[wa_id] = started


class BrowserSession:
    """A logged-in browser as seen by gunicorn behind the documented TLS proxy.

    The browser sends its Secure cookies over TLS to the proxy, which passes them on over the plain
    hop to gunicorn: the bench stands where the proxy is, so it sends them over http too."""

    def __init__(self, web_url: str, email: str, password: str):
        self.base = web_url
        self.session = requests.Session()
        self.session.headers["X-Forwarded-Proto"] = "https"  # gunicorn trusts it from 127.0.0.1
        token = re.search(r'name="csrf-token" content="([^"]+)"', self.get("/login").text).group(1)
        response = self._request(
            "POST",
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            headers={"Referer": f"https://{web_url.split('://', 1)[1]}/login"},  # CSRF's HTTPS check
        )
        assert response.status_code == 302, f"login failed: {response.status_code}"

    def get(self, path: str, headers: dict | None = None) -> requests.Response:
        return self._request("GET", path, headers=headers)

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = f"{self.base}{path}"
        response = self.session.request(method, url, timeout=30, allow_redirects=False, **kwargs)
        for cookie in self.session.cookies:
            cookie.secure = False  # see the class docstring
        return response


def drain_and_check(env: dict, mock_url: str, load: CustomerLoad, timeout: float = 300.0) -> dict:
    """Wait (up to `timeout`) until every posted message got its reply, the mock has posted every
    status webhook and no stored event waits; then count losses and duplicates."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    drained = False
    while time.monotonic() < deadline:
        replies = _replies(mock_url, load.posted)
        pending = requests.get(f"{mock_url}/_mock/stats", timeout=10).json()["webhooks"]["pending"]
        if len(replies) == len(load.posted) and not pending and not _db_counts(env, load)["waiting"]:
            drained = True
            break
        time.sleep(0.5)
    counts = _db_counts(env, load)
    replies = _replies(mock_url, load.posted)
    webhooks = requests.get(f"{mock_url}/_mock/stats", timeout=10).json()["webhooks"]
    return {
        "drained": drained,
        "drain_seconds": time.monotonic() - started,
        "posted": len(load.posted),
        "post_failures": load.failed,
        "stored": counts["stored"],
        "stored_twice": counts["stored"] - counts["distinct"],
        "lost_messages": len(load.posted) - counts["distinct"],
        "replies_lost": sum(1 for wa_id in load.posted if wa_id not in replies),
        "replies_twice": sum(n - 1 for n in replies.values() if n > 1),
        "replies_read": counts["read"],
        "status_webhooks_delivered": webhooks["delivered"],
        "status_webhooks_dropped": webhooks["dropped"],
        "events_waiting": counts["waiting"],
    }


def report_load(rate: float, load: CustomerLoad, check: dict) -> int:
    """The load's figures; 1 when anything was lost or duplicated, a post failed or it did not drain."""
    print(
        f"load: {check['posted']} customer messages accepted in {load.ended - load.started:.0f} s, "
        f"{load.achieved():.1f}/s achieved (asked {rate:g}/s), {check['post_failures']} posts failed"
    )
    print(
        f"backlog drained: {'yes' if check['drained'] else 'NO'} ({check['drain_seconds']:.1f} s after the "
        f"load stopped; {check['events_waiting']} events waiting)"
    )
    print(
        f"messages stored {check['stored']} of {check['posted']}: missing {check['lost_messages']}, "
        f"duplicated {check['stored_twice']}; replies missing {check['replies_lost']}, duplicated "
        f"{check['replies_twice']}; replies read {check['replies_read']}; status webhooks posted back "
        f"{check['status_webhooks_delivered']}, dropped {check['status_webhooks_dropped']}"
    )
    bad = check["lost_messages"] + check["stored_twice"] + check["replies_lost"] + check["replies_twice"]
    bad += check["post_failures"] + check["status_webhooks_dropped"]
    ok = check["drained"] and bad == 0
    print("load check: " + ("passed" if ok else "FAILED (lost, duplicated, failed or not drained)"))
    return 0 if ok else 1


def _replies(mock_url: str, posted: dict[str, str]) -> Counter:
    """Sends the mock received per customer of the load."""
    records = requests.get(f"{mock_url}/_mock/messages", params={"limit": 1_000_000}, timeout=30).json()
    return Counter(r["to"] for r in records["messages"] if r["to"] in posted)


def _db_counts(env: dict, load: CustomerLoad) -> dict:
    import psycopg

    wamids = list(load.posted.values())
    url = env["DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT wamid) FROM messages WHERE direction = 'in' AND wamid = ANY(%s)",
            (wamids,),
        ).fetchone()
        read = conn.execute(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "JOIN contacts k ON k.id = c.contact_id "
            "WHERE m.direction = 'out' AND m.status = 'read' AND k.wa_id = ANY(%s)",
            (list(load.posted),),
        ).fetchone()[0]
        waiting = conn.execute("SELECT count(*) FROM webhook_events WHERE processed_at IS NULL").fetchone()[0]
    return {"stored": stored, "distinct": distinct, "read": read, "waiting": waiting}
