"""SVG snapshots of the main screens, compared with the files in `snapshots/`.

pytest-textual-snapshot pins pytest<9, and the project runs pytest 9, so the screens are exported
with Textual's own `export_screenshot()`. Regenerate after an intended change with
`CXFLOW_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_tui_snapshots.py`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from tui_data import Stored

from cxflow.tui.app import CxflowTui, build_app
from cxflow.tui.model import Timeline

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CXFLOW_UPDATE_SNAPSHOTS") == "1"


def screenshot(app: CxflowTui, steps: Callable[[Pilot[int]], Awaitable[None]]) -> str:
    async def run() -> str:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await steps(pilot)
            await pilot.pause()
            return app.export_screenshot(title="cxflow")

    return asyncio.run(run())


def check(name: str, svg: str) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if UPDATE or not path.exists():
        path.write_text(svg, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"snapshot {path.name} was missing and is now written; check it in")
    assert svg == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; if intended, rerun with CXFLOW_UPDATE_SNAPSHOTS=1"
    )


def test_viewer_at_the_divergence(diverged_timeline: Timeline, tmp_path: Path) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await pilot.press("d")

    app = build_app(timeline=diverged_timeline, db=str(tmp_path / "s.db"))
    check("viewer_divergence", screenshot(app, steps))


def test_viewer_tool_call_turn(diverged_timeline: Timeline, tmp_path: Path) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await pilot.press("n", "n")

    app = build_app(timeline=diverged_timeline, db=str(tmp_path / "s.db"))
    check("viewer_turn3", screenshot(app, steps))


def test_help(diverged_timeline: Timeline, tmp_path: Path) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")

    app = build_app(timeline=diverged_timeline, db=str(tmp_path / "s.db"))
    check("help", screenshot(app, steps))


def test_run_browser(stored: Stored) -> None:
    async def steps(pilot: Pilot[int]) -> None:
        return None

    check("run_browser", screenshot(build_app(run_id=stored.run_id, db=stored.db), steps))
