"""Flask CLI commands."""

from pathlib import Path

import click

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


def test_readme_lists_every_command_with_its_options(app):
    """Each Flowapp command has a row in the README's command table naming all its options."""
    from flowapp import cli

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rows = {line.split("`")[1].split()[0]: line for line in readme.splitlines() if line.startswith("| `")}
    missing = []
    for name, command in app.cli.commands.items():
        if command.callback.__module__ != cli.__name__:
            continue  # Flask's own (run, shell, routes) and Flask-Migrate's db
        row = rows.get(name, "")
        options = [p.opts for p in command.params if isinstance(p, click.Option)]
        missing += [f"{name} {opts[0]}" for opts in options if not row or not any(o in row for o in opts)]
    assert missing == []
