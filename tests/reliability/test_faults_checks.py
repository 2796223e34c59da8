"""The fault checks are not vacuous: handed a broken engine, store, interpreter or loader, each
one reports it (the zeros in test_faults.py mean something)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import pytest
from pydantic import BaseModel

import cxflow._turn as turn_module
import cxflow.llm
import cxflow.llm.anthropic_interpreter as anthropic_module
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import SessionSnapshot, TurnRecord
from cxflow.session import Session
from cxflow.simulators.reliability import _faults_data, _faults_kills, _faults_model
from cxflow.simulators.reliability._faults_common import (
    CONFIRM,
    TO_CONFIRMATION,
    Found,
    HookedStore,
    LedgerCrm,
    fast_sqlite_store,
    log_problems,
)
from cxflow.simulators.reliability._faults_store import _fault_case
from cxflow.simulators.reliability._faults_tools import _sweep_case
from cxflow.store import MemoryStore
from cxflow.tooling import Tool, ToolCallContext


class ForgetsTheLastTurn(MemoryStore):
    """A store whose log loses its last record (the snapshot keeps it)."""

    def turns(self, session_id: str) -> list[TurnRecord]:
        return super().turns(session_id)[:-1]


def test_log_problems_sees_a_snapshot_ahead_of_its_log() -> None:
    store = ForgetsTheLastTurn()
    session = Session.start(PlanUpgrade, store=store)
    session.turn_sync(TO_CONFIRMATION[0])
    assert list(log_problems(store, session.id)) == [
        "snapshot at version 1 but the log holds turns []"
    ]


def test_the_tool_sweep_catches_an_engine_that_hides_a_failed_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = turn_module.call_tool

    async def swallowing(
        tool: Tool, slots: BaseModel, env: object, ctx: ToolCallContext
    ) -> Mapping[str, object] | None:
        try:
            return await original(tool, slots, env, ctx)
        except Exception:
            return {"plan_changed": True} if tool.name == "change_plan" else None

    monkeypatch.setattr(turn_module, "call_tool", swallowing)
    found = Found()
    _sweep_case(PlanUpgrade, 1, "unreachable", found)
    assert found.invariant_breaks >= 2
    assert any("not recorded as failed" in e for e in found.examples)
    assert any("effect journal" in e for e in found.examples)


class SwallowsCommits(HookedStore):
    """A store that says it committed a turn and did not."""

    def commit_turn(
        self,
        snapshot: SessionSnapshot,
        record: TurnRecord,
        *,
        expected_version: int,
        owner: str | None = None,
    ) -> None:
        return None


def test_the_store_check_catches_a_store_that_loses_a_commit_silently(tmp_path: Path) -> None:
    store = fast_sqlite_store(tmp_path / "cx.db")
    found = Found()
    try:
        _fault_case(
            found,
            "swallowed",
            "locked",
            "commit_turn",
            store,
            SwallowsCommits(store),
            tmp_path / "crm.jsonl",
            True,
        )
    finally:
        store.close()
    assert found.examples == ["swallowed: the fault did not surface"]


def test_the_model_check_catches_an_interpreter_that_ignores_retry_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cxflow.llm, "retry_after_s", lambda exc: None)
    found = Found()
    name = "a/429-retry-after"
    _faults_model._case(found, name, _faults_model.MODEL_FAULTS[name], tmp_path)
    assert any("the API asked for 3.0 s" in e for e in found.examples)
    assert found.lost_writes == 1  # the customer's yes never became the change


def test_the_model_check_catches_an_exception_out_of_the_turn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def unguarded(call: Callable[[], Awaitable[object]]) -> object:
        return await call()

    monkeypatch.setattr(anthropic_module, "read_response", unguarded)
    found = Found()
    name = "a/html-200-always"
    _faults_model._case(found, name, _faults_model.MODEL_FAULTS[name], tmp_path)
    [example] = found.examples
    assert example.startswith(f"{name}: turn raised AttributeError: ")


def test_the_data_check_catches_a_loader_that_raises_the_wrong_error(tmp_path: Path) -> None:
    def crashes(path: Path) -> object:
        raise KeyError("flights")

    loader = _faults_data.Loader("broken", crashes, bytes, ".json", b"[]", b"[]", False)
    path = tmp_path / "db.json"
    path.write_text("{}")
    found = Found()
    _faults_data._check(found, loader, "wrong_root", path)
    assert found.examples == [
        "broken/wrong_root: raised KeyError instead of DataFileError: 'flights'"
    ]


def test_a_child_killed_at_a_phase_is_told_apart_from_one_that_never_reached_it(
    tmp_path: Path,
) -> None:
    path, ledger = tmp_path / "cx.db", tmp_path / "crm.jsonl"
    store = _faults_kills._open(path)
    session = Session.start(PlanUpgrade, store=store, env=LedgerCrm(ledger))
    for text in TO_CONFIRMATION:
        session.turn_sync(text)
    store.close()
    # the journal is written only by a turn that writes: "hello" never reaches it
    assert _faults_kills._run_child(path, ledger, session.id, "after_journal", "hello") == (
        "not_reached"
    )
    assert _faults_kills._run_child(path, ledger, session.id, "after_journal", CONFIRM) == "killed"
    assert len(LedgerCrm(ledger).changes()) == 1  # the change outlived the process
