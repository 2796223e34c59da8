"""Stored sessions and runs in a tmp SqlStore, for the TUI tests (offline, deterministic)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_data import PLAN_TURNS, Stored, normalized

from cxflow.registry import get_flow
from cxflow.session import Session, linked_flows
from cxflow.simulators.runner import Trial, report, run_trial
from cxflow.simulators.scenario import library
from cxflow.sql_store import SqlStore
from cxflow.tui.model import Timeline


@pytest.fixture(scope="session")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    db = str(tmp_path_factory.mktemp("tui") / "tui.db")
    store = SqlStore(db)
    session = Session.start(get_flow("plan_upgrade"), store=store, session_id="happy")
    for text in PLAN_TURNS:
        session.turn_sync(text)
    store.close()
    declines = library("plan_upgrade").scenarios[1]
    trials = [
        Trial("plan_upgrade", library("plan_upgrade").scenarios[0], "cooperative", 0, 0),
        Trial(
            "plan_upgrade",
            declines.with_personas(mishears_number=1.0),
            "mishears_number",
            0,
            0,
        ),
    ]
    conversations = [run_trial(t, db, "r1") for t in trials]
    assert conversations[1]["failures"], "the fixture needs a failed conversation"
    store = SqlStore(db)
    store.save_run("r1", "simulate", "tui fixture", report(conversations, k=1, run_id="r1"))
    store.close()
    yield Stored(db, "happy", conversations[1]["session_id"], "r1")


@pytest.fixture
def diverged_timeline(stored: Stored) -> Timeline:
    store = SqlStore(stored.db)
    try:
        records = normalized(store.turns(stored.diverged))
    finally:
        store.close()
    flow = get_flow("plan_upgrade")
    return Timeline(flow, linked_flows(flow), records, index=0)


@pytest.fixture
def db_copy(tmp_path: Path) -> str:
    """An empty database for live sessions."""
    return str(tmp_path / "live.db")
