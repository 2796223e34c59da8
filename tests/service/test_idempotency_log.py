"""Where idempotency keys are kept, and how a keyed request runs once (no server needed)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.responses import Response

from cxflow import MemoryStore
from cxflow._idempotency import (
    KeyInUseError,
    MemoryRequestLog,
    Once,
    RequestLog,
    SqlRequestLog,
    request_log_for,
)
from cxflow.errors import StoreError
from cxflow.sql_store import SqlStore


@pytest.fixture(params=["memory", "sql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> RequestLog:
    if request.param == "memory":
        return request_log_for(MemoryStore())
    store = SqlStore(tmp_path / "cx.db")
    request.addfinalizer(store.close)
    return request_log_for(store)


def test_the_keys_live_in_the_sessions_database_when_it_is_sql(tmp_path: Path) -> None:
    store = SqlStore(tmp_path / "cx.db")
    assert isinstance(request_log_for(store), SqlRequestLog)
    assert isinstance(request_log_for(MemoryStore()), MemoryRequestLog)
    with store.engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        assert "cxflow_requests" in set(tables)
    store.close()


class Handler:
    """Counts its runs; answers 200 with the run number."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> Response:
        self.runs += 1
        return Response(f'{{"run": {self.runs}}}', media_type="application/json")


def test_a_key_runs_its_request_once_and_replays_the_response(log: RequestLog) -> None:
    once, handler = Once(log), Handler()
    first = asyncio.run(once.run("acme", "k", "fp", handler))
    again = asyncio.run(once.run("acme", "k", "fp", handler))
    other_tenant = asyncio.run(once.run("globex", "k", "fp", handler))
    assert handler.runs == 2
    assert first.body == again.body == b'{"run": 1}'
    assert other_tenant.body == b'{"run": 2}'
    assert again.headers["idempotent-replayed"] == "true"


def test_a_request_still_running_past_the_wait_is_key_in_use(log: RequestLog) -> None:
    assert log.claim("acme", "k", "fp", time.time()) is None  # running elsewhere
    handler = Handler()
    with pytest.raises(KeyInUseError, match="'k' is still running"):
        asyncio.run(Once(log, wait_s=0.05, poll_s=0.01).run("acme", "k", "fp", handler))
    assert handler.runs == 0


def test_a_key_whose_request_outlived_the_lease_is_taken_over(log: RequestLog) -> None:
    assert log.claim("acme", "k", "fp", time.time() - 600) is None  # its replica died
    handler = Handler()
    response = asyncio.run(Once(log, lease_s=60).run("acme", "k", "fp", handler))
    assert handler.runs == 1 and response.status_code == 200
    seen = log.claim("acme", "k", "fp", time.time())
    assert seen is not None and seen.response == '{"run": 1}'


def test_only_one_replica_takes_over_a_dead_request(log: RequestLog) -> None:
    log.claim("acme", "k", "fp", time.time() - 600)
    seen = log.claim("acme", "k", "fp", time.time())
    assert seen is not None and seen.status is None
    assert log.take_over("acme", "k", seen, time.time()) is True
    assert log.take_over("acme", "k", seen, time.time()) is False  # it changed meanwhile


def test_a_failed_request_releases_its_key(log: RequestLog) -> None:
    async def failing() -> Response:
        raise RuntimeError("boom")

    once = Once(log)
    with pytest.raises(RuntimeError):
        asyncio.run(once.run("acme", "k", "fp", failing))
    assert log.claim("acme", "k", "fp", time.time()) is None  # free again


def test_old_keys_are_purged(log: RequestLog) -> None:
    log.claim("acme", "old", "fp", time.time() - 90_000)
    log.complete("acme", "old", 200, "{}")
    log.claim("acme", "new", "fp", time.time())
    once = Once(log, retention_s=86_400)
    handler = Handler()
    asyncio.run(once.run("acme", "other", "fp", handler))  # the first keyed request purges
    assert log.claim("acme", "old", "fp", time.time()) is None
    assert log.claim("acme", "new", "fp", time.time()) is not None


def test_a_broken_key_table_is_a_store_error(tmp_path: Path) -> None:
    store = SqlStore(tmp_path / "cx.db")
    log = request_log_for(store)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE cxflow_requests"))
    with pytest.raises(StoreError, match="idempotency key table"):
        log.claim("acme", "k", "fp", time.time())
    store.close()
