"""Alembic migrations: one head, and no drift between the models and the migrated schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from flowapp.extensions import db
from flowapp.models import Base
from flowapp.models.base import include_object


def _script(app) -> ScriptDirectory:
    config = app.extensions["migrate"].migrate.get_config(str(app.config["MIGRATIONS_DIR"]))
    return ScriptDirectory.from_config(config)


def test_single_head(app):
    """Exactly one head: two developers' migrations never fork the history unnoticed."""
    with app.app_context():
        assert len(_script(app).get_heads()) == 1


def test_models_match_migrations(app):
    """Autogenerate finds nothing to do against a database built by the migrations."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; run `flask --app wsgi db migrate`: {diff}"


def test_database_is_at_head(app):
    """The session's database was built by `db upgrade` to the newest revision."""
    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        assert current == _script(app).get_current_head()


def test_app_never_creates_tables(make_app, tmp_path):
    """Building the app against an empty database leaves it empty: tables come from migrations."""
    from sqlalchemy import inspect

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
