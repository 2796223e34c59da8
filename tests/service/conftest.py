"""Fixtures of the service tests: real servers on loopback, engines on SQL stores, a counting CRM.

Most tests share one server (`shared`, on one SQLite file); a test that needs its own engine
starts one with `serve`. Every server stops after its test (or, for `shared`, the package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from service_support import TOKENS, CountingCrm, Running, Shared

from cxflow import Engine
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.interpreter import Interpreter
from cxflow.service import create_app
from cxflow.sql_store import SqlStore


def counting_crm(_flow: object = None) -> CountingCrm:
    """A fresh copy of the sample CRM that counts plan changes."""
    return CountingCrm(PlanUpgrade.make_env().db)


@pytest.fixture
def crm() -> CountingCrm:
    """A counting CRM; the count of plan changes starts at 0 for the test."""
    CountingCrm.changes = 0
    return counting_crm()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """`serve(engine, **create_app_options)` -> base URL of a server of its own."""
    servers: list[Running] = []

    def start(engine: Engine, **options: Any) -> str:
        options.setdefault("tokens", TOKENS)
        servers.append(Running(create_app(engine, **options)))
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        server.join()


@pytest.fixture(scope="package")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """PlanUpgrade on a SQLite file, with the test tokens; a fresh counting CRM per request
    (so every test can change line L2001's plan again)."""
    store = SqlStore(tmp_path_factory.mktemp("shared") / "cx.db")
    engine = Engine([PlanUpgrade], store=store, env_factory=counting_crm)
    server = Running(create_app(engine, tokens=TOKENS))
    yield Shared(server.url, engine)
    server.stop()
    server.join()
    store.close()


@pytest.fixture
def engine_at(crm: CountingCrm) -> Iterator[Callable[..., Engine]]:
    """`engine_at(url, interpreter=None)`: PlanUpgrade on a `SqlStore` there, on the counting
    CRM; one call per replica (each its own store, as separate processes would have)."""
    stores: list[SqlStore] = []

    def make(url: str, interpreter: Interpreter | None = None) -> Engine:
        stores.append(SqlStore(url))
        return Engine([PlanUpgrade], store=stores[-1], env=crm, interpreter=interpreter)

    yield make
    for store in stores:
        store.close()
