"""`SqlStore` on SQLite and on PostgreSQL: every method, the errors it gives, and recovery from
a connection the server dropped."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import inspect, make_url

from cxflow import Session
from cxflow.errors import ConcurrencyError, SessionNotFoundError, StoreError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import PendingTurn, SessionSnapshot
from cxflow.sql_store import SqlStore
from cxflow.store import TurnClaimedError

FLOWS = {"plan_upgrade": PlanUpgrade}


def admin(url: str, statement: str) -> list[tuple[object, ...]]:
    """Run one statement on the server of `url` (from its `postgres` database)."""
    server = make_url(url).set(drivername="postgresql", database="postgres")
    conninfo = server.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(statement.encode())
        return cur.fetchall() if cur.description else []


def drop_connections(url: str) -> int:
    """Terminate every server connection to the database of `url`; return how many."""
    database = make_url(url).database
    rows = admin(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()",
    )
    return len(rows)


def test_every_method_round_trips(store_url: str) -> None:
    store = SqlStore(store_url)
    session = Session.start(PlanUpgrade, store=store, meta={"tenant": "acme"})
    assert store.load_session(session.id) == session.snapshot
    assert store.pending_turn(session.id) is None

    pending = PendingTurn(session_id=session.id, turn=1, customer_text="hello")
    store.save_pending(pending)
    assert store.pending_turn(session.id) == pending
    store.claim_turn(pending, owner="me", resuming=True)
    with pytest.raises(TurnClaimedError):
        store.claim_turn(pending, owner="someone else", resuming=True)
    store.release_turn(session.id, "me")
    store.claim_turn(pending, owner="someone else", resuming=True)  # released: free to take
    with pytest.raises(TurnClaimedError):  # a turn cannot commit over another's pending turn
        Session.load(session.id, flows=FLOWS, store=store).turn_sync("555-014-3301")
    store.release_turn(session.id, "someone else")

    store.record_effect("k1", session_id=session.id, turn=1, tool="t", updates={"n": 1})
    assert store.find_effect("k1") == {"n": 1}
    assert store.find_effect("missing") is None
    with pytest.raises(StoreError, match="t was journaled twice under k1; another runner took"):
        store.record_effect("k1", session_id=session.id, turn=1, tool="t", updates={"n": 2})
    assert store.find_effect("k1") == {"n": 1}

    # the next turn completes the released pending turn ("hello") first, then its own
    turn = Session.load(session.id, flows=FLOWS, store=store).turn_sync("555-014-3301")
    assert turn.record.turn == 2
    assert [r.customer_text for r in store.turns(session.id)] == ["hello", "555-014-3301"]
    assert store.pending_turn(session.id) is None
    with pytest.raises(ConcurrencyError):  # version 2 now: a claim for turn 1 is stale
        store.claim_turn(pending, owner="late", resuming=False)
    listed = store.list_sessions()
    assert [(s.session_id, s.version, s.state) for s in listed] == [(session.id, 2, turn.state)]
    assert listed[0].created_at == session.snapshot.created_at

    store.save_run("r1", "simulate", "first", {"passed": 3})
    store.save_run("r1", "simulate", "first, again", {"passed": 4})  # replaced
    store.save_run("r2", "tau2", "second", {"passed": 1})
    assert store.load_run("r1") == {"passed": 4}
    assert [(r.run_id, r.title) for r in store.list_runs()] == [
        ("r2", "second"),
        ("r1", "first, again"),
    ]
    with pytest.raises(KeyError):
        store.load_run("nope")
    store.close()


def test_a_session_id_used_twice_is_a_store_error(store_url: str) -> None:
    store = SqlStore(store_url)
    snapshot = SessionSnapshot(
        session_id="s1", flow="f", root_flow="f", state="a", slots={}, meta={}
    )
    store.create_session(snapshot)
    with pytest.raises(StoreError, match="a session with id 's1' already exists"):
        store.create_session(snapshot)
    with pytest.raises(SessionNotFoundError):
        store.claim_turn(
            PendingTurn(session_id="nope", turn=1, customer_text=""), owner="o", resuming=False
        )
    store.close()


def test_a_server_that_is_not_running_is_a_store_error_naming_the_url() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://cx:s3cret@127.0.0.1:{port}/cx"
    with pytest.raises(StoreError) as info:
        SqlStore(url)
    message = str(info.value)
    assert f"postgresql+psycopg://cx:***@127.0.0.1:{port}/cx" in message
    assert "s3cret" not in message, "the password is not shown"
    assert "database server in the URL is running" in message


def test_connections_the_server_dropped_are_replaced_on_the_next_call(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    session = Session.start(PlanUpgrade, store=store)
    session.turn_sync("555-014-3301")
    assert drop_connections(postgres_url) >= 1
    assert store.load_session(session.id).version == 1  # a pooled connection was dead
    assert drop_connections(postgres_url) >= 1
    session.turn_sync("555-014-3301")  # the commit's raw connection too
    assert [r.turn for r in store.turns(session.id)] == [1, 2]
    store.close()


def test_a_database_that_refuses_connections_is_a_store_error_then_recovers(
    postgres_url: str,
) -> None:
    store = SqlStore(postgres_url)
    session = Session.start(PlanUpgrade, store=store)
    database = make_url(postgres_url).database
    admin(postgres_url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    drop_connections(postgres_url)
    with pytest.raises(StoreError, match="could not load the session") as info:
        store.load_session(session.id)
    assert "Nothing was written; retry" in str(info.value)
    with pytest.raises(StoreError, match="could not commit the turn"):
        session.turn_sync("555-014-3301")
    admin(postgres_url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    reloaded = Session.load(session.id, flows=FLOWS, store=store)
    assert reloaded.turn_sync("555-014-3301").record.turn == 1
    store.close()


def test_a_database_from_before_turn_claims_gets_the_claim_columns(store_url: str) -> None:
    old = SqlStore(store_url)
    session = Session.start(PlanUpgrade, store=old)
    with old.engine.begin() as conn:  # the sessions table as the first release made it
        for column in ("pending_turn", "claimed_by", "claimed_at"):
            conn.exec_driver_sql(f"ALTER TABLE cxflow_sessions DROP COLUMN {column}")
    old.close()

    store = SqlStore(store_url)
    columns = {c["name"] for c in inspect(store.engine).get_columns("cxflow_sessions")}
    assert {"pending_turn", "claimed_by", "claimed_at"} <= columns
    resumed = Session.load(session.id, flows=FLOWS, store=store)
    assert resumed.turn_sync("555-014-3301").record.turn == 1
    store.close()


def test_sessions_list_newest_first(store_url: str) -> None:
    store = SqlStore(store_url)
    for n in range(3):
        store.create_session(
            SessionSnapshot(
                session_id=f"s{n}",
                flow="f",
                root_flow="f",
                state="a",
                slots={},
                meta={},
                created_at=datetime(2026, 1, 1 + n, tzinfo=UTC),
            )
        )
    assert [s.session_id for s in store.list_sessions(limit=2)] == ["s2", "s1"]
    store.close()


def test_a_store_dropped_without_close_releases_its_connections(
    postgres_url: str, tmp_path: Path
) -> None:
    store = SqlStore(postgres_url)
    Session.start(PlanUpgrade, store=store)
    del store  # with filterwarnings=error, an unclosed psycopg connection would fail the test
    import gc

    gc.collect()
    database = make_url(postgres_url).database
    rows = admin(
        postgres_url,
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' "
        "AND pid <> pg_backend_pid()",
    )
    assert rows == [(0,)]


def test_a_failed_journal_write_says_the_write_ran_and_what_happens_next(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    store = SqlStore(db)
    store.record_effect("k1", session_id="s", turn=1, tool="change_plan", updates={})
    readonly = SqlStore(f"sqlite:///file:{db}?mode=ro&uri=true")
    try:
        with pytest.raises(StoreError) as caught:
            readonly.record_effect("k2", session_id="s", turn=2, tool="change_plan", updates={})
    finally:
        readonly.close()
        store.close()
    message = str(caught.value)
    assert "could not journal the result of change_plan" in message
    assert "The write itself ran" in message and "handed off" in message
