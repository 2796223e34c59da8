"""Store faults: a SQLite file locked by another writer or opened read-only at one phase of a
turn, and a PostgreSQL connection terminated by the server.

Each fault must surface as a `StoreError` whose message says what happened and what to do;
afterwards the stored session is either at its old version without the turn or at the new
version with the whole turn (log and snapshot agree), and a retry (load the session again,
resume a pending turn or resend the message) completes the conversation with the write made
exactly once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import event, make_url

from cxflow.errors import SessionNotFoundError, StoreError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.session import Session
from cxflow.simulators.reliability._faults_common import (
    CONFIRM,
    FLOWS,
    TO_CONFIRMATION,
    Found,
    HookedStore,
    LedgerCrm,
    at_confirmation,
    change_outcome_problem,
    fast_sqlite_store,
    log_problems,
)
from cxflow.sql_store import SqlStore
from cxflow.store import Store

__all__ = ["PHASES", "run_store_faults"]

PHASES = ("create_session", "save_pending", "record_effect", "commit_turn")
"""Where a turn writes to the store: the session row, the pending turn saved (and the session
claimed: `claim_turn`) before a write tool runs, the write's journal entry, and the commit of
the record and snapshot."""

_METHODS = {"save_pending": ("save_pending", "claim_turn")}
"""The store methods a phase stands for (others: the method of the same name)."""

BUSY_MS = 50
"""How long a store waits for a lock before giving up (SQLite's busy_timeout)."""

_WHAT = {
    "locked": ("database is locked", "locked"),
    "read_only": ("readonly database", "writable"),
    "dropped": ("terminating connection", "reachable"),
}
"""Per fault: what the store's message must say happened, and the advice it must give."""


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Another program holds the SQLite write lock for the duration of the block."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@contextmanager
def _plain() -> Iterator[None]:
    yield


def _sqlite_faulty(store: SqlStore, path: Path, kind: str, phase: str) -> tuple[Store, SqlStore]:
    """`store` with the fault `kind` at `phase`, and the extra store it opened (to close)."""
    methods = _METHODS.get(phase, (phase,))
    read_only = fast_sqlite_store(path, busy_ms=BUSY_MS, read_only=True)
    if kind == "locked":

        def around(method: str) -> AbstractContextManager[None]:
            return _locked(path) if method in methods else _plain()

        return HookedStore(store, around=around), read_only

    def route(method: str) -> Store:
        return read_only if method in methods else store

    return HookedStore(store, route=route), read_only


def _store_error(found: Found, case: str, kind: str, call: Callable[[], object]) -> bool:
    """Run `call`; it must raise a `StoreError` that says what happened and what to do."""
    try:
        call()
    except StoreError as exc:
        happened, advice = _WHAT[kind]
        text = str(exc)
        if happened not in text or advice not in text or "retry" not in text:
            found.broke(case, f"unclear StoreError: {text}")
        found.count(f"store_faults.{kind}.raised")
        return True
    except Exception as exc:
        found.broke(case, f"raised {type(exc).__name__} instead of StoreError: {exc}")
        return False
    found.broke(case, "the fault did not surface")
    return False


def _sqlite_case(found: Found, folder: Path, kind: str, phase: str, *, write_turn: bool) -> None:
    """One fault at one phase of a turn on a fresh SQLite file."""
    case = f"sqlite/{kind}/{phase}" + ("" if write_turn else "/no_write")
    where = folder / case.replace("/", "_")
    where.mkdir()
    path = where / "cx.db"
    store = fast_sqlite_store(path, busy_ms=BUSY_MS)
    faulty, extra = _sqlite_faulty(store, path, kind, phase)
    try:
        _fault_case(found, case, kind, phase, store, faulty, where / "crm.jsonl", write_turn)
    finally:
        extra.close()
        store.close()


def _fault_case(
    found: Found,
    case: str,
    kind: str,
    phase: str,
    store: SqlStore,
    faulty: Store,
    ledger: Path,
    write_turn: bool,
) -> None:
    """Bring a session to the turn, run it on the faulty store, then check and retry on the
    bot's own store (the same database, without the fault)."""
    found.cases += 1
    crm = LedgerCrm(ledger)
    if phase == "create_session":
        _create_case(found, case, kind, store, faulty, crm)
        return
    if write_turn:
        session = at_confirmation(store, crm)
        text = CONFIRM
    else:
        session = Session.start(PlanUpgrade, store=store, env=crm)
        text = TO_CONFIRMATION[0]
    version = session.version
    failing = Session.load(session.id, flows=FLOWS, store=faulty, env=crm)
    if _store_error(found, case, kind, lambda: failing.turn_sync(text)):
        _after_failure(found, case, store, ledger, session.id, version, text, write_turn)


def _create_case(
    found: Found, case: str, kind: str, store: SqlStore, faulty: Store, crm: LedgerCrm
) -> None:
    sid = "create-" + case.replace("/", "-")
    if not _store_error(
        found,
        case,
        kind,
        lambda: Session.start(PlanUpgrade, store=faulty, env=crm, session_id=sid),
    ):
        return
    try:
        store.load_session(sid)
    except SessionNotFoundError:
        pass
    else:
        found.broke(case, "a session row exists although creating it failed")
    session = Session.start(PlanUpgrade, store=store, env=crm, session_id=sid)
    session.turn_sync(TO_CONFIRMATION[0])
    if [t.turn for t in store.turns(sid)] != [1]:
        found.broke(case, "the session created on retry does not work")


def _after_failure(
    found: Found,
    case: str,
    store: SqlStore,
    ledger: Path,
    session_id: str,
    version: int,
    text: str,
    write_turn: bool,
) -> None:
    """The store holds the old or the new version, whole; a retry completes the turn once."""
    for problem in log_problems(store, session_id):
        found.broke(case, problem)
    stored = store.load_session(session_id)
    if stored.version not in (version, version + 1):
        found.broke(case, f"stored version {stored.version} after a failed turn {version + 1}")
    if stored.version == version + 1:
        found.count("store_faults.applied_before_the_error")
    crm = LedgerCrm(ledger)  # the backend as a reloaded session finds it
    retry = Session.load(session_id, flows=FLOWS, store=store, env=crm)
    try:
        if retry.pending is not None:
            found.count("store_faults.retried_by_resume")
            turn = retry.resume_sync()
        elif retry.version == version:
            found.count("store_faults.retried_by_resending")
            turn = retry.turn_sync(text)
        else:
            turn = None
    except Exception as exc:
        found.broke(case, f"the retry raised {type(exc).__name__}: {exc}")
        return
    records = store.turns(session_id)
    if len(records) != version + 1 or records[-1].customer_text != text:
        found.broke(case, f"after the retry the log holds {len(records)} turns, not {version + 1}")
    for problem in log_problems(store, session_id):
        found.broke(case, problem)
    if write_turn:
        problem = change_outcome_problem(store, session_id)
        if problem is not None:
            found.broke(case, f"after the retry {problem}")
        found.writes(case, len(crm.changes()), 1)
    elif turn is not None and turn.state != "choose_line":
        found.broke(case, f"the retried turn ended in {turn.state}")


# -- PostgreSQL: the server terminates the store's connection --------------------------------


class _Terminator:
    """Has the server terminate the connection the store checks out next, while armed."""

    def __init__(self, base_url: str) -> None:
        self.admin = make_url(base_url).set(drivername="postgresql").render_as_string(False)
        self.armed = False
        self.fired = 0

    def checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        """The pool's checkout hook: runs after the pre-ping, before the store's statements."""
        if not self.armed:
            return
        self.armed = False
        self.terminate(int(dbapi_connection.info.backend_pid))
        self.fired += 1

    def terminate(self, pid: int | None = None, *, database: str | None = None) -> None:
        """`pg_terminate_backend` one server process, or every other one of a database; wait
        until it is gone."""
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            if pid is not None:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                query, args = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
            else:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
                query = (
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()"
                )
                args = (database,)
            for _ in range(500):
                row = conn.execute(query, args).fetchone()
                if row is None or row[0] == 0:
                    return
                time.sleep(0.002)


def _postgres_cases(found: Found, folder: Path, base_url: str) -> None:
    """Every phase on one fresh PostgreSQL database (a session per case)."""
    from cxflow.pgtest import drop_database, fresh_database

    url = fresh_database(base_url)
    store = SqlStore(url)
    terminator = _Terminator(base_url)
    event.listen(store.engine, "checkout", terminator.checkout)
    try:
        for phase in PHASES:
            case = f"postgres/dropped/{phase}"
            methods = _METHODS.get(phase, (phase,))

            @contextmanager
            def around(method: str, methods: tuple[str, ...] = methods) -> Iterator[None]:
                terminator.armed = method in methods
                try:
                    yield
                finally:
                    terminator.armed = False

            before = terminator.fired
            faulty = HookedStore(store, around=around)
            ledger = folder / (case.replace("/", "_") + ".jsonl")
            _fault_case(found, case, "dropped", phase, store, faulty, ledger, True)
            if terminator.fired != before + 1:
                found.broke(case, f"{terminator.fired - before} connections terminated, not 1")
        case = "postgres/dropped/commit_turn/no_write"
        arm_commit = HookedStore(store, around=lambda m: _armed(terminator, m == "commit_turn"))
        ledger = folder / "postgres_no_write.jsonl"
        _fault_case(found, case, "dropped", "commit_turn", store, arm_commit, ledger, False)
        _idle_drop_case(found, folder, store, terminator, make_url(url).database or "")
    finally:
        store.close()
        drop_database(url)


@contextmanager
def _armed(terminator: _Terminator, armed: bool) -> Iterator[None]:
    terminator.armed = armed
    try:
        yield
    finally:
        terminator.armed = False


def _idle_drop_case(
    found: Found, folder: Path, store: SqlStore, terminator: _Terminator, database: str
) -> None:
    """The server drops every pooled connection while the session waits for the customer."""
    case = "postgres/dropped/between_calls"
    found.cases += 1
    crm = LedgerCrm(folder / "postgres_idle.jsonl")
    session = at_confirmation(store, crm)
    terminator.terminate(database=database)
    _survives_idle_drop(found, case, session, CONFIRM, crm, True)


def _survives_idle_drop(
    found: Found, case: str, session: Session, text: str, crm: LedgerCrm, write_turn: bool
) -> None:
    """Connections dropped while idle are replaced (pre-ping): the turn simply works."""
    try:
        turn = session.turn_sync(text)
    except Exception as exc:
        found.broke(case, f"a connection dropped while idle failed the turn: {exc}")
        return
    found.count("store_faults.dropped.idle_reconnected")
    if write_turn:
        if turn.state != "changed":
            found.broke(case, f"ended in {turn.state}")
        found.writes(case, len(crm.changes()), 1)
    for problem in log_problems(session.store, session.id):
        found.broke(case, problem)


def run_store_faults(budget: str, *, postgres: str | None = None) -> Found:
    """Inject SQLite locks and read-only files, and PostgreSQL dropped connections, at every
    phase of a turn.

    Args:
        budget: "ci" or "full" (the same cases: each is deterministic).
        postgres: A PostgreSQL server's base URL; by default one is started for the run
            (`cxflow.pgtest`). When none can be had, that is reported as a broken check.
    """
    found = Found()
    with TemporaryDirectory(prefix="cxflow-faults-") as name:
        folder = Path(name)
        for kind in ("locked", "read_only"):
            for phase in PHASES:
                _sqlite_case(found, folder, kind, phase, write_turn=True)
            _sqlite_case(found, folder, kind, "commit_turn", write_turn=False)
        with _postgres(found, postgres) as base_url:
            if base_url is not None:
                _postgres_cases(found, folder, base_url)
    return found


@contextmanager
def _postgres(found: Found, given: str | None) -> Iterator[str | None]:
    """The given server, or one started for the run (None, and a broken check, if none)."""
    if given is not None:
        yield given
        return
    from cxflow.errors import UsageError
    from cxflow.pgtest import throwaway_postgres

    with ExitStack() as stack:
        try:
            url: str | None = stack.enter_context(throwaway_postgres())
        except UsageError as exc:
            found.cases += 1
            found.broke("postgres", f"no PostgreSQL server to inject faults into: {exc}")
            url = None
        yield url
