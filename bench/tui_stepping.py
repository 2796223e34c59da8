"""Milliseconds per step (next / previous) of `cxflow tui` on a recorded 500-turn conversation.

The conversation is built by simulating `plan_upgrade` scenarios (with the mishears_number
persona, so divergences show up) and concatenating their records, renumbered, into one session
of a tmp SqlStore; the TUI then opens it as `cxflow tui --session ID` would and a Textual pilot
presses `n` through every turn and `p` back, timing each key press until the screen settled.
`python bench/tui_stepping.py [--turns 500] [--json]`; target: under 50 ms a step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cxflow.records import SessionSnapshot, TurnRecord
from cxflow.registry import get_flow
from cxflow.simulators.run import simulate
from cxflow.simulators.scenario import library
from cxflow.sql_store import SqlStore

TARGET_MS = 50.0


def build_session(db: str, turns: int) -> str:
    """Store one `turns`-turn session of concatenated simulated records; return its id."""
    flow = get_flow("plan_upgrade")
    scenarios = library("plan_upgrade").scenarios
    store = SqlStore(db)
    session_id = "bench-500"
    store.create_session(
        SessionSnapshot(
            session_id=session_id,
            flow=flow.flow_id,
            root_flow=flow.flow_id,
            state=flow.spec.initial,
            slots={},
        )
    )
    records: list[TurnRecord] = []
    seed = 0
    while len(records) < turns:
        scenario = scenarios[seed % len(scenarios)].with_personas(mishears_number=0.5)
        records.extend(simulate(flow, scenario, seed=seed).records)
        seed += 1
    for number, record in enumerate(records[:turns], start=1):
        stored = record.model_copy(update={"session_id": session_id, "turn": number})
        snapshot = SessionSnapshot(
            session_id=session_id,
            flow=record.flow,
            root_flow=flow.flow_id,
            state=record.state_after,
            slots=record.agent_view,
            version=number,
        )
        store.commit_turn(snapshot, stored, expected_version=number - 1)
    store.close()
    return session_id


async def measure(db: str, session_id: str, turns: int) -> dict[str, list[float]]:
    """Press `n` through the session and `p` back, then a key bound to nothing (the pilot's own
    cost); per key, the wall ms of each press until the app is idle, and its CPU ms."""
    from cxflow.tui.app import ViewerScreen, build_app

    app = build_app(session_id=session_id, db=db)
    out: dict[str, list[float]] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ViewerScreen)
        for key, name, count in (("n", "next", turns - 1), ("p", "previous", turns - 1)):
            walls = out.setdefault(f"{name}_wall", [])
            cpus = out.setdefault(f"{name}_cpu", [])
            for _ in range(count):
                started, cpu = time.perf_counter(), time.process_time()
                await pilot.press(key)
                cpus.append((time.process_time() - cpu) * 1000)
                walls.append((time.perf_counter() - started) * 1000)
        assert screen.timeline.index == 0
        walls, cpus = out.setdefault("no-op key_wall", []), out.setdefault("no-op key_cpu", [])
        for _ in range(50):
            started, cpu = time.perf_counter(), time.process_time()
            await pilot.press("x")
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - started) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500, help="turns in the session (500)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        started = time.perf_counter()
        session_id = build_session(db, args.turns)
        build_s = time.perf_counter() - started
        timings = asyncio.run(measure(db, session_id, args.turns))
    result: dict[str, Any] = {"turns": args.turns, "build_s": round(build_s, 2)}
    for name, values in timings.items():
        ordered = sorted(values)
        result[name] = {
            "steps": len(values),
            "mean_ms": round(statistics.fmean(values), 2),
            "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max_ms": round(ordered[-1], 2),
        }
    # the app's own work per step: CPU time of a press (Textual's pilot waits for idleness in
    # 20 ms sleeps, so its wall time is a pilot artefact above the no-op key's)
    worst = max(result["next_cpu"]["p95_ms"], result["previous_cpu"]["p95_ms"])
    result["target_ms"] = TARGET_MS
    result["ok"] = worst < TARGET_MS
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.turns}-turn session built in {result['build_s']} s")
        for name in timings:
            r = result[name]
            print(
                f"{name:>16}: mean {r['mean_ms']} ms, median {r['median_ms']} ms, "
                f"p95 {r['p95_ms']} ms, max {r['max_ms']} ms ({r['steps']} steps)"
            )
        verdict = "ok" if result["ok"] else "MISSED"
        print(f"target < {TARGET_MS} ms of app CPU per step (p95): {verdict}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
