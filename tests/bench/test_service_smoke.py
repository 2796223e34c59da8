"""Smoke test of bench/service.py: a quick run reports every figure, for a real server.

No timing is asserted: the figures depend on the machine. The run uses `--server thread` (the
app in a thread of the test process, on 127.0.0.1) and SQLite only, to stay within a few
seconds; the subprocess server and PostgreSQL are what a full run measures.
"""

from __future__ import annotations

import contextlib
import io
import json
from types import ModuleType
from typing import Any

import pytest
from bench_loader import load_bench


def _load_bench() -> ModuleType:
    return load_bench("service")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load_bench()


@pytest.fixture(scope="module")
def report(bench: ModuleType) -> dict[str, Any]:
    # capsys is function-scoped; capture the printed JSON by hand
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = bench.main(["--quick", "--json", "--server", "thread", "--stores", "sqlite"])
    assert code == 0
    return json.loads(out.getvalue())


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def test_every_conversation_reaches_the_final_state_in_every_mode(
    report: dict[str, Any],
) -> None:
    figures = report["stores"]["sqlite"]
    plan = report["plan"]
    latency_conversations = plan["rounds"] * plan["per_round"]
    turns_each = len(report["conversation"])
    for mode in ("in_process", "http"):
        assert figures[mode]["conversations"] == latency_conversations
        assert figures[mode]["turns"] == latency_conversations * turns_each
        assert figures[mode]["failed_conversations"] == 0
    load = figures["load"]
    assert load["clients"] == plan["clients"]
    assert load["conversations"] == plan["clients"] * plan["per_client"]
    assert load["turns"] == load["conversations"] * turns_each
    assert (load["failed_conversations"], load["error_responses"]) == (0, 0)


def test_the_latencies_and_rates_are_positive_and_consistent(report: dict[str, Any]) -> None:
    figures = report["stores"]["sqlite"]
    for mode in ("in_process", "http", "load"):
        assert _positive(figures[mode]["p50_us"])
        assert figures[mode]["p99_us"] >= figures[mode]["p50_us"]
    assert _positive(figures["http"]["server_turn_p50_us"])
    assert figures["added_p50_us"] == pytest.approx(
        figures["http"]["p50_us"] - figures["in_process"]["p50_us"], abs=0.2
    )
    load = figures["load"]
    assert _positive(load["seconds"]) and _positive(load["turns_per_s"])
    assert load["turns_per_s"] == pytest.approx(load["turns"] / load["seconds"], rel=0.01)


def test_only_the_stores_asked_for_are_measured_and_the_machine_is_recorded(
    report: dict[str, Any], bench: ModuleType
) -> None:
    assert set(report["stores"]) == {"sqlite"} and report["skipped"] == {}
    assert report["server"] == "thread"
    assert _positive(report["machine"]["cpu_count"])
    assert set(report["versions"]) >= {"cxflow", "fastapi", "uvicorn"}
    text = bench.table(report)
    assert "HTTP (2 clients)" in text and "added by the service" in text


def test_percentile_is_nearest_rank(bench: ModuleType) -> None:
    values = list(range(1, 101))
    assert bench.percentile(values, 99) == 99
    assert bench.percentile(values, 50) == 50
    assert bench.percentile([7.0], 99) == 7.0
