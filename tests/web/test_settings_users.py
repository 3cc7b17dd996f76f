"""Settings > Users and API tokens: admins manage people and tokens; the token's value is shown once."""

from __future__ import annotations

import re

from click.testing import CliRunner

from flowapp.extensions import db
from flowapp.models import ApiToken, User
from flowapp.services import api_tokens, users
from tests import factories


def form(client, path, **data):
    return {"csrf_token": factories.csrf_token(client, path), **data}


def test_admin_adds_a_user_who_can_log_in(logged_in, client):
    """A user added in Settings can log in with the first password."""
    data = form(
        logged_in, "/settings/users", email="New@Example.com", password="long enough pw", role="agent"
    )
    html = logged_in.post("/settings/users", data=data, follow_redirects=True).get_data(as_text=True)
    assert "new@example.com can now log in as agent" in html
    assert users.authenticate("new@example.com", "long enough pw") is not None


def test_bad_new_users_are_refused(logged_in):
    """A short password or a taken email is refused with the reason."""
    data = form(logged_in, "/settings/users", email="x@example.com", password="short", role="agent")
    html = logged_in.post("/settings/users", data=data, follow_redirects=True).get_data(as_text=True)
    assert "at least 8 characters" in html
    data = form(logged_in, "/settings/users", email="admin@example.com", password="long enough pw")
    assert "already exists" in logged_in.post("/settings/users", data=data, follow_redirects=True).get_data(
        as_text=True
    )


def test_roles_and_deactivation(logged_in, user):
    """An admin promotes, demotes and deactivates; a deactivated user cannot log in."""
    logged_in.post(f"/settings/users/{user.id}", data=form(logged_in, "/settings/users", role="admin"))
    assert db.session.get(User, user.id).role == "admin"
    logged_in.post(f"/settings/users/{user.id}", data=form(logged_in, "/settings/users", active="false"))
    assert db.session.get(User, user.id).active is False
    assert users.authenticate(user.email, "correct horse battery") is None


def test_the_last_admin_stays(logged_in, admin):
    """Demoting or deactivating the only active admin is refused."""
    for change in ({"role": "agent"}, {"active": "false"}):
        html = logged_in.post(
            f"/settings/users/{admin.id}",
            data=form(logged_in, "/settings/users", **change),
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "at least one active admin" in html
    assert db.session.get(User, admin.id).is_admin and db.session.get(User, admin.id).active


def test_token_value_is_shown_once_and_works(logged_in, client):
    """Creating a token shows its value once; the list shows only the prefix; the value works on the API."""
    response = logged_in.post("/settings/tokens", data=form(logged_in, "/settings/tokens", name="CRM sync"))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    value = re.search(
        r'id="token-value" class="token-value">(fa_[^<]+)<', response.get_data(as_text=True)
    ).group(1)
    listing = logged_in.get("/settings/tokens").get_data(as_text=True)
    assert value not in listing and value[:10] in listing and "CRM sync" in listing
    assert client.get("/api/contacts", headers={"Authorization": f"Bearer {value}"}).status_code == 200


def test_token_for_another_user_and_revoke(logged_in, user, client):
    """An admin may make a token acting as an agent, and revoke it; it stops working at once."""
    data = form(logged_in, "/settings/tokens", name="agent's", user_id=str(user.id))
    logged_in.post("/settings/tokens", data=data)
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "agent's"))
    assert token.user_id == user.id
    logged_in.post(f"/settings/tokens/{token.id}/revoke", data=form(logged_in, "/settings/tokens"))
    assert db.session.get(ApiToken, token.id).revoked
    assert (
        logged_in.post("/settings/tokens/999999/revoke", data=form(logged_in, "/settings/tokens")).status_code
        == 404
    )


def test_create_token_command(app, admin):
    """`flask create-token --email --name` prints a working token once."""
    runner = CliRunner()
    from flowapp.cli import create_token

    with app.app_context():
        result = runner.invoke(
            create_token, ["--email", admin.email, "--name", "cron job"], obj=_script_info(app)
        )
    assert result.exit_code == 0, result.output
    value = result.output.strip().splitlines()[-1]
    assert value.startswith("fa_") and api_tokens.authenticate(value).name == "cron job"
    with app.app_context():
        missing = runner.invoke(
            create_token, ["--email", "nobody@example.com", "--name", "x"], obj=_script_info(app)
        )
    assert missing.exit_code != 0 and "No user" in missing.output


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
