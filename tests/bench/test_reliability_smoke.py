"""Smoke test of bench/reliability.py: `--json` prints one object with the documented counts.

The fuzzer runs on one flow with the "ci" budget (the full run takes minutes; the other
modules have their own tests), so the test checks the report's shape and that the cases were
really played, not the reliability figures themselves (tests/reliability does that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from bench_loader import load_bench

from cxflow.registry import get_flow
from cxflow.simulators.reliability.fuzz import CATEGORY, PLANS, baseline

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reliability.py"
COUNTS = ("cases", "invariant_breaks", "policy_violations", "lost_writes", "doubled_writes")


def _load_bench() -> ModuleType:
    return load_bench("reliability")


def test_json_report_has_every_count_per_category() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            *("--budget", "ci", "--json", "--only", "fuzz"),
            *("--flows", "plan_upgrade"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == [CATEGORY]
    figures = report[CATEGORY]
    for count in COUNTS:
        assert isinstance(figures[count], int), count
    assert figures["cases"] > PLANS["ci"].examples  # every example plays at least one turn
    assert sum(figures[c] for c in COUNTS[1:]) == 0
    flow = figures["flows"]["plan_upgrade"]
    assert flow["examples"] == PLANS["ci"].examples + len(
        baseline(get_flow("plan_upgrade"), PLANS["ci"])
    )
    assert flow["turns"] == figures["cases"]
    assert 0 < flow["states_reached"] <= flow["states"]


def test_a_missing_module_is_reported_not_counted() -> None:
    bench = _load_bench()

    outcome = bench.run(["no_such_module"], "ci", None)

    assert outcome.results == []
    assert "does not exist yet" in outcome.missing["no_such_module"]
    assert bench.as_json(outcome) == {}
