"""Schema management through Alembic, on whatever database the app uses."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask

from .extensions import db

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (idempotent)."""
    _run(app, command.upgrade, revision)


def downgrade_database(app: Flask, revision: str) -> None:
    _run(app, command.downgrade, revision)


def _run(app: Flask, step, revision: str) -> None:
    with app.app_context():
        cfg = alembic_config(app.config["SQLALCHEMY_DATABASE_URI"])
        with db.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite alters a table by copying it and dropping the old one;
                # with foreign keys enforced, that DROP would cascade and delete
                # every answer of the responses table. (Only settable outside
                # a transaction, hence before begin().)
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()  # end SQLAlchemy's autobegun transaction
            try:
                with connection.begin():
                    cfg.attributes["connection"] = connection
                    step(cfg, revision)
                    if sqlite:
                        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if problems:
                            raise RuntimeError(f"migration left broken references: {problems[:5]}")
            finally:
                if sqlite:
                    connection.rollback()
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
