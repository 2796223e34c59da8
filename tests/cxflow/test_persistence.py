"""Sessions survive restarts, crashes mid-turn, and concurrent writers.

Each behaviour is proven on every store: in memory, a SQLite file, and PostgreSQL (a fresh
database on the throwaway server of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cxflow import MemoryStore, ScriptedInterpreter, Session, SetSlot, Take
from cxflow.errors import ConcurrencyError, SessionNotFoundError, StoreError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import PendingTurn, SessionSnapshot, TurnRecord
from cxflow.session import ConversationEndedError
from cxflow.sql_store import SqlStore
from cxflow.store import Store
from cxflow.tools.telecom import TelecomTools

FLOWS = {"plan_upgrade": PlanUpgrade}
TO_QUOTE = ["my number is 555-014-3301", "555-014-3301", "Everyday 20"]


class ProcessDied(BaseException):
    """Stands for the process dying at this instant: nothing after it runs."""


class CrashBeforeCommit:
    """A store that dies once, right before committing a turn (after tools ran)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.armed = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        if self.armed:
            self.armed = False
            raise ProcessDied
        self.inner.commit_turn(  # type: ignore[call-arg]
            snapshot, record, expected_version=expected_version, owner=owner
        )


class CountingCrm(TelecomTools):
    """The sample CRM, counting plan changes."""

    changes = 0

    def change_plan(self, customer_id: str, line_id: str, plan_id: str):  # type: ignore[override]
        CountingCrm.changes += 1
        return super().change_plan(customer_id, line_id, plan_id)


@pytest.fixture
def crm() -> CountingCrm:
    CountingCrm.changes = 0
    base = PlanUpgrade.make_env()
    assert isinstance(base, TelecomTools)
    return CountingCrm(base.db)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    url = (
        str(tmp_path / "sessions.db")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    sql = SqlStore(url)
    yield sql
    sql.close()


def test_session_resumes_after_restart_from_the_database_alone(store_url: str, crm) -> None:
    first = SqlStore(store_url)
    session = Session.start(PlanUpgrade, store=first, env=crm)
    for text in TO_QUOTE:
        session.turn_sync(text)
    session_id, quoted_reply = session.id, session.reply
    first.close()
    del session

    reopened = Session.load(session_id, flows=FLOWS, store=SqlStore(store_url), env=crm)
    assert reopened.state == "awaiting_confirmation"
    assert reopened.reply == quoted_reply
    turn = reopened.turn_sync("yes")
    assert turn.state == "changed" and turn.done
    assert [r.turn for r in reopened.turns()] == [1, 2, 3, 4]
    assert crm.get_details_by_id("L2001").plan_id == "P1002"  # type: ignore[union-attr]


def test_crash_between_write_and_commit_resumes_without_repeating_the_write(
    store: Store, crm: CountingCrm
) -> None:
    crashing = CrashBeforeCommit(store)
    session = Session.start(PlanUpgrade, store=crashing, env=crm)  # type: ignore[arg-type]
    for text in TO_QUOTE:
        session.turn_sync(text)
    crashing.armed = True
    with pytest.raises(ProcessDied):
        session.turn_sync("yes, go ahead")
    assert CountingCrm.changes == 1  # the write happened, the turn did not commit

    restarted = Session.load(session.id, flows=FLOWS, store=store, env=crm)
    assert restarted.version == 3
    assert restarted.pending is not None
    assert restarted.pending.customer_text == "yes, go ahead"
    turn = restarted.resume_sync()
    assert turn is not None and turn.state == "changed"
    assert CountingCrm.changes == 1, "the resumed turn must not change the plan again"
    call = next(c for c in turn.record.tool_calls if c.tool == "change_plan")
    assert call.replayed and call.idempotency_key
    assert len(store.turns(session.id)) == 4
    assert restarted.pending is None


def test_crash_before_any_write_leaves_the_last_committed_turn(
    store: Store, crm: CountingCrm
) -> None:
    crashing = CrashBeforeCommit(store)
    session = Session.start(PlanUpgrade, store=crashing, env=crm)  # type: ignore[arg-type]
    session.turn_sync(TO_QUOTE[0])
    crashing.armed = True
    with pytest.raises(ProcessDied):
        session.turn_sync(TO_QUOTE[1])
    restarted = Session.load(session.id, flows=FLOWS, store=store, env=crm)
    assert restarted.version == 1 and restarted.pending is None
    assert restarted.state == "choose_line"
    restarted.turn_sync(TO_QUOTE[1])  # the bot resends the message
    assert [r.customer_text for r in store.turns(session.id)] == TO_QUOTE[:2]


def test_next_turn_completes_a_crashed_write_turn_first(store: Store, crm: CountingCrm) -> None:
    crashing = CrashBeforeCommit(store)
    session = Session.start(PlanUpgrade, store=crashing, env=crm)  # type: ignore[arg-type]
    for text in TO_QUOTE:
        session.turn_sync(text)
    crashing.armed = True
    with pytest.raises(ProcessDied):
        session.turn_sync("yes")
    restarted = Session.load(session.id, flows=FLOWS, store=store, env=crm)
    with pytest.raises(ConversationEndedError):
        restarted.turn_sync("thanks")  # the crashed turn completes first and ends the flow
    assert [r.customer_text for r in store.turns(session.id)] == [*TO_QUOTE, "yes"]
    assert CountingCrm.changes == 1


def test_resumed_turn_reuses_recorded_commands_not_a_new_interpretation(store: Store) -> None:
    session = Session.start(PlanUpgrade, store=store)
    store.save_pending(
        PendingTurn(
            session_id=session.id,
            turn=1,
            customer_text="anything",
            attempts=[[SetSlot(slot="phone_number", value="555-014-3301").model_dump()]],
        )
    )
    never = ScriptedInterpreter([])  # would return no commands at all
    restarted = Session.load(session.id, flows=FLOWS, store=store, interpreter=never)
    turn = restarted.resume_sync()
    assert turn is not None and turn.state == "choose_line"
    assert never.calls == []


def test_concurrent_writers_one_turn_applies_the_other_gets_a_conflict(store: Store) -> None:
    first = Session.start(PlanUpgrade, store=store)
    second = Session.load(first.id, flows=FLOWS, store=store, env=first.env)
    first.turn_sync("555-014-3301")
    with pytest.raises(ConcurrencyError) as info:
        second.turn_sync("555-027-8810")
    assert info.value.expected_version == 0 and info.value.actual_version == 1
    assert len(store.turns(first.id)) == 1
    # the loser reloads and retries on the new version
    retry = Session.load(first.id, flows=FLOWS, store=store, env=first.env)
    retry.turn_sync("555-014-3301")
    assert len(store.turns(first.id)) == 2


def test_scripted_take_flows_through_sql_store(store: Store) -> None:
    script = [
        [SetSlot(slot="phone_number", value="555-014-3301")],
        [SetSlot(slot="line_phone", value="555-014-3301")],
        [SetSlot(slot="target_plan_id", value="P1003")],
        [Take(event="confirm_price")],
    ]
    session = Session.start(PlanUpgrade, store=store, interpreter=ScriptedInterpreter(script))
    for _ in script:
        turn = session.turn_sync("yes")
    assert turn.outcome == "completed"
    listed = store.list_sessions()
    assert listed[0].session_id == session.id and listed[0].done


def test_unknown_session_is_a_clear_error(store: Store) -> None:
    with pytest.raises(SessionNotFoundError, match="no session 'nope'"):
        Session.load("nope", flows=FLOWS, store=store)
    with pytest.raises(SessionNotFoundError):
        store.turns("nope")


def test_read_only_database_gives_a_store_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    writable = SqlStore(path)
    session = Session.start(PlanUpgrade, store=writable)
    # SQLite's read-only mode holds even for root (file permissions would not)
    read_only = SqlStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    reopened = Session.load(session.id, flows=FLOWS, store=read_only, env=session.env)
    with pytest.raises(StoreError, match="could not commit the turn"):
        reopened.turn_sync("555-014-3301")
    assert writable.turns(session.id) == []
    assert writable.load_session(session.id).version == 0


def test_corrupt_database_file_gives_a_store_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StoreError, match=r"corrupt\.db"):
        SqlStore(path)


