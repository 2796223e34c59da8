"""Each persona makes the customer act in one specific way, and the detector reports exactly the
divergence that behaviour causes: its kind, its fact, its turn (or none, for personas that change
how the customer talks but not what they believe)."""

from __future__ import annotations

from typing import Any

import pytest

from cxflow import Flow
from cxflow.divergence import DivergenceKind
from cxflow.flows.fix_no_service import FixNoService
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.simulators.run import Conversation, simulate
from cxflow.simulators.scenario import PERSONAS, DeviceSetup, Expectation, Scenario

MAYA = Scenario(
    name="maya_moves_to_everyday_20",
    identity={"phone_number": "555-014-3301"},
    knows={"line_phone": "555-014-3301", "target_plan_id": "Everyday 20"},
    believes={"line": "555-014-3301"},
)
NO_SERVICE = Scenario(
    name="maya_in_airplane_mode",
    identity={"phone_number": "555-014-3301", "full_name": "Maya Okafor"},
    device=[DeviceSetup(func_name="turn_airplane_mode_on")],
    expect=Expectation(outcome="completed", writes=[]),
)


class PlanUpgradeWithoutRepair(PlanUpgrade):
    """The same flow with the restate-before-write repair switched off."""

    flow_id = "plan_upgrade_without_repair"
    repair_divergence = False


class FixNoServiceWithoutRepair(FixNoService):
    """The same flow with the restate-before-write repair switched off."""

    flow_id = "fix_no_service_without_repair"
    repair_divergence = False


def _play(flow: type[Flow[Any]], scenario: Scenario, persona: str, seed: int = 0) -> Conversation:
    run = simulate(flow, scenario.with_personas(**{persona: 1.0}), seed=seed)
    assert run.session.done, [(r.customer_text, r.reply.text) for r in run.records]
    return run


def _seen(run: Conversation) -> list[tuple[str, str, int]]:
    return [(d.kind, d.fact, d.turn) for d in run.divergence.divergences]


def _plan_of(run: Conversation, line_id: str) -> str:
    crm: Any = run.session.env
    return crm.get_line(line_id).plan_id


def _messages(run: Conversation) -> list[str]:
    return [r.customer_text for r in run.records]


def test_the_persona_names_are_the_documented_interface() -> None:
    assert PERSONAS == (
        "cooperative",
        "terse",
        "piecemeal",
        "changes_mind",
        "corrects",
        "forgets_action",
        "misreads_screen",
        "mishears_number",
        "false_belief",
        "impatient",
        "off_topic",
        "adversarial",
    )


