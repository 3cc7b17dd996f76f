"""API tokens: made once, stored hashed, checked, throttled last-use writes, revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowapp.models import ApiToken
from flowapp.services import api_tokens


def test_value_is_shown_once_and_only_its_hash_is_stored(admin):
    """The plain value starts with fa_ and is not stored; the hash and a prefix are."""
    token, value = api_tokens.create(admin, "CRM")
    assert value.startswith("fa_") and len(value) > 40
    assert token.token_hash == ApiToken.hash(value) and value not in (token.token_hash, token.prefix)
    assert value.startswith(token.prefix)


def test_authenticate(admin):
    """The right value finds the token; a wrong or malformed one finds nothing."""
    token, value = api_tokens.create(admin, "CRM")
    assert api_tokens.authenticate(value) is token
    assert api_tokens.authenticate(value + "x") is None
    assert api_tokens.authenticate("not-a-token") is None
    assert api_tokens.authenticate("") is None


def test_last_use_is_written_at_most_once_a_minute(admin):
    """A token used again within a minute keeps its last_used_at; a minute later it moves."""
    token, value = api_tokens.create(admin, "CRM")
    assert api_tokens.use_to_record(api_tokens.authenticate(value))  # never used yet
    api_tokens.record_use(token)
    first = token.last_used_at
    assert not api_tokens.use_to_record(api_tokens.authenticate(value))
    token.last_used_at = first - timedelta(seconds=61)
    assert api_tokens.use_to_record(api_tokens.authenticate(value))
    api_tokens.record_use(token)
    assert token.last_used_at >= first


def test_revoked_tokens_and_inactive_users_fail(admin, user):
    """Revocation and deactivation both stop a token."""
    token, value = api_tokens.create(admin, "CRM")
    api_tokens.revoke(token)
    assert api_tokens.authenticate(value) is None
    other, other_value = api_tokens.create(user, "agent's")
    user.active = False
    assert api_tokens.authenticate(other_value) is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_names_are_required_and_short(admin, name):
    """A token needs a name of at most 120 characters."""
    with pytest.raises(api_tokens.TokenError):
        api_tokens.create(admin, name)


def test_listing_is_newest_first_and_per_user(admin, user):
    """All tokens newest first, or one user's."""
    first, _ = api_tokens.create(admin, "one")
    second, _ = api_tokens.create(user, "two")
    assert [t.id for t in api_tokens.listing()][:2] == [second.id, first.id]
    assert api_tokens.listing(user) == [second]
