"""Where sessions live: the `Store` protocol and the in-memory `MemoryStore`.

A store keeps, per session, a snapshot row with a version (optimistic concurrency), an
append-only turn log, the pending turn (saved, with the interpreter's commands, before a write
tool runs, so a crash loses nothing), and a journal of write-tool effects keyed by idempotency
key (so a resumed turn never repeats a side effect). `SqlStore` (cxflow.sql_store) is the
persistent one.

Turn claims (`ClaimingStore`) make several replicas safe. Optimistic concurrency alone lets two
replicas run the same turn and learn of the conflict only at the commit, after both ran their
write tools. So before its first write tool a turn *claims* the session: the pending turn is
saved only if the session is still at the version the turn started from and no other runner
holds the session's pending turn. The loser of a race is refused before it writes anything
(`TurnClaimedError`), and no turn can commit over another runner's pending write. A claim is
given up when its turn raises, and is taken over by `resume()` when its runner has been silent
for `claim_timeout_s` (the process died). Stores without claims still work, unclaimed (safe for
one writer per session).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from cxflow.errors import ConcurrencyError, SessionNotFoundError, StoreError
from cxflow.records import PendingTurn, SessionSnapshot, TurnRecord

__all__ = [
    "DEFAULT_CLAIM_TIMEOUT_S",
    "ClaimingStore",
    "MemoryStore",
    "RunStore",
    "RunSummary",
    "SessionSummary",
    "Store",
    "TurnClaimedError",
]

DEFAULT_CLAIM_TIMEOUT_S = 30.0
"""How long a claimed turn's runner may stay silent before `resume()` elsewhere takes it over.

It must exceed the longest time from a turn's first write tool to its commit."""


class TurnClaimedError(ConcurrencyError):
    """Another runner holds this session's pending turn; retry once it commits or is resumed.

    Attributes:
        turn: The pending turn's number.
        claimed_for_s: How long ago its runner last claimed it; None when the runner gave it
            up (it raised after a write), so `resume()` may take it over now.
    """

    def __init__(
        self,
        session_id: str,
        version: int,
        turn: int,
        claimed_for_s: float | None,
        timeout_s: float,
    ) -> None:
        self.session_id = session_id
        self.expected_version = version
        self.actual_version = version
        self.turn = turn
        self.claimed_for_s = claimed_for_s
        if claimed_for_s is None:
            message = (
                f"session {session_id!r} has an unfinished turn {turn} (its runner stopped "
                "after a write tool ran). Reload the session: `resume()`, or its next turn, "
                "completes that turn first."
            )
        else:
            message = (
                f"session {session_id!r}: turn {turn} is being run by another replica (claimed "
                f"{claimed_for_s:.1f} s ago). Retry once it commits: reload the session and "
                f"send the message again. If that replica died, `resume()` takes the turn "
                f"over after {timeout_s:g} s."
            )
        StoreError.__init__(self, message)


def claim_conflict(
    session_id: str,
    turn: int,
    *,
    version: int,
    pending_turn: int | None,
    claimed_by: str | None,
    claimed_at: float | None,
    timeout_s: float,
) -> ConcurrencyError:
    """The error for a claim or commit refused on a session in this state (a store helper)."""
    if version != turn - 1:
        return ConcurrencyError(session_id, turn - 1, version)
    held = claimed_by is not None and claimed_at is not None
    return TurnClaimedError(
        session_id,
        version,
        pending_turn if pending_turn is not None else turn,
        max(0.0, time.time() - claimed_at) if held and claimed_at is not None else None,
        timeout_s,
    )


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
        """Save (or replace) the session's uncommitted turn, unclaimed (a later `resume()` may
        take it); a `ClaimingStore` is sent `claim_turn` instead."""
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


