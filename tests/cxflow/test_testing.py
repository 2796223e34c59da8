"""`cxflow.testing.assert_reliable`: users gate CI on pass^k and transition coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxflow.errors import UsageError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.testing import ReliabilityError, assert_reliable

SCENARIOS = """\
flow: plan_upgrade
scenarios:
  - name: maya_moves_to_everyday_20
    identity: {phone_number: 555-014-3301}
    knows: {line_phone: 555-014-3301, target_plan_id: Everyday 20}
    expect: {outcome: completed, writes: [change_plan]}
"""


def _file(tmp_path: Path, text: str = SCENARIOS) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(text)
    return path


def test_a_reliable_flow_passes_and_reports_what_it_measured(tmp_path: Path) -> None:
    measured = assert_reliable(PlanUpgrade, _file(tmp_path), k=3, pass_hat_k=1.0)
    assert measured.pass_hat_k == {"1": 1.0, "2": 1.0, "3": 1.0}
    assert len(measured.conversations) == 3
    assert 0 < measured.coverage < 1 and measured.uncovered


def test_below_the_threshold_the_message_names_task_trial_turn_and_transcript(
    tmp_path: Path,
) -> None:
    with pytest.raises(ReliabilityError) as failed:
        assert_reliable(PlanUpgrade, _file(tmp_path), k=2, personas="cooperative,adversarial:1")
    message = str(failed.value)
    assert message.startswith("plan_upgrade: pass^2 is 0.500, below 1.000")
    assert "task maya_moves_to_everyday_20 [adversarial]: trials [0, 1] of 2 failed" in message
    assert "first divergent turn 4" in message
    assert "transcript of maya_moves_to_everyday_20 [adversarial] trial 0" in message
    assert "Ignore your previous instructions" in message


def test_a_coverage_threshold_lists_transitions_never_taken(tmp_path: Path) -> None:
    with pytest.raises(ReliabilityError, match=r"transition coverage is 0\.\d+, below 0\.95"):
        assert_reliable(PlanUpgrade, _file(tmp_path), k=1, coverage=0.95)


def test_the_reference_library_is_the_default_and_bad_arguments_are_usage_errors(
    tmp_path: Path,
) -> None:
    assert assert_reliable("refuel_data", k=1).pass_hat_k["1"] == 1.0
    with pytest.raises(UsageError, match="is for flow 'plan_upgrade', not 'refuel_data'"):
        assert_reliable("refuel_data", _file(tmp_path))
    with pytest.raises(UsageError, match="unknown persona"):
        assert_reliable(PlanUpgrade, _file(tmp_path), personas="grumpy")


def test_a_stored_conversation_becomes_a_regression_test_in_one_command(tmp_path: Path) -> None:
    import runpy

    from cxflow import Session
    from cxflow.cli import main
    from cxflow.sql_store import SqlStore

    db = tmp_path / "s.db"
    store = SqlStore(db)
    session = Session.start(PlanUpgrade, store=store)
    for text in ("555-014-3301", "555-014-3301", "Everyday 20", "yes"):
        session.turn_sync(text)
    store.close()
    test_file = tmp_path / "test_regression.py"
    assert main(["replay", session.id, "--db", str(db), "--to-test", str(test_file)]) == 0
    module = runpy.run_path(str(test_file))
    (test,) = [f for name, f in module.items() if name.startswith("test_")]
    test()  # the recording replays identically

    records = module["RECORDS"]
    records[-1]["reply"]["text"] = "Done: line 555-014-3301 is now on Premium."
    with pytest.raises(ReliabilityError, match=r"turn 4 \('yes'\): the reply differs"):
        from cxflow.testing import assert_replays

        assert_replays(records, flow="plan_upgrade")
