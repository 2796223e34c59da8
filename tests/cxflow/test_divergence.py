"""Divergence: the agent's view, the customer's view and the truth of shared facts, per turn."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cxflow import Claim, ScriptedInterpreter, Session, SetSlot, Take
from cxflow.divergence import DivergenceKind, detect, same_value, summarize
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import ToolCallRecord
from cxflow.tools.telecom import TelecomTools

FACTS = {"line": "line_phone", "quoted_price": "new_price"}
TO_QUOTE = [
    [SetSlot(slot="phone_number", value="555-014-3301")],
    [SetSlot(slot="line_phone", value="555-014-3301")],
    [SetSlot(slot="target_plan_id", value="P1002")],
]


def kinds(found: list[Any]) -> set[tuple[str, str]]:
    return {(d.fact, d.kind) for d in found}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("55.00", 55, True),
        ("$55", Decimal("55.0"), True),
        (" Basic ", "basic", True),
        (["a", "b"], ["b", "a"], True),
        ("Basic", "Premium", False),
        (1, 2, False),
        (True, "true", False),
    ],
)
def test_values_compare_by_meaning(a: object, b: object, same: bool) -> None:
    assert same_value(a, b) is same


def test_each_kind_is_detected_from_the_three_views() -> None:
    agent = {"line_phone": "555-014-3301", "new_price": "55.00"}
    found = detect(
        3,
        FACTS,
        agent,
        customer_view={"line": "555-014-3302", "quoted_price": "55"},
        truth={"line": "555-014-3301", "quoted_price": "90"},
    )
    assert kinds(found) == {
        ("line", "disagreement"),
        ("line", "customer_misbelief"),
        ("quoted_price", "belief_error"),
        ("quoted_price", "customer_misbelief"),
    }
    assert all(d.turn == 3 for d in found)


def test_unknown_views_are_not_divergences() -> None:
    assert detect(1, FACTS, {"line_phone": None}, {"line": "x"}, {"line": "y"}) == [
        d
        for d in detect(1, FACTS, {"line_phone": None}, {"line": "x"}, {"line": "y"})
        if d.kind == "customer_misbelief"
    ]
    assert detect(1, FACTS, {"line_phone": "a"}, None, None) == []


def test_a_write_that_reads_a_diverged_fact_is_a_commit_under_divergence() -> None:
    write = ToolCallRecord(tool="apply", arguments={}, side_effect=True)
    refused = ToolCallRecord(tool="apply", arguments={}, side_effect=True, refused="no")
    agent = {"line_phone": "555-014-3301"}
    customer = {"line": "555-014-3302"}
    reads = {"apply": ("line_phone",)}
    found = detect(2, FACTS, agent, customer, None, tool_calls=[write], reads=reads)
    assert ("line", DivergenceKind.COMMIT_UNDER_DIVERGENCE.value) in kinds(found)
    quiet = detect(2, FACTS, agent, customer, None, tool_calls=[refused], reads=reads)
    assert ("line", "commit_under_divergence") not in kinds(quiet)


def _quoted(interpreter_tail: list[list[Any]], *, repair: bool = True) -> Session:
    flow = PlanUpgrade if repair else NoRepair
    session = Session.start(flow, interpreter=ScriptedInterpreter([*TO_QUOTE, *interpreter_tail]))
    for _ in TO_QUOTE:
        session.turn_sync("...")
    assert session.state == "awaiting_confirmation"
    return session


class NoRepair(PlanUpgrade):
    """The plan change with the live-divergence repair switched off (to show it matters)."""

    flow_id = "no_repair"
    repair_divergence = False


def _crm(session: Session) -> str:
    env = session.env
    assert isinstance(env, TelecomTools)
    line = env.get_details_by_id("L2001")
    return line.plan_id  # type: ignore[union-attr]


def test_a_claim_contradicting_the_quote_blocks_the_confirmation_and_restates() -> None:
    session = _quoted(
        [
            [Claim(fact="quoted_price", value="35"), Take(event="confirm_price")],
            [Take(event="confirm_price")],  # the retry, same message: still blocked
            [Take(event="confirm_price")],
        ]
    )
    blocked = session.turn_sync("yes, for $35 a month")
    assert blocked.state == "awaiting_confirmation" and _crm(session) == "P1001"
    assert any("restate it" in r.reason for r in blocked.rejected)
    assert blocked.reply.startswith("Just to be sure we agree: Everyday 20 costs $55.00")
    assert ("quoted_price", "disagreement") in kinds(list(blocked.divergences))

    agreed = session.turn_sync("ok, yes, $55")
    assert agreed.state == "changed" and _crm(session) == "P1002"
    assert agreed.divergences == ()
    summary = summarize(session.turns())
    assert summary.first_turn == 4 and summary.facts == ("quoted_price",)
    assert summary.repaired


def test_without_the_repair_the_same_conversation_commits_under_divergence() -> None:
    session = _quoted(
        [[Claim(fact="quoted_price", value="35"), Take(event="confirm_price")]], repair=False
    )
    turn = session.turn_sync("yes, for $35 a month")
    assert turn.state == "changed"
    assert ("quoted_price", "commit_under_divergence") in kinds(list(turn.divergences))
    assert not summarize(session.turns()).repaired


def test_simulated_views_are_recorded_and_compared_each_turn() -> None:
    session = _quoted([[Take(event="confirm_price")]], repair=False)
    turn = session.turn_sync(
        "yes",
        customer_view={"target_plan": "Unlimited Max", "line": "555-014-3301"},
        truth={"line": "555-014-3301"},
    )
    assert turn.record.customer_view == {"target_plan": "Unlimited Max", "line": "555-014-3301"}
    assert turn.record.truth == {"line": "555-014-3301"}
    assert kinds(list(turn.divergences)) == {
        ("target_plan", "disagreement"),
        ("target_plan", "commit_under_divergence"),
    }
    stored = session.turns()[-1]
    assert stored.divergences == turn.record.divergences


def _quoted_by_rules() -> Session:
    session = Session.start(PlanUpgrade)  # the offline RuleInterpreter: production mode
    for text in ("555-014-3301", "the 555-014-3301 line", "Everyday 20"):
        session.turn_sync(text)
    assert session.state == "awaiting_confirmation"
    return session


def test_the_rule_interpreter_reads_a_claim_and_the_flow_repairs_it_before_the_write() -> None:
    session = _quoted_by_rules()
    blocked = session.turn_sync("Yes, $65 a month is fine.")
    record = session.turns()[-1]
    assert [(c.fact, c.value) for c in record.claims] == [("quoted_price", "65")]
    assert blocked.state == "awaiting_confirmation" and _crm(session) == "P1001"
    assert kinds(list(blocked.divergences)) == {("quoted_price", "disagreement")}
    assert session.turn_sync("yes").state == "changed"
    assert summarize(session.turns()).repaired


def test_a_claim_that_agrees_with_the_quote_confirms_in_the_same_turn() -> None:
    session = _quoted_by_rules()
    turn = session.turn_sync("yes, $55.00 a month is fine")
    assert session.turns()[-1].claims[0].value == "55.00"
    assert turn.state == "changed" and turn.divergences == ()


@pytest.mark.parametrize("text", ["yes please", "yes, 65 is fine", "go ahead"])
def test_no_claim_without_a_value_of_the_facts_kind(text: str) -> None:
    # money needs a currency mark: a bare "65" is not read as a price claim
    session = _quoted_by_rules()
    session.turn_sync(text)
    assert session.turns()[-1].claims == []


def test_asking_back_about_a_stated_value_gets_it_restated_not_a_shrug() -> None:
    session = _quoted_by_rules()
    turn = session.turn_sync("Sorry, did you say $65.00?")
    assert turn.reply.startswith("Just to be sure we agree: Everyday 20 costs $55.00")
    assert kinds(list(turn.divergences)) == {("quoted_price", "disagreement")}
    assert session.turn_sync("yes").state == "changed"
