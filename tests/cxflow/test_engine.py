"""`Engine`: start and load sessions of a fixed set of flows over one store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cxflow import Engine
from cxflow.errors import SessionNotFoundError, UnknownFlowError, UsageError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import TurnRecord
from cxflow.session import Session
from cxflow.sql_store import SqlStore


def test_a_session_continues_across_engines_sharing_a_store(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    first = Engine([PlanUpgrade], store=SqlStore(db))
    session = first.start("plan_upgrade")
    first.turn_sync(session.id, PlanUpgrade.example[0])

    second = Engine([PlanUpgrade], store=SqlStore(db))  # a restart, or another replica
    turn = second.turn_sync(session.id, PlanUpgrade.example[1])
    assert turn.state == second.session(session.id).state
    assert [r.turn for r in second.session(session.id).turns()] == [1, 2]


def test_listeners_see_every_committed_turn_with_its_session() -> None:
    engine = Engine({"plan_upgrade": PlanUpgrade})
    seen: list[tuple[str, int]] = []

    @engine.on_turn
    def record(session: Session, rec: TurnRecord) -> None:
        seen.append((session.id, rec.turn))

    session = engine.start(PlanUpgrade)
    for line in PlanUpgrade.example:
        engine.turn_sync(session.id, line)
    assert seen == [(session.id, n) for n in range(1, len(PlanUpgrade.example) + 1)]
    assert engine.session(session.id).done


def test_default_env_is_shared_so_a_write_is_seen_by_the_next_session() -> None:
    engine = Engine([PlanUpgrade])
    one, two = engine.start("plan_upgrade"), engine.start("plan_upgrade")
    assert engine.session(one.id).env is engine.session(two.id).env


def test_env_factory_is_called_per_session() -> None:
    made: list[str] = []

    def factory(flow: Any) -> object:
        made.append(flow.flow_id)
        return flow.make_env()

    engine = Engine([PlanUpgrade], env_factory=factory)
    session = engine.start("plan_upgrade")
    engine.session(session.id)
    assert made == ["plan_upgrade", "plan_upgrade"]


def test_clear_errors_for_wrong_use() -> None:
    with pytest.raises(UsageError, match="at least one flow"):
        Engine([])
    with pytest.raises(UsageError, match="not both"):
        Engine([PlanUpgrade], env=object(), env_factory=lambda f: None)
    engine = Engine([PlanUpgrade])
    with pytest.raises(UnknownFlowError, match="plan_upgrade"):
        engine.start("no_such_flow")
    with pytest.raises(SessionNotFoundError):
        engine.session("missing")
