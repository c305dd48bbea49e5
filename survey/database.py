"""Engine tuning that must hold for every connection, and what counts as
"the database is unreachable"."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

_busy_timeout_ms = 15000

#: A request that meets one of these could not reach the database (the server
#: is down or restarting, the connection was cut, the pool stayed empty, SQLite
#: stayed locked past its busy timeout): nothing is wrong with the request, so
#: it is answered 503 with Retry-After (survey.errors), never 500.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, DisconnectionError)

#: PostgreSQL connection settings unless the URL gives its own: a server that
#: does not answer fails the connection in seconds instead of holding a worker
#: thread for the operating system's TCP timeout (minutes), and keepalives
#: notice a peer that vanished without closing the connection.
POSTGRESQL_CONNECT_DEFAULTS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def end_sessions_safely(app) -> None:
    """End each request's database session without letting a dead connection
    turn a finished page into a 500.

    Flask-SQLAlchemy ends the session when the app context is torn down, by
    rolling back its transaction; if the connection died after the view had
    finished (the server restarted, the network cut), that rollback raises
    and the resident's page -- a thank-you page, say -- is lost. Registered
    after ``db.init_app`` so it runs before Flask-SQLAlchemy's own teardown,
    which then finds no session left to end. The server has rolled the
    transaction back anyway when the connection went.
    """
    from .extensions import db

    @app.teardown_appcontext
    def _end_session(exc) -> None:
        try:
            db.session.remove()
        except UNAVAILABLE_ERRORS as error:
            db.session.registry.clear()
            app.logger.warning("database session ended on a lost connection: %s", str(error).splitlines()[0])


def configure_sqlite(busy_timeout_ms: int) -> None:
    global _busy_timeout_ms
    _busy_timeout_ms = busy_timeout_ms


@event.listens_for(Engine, "do_connect")
def _postgresql_connect_defaults(dialect, connection_record, cargs, cparams) -> None:
    if dialect.name != "postgresql":
        return
    for name, value in POSTGRESQL_CONNECT_DEFAULTS.items():
        cparams.setdefault(name, value)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # WAL lets residents' reads go on while one submission writes; the busy
    # timeout makes concurrent writers queue instead of failing with
    # "database is locked"; SQLite enforces foreign keys only when asked.
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(_busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
