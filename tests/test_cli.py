"""Flask CLI commands."""

from flowapp.services import users


def test_create_user(app, session):
    """`create-user` adds a user who can then authenticate."""
    result = app.test_cli_runner().invoke(
        args=["create-user", "--email", "New@Example.com", "--password", "long enough pw", "--role", "agent"]
    )
    assert result.exit_code == 0, result.output
    assert "Created agent new@example.com" in result.output
    with app.app_context():
        assert users.authenticate("new@example.com", "long enough pw") is not None


def test_create_user_refuses_a_short_password(app, session):
    """A weak password is refused with the reason."""
    result = app.test_cli_runner().invoke(args=["create-user", "--email", "a@b.co", "--password", "short"])
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output


def test_ensure_demo_user_only_when_empty(app, session, admin):
    """With a user present, no demo user is created."""
    result = app.test_cli_runner().invoke(args=["ensure-demo-user"])
    assert result.exit_code == 0
    with app.app_context():
        assert users.count_users() == 1