def test_missing_directory_gives_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the session store"):
        SqlStore(tmp_path / "no" / "such" / "dir" / "x.db")


class DiesBeforeJournal(CrashBeforeCommit):
    """A store whose process dies once, after a write tool ran and before its result is
    journaled: whether the write happened is then unknown."""

    def record_effect(self, key: str, **kwargs: object) -> None:
        if self.armed:
            self.armed = False
            raise ProcessDied
        self.inner.record_effect(key, **kwargs)  # type: ignore[arg-type]


def test_a_write_whose_result_was_never_journaled_is_not_run_again_but_handed_off(
    store: Store, crm: CountingCrm
) -> None:
    dying = DiesBeforeJournal(store)
    session = Session.start(PlanUpgrade, store=dying, env=crm)  # type: ignore[arg-type]
    for text in TO_QUOTE:
        session.turn_sync(text)
    dying.armed = True
    with pytest.raises(ProcessDied):
        session.turn_sync("yes")
    assert CountingCrm.changes == 1  # the plan did change; its result was lost

    restarted = Session.load(session.id, flows=FLOWS, store=store, env=crm)
    assert restarted.pending is not None and len(restarted.pending.started) == 1
    turn = restarted.resume_sync()

    assert turn is not None and turn.outcome == "handed_off"
    assert CountingCrm.changes == 1, "the write was not repeated"
    [call] = [c for c in turn.record.tool_calls if c.side_effect]
    assert call.error is not None and "outcome of change_plan is unknown" in call.error
    assert turn.record.handoff_reason is not None
    assert "check the backend" in turn.record.handoff_reason
