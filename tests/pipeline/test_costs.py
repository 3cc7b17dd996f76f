"""What one message costs the database: the pipeline's statement budget (issue: at most 8)."""

from flowapp.extensions import db
from flowapp.pipeline import contacts, intake, pumps
from tests.helpers import customer_message, encode
from tests.pipeline.statements import counting

BUDGET = 8


def store(sender: str, text: str) -> None:
    rows = intake.rows_for(encode(customer_message(sender=sender, text=text)), "meta")
    intake.receive(rows)
    db.session.commit()


def drain_counting(app, sender: str) -> list[str]:
    with counting() as statements:
        assert contacts.drain("106540352242922", sender, pumps.board(app)) == "done"
    return statements


def test_a_new_contacts_message_without_automation_fits_the_budget(app, session, redis):
    """A first message from a new customer, no automation published: read the event, claim it,
    upsert contact and conversation, insert the message, bump the conversation, look for triggers."""
    store("15551239001", "hello")
    statements = drain_counting(app, "15551239001")
    assert len(statements) <= BUDGET, "\n".join(statements)


def test_a_known_contacts_message_fits_the_budget(app, session, redis):
    """A returning customer costs one more look (a run waiting for its reply), still in budget."""
    store("15551239002", "hello")
    drain_counting(app, "15551239002")
    store("15551239002", "again")
    statements = drain_counting(app, "15551239002")
    assert len(statements) <= BUDGET, "\n".join(statements)
