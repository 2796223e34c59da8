"""What the fault checks share: a CRM whose writes land in a file, fast-failing SQLite stores,
and checks of a stored session made from the outside (the store, the file), not from the
engine's own account of what it did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import PendingTurn, SessionSnapshot, TurnRecord
from cxflow.session import Session
from cxflow.sql_store import SqlStore
from cxflow.store import SessionSummary, Store
from cxflow.tools.telecom import Line, TelecomTools, load_telecom_db, sample_db_path

__all__ = [
    "CONFIRM",
    "FLOWS",
    "TO_CONFIRMATION",
    "Found",
    "HookedStore",
    "LedgerCrm",
    "at_confirmation",
    "change_outcome_problem",
    "fast_sqlite_store",
    "log_problems",
]

FLOWS = {"plan_upgrade": PlanUpgrade}
TO_CONFIRMATION = PlanUpgrade.example[:3]
"""The customer lines that bring PlanUpgrade to `awaiting_confirmation` (the next "yes" writes)."""
CONFIRM = PlanUpgrade.example[3]


class LedgerCrm(TelecomTools):
    """The sample telecom CRM whose plan changes are kept in a file, one JSON line each.

    The file is the CRM's durable state: a new `LedgerCrm` on the same file (in this process or
    another one) replays it, so a plan changed before a crash stays changed, and the number of
    lines is the number of changes the backend really made.
    """

    def __init__(self, ledger: Path) -> None:
        super().__init__(load_telecom_db(sample_db_path()))
        self.ledger = ledger
        for change in self.changes():
            line = self.get_details_by_id(change["line_id"])
            assert isinstance(line, Line)
            line.plan_id = change["plan_id"]

    def changes(self) -> list[dict[str, str]]:
        """Every plan change made so far, oldest first."""
        if not self.ledger.exists():
            return []
        return [json.loads(row) for row in self.ledger.read_text().splitlines() if row]

    def change_plan(self, customer_id: str, line_id: str, plan_id: str) -> Line:
        """Change the plan, then append the change to the file (written through to the OS,
        so it outlives a killed process)."""
        line = super().change_plan(customer_id, line_id, plan_id)
        with self.ledger.open("a") as out:
            out.write(json.dumps({"line_id": line_id, "plan_id": plan_id}) + "\n")
        return line


def fast_sqlite_store(path: Path, *, busy_ms: int = 50, read_only: bool = False) -> SqlStore:
    """A `SqlStore` on a SQLite file that gives up on a lock after `busy_ms` (not 5 s).

    `SqlStore` has no timeout parameter; it takes a ready engine, so this one sets the same
    pragmas as the default with a short `busy_timeout`. `read_only` opens the file with
    SQLite's `mode=ro`, which holds even for root (file permissions do not).
    """
    url = f"sqlite:///file:{path}?mode=ro&uri=true" if read_only else f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"check_same_thread": False})

    def pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    return SqlStore(url, engine=engine)


def log_problems(store: Store, session_id: str) -> Iterator[str]:
    """Where the stored snapshot, turn log and pending turn of a session disagree.

    A committed session at version n has turns 1..n, the last of which ended where the
    snapshot is; a pending turn, if any, is turn n + 1.
    """
    snap = store.load_session(session_id)
    turns = store.turns(session_id)
    numbers = [t.turn for t in turns]
    if numbers != list(range(1, snap.version + 1)):
        yield f"snapshot at version {snap.version} but the log holds turns {numbers}"
    if turns:
        last = turns[-1]
        if (last.state_after, last.done, last.outcome) != (snap.state, snap.done, snap.outcome):
            yield (
                f"last turn ended in {last.state_after!r} ({last.outcome}) but the snapshot "
                f"is in {snap.state!r} ({snap.outcome})"
            )
        if last.reply.text != snap.last_reply:
            yield "the snapshot's last reply is not the last turn's reply"
        if last.agent_view != snap.slots:
            yield "the snapshot's slots are not the last turn's agent view"
    pending = store.pending_turn(session_id)
    if pending is not None and pending.turn <= snap.version:
        yield f"a pending turn {pending.turn} left behind at version {snap.version}"


@dataclass
class Found:
    """What one category found; turned into a `CategoryResult` by `faults.run`."""

    cases: int = 0
    invariant_breaks: int = 0
    lost_writes: int = 0
    doubled_writes: int = 0
    examples: list[str] = field(default_factory=list[str])
    figures: dict[str, float] = field(default_factory=dict[str, float])
    """Measurements worth printing (injections that fired, times), not broken promises."""

    def broke(self, case: str, message: str, *, kind: str = "invariant") -> None:
        """Count one broken promise of `kind` ("invariant", "lost", "doubled")."""
        if kind == "lost":
            self.lost_writes += 1
        elif kind == "doubled":
            self.doubled_writes += 1
        else:
            self.invariant_breaks += 1
        if len(self.examples) < 8:
            self.examples.append(f"{case}: {message}")

    def count(self, figure: str, by: float = 1) -> None:
        """Add to a figure."""
        self.figures[figure] = self.figures.get(figure, 0) + by

    def writes(self, case: str, made: int, expected: int) -> None:
        """Compare the writes the backend really made with the number expected."""
        if made < expected:
            self.broke(case, f"{made} writes made, {expected} expected", kind="lost")
        elif made > expected:
            self.broke(case, f"{made} writes made, {expected} expected", kind="doubled")


def change_outcome_problem(store: Store, session_id: str) -> str | None:
    """Why a finished plan-change conversation misleads the customer (None: it does not).

    The change was made (the caller counts that), so the conversation must end "changed", or
    be handed to a person naming the write whose outcome it could not know. Ending in
    `change_refused` tells the customer the plan was not changed when it was.
    """
    final = store.load_session(session_id)
    if (final.state, final.outcome) == ("changed", "completed"):
        return None
    reason = store.turns(session_id)[-1].handoff_reason or ""
    if final.outcome == "handed_off" and "change_plan" in reason:
        return None
    why = final.slots.get("change_error") or reason
    return f"the conversation ended in {final.state} ({why})"


def at_confirmation(store: Store, crm: TelecomTools) -> Session:
    """A PlanUpgrade session waiting for the customer's yes to the quoted price."""
    session = Session.start(PlanUpgrade, store=store, env=crm)
    for text in TO_CONFIRMATION:
        session.turn_sync(text)
    assert session.state == "awaiting_confirmation", session.state
    return session


