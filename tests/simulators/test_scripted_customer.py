"""A scripted customer talks to a flow through `converse`; its view reaches the records."""

from __future__ import annotations

import asyncio

from cxflow import RuleInterpreter, Session
from cxflow.customer import CustomerSimulator, converse
from cxflow.divergence import summarize
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.simulators.scripted import Scenario, ScriptedCustomer

MAYA = Scenario(
    name="maya upgrades",
    knows={
        "phone_number": "555-014-3301",
        "line_phone": "555-014-3301",
        "target_plan_id": "Everyday 20",
    },
    expects={"quoted_price": "55.00"},
)


def _run(scenario: Scenario, seed: int) -> Session:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
    asyncio.run(converse(session, ScriptedCustomer(scenario, seed=seed)))
    return session


def test_the_scripted_customer_is_a_customer_simulator() -> None:
    assert isinstance(ScriptedCustomer(MAYA), CustomerSimulator)


def test_a_cooperative_customer_completes_the_plan_change_under_every_seed() -> None:
    phrasings: set[str] = set()
    for seed in range(8):
        session = _run(MAYA, seed)
        assert session.outcome == "completed", (seed, session.reply)
        records = session.turns()
        phrasings.add(records[0].customer_text)
        assert summarize(records).first_turn is None  # agreed throughout: no divergence
        assert records[-1].customer_view == {
            "quoted_price": "55.00",
            "line": "555-014-3301",
            "target_plan": "Everyday 20",
        }
    assert len(phrasings) > 1  # the seed varies the wording the interpreter meets


def test_a_customer_expecting_another_price_declines_and_their_view_diverges() -> None:
    expecting_less = MAYA.model_copy(
        update={"believes": {"quoted_price": "40"}, "expects": {"quoted_price": "40"}}
    )
    session = _run(expecting_less, seed=1)
    assert session.outcome == "declined"
    summary = summarize(session.turns())
    assert summary.facts == ("quoted_price",)
    assert {d.kind for d in summary.divergences} == {"disagreement"}
