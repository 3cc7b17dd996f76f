"""Bot and person: taking over pauses the bot and the waiting run (kept, not lost), handing back
resumes it, an agent's reply takes over, and runs can be paused, resumed and ended one by one."""

from datetime import timedelta

import pytest
from rq_scheduler import Scheduler
from sqlalchemy import select

from flowapp.extensions import db, get_queue, get_redis
from flowapp.jobs.automations import fire_deadline
from flowapp.models import AutomationLog, AutomationRun, Conversation, Message, utcnow
from flowapp.services import deadlines, takeover
from flowapp.services.outbound import SendRefused
from tests import factories
from tests.services.test_runner import MENU, deliver, outgoing, publish


@pytest.fixture
def menu(session, redis):
    return publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)


@pytest.fixture
def agent(session):
    return factories.make_user(email="agent@example.com")


def waiting_menu() -> tuple[Conversation, AutomationRun]:
    """A customer wrote "menu": the run sent its buttons and waits for a choice."""
    deliver(text="menu", name="Ana")
    run = db.session.scalar(select(AutomationRun))
    assert run.status == "waiting"
    return db.session.scalar(select(Conversation)), run


def events(run: AutomationRun) -> list[str]:
    return list(db.session.scalars(select(AutomationLog.event).where(AutomationLog.run_id == run.id)))


def test_take_over_pauses_the_waiting_run_and_keeps_it(menu, agent):
    """The run stays waiting at its node but receives nothing; the bot answers no new message."""
    conversation, run = waiting_menu()
    paused = takeover.take_over(conversation, agent)
    db.session.commit()
    assert paused == [run]
    assert conversation.bot_paused and conversation.assignee_id == agent.id
    assert run.status == "waiting" and run.paused and run.current_node == "menu"
    deliver(button_reply={"id": "hours", "title": "Opening hours"})
    db.session.refresh(run)
    assert run.status == "waiting" and run.current_node == "menu"
    assert outgoing() == ["Hi Ana! Pick one"]
    assert "paused_by_person" in events(run)


def test_hand_back_resumes_the_run_where_it_was(menu, agent):
    """After hand-back the customer's next reply continues the very same run."""
    conversation, run = waiting_menu()
    takeover.take_over(conversation, agent)
    db.session.commit()
    resumed = takeover.hand_back(conversation, agent)
    db.session.commit()
    assert resumed == [run] and not run.paused
    assert not conversation.bot_paused and not conversation.needs_human
    deliver(button_reply={"id": "hours", "title": "Opening hours"})
    db.session.refresh(run)
    assert run.status == "completed"
    assert outgoing()[-1] == "We open 9-17."
    assert events(run).count("resumed_by_person") == 1


def test_deadline_while_paused_is_ignored_then_fires_on_hand_back(menu, agent):
    """A timeout that comes due while paused does nothing; handing back fires it at once."""
    conversation, run = waiting_menu()
    token = run.state["wait"]["token"]
    takeover.take_over(conversation, agent)
    run.wait_deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert fire_deadline(run.id, token) == "stale"
    assert db.session.get(AutomationRun, run.id).status == "waiting"
    takeover.hand_back(conversation, agent)
    db.session.commit()
    job_id = f"resume-{deadlines.job_id(run.id, token)}"
    assert job_id in get_queue("default").job_ids
    get_queue("default").fetch_job(job_id).perform()
    assert db.session.get(AutomationRun, run.id).status == "completed"
    assert "timeout" in events(run)


def test_hand_back_reschedules_a_future_deadline(menu, agent):
    """A deadline still ahead is scheduled again (its job may have fired, stale, while paused)."""
    conversation, run = waiting_menu()
    token = run.state["wait"]["token"]
    takeover.take_over(conversation, agent)
    db.session.commit()
    get_redis().flushdb()  # the wake-up job is gone
    takeover.hand_back(conversation, agent)
    db.session.commit()
    scheduled = [job.id for job in Scheduler(queue_name="default", connection=get_redis()).get_jobs()]
    assert scheduled == [deadlines.job_id(run.id, token)]


def test_agent_reply_takes_over(menu, agent):
    """Replying as an agent queues the message and pauses the bot and the run."""
    conversation, run = waiting_menu()
    message = takeover.reply(conversation, agent, {"type": "text", "text": "Hi, Marta here."})
    db.session.commit()
    assert message.author_type == "user" and message.author_user_id == agent.id
    assert message.status == "queued"
    assert conversation.bot_paused and db.session.get(AutomationRun, run.id).paused
    paused = select(AutomationLog.detail).where(AutomationLog.event == takeover.PAUSED)
    assert [detail["reason"] for detail in db.session.scalars(paused)] == ["reply"]


def test_refused_reply_changes_nothing(menu, agent):
    """Outside the 24-hour window free text is refused, and the bot keeps the conversation."""
    conversation, run = waiting_menu()
    conversation.contact.last_inbound_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    with pytest.raises(SendRefused):
        takeover.reply(conversation, agent, {"type": "text", "text": "late"})
    db.session.rollback()
    assert not db.session.get(Conversation, conversation.id).bot_paused
    assert not db.session.get(AutomationRun, run.id).paused
    assert db.session.scalar(select(Message).where(Message.author_type == "user")) is None


def test_hand_off_node_needs_a_person_until_someone_takes_over(menu, agent):
    """The hand-off node pauses the bot with its reason; taking over clears "needs a person"."""
    conversation, _run = waiting_menu()
    deliver(button_reply={"id": "human", "title": "Talk to us"})
    db.session.refresh(conversation)
    assert conversation.needs_human and conversation.handoff_reason == "asked for a person"
    takeover.take_over(conversation, agent)
    assert not conversation.needs_human and conversation.bot_paused


def test_pause_resume_and_end_one_run(menu, agent):
    """Runs are controlled one by one from the side panel; an ended run takes no more controls."""
    conversation, run = waiting_menu()
    takeover.pause_run(run, agent)
    assert run.paused and not conversation.bot_paused
    takeover.resume_run(run, agent)
    assert not run.paused
    takeover.end_run(run, agent)
    db.session.commit()
    assert run.status == "interrupted" and run.ended_at is not None
    with pytest.raises(takeover.TakeoverError):
        takeover.pause_run(run, agent)
    assert takeover.active_runs(conversation.contact_id) == []
    assert takeover.recent_runs(conversation.contact_id) == [run]


def test_runs_of_another_contact_are_refused(menu, agent):
    """A run id from another conversation is not found through this one."""
    _conversation, run = waiting_menu()
    stranger = factories.make_conversation(factories.make_contact(wa_id="15559990000"))
    with pytest.raises(takeover.TakeoverError):
        takeover.get_run(stranger, run.id)


def test_assign_and_status(agent):
    """Assignment needs an active user; closing clears "needs a person"."""
    conversation = factories.make_conversation(factories.make_contact(), needs_human=True)
    takeover.assign(conversation, agent.id)
    assert conversation.assignee_id == agent.id
    agent.active = False
    with pytest.raises(takeover.TakeoverError):
        takeover.assign(conversation, agent.id)
    takeover.assign(conversation, None)
    takeover.set_status(conversation, "closed")
    assert conversation.status == "closed" and not conversation.needs_human
    with pytest.raises(takeover.TakeoverError):
        takeover.set_status(conversation, "snoozed")