Around = Callable[[str], AbstractContextManager[None]]
"""Given a store method's name, a context to run the call in (a fault, a kill, a lock)."""


@contextmanager
def _plain(_method: str) -> Iterator[None]:
    yield


class HookedStore:
    """A `Store` that runs every call inside `around(method)` and on `route(method)`'s store.

    The seam for injecting a fault at one phase of a turn: `claim_turn` (or `save_pending`,
    before a write tool runs), `find_effect` (a write is about to run), `record_effect` (the
    write ran), `commit_turn` (the turn is done). It forwards turn claims too, so a session
    on it takes the same path as on the store it wraps (which must claim turns, as
    `MemoryStore` and `SqlStore` do, when a session calls `claim_turn`).
    """

    def __init__(
        self,
        inner: Store,
        *,
        around: Around = _plain,
        route: Callable[[str], Store] | None = None,
    ) -> None:
        self.inner = inner
        self.around = around
        self.route = route

    def _on(self, method: str) -> Any:
        return self.route(method) if self.route is not None else self.inner

    def create_session(self, snapshot: SessionSnapshot) -> None:
        """Store a new session."""
        with self.around("create_session"):
            self._on("create_session").create_session(snapshot)

    def load_session(self, session_id: str) -> SessionSnapshot:
        """Return the latest committed snapshot."""
        with self.around("load_session"):
            return self._on("load_session").load_session(session_id)

    def save_pending(self, pending: PendingTurn) -> None:
        """Save the uncommitted turn."""
        with self.around("save_pending"):
            self._on("save_pending").save_pending(pending)

    def claim_turn(self, pending: PendingTurn, *, owner: str, resuming: bool) -> None:
        """Claim the session and save the uncommitted turn."""
        with self.around("claim_turn"):
            self._on("claim_turn").claim_turn(pending, owner=owner, resuming=resuming)

    def release_turn(self, session_id: str, owner: str) -> None:
        """Give a claim up."""
        with self.around("release_turn"):
            self._on("release_turn").release_turn(session_id, owner)

    def pending_turn(self, session_id: str) -> PendingTurn | None:
        """Return the uncommitted turn."""
        with self.around("pending_turn"):
            return self._on("pending_turn").pending_turn(session_id)

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        """Commit a turn (under the claim `owner`, if it holds one)."""
        with self.around("commit_turn"):
            store = self._on("commit_turn")
            if owner is None:
                store.commit_turn(snapshot, record, expected_version=expected_version)
            else:
                store.commit_turn(snapshot, record, expected_version=expected_version, owner=owner)

    def turns(self, session_id: str) -> list[TurnRecord]:
        """Return the turn log."""
        with self.around("turns"):
            return self._on("turns").turns(session_id)

    def find_effect(self, key: str) -> Mapping[str, Any] | None:
        """Look a write up in the journal."""
        with self.around("find_effect"):
            return self._on("find_effect").find_effect(key)

    def record_effect(
        self, key: str, *, session_id: str, turn: int, tool: str, updates: Mapping[str, Any]
    ) -> None:
        """Journal a write."""
        with self.around("record_effect"):
            self._on("record_effect").record_effect(
                key, session_id=session_id, turn=turn, tool=tool, updates=updates
            )

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """List sessions."""
        with self.around("list_sessions"):
            return self._on("list_sessions").list_sessions(limit)
