"""`SqlStore`: sessions in SQL via sqlmodel. A SQLite file is the embedded default; a PostgreSQL
URL works with the same code for several bot replicas.

Tables (declared with sqlmodel, written with lean SQLAlchemy Core statements, one transaction
per turn):

- `cxflow_sessions`: one row per session with its snapshot and a `version` column; a commit
  updates the row only `WHERE version = expected` (optimistic concurrency);
- `cxflow_turns`: the append-only turn log, primary key (session_id, turn);
- `cxflow_pending`: the turn begun but not committed (text, then the interpreter's commands);
- `cxflow_effects`: write-tool results by idempotency key.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, create_engine, delete, event, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Field, SQLModel

from cxflow.errors import ConcurrencyError, SessionNotFoundError, StoreError
from cxflow.records import PendingTurn, SessionSnapshot, TurnRecord
from cxflow.store import RunSummary, SessionSummary

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
    """

    def __init__(self, target: str | Path, *, engine: Engine | None = None) -> None:
        """Open (and create, if needed) the store's tables."""
        self.url = _url(target)
        self._pending_sessions: set[str] = set()
        """Sessions with a pending row this store wrote or found (so commits delete only those)."""
        try:
            if engine is None:
                is_sqlite = self.url.startswith("sqlite")
                engine = create_engine(
                    self.url,
                    connect_args={"check_same_thread": False} if is_sqlite else {},
                    pool_pre_ping=not is_sqlite,
                )
                if is_sqlite:
                    event.listen(engine, "connect", _sqlite_pragmas)
            self.engine = engine
            mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
            self._sql = {
                "update": f"UPDATE cxflow_sessions SET state={mark}, version={mark}, "
                f"done={mark}, outcome={mark}, snapshot={mark} "
                f"WHERE session_id={mark} AND version={mark}",
                "version": f"SELECT version FROM cxflow_sessions WHERE session_id={mark}",
                "insert_turn": "INSERT INTO cxflow_turns (session_id, turn, record) "
                f"VALUES ({mark}, {mark}, {mark})",
                "delete_pending": f"DELETE FROM cxflow_pending WHERE session_id={mark}",
            }
            SQLModel.metadata.create_all(
                engine,
                tables=[_S, _T, _P, _E, _R],  # pyright: ignore[reportUnknownArgumentType]
            )
        except SQLAlchemyError as exc:
            if engine is not None:
                engine.dispose()
            raise StoreError(
                f"cannot open the session store at {self.url}: {_why(exc)}. Check the path or "
                "URL, that the directory exists and is writable, and that the server is up."
            ) from exc

    @contextmanager
    def _tx(self, what: str) -> Generator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except (StoreError, IntegrityError):
            raise
        except OperationalError as exc:
            raise StoreError(
                f"the session store could not {what}: {_why(exc)}. Nothing was written; retry, "
                "or check that the database is writable and not locked by another program."
            ) from exc

    def create_session(self, snapshot: SessionSnapshot) -> None:
        """Store a new session at its version."""
        with self._tx("create the session") as conn:
            conn.execute(insert(_S).values(**_session_values(snapshot)))

    def load_session(self, session_id: str) -> SessionSnapshot:
        """Return the latest committed snapshot."""
        with self._tx("load the session") as conn:
            raw = conn.execute(
                select(_S.c.snapshot).where(_S.c.session_id == session_id)
            ).scalar_one_or_none()
        if raw is None:
            raise SessionNotFoundError(session_id)
        return SessionSnapshot.model_validate_json(raw)

    def save_pending(self, pending: PendingTurn) -> None:
        """Save (or replace) the session's uncommitted turn."""
        with self._tx("save the pending turn") as conn:
            conn.execute(delete(_P).where(_P.c.session_id == pending.session_id))
            conn.execute(
                insert(_P).values(
                    session_id=pending.session_id,
                    turn=pending.turn,
                    payload=pending.model_dump_json(),
                )
            )
        self._pending_sessions.add(pending.session_id)

    def pending_turn(self, session_id: str) -> PendingTurn | None:
        """Return the session's uncommitted turn, if any."""
        with self._tx("read the pending turn") as conn:
            raw = conn.execute(
                select(_P.c.payload).where(_P.c.session_id == session_id)
            ).scalar_one_or_none()
        if raw is None:
            return None
        self._pending_sessions.add(session_id)
        return PendingTurn.model_validate_json(raw)

    def commit_turn(
        self, snapshot: SessionSnapshot, record: TurnRecord, *, expected_version: int
    ) -> None:
        """Append the record, replace the snapshot and clear the pending turn, atomically.

        This is the one write of an ordinary turn, so it skips the ORM and SQLAlchemy's
        statement machinery: two prepared statements on the driver's connection, one commit.
        """
        sid = snapshot.session_id
        snapshot_json = snapshot.model_dump_json()
        record_json = record.model_dump_json()
        dbapi: Any = self.engine.dialect.loaded_dbapi
        conn = self.engine.raw_connection()
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
                ),
            )
            if cur.rowcount != 1:
                cur.execute(self._sql["version"], (sid,))
                row = cur.fetchone()
                conn.rollback()
                if row is None:
                    raise SessionNotFoundError(sid)
                raise ConcurrencyError(sid, expected_version, int(row[0]))
            cur.execute(self._sql["insert_turn"], (sid, record.turn, record_json))
            if sid in self._pending_sessions:
                cur.execute(self._sql["delete_pending"], (sid,))
            conn.commit()
            self._pending_sessions.discard(sid)
        except dbapi.IntegrityError as exc:  # the turn row exists: another writer won the race
            conn.rollback()
            raise ConcurrencyError(sid, expected_version, expected_version + 1) from exc
        except dbapi.OperationalError as exc:
            conn.rollback()
            raise StoreError(
                f"the session store could not commit the turn: {exc}. Nothing was written; "
                "retry, or check that the database is writable and not locked."
            ) from exc
        finally:
            conn.close()

    def turns(self, session_id: str) -> list[TurnRecord]:
        """Return the session's turn records in order."""
        with self._tx("read the turns") as conn:
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
        import json

        with self._tx("read the effect journal") as conn:
            raw = conn.execute(select(_E.c.updates).where(_E.c.key == key)).scalar_one_or_none()
        return json.loads(raw) if raw is not None else None

    def record_effect(
        self, key: str, *, session_id: str, turn: int, tool: str, updates: Mapping[str, Any]
    ) -> None:
        """Journal a write tool's result (its own transaction, before the turn commits)."""
        import json

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

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """Return the most recent sessions, newest first."""
        with self._tx("list sessions") as conn:
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
        with self._tx("load the run") as conn:
            raw = conn.execute(select(_R.c.report).where(_R.c.run_id == run_id)).scalar()
        if raw is None:
            raise KeyError(run_id)
        return json.loads(raw)

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        """Return the most recent runs, newest first."""
        with self._tx("list runs") as conn:
            rows = conn.execute(
                select(_R.c.run_id, _R.c.kind, _R.c.created_at, _R.c.title)
                .order_by(_R.c.created_at.desc())
                .limit(limit)
            ).all()
        return [RunSummary(r.run_id, r.kind, r.created_at, r.title) for r in rows]

    def close(self) -> None:
        """Release the store's connections."""
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


def _why(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig) if orig is not None else str(exc).splitlines()[0]
