"""The API tested against its own OpenAPI document with schemathesis: generated requests for every
operation must never cause a server error, and every answer must match the documented status codes,
content types and response schemas. Runs in CI with the rest of the suite (kept quick by
`max_examples`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flowapp.models import utcnow
from flowapp.services import api_tokens
from flowapp.web.api import spec
from tests import factories

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_token(app, session, redis, admin, monkeypatch):
    """A token, some rows for the requests to find, and no rate limit (hundreds of calls a minute)."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 0)
    contact = factories.make_contact(wa_id="15551230001", last_inbound_at=utcnow() - timedelta(minutes=1))
    factories.make_conversation(contact)
    _, value = api_tokens.create(admin, "schemathesis")
    session.commit()  # the requests go in-process (not through CommittingClient): they see committed rows
    return value


# The document is data in the package, so it is loaded when the tests are collected (the same dict
# that /api/openapi.json serves; tests/web/test_api.py checks that it names exactly the app's routes).
# Requests go to the test's app in-process (WSGI).
schema = schemathesis.openapi.from_dict(spec.document())


@schema.parametrize()
@settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, app, api_token):
    """Generated requests get no 5xx, and documented statuses, content types and bodies."""
    case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, checks=CHECKS, app=app)
