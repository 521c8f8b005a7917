"""A real PostgreSQL 16 + pgvector for the store tests (from the ``pgserver`` wheel), started once
per session in a temporary folder and stopped at the end. PostgreSQL refuses to run as root:
under root, pgserver runs it as the unprivileged system user ``pgserver`` (created with useradd
when missing). Each test gets its own schema, dropped afterwards.

Set ``QA_TEST_PG_DSN`` to run the same tests against another server (e.g. a managed one).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import Settings, load_settings


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    given = os.environ.get("QA_TEST_PG_DSN")
    if given:
        yield given
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR under CI
        import pgserver

    # Directly under /tmp: pgserver widens the permissions of every parent folder so that the
    # unprivileged user can reach the data, and pytest's own temp root is private (0700).
    folder = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def drop_schema(dsn: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as con:
        for schema in (name, f"{name}_rebuild", f"{name}_old"):
            con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def pg_settings(pg_dsn: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh index in its own schema of the session's PostgreSQL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield load_settings(store={"backend": "postgres", "dsn": pg_dsn, "schema_name": schema},
                        index={"dir": tmp_path / "unused"}, embedding={"model": "fake-hash"},
                        server={"upload_dir": tmp_path / "up", "feedback_path": tmp_path / "fb.jsonl"})
    drop_schema(pg_dsn, schema)


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The same fresh index on each backend (the contract tests run once per backend)."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_settings")
    return load_settings(index={"dir": tmp_path / "index"}, embedding={"model": "fake-hash"},
                         server={"upload_dir": tmp_path / "up", "feedback_path": tmp_path / "fb.jsonl"})


def refresh_statistics(settings: Settings) -> None:
    """What autovacuum does some time after a load: PostgreSQL's planner statistics of the
    full-text columns (the full-text plan reads them). The embedded store needs nothing."""
    if settings.store.backend != "postgres":
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(settings.store.dsn or "", autocommit=True) as con:
        con.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.store.schema_name)))
        con.execute("ANALYZE chunks, sentences")
