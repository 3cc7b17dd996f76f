"""The RQ dashboard at /admin/rq: admins only, on Flowapp's Redis, with a CSP of its own."""

from __future__ import annotations

from rq import Queue

from flowapp.web.security import CONTENT_SECURITY_POLICY
from tests import factories


def test_admin_opens_the_dashboard(logged_in, redis):
    """The dashboard page and its JSON load for an admin, and list Flowapp's queues."""
    Queue("sends", connection=redis).enqueue("flowapp.jobs.system.ping", "x")
    page = logged_in.get("/admin/rq/")
    assert page.status_code == 200 and "RQ" in page.get_data(as_text=True)
    assert "'unsafe-inline'" in page.headers["Content-Security-Policy"]
    queues = logged_in.get("/admin/rq/0/data/queues.json").get_json()
    assert {"name": "sends", "count": 1} in [
        {"name": q["name"], "count": q["count"]} for q in queues["queues"]
    ]
    static = logged_in.get("/admin/rq/static/js/jquery-3.5.1.min.js")
    static.close()  # a file response: release the file
    assert static.status_code == 200


def test_flowapp_pages_keep_the_strict_policy(logged_in):
    """Only the dashboard is relaxed; the rest of Flowapp keeps script-src 'self'."""
    assert logged_in.get("/settings/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_anonymous_is_sent_to_login_and_agents_get_403(client, user):
    """No session: the login page; an agent: 403."""
    response = client.get("/admin/rq/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    factories.login(client, user.email, "correct horse battery")
    assert client.get("/admin/rq/").status_code == 403
    assert client.get("/admin/rq/0/data/queues.json").status_code == 403


def test_changes_must_come_from_flowapps_own_pages(logged_in, redis):
    """The dashboard's POSTs carry no CSRF token, so they must be same-origin (Origin or Referer)."""
    job = Queue("default", connection=redis).enqueue("flowapp.jobs.system.ping", "x")
    refused = logged_in.post(f"/admin/rq/job/{job.id}/delete", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert logged_in.get("/admin/rq/requeue/default").status_code == 403
    accepted = logged_in.post(f"/admin/rq/job/{job.id}/delete", headers={"Origin": "http://localhost"})
    assert accepted.status_code == 200
    assert Queue("default", connection=redis).count == 0


def test_compacting_an_empty_queue_is_fine(logged_in, redis):
    """ "Compact" on a queue with nothing in it answers OK (RQ's rename would fail on the missing list);
    on a queue with a deleted job it removes the dead id and keeps the live ones in order."""
    same_site = {"Origin": "http://localhost"}
    empty = logged_in.post("/admin/rq/queue/nothing-here/compact", headers=same_site)
    assert empty.status_code == 200 and empty.get_json() == {"status": "OK"}
    queue = Queue("compact-me", connection=redis)
    first, dead, last = (queue.enqueue("flowapp.jobs.system.ping", str(n)) for n in range(3))
    redis.delete(dead.key)  # its hash is gone; its id is still in the queue's list
    full = logged_in.post("/admin/rq/queue/compact-me/compact", headers=same_site)
    assert full.status_code == 200
    assert queue.job_ids == [first.id, last.id]
