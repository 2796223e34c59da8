"""Two replicas posting to one session at once: one turn applies, the other is refused before
it writes anything, reloads, and applies as the next turn. Proven in one process with a
deterministic interleaving (the second replica posts from inside the first one's write tool),
on every store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ledger_flow import FLOWS, Bookkeeping, Ledger

from cxflow import MemoryStore, Session, SetSlot
from cxflow.errors import ConcurrencyError
from cxflow.records import PendingTurn
from cxflow.sql_store import SqlStore
from cxflow.store import ClaimingStore, TurnClaimedError

OpenReplica = Callable[..., ClaimingStore]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_replica(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenReplica]:
    """Opens another replica's store on the same database (in memory: the same store)."""
    opened: list[SqlStore] = []
    memory = MemoryStore()
    url = ""
    if request.param == "sqlite":
        url = str(tmp_path / "sessions.db")
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_url")

    def open_one(claim_timeout_s: float = 30.0) -> ClaimingStore:
        if not url:
            memory.claim_timeout_s = claim_timeout_s
            return memory
        opened.append(SqlStore(url, claim_timeout_s=claim_timeout_s))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


def booked_turns(store: ClaimingStore, session_id: str) -> list[tuple[str, int, int]]:
    """(idempotency key, turn, amount) of every committed booking, from the turn log."""
    found: list[tuple[str, int, int]] = []
    for record in store.turns(session_id):
        for call in record.tool_calls:
            if call.tool == "book" and not call.error:
                assert call.idempotency_key is not None
                found.append((call.idempotency_key, record.turn, call.arguments["amount"]))
    return found


def test_two_replicas_hit_a_write_state_at_once_and_the_write_is_never_doubled(
    open_replica: OpenReplica, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store_a, store_b = open_replica(), open_replica()
    started = Session.start(Bookkeeping, store=store_a, env=ledger)
    started.turn_sync("5")  # version 1
    replica_a = Session.load(started.id, flows=FLOWS, store=store_a, env=ledger)
    replica_b = Session.load(started.id, flows=FLOWS, store=store_b, env=ledger)
    refused: list[ConcurrencyError] = []

    def b_posts_while_a_writes(amount: int) -> None:
        if amount == 100:  # A's write is running: B posts to the same session now
            with pytest.raises(ConcurrencyError) as info:
                replica_b.turn_sync("200")
            refused.append(info.value)

    ledger.on_book = b_posts_while_a_writes
    turn_a = replica_a.turn_sync("100")
    assert turn_a.record.turn == 2
    assert len(refused) == 1 and isinstance(refused[0], TurnClaimedError)
    assert "turn 2 is being run by another replica" in str(refused[0])
    # B never reached its backend: only A's call did
    assert [amount for *_, amount in ledger.calls()] == [5, 100]

    # B reloads and sends its message again: it applies as the next turn
    retry = Session.load(started.id, flows=FLOWS, store=store_b, env=ledger)
    assert retry.version == 2 and retry.pending is None
    assert retry.turn_sync("200").record.turn == 3

    committed = booked_turns(store_a, started.id)
    assert [(turn, amount) for _, turn, amount in committed] == [(1, 5), (2, 100), (3, 200)]
    assert [(k, t, a) for k, _, t, a in ledger.entries()] == committed  # same keys, same turns
    assert len(ledger.calls()) == 3, "each booking reached the backend exactly once"
    assert [r.customer_text for r in store_b.turns(started.id)] == ["5", "100", "200"]


def test_a_turn_without_writes_cannot_commit_over_another_replicas_pending_write(
    open_replica: OpenReplica, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store_a, store_b = open_replica(), open_replica()
    replica_a = Session.start(Bookkeeping, store=store_a, env=ledger)
    replica_b = Session.load(replica_a.id, flows=FLOWS, store=store_b, env=ledger)

    def b_chats_while_a_writes(amount: int) -> None:
        with pytest.raises(TurnClaimedError):
            replica_b.turn_sync("hmm, what was that?")  # no write: refused at its commit

    ledger.on_book = b_chats_while_a_writes
    replica_a.turn_sync("40")
    assert [(t, a) for _, t, a in booked_turns(store_b, replica_a.id)] == [(1, 40)]
    assert [r.customer_text for r in store_b.turns(replica_a.id)] == ["40"]


def test_a_claim_left_by_a_dead_runner_is_taken_over_only_after_the_timeout(
    open_replica: OpenReplica, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store = open_replica(claim_timeout_s=30)
    session = Session.start(Bookkeeping, store=store, env=ledger)
    # a runner claimed turn 1 with its commands, then died without a word
    dead = PendingTurn(
        session_id=session.id,
        turn=1,
        customer_text="70",
        attempts=[[SetSlot(slot="amount", value=70).model_dump()]],
    )
    store.claim_turn(dead, owner="runner-that-died", resuming=False)

    other = Session.load(session.id, flows=FLOWS, store=store, env=ledger)
    assert other.pending is not None and other.pending.customer_text == "70"
    with pytest.raises(TurnClaimedError, match=r"resume\(\)` takes the turn over after 30 s"):
        other.resume_sync()  # its runner might still be alive: hands off
    with pytest.raises(TurnClaimedError):
        other.turn_sync("80")  # a new message completes the pending turn first: same refusal
    assert ledger.calls() == []

    quick = open_replica(claim_timeout_s=0.2)  # takes a claim over after 0.2 s of silence
    time.sleep(0.25)
    other = Session.load(session.id, flows=FLOWS, store=quick, env=ledger)
    turn = other.resume_sync()
    assert turn is not None and turn.record.turn == 1 and turn.record.customer_text == "70"
    assert other.turn_sync("80").record.turn == 2
    assert [(t, a) for _, t, a in booked_turns(store, session.id)] == [(1, 70), (2, 80)]
    assert len(ledger.calls()) == 2


def test_a_new_turn_cannot_claim_over_an_unfinished_turn_it_did_not_load(
    open_replica: OpenReplica, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store = open_replica()
    stale = Session.start(Bookkeeping, store=store, env=ledger)
    stale_view = Session.load(stale.id, flows=FLOWS, store=store, env=ledger)
    pending = PendingTurn(session_id=stale.id, turn=1, customer_text="9")
    store.claim_turn(pending, owner="runner", resuming=False)
    store.release_turn(stale.id, "runner")  # it raised after its write and gave the turn up

    with pytest.raises(TurnClaimedError, match="has an unfinished turn 1"):
        stale_view.turn_sync("12")  # loaded before the pending turn existed
    assert ledger.calls() == []
    fresh = Session.load(stale.id, flows=FLOWS, store=store, env=ledger)
    fresh.turn_sync("12")  # completes turn 1 ("9"), then books 12 as turn 2
    assert [(t, a) for _, t, a in booked_turns(store, stale.id)] == [(1, 9), (2, 12)]


def test_a_replica_that_lost_the_race_gets_a_version_conflict_once_the_winner_committed(
    open_replica: OpenReplica, tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    store_a, store_b = open_replica(), open_replica()
    replica_a = Session.start(Bookkeeping, store=store_a, env=ledger)
    replica_b = Session.load(replica_a.id, flows=FLOWS, store=store_b, env=ledger)
    replica_a.turn_sync("1")
    with pytest.raises(ConcurrencyError) as info:
        replica_b.turn_sync("2")  # claims on version 0: refused before its write
    assert not isinstance(info.value, TurnClaimedError)
    assert (info.value.expected_version, info.value.actual_version) == (0, 1)
    assert [amount for *_, amount in ledger.calls()] == [1]