@runtime_checkable
class ClaimingStore(Store, Protocol):
    """A store that claims a turn for one runner before it writes (several replicas at once).

    `save_pending` (in `Store`) saves a pending turn without claiming it; `Session` uses these
    methods instead whenever its store has them.
    """

    def claim_turn(self, pending: PendingTurn, *, owner: str, resuming: bool) -> None:
        """Save the pending turn and claim the session for the runner `owner`.

        A new turn (`resuming=False`) may claim a session still at version `pending.turn - 1`
        that has no pending turn, or whose pending turn `owner` already holds (the saved
        commands are then replaced). A resumed turn (`resuming=True`) takes over the session's
        pending turn when it is unclaimed, held by `owner`, or its runner has been silent for
        the store's claim timeout.

        Raises:
            ConcurrencyError: Another writer committed this turn first.
            TurnClaimedError: Another runner holds the session's pending turn.
        """
        ...

    def release_turn(self, session_id: str, owner: str) -> None:
        """Give up `owner`'s claim, keeping the pending turn for `resume()` (no-op if not held)."""
        ...

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        """Commit a turn as in `Store`; `owner` is the claim the turn holds, if it claimed one.

        Raises:
            ConcurrencyError: Another writer committed first.
            TurnClaimedError: Another runner holds a pending turn (or took this one over).
        """
        ...


@dataclass(slots=True)
class _Claim:
    turn: int
    owner: str | None
    at: float | None


class MemoryStore:
    """A store in process memory: fast, for tests, simulations and single-process bots.

    Snapshots and turn records are kept as JSON text, as a database would keep them: a live
    session costs a few kilobytes, and nothing outside the store can mutate what it holds.
    Turns are claimed as in `SqlStore` (see `ClaimingStore`), so concurrent tasks of one process
    never double a write either.
    """

    def __init__(self, *, claim_timeout_s: float = DEFAULT_CLAIM_TIMEOUT_S) -> None:
        """Start empty; `claim_timeout_s`: see `DEFAULT_CLAIM_TIMEOUT_S`."""
        self.claim_timeout_s = claim_timeout_s
        self._claims: dict[str, _Claim] = {}
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

    def claim_turn(self, pending: PendingTurn, *, owner: str, resuming: bool) -> None:
        """Save the pending turn and claim the session for `owner` (see `ClaimingStore`)."""
        sid, turn = pending.session_id, pending.turn
        version = self._versions.get(sid)
        if version is None:
            raise SessionNotFoundError(sid)
        claim = self._claims.get(sid)
        if version != turn - 1 or not _claimable(
            claim, turn, owner, resuming, time.time() - self.claim_timeout_s
        ):
            raise self._conflict(sid, turn)
        self._claims[sid] = _Claim(turn, owner, time.time())
        self._pending[sid] = pending.model_dump_json()

    def release_turn(self, session_id: str, owner: str) -> None:
        """Give up `owner`'s claim; the pending turn stays for `resume()`."""
        claim = self._claims.get(session_id)
        if claim is not None and claim.owner == owner:
            claim.owner = claim.at = None

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        """Append the record and replace the snapshot if the version still matches."""
        sid = snapshot.session_id
        current = self._versions.get(sid)
        if current is None:
            raise SessionNotFoundError(sid)
        if current != expected_version:
            raise ConcurrencyError(sid, expected_version, current)
        claim = self._claims.get(sid)
        if claim is not None and (owner is None or claim.owner != owner):
            raise self._conflict(sid, expected_version + 1)
        self._claims.pop(sid, None)
        self._sessions[sid] = snapshot.model_dump_json()
        self._versions[sid] = snapshot.version
        self._turns[sid].append(record.model_dump_json())
        self._pending.pop(sid, None)

    def _conflict(self, session_id: str, turn: int) -> ConcurrencyError:
        claim = self._claims.get(session_id)
        return claim_conflict(
            session_id,
            turn,
            version=self._versions[session_id],
            pending_turn=claim.turn if claim else None,
            claimed_by=claim.owner if claim else None,
            claimed_at=claim.at if claim else None,
            timeout_s=self.claim_timeout_s,
        )

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


def _claimable(claim: _Claim | None, turn: int, owner: str, resuming: bool, stale: float) -> bool:
    """The claim rule of `ClaimingStore.claim_turn`, for a session at version `turn - 1`."""
    if claim is None:
        return True  # no pending write turn (or one saved unclaimed, which a resume may take)
    if claim.turn != turn:
        return False
    if claim.owner == owner:
        return True
    return resuming and (claim.owner is None or claim.at is None or claim.at < stale)


def _summary(s: SessionSnapshot) -> SessionSummary:
    return SessionSummary(
        s.session_id, s.root_flow, s.state, s.version, s.done, s.outcome, s.created_at
    )
