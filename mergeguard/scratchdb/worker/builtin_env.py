"""mergeguard's minimal Alembic environment, used when a project's env.py cannot run.

A project's ``env.py`` often imports the application (its models for
``target_metadata``) or reads settings that exist only in production. None of
that matters for running the revisions' ``upgrade()`` / ``downgrade()``, so
the worker can swap in ``ENV_PY`` instead: it is written as the ``env.py`` of a
temporary script directory (the project's files are never modified) whose
version locations are the project's own.

It configures Alembic on the connection the worker passes in
``config.attributes["connection"]`` (one per step; the worker commits it),
with ``target_metadata=None`` and batch mode on SQLite. The version table's
name comes from ``config.attributes["mergeguard.version_table"]``.
"""

from __future__ import annotations

VERSION_TABLE_ATTRIBUTE = "mergeguard.version_table"

ENV_PY = '''\
"""mergeguard's built-in Alembic environment (the project's env.py is not used)."""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
version_table = config.attributes.get("mergeguard.version_table") or "alembic_version"


def run_on(connection):
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=None,
        version_table=version_table,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif config.attributes.get("connection") is not None:
    run_on(config.attributes["connection"])
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()
'''
