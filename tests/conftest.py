"""Fixtures for tests that need a real database: a throwaway PostgreSQL server and store URLs.

`store_url` runs a test twice, on a SQLite file and on a fresh PostgreSQL database, so the
same behaviour is proven on both. Without PostgreSQL the postgres cases fail with the fix in
the message (they never skip): `apt install postgresql`, or set CXFLOW_TEST_PG_URL.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest puts tests/ first on sys.path to import this file, where tests/cxflow/ (test modules,
# no __init__.py) would be taken for a namespace package `cxflow` and hide the installed one.
# Import the real package once with tests/ off the path; later imports then find it loaded.
_TESTS = str(Path(__file__).parent)
_saved_path = list(sys.path)
sys.path[:] = [p for p in sys.path if p != _TESTS]
try:
    import cxflow  # noqa: F401
finally:
    sys.path[:] = _saved_path

from cxflow.errors import UsageError  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The base URL of a PostgreSQL server started for this test run (or $CXFLOW_TEST_PG_URL)."""
    from cxflow.pgtest import throwaway_postgres

    try:
        with throwaway_postgres() as url:
            yield url
    except UsageError as exc:
        pytest.fail(f"PostgreSQL is needed for this test: {exc}", pytrace=False)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    from cxflow.pgtest import drop_database, fresh_database

    url = fresh_database(postgres_server)
    yield url
    drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a `SqlStore` lives: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("postgres_url")
