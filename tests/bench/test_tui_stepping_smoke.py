"""Smoke test of bench/tui_stepping.py: a short session is stepped through both ways.

No timing is asserted (the figures depend on the machine): the test checks that every step was
pressed and timed and that the verdict is reported against the documented target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "tui_stepping.py"

pytestmark = pytest.mark.slow


def test_quick_run_reports_every_step() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--turns", "12", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the target was missed, reported
    result = json.loads(done.stdout)
    assert result["turns"] == 12
    assert result["target_ms"] == 50.0
    assert result["ok"] is (done.returncode == 0)
    for key in ("next_cpu", "previous_cpu", "next_wall", "previous_wall"):
        assert result[key]["steps"] == 11, key
        assert 0 < result[key]["median_ms"] <= result[key]["max_ms"], key
