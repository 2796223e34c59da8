"""`faults.run("ci")` end to end: every category reports cases, every injector fired, and no
promise is broken (a write whose journal entry was lost is never run again: it hands off)."""

from __future__ import annotations

import pytest

from cxflow.registry import reference_flows
from cxflow.simulators.reliability import CategoryResult, faults
from cxflow.simulators.reliability._faults_model import MODEL_FAULTS


@pytest.fixture(scope="module")
def results(postgres_server: str) -> dict[str, CategoryResult]:
    return {r.category: r for r in faults.run("ci", postgres=postgres_server)}


def _figure(category: str, name: str) -> float:
    return faults.last_figures[category].get(f"{category}.{name}", 0)


def test_every_category_reports_the_faults_it_injected(
    results: dict[str, CategoryResult],
) -> None:
    assert list(results) == list(faults.CATEGORIES)
    for result in results.values():
        assert result.cases > 0, result.category
        assert result.policy_violations == 0


def test_no_promise_breaks(results: dict[str, CategoryResult]) -> None:
    assert {c: r.broken() for c, r in results.items()} == dict.fromkeys(faults.CATEGORIES, 0)
    for result in results.values():
        assert result.examples == [], result.category


def test_every_write_tool_fault_fired_and_was_routed(results: dict[str, CategoryResult]) -> None:
    swept = _figure("tool_faults", "flows_swept")  # reference flows whose example writes
    assert swept >= len(reference_flows()) - 3  # all but the troubleshooting flows
    for mode in ("unreachable", "lost_response"):
        assert _figure("tool_faults", f"{mode}.fired") == swept
    assert _figure("tool_faults", "lost_response.backend_changed") == swept
    routed = _figure("tool_faults", "routed_to.error_slot") + _figure(
        "tool_faults", "routed_to.handoff"
    )
    assert routed == 2 * swept
    assert _figure("tool_faults", "timeouts_fired") == 3
    assert _figure("tool_faults", "timeout_after_backend_wrote") == 1
    assert _figure("tool_faults", "programmer_errors_raised") == 1


def test_every_store_fault_raised_a_store_error(results: dict[str, CategoryResult]) -> None:
    for kind in ("locked", "read_only", "dropped"):  # 4 phases + a turn without a write
        assert _figure("store_faults", f"{kind}.raised") == 5, kind
    assert _figure("store_faults", "dropped.idle_reconnected") == 1
    retried = _figure("store_faults", "retried_by_resume") + _figure(
        "store_faults", "retried_by_resending"
    )
    assert retried == results["store_faults"].cases - 4  # not: 3 create_session, idle drop


def test_every_model_fault_was_recovered_or_recorded(results: dict[str, CategoryResult]) -> None:
    recovered = _figure("model_api_faults", "recovered")
    recorded = _figure("model_api_faults", "recorded_as_failure")
    assert recovered == sum(f.recovers for f in MODEL_FAULTS.values()) > 0
    assert recorded == sum(not f.recovers for f in MODEL_FAULTS.values()) > 0
    assert results["model_api_faults"].cases == len(MODEL_FAULTS)
    assert _figure("model_api_faults", "api_calls") > len(MODEL_FAULTS)  # retries happened


def test_every_corrupt_data_file_was_refused(results: dict[str, CategoryResult]) -> None:
    refused = _figure("data_file_faults", "rejected") + _figure("data_file_faults", "env_refused")
    accepted = sum(
        v for k, v in faults.last_figures["data_file_faults"].items() if "truncations_accepted" in k
    )
    assert refused + accepted == results["data_file_faults"].cases
    assert _figure("data_file_faults", "env_refused") == 6
    assert _figure("data_file_faults", "truncations_accepted.airline_db") == 0  # JSON: never
    assert _figure("data_file_faults", "truncations_accepted.retail_db") == 0


def test_every_child_process_was_killed_and_recovered(results: dict[str, CategoryResult]) -> None:
    kills = results["process_kills"]
    assert _figure("process_kills", "killed") == kills.cases + 1  # "twice" kills two children
    recovered = _figure("process_kills", "resumed_pending") + _figure(
        "process_kills", "message_resent"
    )
    assert recovered == kills.cases - 1  # after_commit: nothing left to recover
