"""Several processes sharing one store, on SQLite (WAL) and on PostgreSQL: a load-balanced pool
of replicas driving hundreds of sessions, two replicas racing on a write state, and a replica
killed with SIGKILL in the middle of a write turn.

Processes are forked (the test's own code runs in them); each opens its own store.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from ledger_flow import FLOWS as LEDGER_FLOWS
from ledger_flow import Bookkeeping, Ledger
from sqlmodel import select

from cxflow import Session
from cxflow.errors import ConcurrencyError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import SessionSnapshot, TurnRecord
from cxflow.sql_store import EffectRow, PendingRow, SessionRow, SqlStore, TurnRow
from cxflow.store import TurnClaimedError

FORK = mp.get_context("fork")
WORKERS = 4
SESSIONS = 200
LINES = PlanUpgrade.example  # four customer lines: identify, line, plan, confirm (a write)
UPGRADE_FLOWS = {"plan_upgrade": PlanUpgrade}


# -- a pool of replicas behind a load balancer --------------------------------------------------


def serve_messages(url: str, jobs: Any, done: Any) -> None:
    """A replica: take (session, line index) messages from the shared queue until told to stop.

    Line 0 starts the session; each later line loads the session from the store (any replica
    may have run the previous turn), runs one turn, and queues the session's next message.
    """
    store = SqlStore(url)
    while (job := jobs.get()) is not None:
        session_id, line = job
        try:
            if line == 0:
                Session.start(PlanUpgrade, store=store, session_id=session_id)
            else:
                session = Session.load(session_id, flows=UPGRADE_FLOWS, store=store)
                session.turn_sync(LINES[line - 1])
        except Exception as exc:  # reported to the test, which fails on it
            done.put((session_id, line, f"{type(exc).__name__}: {exc}"))
            continue
        if line < len(LINES):
            jobs.put((session_id, line + 1))
        done.put((session_id, line, None))
    store.close()


@pytest.mark.slow
def test_replicas_drive_hundreds_of_sessions_concurrently_and_lose_nothing(
    store_url: str, request: pytest.FixtureRequest
) -> None:
    SqlStore(store_url).close()  # create the tables once, before the replicas race to
    jobs, done = FORK.Queue(), FORK.Queue()
    ids = [uuid.uuid4().hex for _ in range(SESSIONS)]
    for session_id in ids:
        jobs.put((session_id, 0))
    replicas = [
        FORK.Process(target=serve_messages, args=(store_url, jobs, done)) for _ in range(WORKERS)
    ]
    started = time.perf_counter()
    for replica in replicas:
        replica.start()
    results: list[tuple[str, int, str | None]] = []
    try:
        for _ in range(SESSIONS * (len(LINES) + 1)):
            results.append(done.get(timeout=60))
    finally:
        for _ in replicas:
            jobs.put(None)
        for replica in replicas:
            replica.join(10)
    elapsed = time.perf_counter() - started
    assert [r for r in results if r[2] is not None] == []
    assert all(replica.exitcode == 0 for replica in replicas)

    # read everything back in three queries: every session, every turn, every journaled write
    store = SqlStore(store_url)
    try:
        with store.engine.connect() as conn:
            sessions = {r.session_id: r for r in conn.execute(select(SessionRow))}
            logs: dict[str, list[TurnRecord]] = {}
            for row in conn.execute(select(TurnRow).order_by(TurnRow.session_id, TurnRow.turn)):
                logs.setdefault(row.session_id, []).append(
                    TurnRecord.model_validate_json(row.record)
                )
            effects = {r.key: r for r in conn.execute(select(EffectRow))}
            pending = conn.execute(select(PendingRow)).all()
    finally:
        store.close()
    assert sorted(sessions) == sorted(ids) and sorted(logs) == sorted(ids)
    assert pending == []
    for session_id in ids:
        row, records = sessions[session_id], logs[session_id]
        assert (row.version, row.state, row.outcome) == (4, "changed", "completed"), session_id
        assert row.pending_turn is None and row.claimed_by is None
        assert [r.turn for r in records] == [1, 2, 3, 4]
        assert [r.customer_text for r in records] == list(LINES)
        (write,) = [c for r in records for c in r.tool_calls if c.tool == "change_plan"]
        assert write.updates["plan_changed"] is True and not write.replayed
        journaled = effects.pop(write.idempotency_key or "")
        assert (journaled.session_id, journaled.turn) == (session_id, 4)
    assert effects == {}, "no write was journaled outside a committed turn"
    turns = SESSIONS * len(LINES)
    print(
        f"\n{request.node.callspec.id}: {WORKERS} processes, {SESSIONS} sessions, {turns} turns "
        f"in {elapsed:.2f} s: {turns / elapsed:.0f} turns/s, {SESSIONS / elapsed:.0f} sessions/s"
    )


# -- two replicas racing on a write state ---------------------------------------------------------

ROUNDS = 12


def race(url: str, ledger_path: Path, session_id: str, base: int, barrier: Any, out: Any) -> None:
    """A replica posting one amount per round, at the same instant as the other replica.

    Both load the session at the same version before posting, so exactly one of them can apply
    that turn; the other must be refused, reload, and send its amount again.
    """
    store = SqlStore(url)
    ledger = Ledger(ledger_path)
    firsts: list[str] = []
    for round_no in range(ROUNDS):
        text = str(base + round_no)
        session = Session.load(session_id, flows=LEDGER_FLOWS, store=store, env=ledger)
        barrier.wait(timeout=30)
        outcome = "applied"
        for _ in range(500):
            try:
                session.turn_sync(text)
                break
            except ConcurrencyError as exc:
                if outcome == "applied":
                    outcome = type(exc).__name__
                time.sleep(0.002)
                session = Session.load(session_id, flows=LEDGER_FLOWS, store=store, env=ledger)
        else:
            outcome = "never applied"
        firsts.append(outcome)
        barrier.wait(timeout=30)  # the round ends when both amounts are in
    store.close()
    out.put((base, firsts))


def test_two_replicas_posting_at_once_apply_exactly_one_turn_and_the_other_retries(
    store_url: str, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store = SqlStore(store_url)
    session = Session.start(Bookkeeping, store=store, env=ledger)
    barrier, out = FORK.Barrier(2), FORK.Queue()
    racers = [
        FORK.Process(target=race, args=(store_url, ledger.path, session.id, base, barrier, out))
        for base in (1000, 2000)
    ]
    for racer in racers:
        racer.start()
    outcomes = dict(out.get(timeout=60) for _ in racers)
    for racer in racers:
        racer.join(10)

    for round_no in range(ROUNDS):  # each round: one applied at once, the other was refused
        first_tries = [outcomes[1000][round_no], outcomes[2000][round_no]]
        assert first_tries.count("applied") == 1, first_tries
        assert set(first_tries) - {"applied"} <= {"ConcurrencyError", "TurnClaimedError"}
    records = store.turns(session.id)
    assert [r.turn for r in records] == list(range(1, 2 * ROUNDS + 1))
    assert sorted(int(r.customer_text) for r in records) == sorted(
        [1000 + i for i in range(ROUNDS)] + [2000 + i for i in range(ROUNDS)]
    )
    committed = [
        (c.idempotency_key, r.turn, c.arguments["amount"])
        for r in records
        for c in r.tool_calls
        if c.tool == "book"
    ]
    assert [(turn, amount) for _, turn, amount in committed] == [
        (r.turn, int(r.customer_text)) for r in records
    ], "each turn's write carries that turn's own amount"
    assert [(k, t, a) for k, _, t, a in ledger.entries()] == committed
    assert len(ledger.calls()) == 2 * ROUNDS, "no refused replica ever reached the backend"
    store.close()


# -- a replica killed with SIGKILL in the middle of a write turn ---------------------------------


class KilledBeforeCommit(SqlStore):
    """A store whose process dies (SIGKILL) right before it commits a turn."""

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def post_and_die(url: str, ledger_path: Path, session_id: str, kill_at: str) -> None:
    """Load the session and send the amount that runs the write; die at `kill_at`."""
    if kill_at == "before_commit":
        store: SqlStore = KilledBeforeCommit(url)
        ledger = Ledger(ledger_path)
    else:
        store = SqlStore(url)
        ledger = Ledger(ledger_path, kill_at=kill_at)
    session = Session.load(session_id, flows=LEDGER_FLOWS, store=store, env=ledger)
    session.turn_sync("300")


@pytest.mark.parametrize("kill_at", ["before_write", "after_write", "before_commit"])
def test_a_replica_killed_mid_turn_is_resumed_by_another_with_no_lost_or_doubled_write(
    store_url: str, tmp_path: Path, kill_at: str
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store = SqlStore(store_url)  # waits 30 s before taking a silent runner's turn over
    session = Session.start(Bookkeeping, store=store, env=ledger)
    session.turn_sync("100")
    victim = FORK.Process(target=post_and_die, args=(store_url, ledger.path, session.id, kill_at))
    victim.start()
    victim.join(30)
    assert victim.exitcode == -signal.SIGKILL, "the replica was killed by SIGKILL"

    patient = Session.load(session.id, flows=LEDGER_FLOWS, store=store, env=ledger)
    assert patient.version == 1
    assert patient.pending is not None and patient.pending.customer_text == "300"
    with pytest.raises(TurnClaimedError):  # the claim is fresh: its runner may be alive
        patient.resume_sync()

    quick = SqlStore(store_url, claim_timeout_s=0.2)  # takes over after 0.2 s of silence
    time.sleep(0.25)
    survivor = Session.load(session.id, flows=LEDGER_FLOWS, store=quick, env=ledger)
    resumed = survivor.resume_sync()
    assert resumed is not None and resumed.record.turn == 2
    (call,) = [c for c in resumed.record.tool_calls if c.tool == "book"]
    assert call.replayed == (kill_at == "before_commit")  # journaled before it died
    survivor.turn_sync("400")

    records = store.turns(session.id)
    assert [(r.turn, r.customer_text) for r in records] == [(1, "100"), (2, "300"), (3, "400")]
    committed = [
        (c.idempotency_key, r.turn, c.arguments["amount"])
        for r in records
        for c in r.tool_calls
        if c.tool == "book"
    ]
    assert [(k, t, a) for k, _, t, a in ledger.entries()] == committed, "none lost or doubled"
    # every call reached the backend with that turn's key; the backend deduplicates by key
    calls = ledger.calls()
    expected_calls = {"before_write": 2, "after_write": 2, "before_commit": 1}[kill_at] + 2
    assert len(calls) == expected_calls
    assert {(k, t, a) for k, _, t, a in calls} == set(committed)
    store.close()
    quick.close()
