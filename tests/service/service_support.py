"""Shared by the service tests: a real uvicorn server in a thread, clients, test doubles."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
import uvicorn

from cxflow import Engine, MemoryStore, RuleInterpreter
from cxflow.errors import StoreError
from cxflow.interpreter import Interpretation, TurnView
from cxflow.records import SessionSnapshot
from cxflow.tools.telecom import TelecomTools

PROBLEM = "application/problem+json"

TOKEN = "token-of-the-default-tenant"
TOKENS = {TOKEN: "default", "token-of-acme": "acme", "token-of-globex": "globex"}


class CountingCrm(TelecomTools):
    """The sample CRM, counting the plan changes it really made."""

    changes = 0

    def change_plan(self, customer_id: str, line_id: str, plan_id: str):  # type: ignore[override]
        CountingCrm.changes += 1
        return super().change_plan(customer_id, line_id, plan_id)


class SlowRules:
    """The rule interpreter after an awaited pause, like a model call: turns interleave."""

    name = "slow-rules"

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self._rules = RuleInterpreter()

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return await self._rules.interpret(view, text)


class Running:
    """A uvicorn server for an app, on a free loopback port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped during start-up"
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            time.sleep(0.002)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Ask the server to stop (it takes uvicorn ~0.2 s: ask every server, then `join`)."""
        self.server.should_exit = True

    def join(self) -> None:
        """Wait until the server stopped."""
        self.thread.join(10)
        assert not self.thread.is_alive(), "uvicorn did not stop within 10 s"


def client(base_url: str, token: str | None = TOKEN, **headers: str) -> httpx2.Client:
    """An HTTP client for the server, sending the token (if any) as a bearer token."""
    sent: Mapping[str, str] = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.Client(
        base_url=base_url, headers={**sent, **headers}, timeout=10, trust_env=False
    )


def assert_problem(response: httpx2.Response, status: int, kind: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:cxflow:problem:{kind}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


class UnreachableStore(MemoryStore):
    """A store whose database went away after the session started."""

    down = False

    def load_session(self, session_id: str) -> SessionSnapshot:
        if self.down:
            raise StoreError("cannot reach postgresql://cx:hunter2@db.internal/cx")
        return super().load_session(session_id)


@dataclass(frozen=True)
class Shared:
    """The server most tests share, and its engine."""

    url: str
    engine: Engine

    def session_count(self) -> int:
        """How many sessions the shared store holds."""
        return len(self.engine.store.list_sessions(limit=1_000_000))
