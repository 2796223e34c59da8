"""`SqlStore`: sessions in SQL via sqlmodel. A SQLite file is the embedded default; a PostgreSQL
URL works with the same code for several bot replicas.

Tables (declared with sqlmodel, written with lean SQLAlchemy Core statements, one transaction
per turn):

- `cxflow_sessions`: one row per session with its snapshot and a `version` column; a commit
  updates the row only `WHERE version = expected` (optimistic concurrency). The same row holds
  the turn claim (`pending_turn`, `claimed_by`, `claimed_at`, see `cxflow.store.ClaimingStore`),
  so a claim and a commit are decided on one row: PostgreSQL's row lock and SQLite's write lock
  order them, and two replicas can never both pass;
- `cxflow_turns`: the append-only turn log, primary key (session_id, turn);
- `cxflow_pending`: the turn begun but not committed (text, then the interpreter's commands);
- `cxflow_effects`: write-tool results by idempotency key.

On PostgreSQL, connections are checked before use (`pool_pre_ping`), so a connection the server
dropped is replaced on the next call instead of failing it.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Engine,
    Table,
    and_,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    make_url,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Field, SQLModel

from cxflow.errors import ConcurrencyError, SessionNotFoundError, StoreError
from cxflow.records import PendingTurn, SessionSnapshot, TurnRecord
from cxflow.store import DEFAULT_CLAIM_TIMEOUT_S, RunSummary, SessionSummary, claim_conflict

__all__ = ["SqlStore"]


class SessionRow(SQLModel, table=True):
    """A session's latest snapshot and its version."""

    __tablename__ = "cxflow_sessions"  # pyright: ignore[reportAssignmentType]
    session_id: str = Field(primary_key=True)
    flow: str
    state: str
    version: int
    done: bool
    outcome: str | None = None
    snapshot: str
    created_at: datetime
    pending_turn: int | None = None
    """The turn saved in `cxflow_pending` by a claim (None: no claimed pending turn)."""
    claimed_by: str | None = None
    """The runner holding the pending turn (None: given up, free for `resume()`)."""
    claimed_at: float | None = None
    """When `claimed_by` last claimed it (Unix time, the runner's clock)."""


_CLAIM_COLUMNS = {"pending_turn": "INTEGER", "claimed_by": "VARCHAR", "claimed_at": "FLOAT"}
"""Columns added after the first release; `SqlStore` adds them to older databases."""


class TurnRow(SQLModel, table=True):
    """One committed turn record (append-only)."""

    __tablename__ = "cxflow_turns"  # pyright: ignore[reportAssignmentType]
    session_id: str = Field(primary_key=True)
    turn: int = Field(primary_key=True)
    record: str


class PendingRow(SQLModel, table=True):
    """A turn begun but not committed."""

    __tablename__ = "cxflow_pending"  # pyright: ignore[reportAssignmentType]
    session_id: str = Field(primary_key=True)
    turn: int
    payload: str


class EffectRow(SQLModel, table=True):
    """A write tool's result, by idempotency key."""

    __tablename__ = "cxflow_effects"  # pyright: ignore[reportAssignmentType]
    key: str = Field(primary_key=True)
    session_id: str = Field(index=True)
    turn: int
    tool: str
    updates: str


class RunRow(SQLModel, table=True):
    """A simulation run's report (its conversations are ordinary sessions)."""

    __tablename__ = "cxflow_runs"  # pyright: ignore[reportAssignmentType]
    run_id: str = Field(primary_key=True)
    kind: str
    title: str
    created_at: datetime
    report: str


