"""A throw-away database for a benchmark run, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN = os.environ.get("MINYI_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database(backend: str, folder: Path) -> Iterator[str]:
    """Yield a database URL; a PostgreSQL database is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
        return
    name = f"minyi_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
