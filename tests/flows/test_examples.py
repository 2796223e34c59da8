"""Every reference flow runs offline: its example conversation reaches a final state."""

from __future__ import annotations

from typing import Any

import pytest

from cxflow import Flow, RuleInterpreter, Session
from cxflow.registry import reference_flows

FLOWS = reference_flows()


def test_every_reference_flow_has_an_example() -> None:
    missing = [flow_id for flow_id, flow in FLOWS.items() if not flow.example]
    assert missing == []


@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))
def test_example_reaches_a_completed_final_state_offline(flow: type[Flow[Any]]) -> None:
    session = Session.start(flow, interpreter=RuleInterpreter())
    for text in flow.example:
        assert not session.done, f"ended before {text!r}: {session.reply}"
        turn = session.turn_sync(text)
        assert not turn.rejected, [r.reason for r in turn.rejected]
    assert session.done, f"still in {session.flow}.{session.state}: {session.reply}"
    assert session.outcome == "completed", session.reply