_S = cast(Table, SessionRow.__table__)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
_T = cast(Table, TurnRow.__table__)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
_P = cast(Table, PendingRow.__table__)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
_E = cast(Table, EffectRow.__table__)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
_R = cast(Table, RunRow.__table__)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def _url(target: str | Path) -> str:
    text = str(target)
    return text if "://" in text else f"sqlite:///{text}"


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class SqlStore:
    """A store in a SQL database: a SQLite file path, or any SQLAlchemy URL (PostgreSQL).

    Example:
        `SqlStore("cxflow.db")`, `SqlStore("postgresql+psycopg://user@127.0.0.1/cx")`.

    Several processes may share one store (bot replicas on PostgreSQL; workers on one machine
    with SQLite in WAL mode): turns are claimed before their first write tool and committed
    against the session's version, so a turn applies once and a write runs once.
    """

    def __init__(
        self,
        target: str | Path,
        *,
        engine: Engine | None = None,
        claim_timeout_s: float = DEFAULT_CLAIM_TIMEOUT_S,
    ) -> None:
        """Open (and create, if needed) the store's tables.

        Args:
            target: A SQLite file path, or a SQLAlchemy URL.
            engine: An engine to use instead of making one from `target`.
            claim_timeout_s: How long a claimed turn's runner may stay silent before `resume()`
                elsewhere takes it over (see `cxflow.store.DEFAULT_CLAIM_TIMEOUT_S`).
        """
        self.url = _url(target)
        self.claim_timeout_s = claim_timeout_s
        self._where = _safe_url(self.url)
        self._pending_sessions: set[str] = set()
        """Sessions with an unclaimed pending row this store wrote or found (for commits)."""
        try:
            if engine is None:
                is_sqlite = self.url.startswith("sqlite")
                engine = create_engine(
                    self.url,
                    connect_args={"check_same_thread": False}
                    if is_sqlite
                    else {"connect_timeout": 10},
                    pool_pre_ping=not is_sqlite,
                )
                if is_sqlite:
                    event.listen(engine, "connect", _sqlite_pragmas)
            self.engine = engine
            self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
            # a store dropped without close() still hands its connections back cleanly
            weakref.finalize(self, engine.dispose)
            mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
            self._sql = {
                "update": f"UPDATE cxflow_sessions SET state={mark}, version={mark}, "
                f"done={mark}, outcome={mark}, snapshot={mark}, pending_turn=NULL, "
                f"claimed_by=NULL, claimed_at=NULL WHERE session_id={mark} AND version={mark} "
                f"AND (pending_turn IS NULL OR claimed_by={mark})",
                "state": "SELECT version, pending_turn, claimed_by, claimed_at "
                f"FROM cxflow_sessions WHERE session_id={mark}",
                "insert_turn": "INSERT INTO cxflow_turns (session_id, turn, record) "
                f"VALUES ({mark}, {mark}, {mark})",
                "delete_pending": f"DELETE FROM cxflow_pending WHERE session_id={mark}",
            }
            SQLModel.metadata.create_all(
                engine,
                tables=[_S, _T, _P, _E, _R],  # pyright: ignore[reportUnknownArgumentType]
            )
            _add_claim_columns(engine)
        except SQLAlchemyError as exc:
            if engine is not None:
                engine.dispose()
            raise StoreError(
                f"cannot open the session store at {self._where}: {_why(exc)}. "
                + _what_to_check(self.url)
            ) from exc

    @contextmanager
    def _tx(self, what: str, *, read: bool = False) -> Generator[Connection]:
        """A transaction; for `read`, a connection in autocommit (no BEGIN/COMMIT round trips)."""
        try:
            if read:
                with self._reader.connect() as conn:
                    yield conn
            else:
                with self.engine.begin() as conn:
                    yield conn
        except StoreError:
            raise
        except DBAPIError as exc:
            raise StoreError(
                f"the session store at {self._where} could not {what}: {_why(exc)}. "
                "Nothing was written; retry, or " + _what_to_check(self.url).lower()
            ) from exc

    def create_session(self, snapshot: SessionSnapshot) -> None:
        """Store a new session at its version."""
        try:
            with self._tx("create the session") as conn:
                conn.execute(insert(_S).values(**_session_values(snapshot)))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(
                    f"a session with id {snapshot.session_id!r} already exists in "
                    f"{self._where}; start the session with another id, or load it."
                ) from exc.__cause__
            raise

    def load_session(self, session_id: str) -> SessionSnapshot:
        """Return the latest committed snapshot."""
        with self._tx("load the session", read=True) as conn:
            raw = conn.execute(
                select(_S.c.snapshot).where(_S.c.session_id == session_id)
            ).scalar_one_or_none()
        if raw is None:
            raise SessionNotFoundError(session_id)
        return SessionSnapshot.model_validate_json(raw)

    def save_pending(self, pending: PendingTurn) -> None:
        """Save (or replace) the session's uncommitted turn, without claiming it."""
        with self._tx("save the pending turn") as conn:
            _write_pending(conn, pending)
        self._pending_sessions.add(pending.session_id)

    def claim_turn(self, pending: PendingTurn, *, owner: str, resuming: bool) -> None:
        """Save the pending turn and claim the session for `owner` (see `ClaimingStore`).

        One transaction: a conditional update of the session row, then the pending row.
        """
        sid, turn = pending.session_id, pending.turn
        row = _S.c
        now = time.time()
        if resuming:
            allowed = or_(
                row.pending_turn.is_(None),
                and_(
                    row.pending_turn == turn,
                    or_(
                        row.claimed_by == owner,
                        row.claimed_by.is_(None),
                        row.claimed_at < now - self.claim_timeout_s,
                    ),
                ),
            )
        else:
            allowed = or_(
                row.pending_turn.is_(None),
                and_(row.pending_turn == turn, row.claimed_by == owner),
            )
        with self._tx("claim the turn") as conn:
            claimed = conn.execute(
                update(_S)
                .where(row.session_id == sid, row.version == turn - 1, allowed)
                .values(pending_turn=turn, claimed_by=owner, claimed_at=now)
            ).rowcount
            if claimed != 1:
                raise self._conflict(conn, sid, turn)
            _write_pending(conn, pending)

    def release_turn(self, session_id: str, owner: str) -> None:
        """Give up `owner`'s claim; the pending turn stays for `resume()`."""
        with self._tx("release the turn") as conn:
            conn.execute(
                update(_S)
                .where(_S.c.session_id == session_id, _S.c.claimed_by == owner)
                .values(claimed_by=None, claimed_at=None)
            )

    def _conflict(self, conn: Connection, session_id: str, turn: int) -> ConcurrencyError:
        found = conn.execute(
            select(_S.c.version, _S.c.pending_turn, _S.c.claimed_by, _S.c.claimed_at).where(
                _S.c.session_id == session_id
            )
        ).first()
        if found is None:
            raise SessionNotFoundError(session_id)
        return claim_conflict(
            session_id,
            turn,
            version=found.version,
            pending_turn=found.pending_turn,
            claimed_by=found.claimed_by,
            claimed_at=found.claimed_at,
            timeout_s=self.claim_timeout_s,
        )

    def pending_turn(self, session_id: str) -> PendingTurn | None:
        """Return the session's uncommitted turn, if any."""
        with self._tx("read the pending turn", read=True) as conn:
            raw = conn.execute(
                select(_P.c.payload).where(_P.c.session_id == session_id)
            ).scalar_one_or_none()
        if raw is None:
            return None
        self._pending_sessions.add(session_id)
        return PendingTurn.model_validate_json(raw)

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        """Append the record, replace the snapshot and clear the pending turn, atomically.

        `owner` is the claim the turn holds, if it claimed one (see `ClaimingStore`). This is
        the one write of an ordinary turn, so it skips the ORM and SQLAlchemy's statement
        machinery: two prepared statements on the driver's connection, one commit.
        """
        sid = snapshot.session_id
        snapshot_json = snapshot.model_dump_json()
        record_json = record.model_dump_json()
        dbapi: Any = self.engine.dialect.loaded_dbapi
        try:
            conn = self.engine.raw_connection()
        except (DBAPIError, dbapi.Error) as exc:  # the pool raises the driver's own errors
            raise StoreError(
                f"the session store at {self._where} could not commit the turn: {_why(exc)}. "
                "Nothing was written; retry, or " + _what_to_check(self.url).lower()
            ) from exc
        try:
            cur = conn.cursor()
            cur.execute(
                self._sql["update"],
                (
                    snapshot.state,
                    snapshot.version,
                    snapshot.done,
                    snapshot.outcome,
                    snapshot_json,
                    sid,
                    expected_version,
                    owner,
                ),
            )
            if cur.rowcount != 1:
                cur.execute(self._sql["state"], (sid,))
                row = cur.fetchone()
                conn.rollback()
                if row is None:
                    raise SessionNotFoundError(sid)
                raise claim_conflict(
                    sid,
                    expected_version + 1,
                    version=int(row[0]),
                    pending_turn=row[1],
                    claimed_by=row[2],
                    claimed_at=row[3],
                    timeout_s=self.claim_timeout_s,
                )
            cur.execute(self._sql["insert_turn"], (sid, record.turn, record_json))
            if owner is not None or sid in self._pending_sessions:
                cur.execute(self._sql["delete_pending"], (sid,))
            conn.commit()
            self._pending_sessions.discard(sid)
        except dbapi.IntegrityError as exc:  # the turn row exists: another writer won the race
            _rollback(conn)
            raise ConcurrencyError(sid, expected_version, expected_version + 1) from exc
        except dbapi.Error as exc:
            _rollback(conn)
            raise StoreError(
                f"the session store at {self._where} could not commit the turn: {exc}. "
                "Nothing was written; retry, or " + _what_to_check(self.url).lower()
            ) from exc
        finally:
            conn.close()

    def turns(self, session_id: str) -> list[TurnRecord]:
        """Return the session's turn records in order."""
        with self._tx("read the turns", read=True) as conn:
            exists = conn.execute(
                select(_S.c.session_id).where(_S.c.session_id == session_id)
            ).first()
            rows = conn.execute(
                select(_T.c.record).where(_T.c.session_id == session_id).order_by(_T.c.turn)
            ).scalars()
            records = [TurnRecord.model_validate_json(r) for r in rows]
        if exists is None:
            raise SessionNotFoundError(session_id)
        return records

    def find_effect(self, key: str) -> Mapping[str, Any] | None:
        """Return the journaled updates of a write tool call, if it ran."""
        with self._tx("read the effect journal", read=True) as conn:
            raw = conn.execute(select(_E.c.updates).where(_E.c.key == key)).scalar_one_or_none()
        return json.loads(raw) if raw is not None else None

    def record_effect(
        self, key: str, *, session_id: str, turn: int, tool: str, updates: Mapping[str, Any]
    ) -> None:
        """Journal a write tool's result (its own transaction, before the turn commits)."""
        try:
            with self._tx("journal the write") as conn:
                conn.execute(
                    insert(_E).values(
                        key=key,
                        session_id=session_id,
                        turn=turn,
                        tool=tool,
                        updates=json.dumps(dict(updates), sort_keys=True),
                    )
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # a runner that took the turn over
                raise StoreError(
                    f"session {session_id!r}, turn {turn}: {tool} was journaled twice under "
                    f"{key}; another runner took this turn over (raise the claim timeout, "
                    f"now {self.claim_timeout_s:g} s, above the longest turn)."
                ) from exc.__cause__
            cause = exc.__cause__
            why = _why(cause) if isinstance(cause, DBAPIError) else str(exc)
            raise StoreError(
                f"the session store at {self._where} could not journal the result of {tool} "
                f"(session {session_id!r}, turn {turn}): {why}. The write itself ran and the turn "
                "was not committed: retry the turn (or resume the session) and, since whether "
                "the write applied is unknown, the conversation is handed off for a person to "
                "check the backend (a tool declared idempotent=True is called again instead). "
                + _what_to_check(self.url)
            ) from cause

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """Return the most recent sessions, newest first."""
        with self._tx("list sessions", read=True) as conn:
            rows = conn.execute(
                select(
                    _S.c.session_id,
                    _S.c.flow,
                    _S.c.state,
                    _S.c.version,
                    _S.c.done,
                    _S.c.outcome,
                    _S.c.created_at,
                )
                .order_by(_S.c.created_at.desc())
                .limit(limit)
            ).all()
        return [
            SessionSummary(
                r.session_id, r.flow, r.state, r.version, r.done, r.outcome, r.created_at
            )
            for r in rows
        ]

    def save_run(self, run_id: str, kind: str, title: str, report: Mapping[str, Any]) -> None:
        """Store (or replace) a run's report."""
        with self._tx("save the run") as conn:
            conn.execute(delete(_R).where(_R.c.run_id == run_id))
            conn.execute(
                insert(_R).values(
                    run_id=run_id,
                    kind=kind,
                    title=title,
                    created_at=datetime.now(UTC),
                    report=json.dumps(report),
                )
            )

    def load_run(self, run_id: str) -> dict[str, Any]:
        """Return a run's report (KeyError: no such run)."""
        with self._tx("load the run", read=True) as conn:
            raw = conn.execute(select(_R.c.report).where(_R.c.run_id == run_id)).scalar()
        if raw is None:
            raise KeyError(run_id)
        return json.loads(raw)

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        """Return the most recent runs, newest first."""
        with self._tx("list runs", read=True) as conn:
            rows = conn.execute(
                select(_R.c.run_id, _R.c.kind, _R.c.created_at, _R.c.title)
                .order_by(_R.c.created_at.desc())
                .limit(limit)
            ).all()
        return [RunSummary(r.run_id, r.kind, r.created_at, r.title) for r in rows]

    def close(self) -> None:
        """Release the store's connections (a later call opens new ones, released at GC)."""
        self.engine.dispose()


def _session_values(snapshot: SessionSnapshot) -> dict[str, Any]:
    return {
        "session_id": snapshot.session_id,
        "flow": snapshot.root_flow,
        "state": snapshot.state,
        "version": snapshot.version,
        "done": snapshot.done,
        "outcome": snapshot.outcome,
        "snapshot": snapshot.model_dump_json(),
        "created_at": snapshot.created_at,
    }


def _write_pending(conn: Connection, pending: PendingTurn) -> None:
    conn.execute(delete(_P).where(_P.c.session_id == pending.session_id))
    conn.execute(
        insert(_P).values(
            session_id=pending.session_id, turn=pending.turn, payload=pending.model_dump_json()
        )
    )


def _add_claim_columns(engine: Engine) -> None:
    """Add the claim columns to a sessions table made by an older cxflow."""
    have = {c["name"] for c in inspect(engine).get_columns("cxflow_sessions")}
    missing = [name for name in _CLAIM_COLUMNS if name not in have]
    if not missing:
        return
    with engine.begin() as conn:
        for name in missing:
            conn.execute(
                text(f"ALTER TABLE cxflow_sessions ADD COLUMN {name} {_CLAIM_COLUMNS[name]}")
            )


def _rollback(conn: Any) -> None:
    """Roll back, ignoring a connection that is already gone (the error at hand says why)."""
    try:
        conn.rollback()
    except Exception:
        conn.invalidate()


def _safe_url(url: str) -> str:
    """The URL as shown in messages: a password becomes ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return url


def _what_to_check(url: str) -> str:
    if url.startswith("sqlite"):
        return (
            "Check the path, that its directory exists and is writable, and that no other "
            "program holds the database locked."
        )
    return (
        "Check that the database server in the URL is running and reachable, that the "
        "database exists, and that the user and password are right."
    )


def _why(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc).splitlines()[0]