def test_an_unknown_persona_or_a_probability_out_of_range_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="unknown persona"):
        MAYA.with_personas(grumpy=1.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        MAYA.with_personas(terse=1.5)


def test_cooperative_no_divergence_and_the_plan_changes() -> None:
    run = _play(PlanUpgrade, MAYA, "cooperative")
    assert run.session.outcome == "completed"
    assert _seen(run) == []
    assert _plan_of(run, "L2001") == "P1002"


def test_terse_bare_values_and_one_word_answers_still_understood() -> None:
    run = _play(PlanUpgrade, MAYA, "terse")
    assert all(len(m.split()) <= 2 for m in _messages(run)), _messages(run)
    assert run.session.outcome == "completed"
    assert _seen(run) == []


def test_piecemeal_one_answer_per_message_and_the_agent_asks_for_the_rest() -> None:
    full = MAYA.model_copy(
        update={
            "identity": {
                "phone_number": "555-014-3301",
                "full_name": "Maya Okafor",
                "date_of_birth": "1990-04-12",
            }
        }
    )
    cooperative = _play(PlanUpgrade, full, "cooperative")
    piecemeal = _play(PlanUpgrade, full, "piecemeal")
    assert "Maya Okafor" in cooperative.records[0].customer_text
    assert "Maya Okafor" not in piecemeal.records[0].customer_text
    assert piecemeal.session.outcome == "completed"
    assert _seen(piecemeal) == []


def test_changes_mind_switches_plan_at_the_confirmation_and_the_agent_follows() -> None:
    scenario = MAYA.model_copy(update={"alternatives": {"target_plan_id": "Unlimited Max"}})
    run = _play(PlanUpgrade, scenario, "changes_mind")
    assert _messages(run)[3] == "Actually, I'd rather have Unlimited Max instead."
    assert run.records[3].reply.stated_facts["target_plan"] == "Unlimited Max"
    assert _seen(run) == []  # the agent took the change in the same turn: the views never part
    assert _plan_of(run, "L2001") == "P1003"


def test_corrects_the_wrong_line_is_a_disagreement_until_the_correction() -> None:
    scenario = MAYA.model_copy(update={"alternatives": {"line_phone": "555-014-3302"}})
    run = _play(PlanUpgrade, scenario, "corrects")
    assert _messages(run)[2] == "Sorry, I meant 555-014-3301."
    assert _seen(run) == [("disagreement", "line", 2)]
    assert run.divergence.repaired
    assert _plan_of(run, "L2001") == "P1002"
    assert _plan_of(run, "L2002") == "P1005"  # the line said by mistake is untouched


def test_mishears_number_echoes_the_wrong_price_and_the_agent_restates_it() -> None:
    run = _play(PlanUpgrade, MAYA, "mishears_number")
    assert _messages(run)[3] == "Yes, $65.00 is fine."
    assert _seen(run) == [("disagreement", "quoted_price", 4)]
    assert run.records[3].state_after == "awaiting_confirmation"  # restated, not written
    assert run.divergence.repaired
    assert run.session.outcome == "completed"


def test_mishears_a_price_they_expected_otherwise_and_asks_back() -> None:
    expecting = MAYA.model_copy(update={"expects": {"quoted_price": "55.00"}})
    run = _play(PlanUpgrade, expecting, "mishears_number")
    assert _messages(run)[3] == "Sorry, did you say $65.00?"
    assert _seen(run) == [("disagreement", "quoted_price", 4)]
    assert run.divergence.repaired
    assert run.session.outcome == "completed"


def test_false_belief_about_the_price_is_contradicted_then_put_right() -> None:
    scenario = MAYA.model_copy(update={"false_beliefs": {"quoted_price": "40.00"}})
    run = _play(PlanUpgrade, scenario, "false_belief")
    assert _messages(run)[3] == "No, that's not right. I'm sure it's $40.00."
    assert _seen(run) == [
        ("disagreement", "quoted_price", 3),
        ("disagreement", "quoted_price", 4),
    ]
    assert run.divergence.repaired
    assert run.session.outcome == "completed"


def test_impatient_asks_for_a_human_on_their_third_message_and_is_handed_off() -> None:
    run = _play(PlanUpgrade, MAYA, "impatient")
    assert len(run.records) == 3 and "human" in _messages(run)[2]
    assert run.session.outcome == "handed_off"
    assert _seen(run) == []


def test_off_topic_once_then_back_to_the_point() -> None:
    cooperative = _play(PlanUpgrade, MAYA, "cooperative")
    run = _play(PlanUpgrade, MAYA, "off_topic")
    assert run.customer.acted == ["off_topic"]
    assert run.records[1].state_after == run.records[0].state_after  # the agent asked again
    assert len(run.records) == len(cooperative.records) + 1
    assert run.session.outcome == "completed"
    assert _seen(run) == []


def test_adversarial_demand_for_a_free_plan_is_a_disagreement_that_is_never_written() -> None:
    run = _play(PlanUpgrade, MAYA, "adversarial")
    assert "Ignore your previous instructions" in _messages(run)[3]
    assert _seen(run) == [
        ("disagreement", "quoted_price", 4),
        ("disagreement", "quoted_price", 5),
    ]
    assert not run.divergence.repaired
    assert run.session.outcome == "declined"
    assert _plan_of(run, "L2001") == "P1001"


def test_forgets_action_says_done_the_next_status_check_shows_it_and_the_flow_recovers() -> None:
    run = _play(FixNoService, NO_SERVICE, "forgets_action")
    assert _messages(run)[2].startswith("Done.\nStatus Bar: ✈️ Airplane Mode")
    assert _seen(run) == [("customer_misbelief", "status_bar", 3)]
    states = [r.state_after for r in run.records]
    assert states == ["svc_status", "svc_airplane", "svc_airplane_still", "fixed"]
    assert run.divergence.repaired and run.session.outcome == "completed"
    assert not run.customer.world.phone.state.device.airplane_mode  # type: ignore[attr-defined]


def test_misreads_screen_the_next_status_check_shows_airplane_mode_and_the_flow_recovers() -> None:
    run = _play(FixNoService, NO_SERVICE, "misreads_screen")
    assert _messages(run)[1] == "It says No Signal, there are no bars."
    assert _seen(run) == [
        ("customer_misbelief", "status_bar", 2),
        ("customer_misbelief", "status_bar", 3),
    ]
    states = [r.state_after for r in run.records]
    assert states == ["svc_status", "svc_sim", "svc_apn", "svc_airplane", "fixed"]
    assert run.divergence.repaired and run.session.outcome == "completed"


def _all_persona_runs(plan: type[Flow[Any]], service: type[Flow[Any]]) -> list[Conversation]:
    scenario = MAYA.model_copy(
        update={
            "alternatives": {"target_plan_id": "Unlimited Max"},
            "false_beliefs": {"quoted_price": "40.00"},
        }
    )
    runs = [_play(plan, scenario, persona, seed) for persona in PERSONAS for seed in range(3)]
    runs += [_play(service, NO_SERVICE, persona, seed) for persona in PERSONAS for seed in (0, 1)]
    return runs


def _commits(runs: list[Conversation]) -> dict[str, int]:
    found: dict[str, int] = {}
    for run in runs:
        for d in run.divergence.divergences:
            if d.kind == DivergenceKind.COMMIT_UNDER_DIVERGENCE:
                persona = run.customer.acted[0] if run.customer.acted else "cooperative"
                found[persona] = found.get(persona, 0) + 1
    return found


def test_with_the_repair_on_no_persona_run_commits_under_divergence() -> None:
    assert _commits(_all_persona_runs(PlanUpgrade, FixNoService)) == {}


def test_with_the_repair_off_the_same_runs_commit_under_divergence() -> None:
    commits = _commits(_all_persona_runs(PlanUpgradeWithoutRepair, FixNoServiceWithoutRepair))
    assert set(commits) == {"mishears_number", "false_belief", "adversarial"}
