"""Alembic environment: runs on the connection ``survey.migrate`` hands over,
or on ``sqlalchemy.url`` when called from the ``alembic`` command line."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from survey import models  # noqa: F401  (registers the tables on the metadata)
from survey.extensions import db

config = context.config
target_metadata = db.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        run_migrations(conn)
