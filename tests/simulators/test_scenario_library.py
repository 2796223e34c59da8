"""Every reference flow ships a scenario library; cooperative customers pass it without a single
divergence (the detector reports no false positives)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxflow.errors import DataFileError
from cxflow.registry import flow_ids, get_flow
from cxflow.simulators.run import simulate
from cxflow.simulators.scenario import Scenario, library, load_scenarios

SEEDS = range(3)


def _cases() -> list[tuple[str, Scenario]]:
    return [(flow, s) for flow in flow_ids() for s in library(flow).scenarios]


@pytest.mark.parametrize("flow_id", flow_ids())
def test_every_reference_flow_has_a_library_named_after_it(flow_id: str) -> None:
    found = library(flow_id)
    assert found.flow == flow_id
    assert found.scenarios, "a library needs at least one scenario"
    names = [s.name for s in found.scenarios]
    assert len(names) == len(set(names)), "scenario names must be unique in a library"


@pytest.mark.parametrize(
    ("flow_id", "scenario"), _cases(), ids=[f"{f}-{s.name}" for f, s in _cases()]
)
def test_every_scenario_meets_its_expectations_and_cooperative_ones_never_diverge(
    flow_id: str, scenario: Scenario
) -> None:
    # cooperative scenarios: no divergence may be reported at all (no false positives);
    # scenarios with personas (adversarial ones) run as declared and must meet `expect`
    for seed in SEEDS:
        run = simulate(get_flow(flow_id), scenario, seed=seed)
        transcript = [(r.customer_text, r.reply.text) for r in run.records]
        assert run.failures == [], (seed, run.failures, transcript)
        kinds = {d.kind for d in run.divergence.divergences}
        assert "commit_under_divergence" not in kinds, (seed, transcript)
        if not scenario.personas:
            assert run.divergence.divergences == (), (seed, transcript)


def test_the_libraries_have_adversarial_scenarios_that_write_nothing() -> None:
    adversarial = [
        (flow, s)
        for flow, s in _cases()
        if s.personas.get("adversarial") == 1.0 and s.expect.writes == []
    ]
    assert len(adversarial) >= 9, [f"{f}:{s.name}" for f, s in adversarial]


def test_a_broken_scenario_file_names_the_scenario_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "flow: plan_upgrade\nscenarios:\n  - name: ok\n  - name: maya\n    personas: {grumpy: 1}\n"
    )
    with pytest.raises(DataFileError) as caught:
        load_scenarios(path)
    assert caught.value.record == "maya"
    assert caught.value.field == "scenarios.1.personas"
    assert "unknown persona" in str(caught.value) and "Scenario files" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("flow: [unclosed", "not valid YAML"), ("flow: x\nscenarios:\n  - nme: typo\n", "Extra")],
)
def test_invalid_yaml_or_an_unknown_key_is_a_clear_error(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(DataFileError, match=problem):
        load_scenarios(path)


def test_a_flow_without_a_library_is_a_clear_error() -> None:
    with pytest.raises(DataFileError, match="no scenario library for flow 'nope'"):
        library("nope")
