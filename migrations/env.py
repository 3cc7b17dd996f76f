"""Alembic environment, run through Flask-Migrate (`flask --app wsgi db upgrade`)."""

import logging

from alembic import context
from flask import current_app

import flowapp.models  # noqa: F401  (every model registers its table on the metadata)
from flowapp.models import Base
from flowapp.models.base import include_object

config = context.config
# Alembic's lines go to database.log with the rest of the database's story; no fileConfig here,
# which would disable the loggers Flowapp set up.
log = logging.getLogger("flowapp.database")

db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)
target_metadata = Base.metadata


def _options(dialect_name: str) -> dict:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "include_object": include_object,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        "render_as_batch": dialect_name == "sqlite",
        **current_app.extensions["migrate"].configure_args,
    }


def _skip_empty(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("no changes in the models; no migration written")


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **_options(db.engine.dialect.name)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    options = _options(db.engine.dialect.name)
    options.setdefault("process_revision_directives", _skip_empty)
    with db.engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
