"""Smoke test of bench/turn_overhead.py: a quick run reports every documented figure.

No timing is asserted: the figures depend on the machine. The test only checks that every
variant ran to the end of the conversation and that the report has the documented shape.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "turn_overhead.py"
POSITIVE_NUMBERS = (
    "cxflow_memory_turn_median_us",
    "cxflow_memory_turn_p99_us",
    "cxflow_memory_turn_sync_median_us",
    "cxflow_memory_turn_sync_p99_us",
    "cxflow_sqlite_turn_median_us",
    "cxflow_sqlite_turn_p99_us",
    "langgraph_memory_turn_median_us",
    "langgraph_memory_turn_p99_us",
    "psm_turn_median_us",
    "psm_turn_p99_us",
    "dict_turn_median_us",
    "dict_turn_p99_us",
    "raw_sqlite_write_median_us",
    "raw_sqlite_write_p99_us",
    "turn_write_bytes",
    "bytes_per_live_session",
    "snapshot_bytes_per_live_session",
    "import_cxflow_ms",
    "import_cxflow_session_ms",
    "memory_vs_langgraph",
    "sqlite_vs_raw",
    "sqlite_statements_per_turn",
    "sqlite_commits_per_turn",
    "turns_measured",
    "live_sessions",
)
TARGETS = (
    "memory_turn_vs_langgraph",
    "sqlite_turn_vs_raw_write",
    "bytes_per_live_session",
    "import_cxflow_ms",
    "import_cxflow_session_ms",
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run() -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.fixture(scope="module")
def report(quick_run: tuple[dict[str, Any], str]) -> dict[str, Any]:
    return quick_run[0]


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_turn_overhead", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_one_json_object_and_no_warnings(
    quick_run: tuple[dict[str, Any], str],
) -> None:
    report, stderr = quick_run
    assert isinstance(report, dict)
    assert "Warning" not in stderr


@pytest.mark.parametrize("key", POSITIVE_NUMBERS)
def test_every_documented_figure_is_a_positive_number(report: dict[str, Any], key: str) -> None:
    value = report[key]
    assert isinstance(value, int | float) and not isinstance(value, bool)
    assert value > 0


def test_store_overhead_figures_are_numbers(report: dict[str, Any]) -> None:
    # SQLite minus memory can come out negative on a noisy machine: a number, not a sign
    for key in ("sqlite_store_overhead_us", "sqlite_store_vs_raw"):
        assert isinstance(report[key], int | float)


def test_each_target_has_its_bound_the_measurement_and_a_verdict(report: dict[str, Any]) -> None:
    assert set(report["targets"]) == set(TARGETS)
    for target in report["targets"].values():
        assert isinstance(target["target"], int | float) and target["target"] > 0
        assert isinstance(target["measured"], int | float) and target["measured"] > 0
        assert target["met"] is (target["measured"] <= target["target"])


def test_ratios_are_the_quotients_of_the_medians(report: dict[str, Any]) -> None:
    memory = report["cxflow_memory_turn_median_us"] / report["langgraph_memory_turn_median_us"]
    sqlite = report["cxflow_sqlite_turn_median_us"] / report["raw_sqlite_write_median_us"]
    assert report["memory_vs_langgraph"] == pytest.approx(memory, rel=0.01)
    assert report["sqlite_vs_raw"] == pytest.approx(sqlite, rel=0.01)


def test_the_machine_and_versions_are_recorded(report: dict[str, Any]) -> None:
    assert isinstance(report["python"], str) and report["python"].count(".") == 2
    assert isinstance(report["machine"]["platform"], str)
    assert isinstance(report["machine"]["cpu_count"], int) and report["machine"]["cpu_count"] > 0
    assert set(report["versions"]) >= {"pydantic", "langgraph", "python-statemachine"}


def test_the_table_has_a_pass_or_miss_row_per_target(report: dict[str, Any]) -> None:
    text = _load_bench().table(report)
    rows = [line for line in text.splitlines() if line.endswith(("PASS", "MISS"))]
    assert [row.split()[0] for row in rows] == list(TARGETS)
