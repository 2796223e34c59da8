"""Smoke test of bench/prompt_tokens.py: a quick run reports every documented figure.

No threshold is asserted: the figures are what they are. The test checks that the report has
the documented shape and that its figures are positive numbers. The tau2-style side is measured
when tau2's data is there and reported as not measured otherwise, so both shapes are accepted;
a run pointed at an empty folder checks the second shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from bench_loader import load_bench

BENCH = Path(__file__).resolve().parents[2] / "bench" / "prompt_tokens.py"
DOMAINS = ("telecom", "retail", "airline")
TOP = (
    "cxflow_prompt_tokens_per_turn",
    "tau2_style_prompt_tokens_per_turn",
    "ratio",
    "model_calls_per_turn",
)
CXFLOW = (
    "prompt_tokens_per_turn",
    "prompt_tokens_per_call",
    "cached_prefix_tokens_per_turn",
    "uncached_tokens_per_turn",
    "turn_text_tokens_per_call",
    "schema_tokens_per_call",
    "max_prompt_tokens_per_call",
)
TAU2 = (
    "prompt_tokens_per_turn",
    "cached_prefix_tokens_per_turn",
    "uncached_tokens_per_turn",
    "uncached_tokens_per_turn_with_history_cache",
    "max_prompt_tokens_per_call",
)
WITH_TOOLS = (
    "prompt_tokens_per_turn",
    "model_calls_per_turn",
    "prompt_tokens_per_call",
    "cached_prefix_tokens_per_turn",
    "uncached_tokens_per_turn",
    "uncached_tokens_per_turn_with_history_cache",
)
MODELS = ("claude-haiku-4-5", "gpt-5-mini")

pytestmark = pytest.mark.slow


def _run(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return _run()


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _load_bench() -> ModuleType:
    return load_bench("prompt_tokens")


def _check_cxflow_side(figures: dict[str, Any]) -> None:
    for key in ("conversations", "turns", "model_calls", "model_calls_per_turn"):
        assert _positive(figures[key]), key
    assert figures["model_calls"] >= figures["turns"]
    assert 0 <= figures["turns_with_second_attempt"] <= figures["turns"]
    assert 0 <= figures["failed_conversations"] <= figures["conversations"]
    for key in CXFLOW:
        assert _positive(figures["cxflow"][key]), key
    cx = figures["cxflow"]
    assert cx["uncached_tokens_per_turn"] < cx["prompt_tokens_per_turn"]


def _check_tau2_side(figures: dict[str, Any]) -> None:
    for key in TAU2:
        assert _positive(figures["tau2_style"][key]), key
    for key in WITH_TOOLS:
        assert _positive(figures["tau2_style_with_tools"][key]), key
    for key in ("ratio", "uncached_ratio", "ratio_with_tools", "ratio_compact_schema"):
        assert _positive(figures[key]), key
    with_tools = figures["tau2_style_with_tools"]
    assert with_tools["model_calls_per_turn"] >= 1.0
    assert with_tools["prompt_tokens_per_turn"] >= figures["tau2_style"]["prompt_tokens_per_turn"]


def test_the_top_level_figures_are_positive_numbers(report: dict[str, Any]) -> None:
    if not report["tau2_measured"]:
        assert isinstance(report["tau2_skipped"], str) and report["tau2_skipped"]
        assert report["tau2_style_prompt_tokens_per_turn"] is None and report["ratio"] is None
        assert _positive(report["cxflow_prompt_tokens_per_turn"])
        assert _positive(report["model_calls_per_turn"])
        return
    assert report["tau2_skipped"] is None
    for key in TOP:
        assert _positive(report[key]), key
    assert report["ratio"] == report["overall"]["ratio"]
    assert report["model_calls_per_turn"] == report["overall"]["model_calls_per_turn"]
    target = report["target"]
    assert target["measured"] == report["ratio"]
    assert target["met"] is (target["measured"] <= target["ratio_at_most"])


def test_every_domain_and_flow_is_reported(report: dict[str, Any]) -> None:
    assert list(report["domains"]) == list(DOMAINS)
    assert list(report["flows"]) == list(DOMAINS)
    for domain, figures in report["domains"].items():
        assert list(figures["flows"]) == report["flows"][domain]
        assert figures["turns"] == sum(f["turns"] for f in figures["flows"].values())
        for f in (figures, *figures["flows"].values()):
            _check_cxflow_side(f)
            if report["tau2_measured"]:
                _check_tau2_side(f)
    overall = report["overall"]
    _check_cxflow_side(overall)
    assert overall["turns"] == sum(f["turns"] for f in report["domains"].values())
    if report["tau2_measured"]:
        _check_tau2_side(overall)
        for domain in DOMAINS:
            tau2 = report["domains"][domain]["tau2_style"]
            assert _positive(tau2["system_prompt_tokens"]) and _positive(tau2["tools"])


def test_the_cost_projection_prices_both_sides(report: dict[str, Any]) -> None:
    cost = report["cost_projection"]
    assert cost["workload"]["turns_per_day"] == 60_000
    assert set(cost["models"]) == set(MODELS)
    sides = ("cxflow", "tau2_style", "tau2_style_with_tools") if report["tau2_measured"] else ()
    for model in cost["models"].values():
        assert set(model["prices_usd_per_million_tokens"]) >= {"input", "cached_input", "output"}
        for side in ("cxflow", *sides):
            assert _positive(model[side]["no_cache_usd_per_day"]), side
            assert (
                0 < model[side]["prefix_cache_usd_per_day"] <= model[side]["no_cache_usd_per_day"]
            )
            assert set(model[side]["prefix_cacheable"]) == set(DOMAINS)
        if report["tau2_measured"]:
            assert _positive(model["cxflow_vs_tau2_style"]["no_cache"])


def test_without_tau2_data_the_report_says_the_tau2_side_was_not_measured(
    tmp_path: Path,
) -> None:
    report = _run("--tau2-data", str(tmp_path))
    assert report["tau2_measured"] is False
    assert str(tmp_path) in report["tau2_skipped"]
    assert report["tau2_style_prompt_tokens_per_turn"] is None and report["ratio"] is None
    assert _positive(report["cxflow_prompt_tokens_per_turn"])
    assert "tau2_style" not in report["cost_projection"]["models"]["gpt-5-mini"]


def test_the_table_has_a_row_per_domain_and_overall(report: dict[str, Any]) -> None:
    text = _load_bench().table(report)
    labels = [line.split()[0] for line in text.splitlines() if line.split()]
    for label in (*DOMAINS, "overall"):
        assert label in labels
