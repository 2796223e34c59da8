"""Real model calls, opt-in: `pytest -m live` with ANTHROPIC_API_KEY / OPENAI_API_KEY set.

Deselected by default (pyproject's addopts); when asked for without a key they fail and say
which key is missing, rather than skipping into green.
"""

from __future__ import annotations

import os

import pytest

from cxflow import Session
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.llm.spec import interpreter_from_spec

pytestmark = pytest.mark.live

CONVERSATION = ("my number is 555-014-3301", "the 555-014-3301 line", "Everyday 20", "yes please")


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ("anthropic:claude-haiku-4-5", "ANTHROPIC_API_KEY"),
        ("openai:gpt-5-mini", "OPENAI_API_KEY"),
    ],
)
def test_a_real_model_changes_the_plan_in_one_call_per_turn(spec: str, key: str) -> None:
    if not os.environ.get(key):
        pytest.fail(f"set {key} to run the live test of {spec}")
    session = Session.start(PlanUpgrade, interpreter=interpreter_from_spec(spec))
    for text in CONVERSATION:
        session.turn_sync(text)
    records = session.turns()
    assert session.outcome == "completed", [(r.customer_text, r.reply.text) for r in records]
    assert all(r.usage.model_calls >= 1 for r in records)
    assert sum(r.usage.input_tokens for r in records) > 0
