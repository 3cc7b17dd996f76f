"""The examples as a new installation opens them: through services.examples, checked against what the
database knows (the account's templates, the contacts' fields), not against a hand-made list."""

from flowapp.services import automations, examples, graph, templates
from tests import factories


def problems(slug: str) -> list[tuple]:
    automation = examples.create_from(slug)
    return [(i.level, i.node, i.field) for i in automations.check(automation.draft, automation.trigger)]


def test_every_example_opens_with_no_problem(graph_mock, session):
    """In a new installation whose templates were fetched (the scheduler does it when it starts and
    knows none), every example opens with no error and no warning."""
    templates.sync(graph.client())
    slugs = [example["slug"] for example in examples.all_examples()]
    assert len(slugs) == 7
    assert {slug: problems(slug) for slug in slugs} == {slug: [] for slug in slugs}


def test_field_references_are_checked_once_contacts_have_fields(graph_mock, session):
    """Once some contact has a field of its own, a field no contact has is a warning again; a field
    the contacts have is not."""
    templates.sync(graph.client())
    factories.make_contact(wa_id="15551230001", fields={"city": "Lima"})
    found = problems("appointment_reminder")
    assert ("warning", "remind", "parameters.body[1]") in found and ("warning", "thanks", "text") in found
    factories.make_contact(
        wa_id="15551230002", fields={"appointment_date": "12 May", "appointment_time": "10:00"}
    )
    assert problems("appointment_reminder") == []
