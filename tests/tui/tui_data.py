"""Shared data of the TUI tests (imported by name: `conftest` is ambiguous across folders)."""

from __future__ import annotations

from dataclasses import dataclass

from cxflow.records import Timings, TurnRecord, Usage

PLAN_TURNS = ["555-014-3301", "555-014-3301", "Everyday 20", "yes"]


@dataclass(frozen=True)
class Stored:
    """A tmp database holding a few sessions and one run."""

    db: str
    happy: str
    """plan_upgrade to `changed`, typed (no divergence)."""
    diverged: str
    """plan_upgrade where the customer mishears the price (divergence at turn 4, failed)."""
    run_id: str


def normalized(records: list[TurnRecord]) -> list[TurnRecord]:
    """Records without clock-dependent fields (timings, durations, ids), for snapshots."""
    out: list[TurnRecord] = []
    for r in records:
        calls = [c.model_copy(update={"duration_ms": 0.0}) for c in r.tool_calls]
        out.append(
            r.model_copy(
                update={
                    "session_id": "snapshot",
                    "timings": Timings(total_ms=1.0),
                    "usage": Usage(),
                    "tool_calls": calls,
                }
            )
        )
    return out
