"""`cxflow.pgtest`: the throwaway PostgreSQL server the store tests run on."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import make_url

from cxflow import pgtest
from cxflow.errors import UsageError


def test_a_fresh_database_is_empty_and_separate(postgres_server: str) -> None:
    first, second = pgtest.fresh_database(postgres_server), pgtest.fresh_database(postgres_server)
    assert first != second
    assert make_url(first).host == "127.0.0.1"
    conninfo = make_url(first).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        listen = conn.execute("SHOW listen_addresses").fetchone()
    assert tables == (0,)
    if not os.environ.get(pgtest.URL_ENV):  # our own throwaway server: loopback only
        assert listen == ("127.0.0.1",)
    pgtest.drop_database(first)
    pgtest.drop_database(second)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(conninfo).close()


def test_a_given_server_url_is_used_and_nothing_is_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(pgtest.URL_ENV, "postgresql+psycopg://me@db.example:5432/postgres")
    monkeypatch.setattr(pgtest, "find_bindir", lambda: pytest.fail("must not look for initdb"))
    with pgtest.throwaway_postgres() as url:
        assert url == "postgresql+psycopg://me@db.example:5432/postgres"


def test_without_postgresql_installed_the_error_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(pgtest.URL_ENV, raising=False)
    monkeypatch.setattr(pgtest.shutil, "which", lambda name: None)
    monkeypatch.setattr(pgtest.glob, "glob", lambda pattern: [])
    with pytest.raises(UsageError) as info, pgtest.throwaway_postgres():
        pass
    assert "apt install postgresql" in str(info.value)
    assert pgtest.URL_ENV in str(info.value)
