"""Where sessions live: the `Store` protocol and the in-memory `MemoryStore`.

A store keeps, per session, a snapshot row with a version (optimistic concurrency), an
append-only turn log, the pending turn (the customer's text is saved before the turn runs, so a
crash loses nothing), and a journal of write-tool effects keyed by idempotency key (so a resumed
turn never repeats a side effect). `SqlStore` (cxflow.sql_store) is the persistent one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from cxflow.errors import ConcurrencyError, SessionNotFoundError
from cxflow.records import PendingTurn, SessionSnapshot, TurnRecord

__all__ = ["MemoryStore", "RunStore", "RunSummary", "SessionSummary", "Store"]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of a session listing."""

    session_id: str
    flow: str
    state: str
    version: int
    done: bool
    outcome: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of a listing of simulation runs."""

    run_id: str
    kind: str
    """"simulate" or "tau2"."""
    created_at: datetime
    title: str


@runtime_checkable
class RunStore(Protocol):
    """Keeps simulation runs (their JSON report); the conversations are ordinary sessions."""

    def save_run(self, run_id: str, kind: str, title: str, report: Mapping[str, Any]) -> None:
        """Store (or replace) a run's report."""
        ...

    def load_run(self, run_id: str) -> dict[str, Any]:
        """Return a run's report.

        Raises:
            KeyError: No run has that id.
        """
        ...

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        """Return the most recent runs, newest first."""
        ...


@runtime_checkable
class Store(Protocol):
    """Persistence of sessions, turns, pending turns and write effects."""

    def create_session(self, snapshot: SessionSnapshot) -> None:
        """Store a new session at version 0."""
        ...

    def load_session(self, session_id: str) -> SessionSnapshot:
        """Return the latest committed snapshot; raise `SessionNotFoundError` if none."""
        ...

    def save_pending(self, pending: PendingTurn) -> None:
        """Save (or replace) the session's uncommitted turn."""
        ...

    def pending_turn(self, session_id: str) -> PendingTurn | None:
        """Return the session's uncommitted turn, if a turn was begun and not committed."""
        ...

    def commit_turn(
        self, snapshot: SessionSnapshot, record: TurnRecord, *, expected_version: int
    ) -> None:
        """Atomically append the record, replace the snapshot and clear the pending turn.

        Raises:
            ConcurrencyError: The stored version is not `expected_version` (another writer
                committed first); nothing was written.
        """
        ...

    def turns(self, session_id: str) -> list[TurnRecord]:
        """Return the session's turn records in order."""
        ...

    def find_effect(self, key: str) -> Mapping[str, Any] | None:
        """Return the updates a write tool produced under this idempotency key, if it ran."""
        ...

    def record_effect(
        self, key: str, *, session_id: str, turn: int, tool: str, updates: Mapping[str, Any]
    ) -> None:
        """Journal a write tool's result right after it ran (before the turn commits)."""
        ...

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """Return the most recent sessions, newest first."""
        ...


class MemoryStore:
    """A store in process memory: fast, for tests, simulations and single-process bots.

    Snapshots and turn records are kept as JSON text, as a database would keep them: a live
    session costs a few kilobytes, and nothing outside the store can mutate what it holds.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        self._turns: dict[str, list[str]] = {}
        self._pending: dict[str, str] = {}
        self._effects: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, tuple[RunSummary, str]] = {}

    def create_session(self, snapshot: SessionSnapshot) -> None:
        """Store a new session at version 0."""
        self._sessions[snapshot.session_id] = snapshot.model_dump_json()
        self._versions[snapshot.session_id] = snapshot.version
        self._turns[snapshot.session_id] = []

    def load_session(self, session_id: str) -> SessionSnapshot:
        """Return the latest committed snapshot."""
        raw = self._sessions.get(session_id)
        if raw is None:
            raise SessionNotFoundError(session_id)
        return SessionSnapshot.model_validate_json(raw)

    def save_pending(self, pending: PendingTurn) -> None:
        """Save (or replace) the session's uncommitted turn."""
        self._pending[pending.session_id] = pending.model_dump_json()

    def pending_turn(self, session_id: str) -> PendingTurn | None:
        """Return the session's uncommitted turn, if any."""
        found = self._pending.get(session_id)
        return PendingTurn.model_validate_json(found) if found is not None else None

    def commit_turn(
        self, snapshot: SessionSnapshot, record: TurnRecord, *, expected_version: int
    ) -> None:
        """Append the record and replace the snapshot if the version still matches."""
        sid = snapshot.session_id
        current = self._versions.get(sid)
        if current is None:
            raise SessionNotFoundError(sid)
        if current != expected_version:
            raise ConcurrencyError(sid, expected_version, current)
        self._sessions[sid] = snapshot.model_dump_json()
        self._versions[sid] = snapshot.version
        self._turns[sid].append(record.model_dump_json())
        self._pending.pop(sid, None)

    def turns(self, session_id: str) -> list[TurnRecord]:
        """Return the session's turn records in order."""
        if session_id not in self._turns:
            raise SessionNotFoundError(session_id)
        return [TurnRecord.model_validate_json(raw) for raw in self._turns[session_id]]

    def find_effect(self, key: str) -> Mapping[str, Any] | None:
        """Return the journaled updates of a write tool call, if it ran."""
        return self._effects.get(key)

    def record_effect(
        self, key: str, *, session_id: str, turn: int, tool: str, updates: Mapping[str, Any]
    ) -> None:
        """Journal a write tool's result."""
        self._effects[key] = dict(updates)

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """Return the most recent sessions, newest first."""
        snaps = [SessionSnapshot.model_validate_json(raw) for raw in self._sessions.values()]
        snaps.sort(key=lambda s: s.created_at, reverse=True)
        return [_summary(s) for s in snaps[:limit]]

    def save_run(self, run_id: str, kind: str, title: str, report: Mapping[str, Any]) -> None:
        """Store (or replace) a run's report."""
        summary = RunSummary(run_id, kind, datetime.now(UTC), title)
        self._runs[run_id] = (summary, json.dumps(report))

    def load_run(self, run_id: str) -> dict[str, Any]:
        """Return a run's report (KeyError: no such run)."""
        return json.loads(self._runs[run_id][1])

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        """Return the most recent runs, newest first."""
        runs = sorted((s for s, _ in self._runs.values()), key=lambda s: s.created_at)
        return runs[::-1][:limit]


def _summary(s: SessionSnapshot) -> SessionSummary:
    return SessionSummary(
        s.session_id, s.root_flow, s.state, s.version, s.done, s.outcome, s.created_at
    )
