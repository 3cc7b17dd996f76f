"""A run waiting on an HTTP or model call whose job was lost (Redis flushed, a crashed worker) is not
left waiting until it expires, with its contact's messages held behind it: the minute sweep queues
the call again, and after twice gives the step its failure so the held messages move on."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from sqlalchemy import select

from flowapp.extensions import AI_QUEUE, db
from flowapp.jobs.automations import sweep_deadlines
from flowapp.models import AutomationLog, utcnow
from flowapp.services import calls
from tests.services.test_ai_nodes import outgoing, publish, say, the_run, triage_graph, work


def lose_the_job(redis, run) -> None:
    """What a flushed Redis does to the queued call; and the three minutes since it was queued."""
    queue = Queue(AI_QUEUE, connection=redis)
    for job_id in queue.job_ids:
        queue.fetch_job(job_id).delete()
    assert queue.count == 0
    wait = dict(run.state["wait"])
    wait["queued_at"] = (utcnow() - timedelta(minutes=4)).isoformat()
    run.state = {**run.state, "wait": wait}
    db.session.commit()


def test_a_lost_model_call_is_queued_again_and_answers(app, session, redis, fake_llm):
    publish(triage_graph())
    say("I want a refund for this")
    run = the_run()
    assert run.state["wait"]["kind"] == "ai" and run.state["wait"]["call"]["messages"]
    assert calls.lost() == []  # its job is alive, and it was queued just now
    lose_the_job(redis, run)
    assert calls.lost() == [run]

    assert sweep_deadlines() == 1
    assert Queue(AI_QUEUE, connection=redis).count == 1 and calls.lost() == []
    work(app, redis, [AI_QUEUE])
    db.session.refresh(run)
    assert run.status == "completed" and outgoing() == ["refund 0.99"]


def test_a_call_lost_three_times_fails_its_step_and_frees_the_held_messages(app, session, redis, fake_llm):
    publish(triage_graph())
    say("I want a refund for this")
    say("hello?")  # held behind the call
    run = the_run()
    for attempt in range(calls.MAX_REQUEUES):
        lose_the_job(redis, run)
        assert sweep_deadlines() == 1
        db.session.refresh(run)
        assert run.state["wait"]["requeued"] == attempt + 1
    lose_the_job(redis, run)
    assert sweep_deadlines() == 1
    db.session.refresh(run)
    assert run.status == "completed"
    assert outgoing() == ["failure: the call's job was lost and queued again without an answer"]
    released = db.session.scalars(
        select(AutomationLog.detail).where(
            AutomationLog.run_id == run.id, AutomationLog.event == "held_released"
        )
    ).all()
    assert [d.get("text") for d in released] == ["hello?"]
    assert sweep_deadlines() == 0  # nothing left to recover
