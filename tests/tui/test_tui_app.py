"""Pilot tests of `cxflow tui`: every key binding and pane, in 80x24."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Static
from tui_data import PLAN_TURNS, Stored

from cxflow.errors import SessionNotFoundError, UnknownFlowError, UsageError
from cxflow.sql_store import SqlStore
from cxflow.tui.app import CxflowTui, HelpScreen, RunScreen, ViewerScreen, build_app
from cxflow.tui.model import Timeline

SIZE = (80, 24)


def viewer(app: CxflowTui) -> ViewerScreen:
    assert isinstance(app.screen, ViewerScreen)
    return app.screen


def text_of(app: CxflowTui, pane: str) -> str:
    return _plain(app.screen.query_one(f"#{pane}-body", Static))


def _plain(widget: Static) -> str:
    console = Console(width=200, force_terminal=False)
    with console.capture() as capture:
        console.print(widget.content)
    return capture.get()


async def submit(pilot: Any, box_id: str, text: str) -> None:
    """Fill an input box and press enter (one key per character would cost ~45 ms each)."""
    pilot.app.screen.query_one(f"#{box_id}", Input).value = text
    await pilot.press("enter")


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async pilot test in its own event loop (no async pytest plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def test_missing_textual_raises_the_install_hint() -> None:
    code = "import sys; sys.modules['textual'] = None; import cxflow.tui"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "MissingExtraError" in done.stderr
    assert "pip install 'cxflow[tui]'" in done.stderr


@sync
async def test_step_next_previous(stored: Stored) -> None:
    app = build_app(session_id=stored.happy, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = viewer(app)
        assert screen.timeline.index == 0
        await pilot.press("n")
        assert screen.timeline.index == 1
        await pilot.press("right", "right", "right")  # clamped at the last turn
        assert screen.timeline.index == 3
        assert "turn 4/4" in _plain(screen.query_one("#title", Static))
        await pilot.press("p")
        assert screen.timeline.index == 2
        await pilot.press("left", "left", "left")
        assert screen.timeline.index == 0


@sync
async def test_panes_show_graph_transcript_state_and_details(stored: Stored) -> None:
    app = build_app(session_id=stored.happy, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n", "n", "n")
        graph = text_of(app, "graph")
        assert "state changed" in graph
        assert "final state (outcome: completed)" in graph
        transcript = text_of(app, "transcript")
        assert "Everyday 20" in transcript and "Done: line 555-014-3301" in transcript
        state = text_of(app, "state")
        assert "quoted_pr" in state and "55.00" in state
        details = text_of(app, "details")
        assert "confirm_price" in details
        assert "change_plan" in details and '"target_plan_id": "P1002"' in details
        assert "timings" in details and "usage" in details and "$0.0000" in details
        await pilot.press("p")
        graph = text_of(app, "graph")
        assert "state awaiting_confirmation" in graph
        assert "✓ confirm_price" in graph


@sync
async def test_first_divergence_and_state_table(stored: Stored) -> None:
    app = build_app(session_id=stored.diverged, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        screen = viewer(app)
        record = screen.timeline.selected
        assert record is not None and record.divergences
        assert record.turn == 4
        state = text_of(app, "state")
        assert "⚠ disagreement on quoted_price" in state
        assert "65.00" in state  # what the customer heard
        assert "first divergence: turn 4" in _plain(screen.query_one("#title", Static))
        assert "⚠ divergence quoted_price:disagreement" in text_of(app, "transcript")


@sync
async def test_no_divergence_says_so(stored: Stored) -> None:
    app = build_app(session_id=stored.happy, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        assert viewer(app).timeline.index == 0
        assert "no divergence" in _plain(viewer(app).query_one("#title", Static))


@sync
async def test_search_then_enter_for_next_match(stored: Stored) -> None:
    app = build_app(session_id=stored.happy, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = viewer(app)
        await pilot.press("slash")
        box = screen.query_one("#search", Input)
        assert box.has_focus and box.display
        await submit(pilot, "search", "555-014-3301")
        assert screen.timeline.index == 0  # turn 1 said it first
        await pilot.press("enter")
        assert screen.timeline.index == 1
        await pilot.press("enter")
        assert screen.timeline.index == 2  # the agent's reply of turn 3 names the line
        await pilot.press("escape")
        assert not box.display and not box.has_focus
        await pilot.press("n")  # keys navigate again
        assert screen.timeline.index == 3
        await pilot.press("slash")
        await submit(pilot, "search", "zzz")
        assert "no match" in _plain(screen.query_one("#title", Static))


@sync
async def test_help_and_quit(stored: Stored) -> None:
    app = build_app(session_id=stored.happy, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ViewerScreen)
        await pilot.press("q")
    assert app.return_value == 0


@sync
async def test_resize_does_not_crash(stored: Stored) -> None:
    app = build_app(session_id=stored.diverged, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for size in [(40, 10), (20, 5), (200, 60), (80, 24)]:
            await pilot.resize_terminal(*size)
            await pilot.press("n")
            await pilot.pause()
        assert viewer(app).timeline.index == 4


@sync
async def test_live_typing_reaches_the_final_state(db_copy: str) -> None:
    app = build_app(flow="plan_upgrade", db=db_copy)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = viewer(app)
        assert screen.query_one("#say", Input).has_focus
        assert "What is the phone number" in text_of(app, "transcript")
        await pilot.press(*"5")  # typed keys reach the box
        assert screen.query_one("#say", Input).value == "5"
        for text in PLAN_TURNS:
            await submit(pilot, "say", text)
        assert screen.live is not None and screen.live.session.state == "changed"
        assert len(screen.timeline.records) == 4 and screen.timeline.index == 3
        await submit(pilot, "say", "x")  # the conversation ended: shown, no crash
        assert "has ended" in _plain(screen.query_one("#title", Static))
        await pilot.press("escape", "p")
        assert screen.timeline.index == 2
        await pilot.press("i")
        assert screen.query_one("#say", Input).has_focus
    store = SqlStore(db_copy)
    try:
        [summary] = store.list_sessions()
        assert summary.state == "changed" and summary.done
        assert len(store.turns(summary.session_id)) == 4
    finally:
        store.close()


@sync
async def test_live_simulated_customer_persona_and_phone(db_copy: str) -> None:
    app = build_app(flow="fix_no_service", db=db_copy)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = viewer(app)
        phone = screen.query_one("#phone", Static)
        assert phone.display and "airplane ON" in _plain(phone)
        await pilot.press("escape", "P")
        assert "persona terse" in _plain(screen.query_one("#title", Static))
        await pilot.press("P")
        assert "persona piecemeal" in _plain(screen.query_one("#title", Static))
        for _ in range(12):
            await pilot.press("c")
        assert screen.live is not None and screen.live.session.done
        assert "airplane off" in _plain(phone)
        record = screen.timeline.selected
        assert record is not None and record.customer_view is not None
        assert record.truth is not None and "status_bar" in record.truth


@sync
async def test_live_without_phone_hides_the_panel(db_copy: str) -> None:
    app = build_app(flow="cancel_order", db=db_copy)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = viewer(app)
        assert not screen.query_one("#phone", Static).display
        await pilot.press("escape", "c")
        assert len(screen.timeline.records) == 1
        assert screen.timeline.records[0].customer_view is not None


@sync
async def test_recorded_mode_has_no_live_keys(stored: Stored) -> None:
    app = build_app(session_id=stored.happy, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c", "P", "i")
        screen = viewer(app)
        assert not screen.query_one("#say", Input).display
        assert screen.focused is None


@sync
async def test_run_browser_failed_first_enter_and_escape(stored: Stored) -> None:
    app = build_app(run_id=stored.run_id, db=stored.db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert table.get_row_at(0)[0] == "✗" and table.get_row_at(1)[0] == "✓"
        await pilot.press("enter")
        await pilot.pause()
        screen = viewer(app)
        assert screen.timeline.records[0].session_id == stored.diverged
        await pilot.press("d")
        assert screen.timeline.index == 3
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert viewer(app).timeline.records[0].session_id != stored.diverged
        await pilot.press("escape", "q")
    assert app.return_value == 0


def test_build_app_errors(stored: Stored, db_copy: str) -> None:
    with pytest.raises(UsageError):
        build_app(db=db_copy)
    with pytest.raises(UsageError):
        build_app(flow="plan_upgrade", session_id="x", db=db_copy)
    with pytest.raises(SessionNotFoundError):
        build_app(session_id="nope", db=stored.db)
    with pytest.raises(UsageError, match=r"no run 'nope'.*r1"):
        build_app(run_id="nope", db=stored.db)
    with pytest.raises(UnknownFlowError):
        build_app(flow="nope", db=db_copy)


def test_timeline_cursor_and_search(diverged_timeline: Timeline) -> None:
    t = diverged_timeline
    assert not t.step(-1) and t.index == 0
    assert t.step(100) and t.index == len(t.records) - 1
    assert t.search("zzz") is None and t.search("   ") is None
    found = t.search("Everyday")
    assert found is not None
    assert t.first_divergence() == 3
    empty = Timeline(t.flow, t.flows)
    assert empty.selected is None and not empty.step(1) and empty.search("x") is None
