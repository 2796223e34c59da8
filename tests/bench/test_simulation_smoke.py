"""Smoke test of bench/simulation.py: a quick run reports every documented figure.

No timing is asserted: the figures depend on the machine. The test checks that every
conversation was played, that the report has the documented shape and that its rates are
positive numbers. The tau2 part runs when tau2's data is there and is reported as skipped
otherwise, so both shapes are accepted.
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

BENCH = Path(__file__).resolve().parents[2] / "bench" / "simulation.py"
FLOWS = ("fix_no_service", "fix_mobile_data", "fix_mms")
TALLY = (
    "conversations",
    "turns",
    "turns_per_conversation",
    "seconds",
    "conversations_per_s",
    "turns_per_s",
)
TAU2 = ("tasks", "split_tasks", "conversations", "seconds", "conversations_per_s", "workers")

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


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_simulation", BENCH)
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


@pytest.mark.parametrize("key", TALLY)
def test_the_in_process_figures_are_positive_numbers(report: dict[str, Any], key: str) -> None:
    assert _positive(report["in_process"][key])
    for flow in FLOWS:
        assert _positive(report["per_flow"][flow][key])


@pytest.mark.parametrize("key", (*TALLY, "workers", "conversations_per_s_per_worker"))
def test_the_pooled_figures_are_positive_numbers(report: dict[str, Any], key: str) -> None:
    assert _positive(report["pool"][key])


def test_every_flow_is_played_and_the_pool_replays_the_same_conversations(
    report: dict[str, Any],
) -> None:
    assert report["flows"] == list(FLOWS)
    assert set(report["per_flow"]) == set(FLOWS)
    local, pool = report["in_process"], report["pool"]
    assert local["conversations"] == sum(f["conversations"] for f in report["per_flow"].values())
    assert local["conversations"] >= report["rounds"] * len(FLOWS)
    # same trials (scenario, seed) in both runs: the same conversations, turn for turn
    assert (pool["conversations"], pool["turns"]) == (local["conversations"], local["turns"])
    for tally in (local, pool, *report["per_flow"].values()):
        assert isinstance(tally["failed_conversations"], int)
        assert 0 <= tally["failed_conversations"] <= tally["conversations"]
    assert _positive(report["pool_vs_in_process"])


def test_tau2_is_measured_or_says_why_not(report: dict[str, Any]) -> None:
    tau2 = report["tau2"]
    if tau2 is None:
        assert isinstance(report["tau2_skipped"], str) and report["tau2_skipped"]
        return
    assert report["tau2_skipped"] is None
    assert (tau2["domain"], tau2["split"], tau2["k"]) == ("telecom", "train", 4)
    for key in TAU2:
        assert _positive(tau2[key]), key
    assert tau2["conversations"] == tau2["tasks"] * tau2["k"]
    assert tau2["full_split"] is (tau2["tasks"] == tau2["split_tasks"])
    for key in ("pass_hat_1", "pass_hat_4"):
        assert isinstance(tau2[key], int | float) and 0.0 <= tau2[key] <= 1.0
    assert tau2["pass_hat_4"] <= tau2["pass_hat_1"]
    assert 0 <= tau2["errors"] <= tau2["tasks"]


def test_each_target_has_its_bound_the_measurement_and_a_verdict(report: dict[str, Any]) -> None:
    # the tau2 wall-time target applies to a run of the whole split only (--quick plays the
    # first few tasks)
    tau2 = report["tau2"]
    whole = tau2 is not None and tau2["full_split"]
    expected = {"conversations_per_s_per_core"} | (
        {"tau2_telecom_train_pass4_s"} if whole else set()
    )
    assert set(report["targets"]) == expected
    per_core = report["targets"]["conversations_per_s_per_core"]
    assert per_core["direction"] == "at_least"
    assert per_core["measured"] == report["in_process"]["conversations_per_s"]
    for target in report["targets"].values():
        assert _positive(target["target"]) and _positive(target["measured"])
        at_least = target["direction"] == "at_least"
        assert target["met"] is (
            target["measured"] >= target["target"]
            if at_least
            else target["measured"] < target["target"]
        )


def test_the_machine_and_versions_are_recorded(report: dict[str, Any]) -> None:
    assert isinstance(report["python"], str) and report["python"].count(".") == 2
    assert isinstance(report["machine"]["platform"], str)
    assert _positive(report["machine"]["cpu_count"])
    assert report["pool"]["workers"] == report["machine"]["usable_cpus"]
    assert set(report["versions"]) >= {"cxflow", "pydantic", "python-statemachine"}


def test_the_table_has_a_pass_or_miss_row_per_target(report: dict[str, Any]) -> None:
    text = _load_bench().table(report)
    rows = [line for line in text.splitlines() if line.endswith(("PASS", "MISS"))]
    assert [row.split()[0] for row in rows] == list(report["targets"])
