"""A misbehaving interpreter never crashes a turn: its output becomes `Rejected`, nothing moves.

Each case drives PlanUpgrade to `awaiting_confirmation` (one `confirm_price` away from writing
to the CRM), then feeds bad output. The turn must record the rejection with a reason, leave state
and slots alone, write nothing to the CRM, and still commit exactly one TurnRecord.
"""

from __future__ import annotations

from typing import Any

import pytest

from cxflow import Rejected, ScriptedInterpreter, Session, SetSlot, Take
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.tools.telecom import telecom_db_json

MB = 1_000_000

TO_CONFIRMATION: list[object] = [
    [SetSlot(slot="phone_number", value="555-014-3301")],
    [SetSlot(slot="line_phone", value="555-014-3301")],
    [SetSlot(slot="target_plan_id", value="P1002")],
]


def _at_confirmation(*outputs: object) -> tuple[Session, ScriptedInterpreter]:
    """A session waiting for the customer to confirm the price; `outputs` come next."""
    interpreter = ScriptedInterpreter([*TO_CONFIRMATION, *outputs])
    session = Session.start(PlanUpgrade, interpreter=interpreter)
    for _ in TO_CONFIRMATION:
        session.turn_sync("...")
    assert session.state == "awaiting_confirmation"
    return session, interpreter


def _crm(session: Session) -> dict[str, Any]:
    return telecom_db_json(session.env.db)  # pyright: ignore[reportAttributeAccessIssue]


BAD_OUTPUTS = [
    pytest.param(
        [{"type": "set_slot", "slot": "favourite_colour", "value": "blue"}],
        "unknown slot 'favourite_colour'",
        id="unknown-slot",
    ),
    pytest.param(
        [{"type": "set_slot", "slot": "customer_id", "value": "C2003"}],
        "cannot be filled in state 'awaiting_confirmation'",
        id="tool-written-slot",
    ),
    pytest.param(
        [{"type": "set_slot", "slot": "phone_number", "value": 5550394412}],
        "invalid value for 'phone_number'",
        id="wrong-type",
    ),
    pytest.param(
        [{"type": "set_slot", "slot": "phone_number", "value": "call me maybe"}],
        "invalid value for 'phone_number'",
        id="wrong-format",
    ),
    pytest.param(
        [{"type": "take", "event": "applied"}], "'applied' is not enabled", id="automatic-event"
    ),
    pytest.param(
        [{"type": "take", "event": "identified"}],
        "'identified' is not enabled",
        id="event-of-another-state",
    ),
    pytest.param(
        [{"type": "take", "event": "launch_missiles"}],
        "'launch_missiles' does not exist",
        id="non-existent-event",
    ),
    pytest.param(
        [{"type": "set_slot", "slot": "target_plan_id", "value": "P" * MB}],
        f"{MB} characters long",
        id="huge-value",
    ),
    pytest.param(
        [{"type": "set_slot", "slot": "s" * MB, "value": "x"}], "unknown slot", id="huge-slot-name"
    ),
    pytest.param([{"type": "take", "event": "e" * MB}], "event 'eeeeeeee", id="huge-event"),
    pytest.param([{"type": "start_flow", "flow": "f" * MB}], "unknown flow", id="huge-flow"),
    pytest.param(
        [{"type": "claim", "fact": "balance", "value": 0}],
        "unknown fact 'balance'",
        id="unknown-fact",
    ),
    pytest.param("x" * MB, "not a list of commands", id="huge-garbage-string"),
    pytest.param(None, "empty output", id="none"),
    pytest.param("", "empty output", id="empty-string"),
    pytest.param([], "empty output", id="empty-list"),
    pytest.param({"x": 1}, "not a list of commands", id="dict"),
    pytest.param("lol", "not a list of commands", id="text"),
    pytest.param(42, "not a list of commands", id="number"),
    pytest.param([{"type": "launch_missiles"}], "not a list of commands", id="unknown-command"),
    pytest.param(
        [{"type": "take", "event": "confirm_price", "force": True}],
        "not a list of commands",
        id="extra-field",
    ),
]


@pytest.mark.parametrize(("output", "reason"), BAD_OUTPUTS)
def test_bad_interpreter_output_is_rejected_and_changes_nothing(
    output: object, reason: str
) -> None:
    session, _ = _at_confirmation(output, output)
    slots_before = session.slots
    crm_before = _crm(session)
    turns_before = len(session.store.turns(session.id))

    turn = session.turn_sync("yes please")

    assert turn.rejected, "the bad output must be recorded as Rejected"
    assert all(isinstance(r, Rejected) and r.reason for r in turn.rejected)
    assert any(reason in r.reason for r in turn.rejected), [r.reason for r in turn.rejected]
    assert turn.record.rejected == list(turn.rejected)
    assert turn.state == session.state == "awaiting_confirmation"
    assert not turn.done
    assert turn.slots == slots_before == session.slots
    assert _crm(session) == crm_before
    assert not any(c.side_effect for c in turn.record.tool_calls)
    records = session.store.turns(session.id)
    assert len(records) == turns_before + 1
    assert records[-1] is turn.record or records[-1] == turn.record
    assert records[-1].turn == turns_before + 1
    assert records[-1].state_before == records[-1].state_after == "awaiting_confirmation"


def test_huge_customer_text_is_handled_like_any_other_message() -> None:
    session, _ = _at_confirmation([{"type": "noop"}])
    crm_before = _crm(session)

    turn = session.turn_sync("y" * MB)

    assert turn.state == "awaiting_confirmation"
    assert _crm(session) == crm_before
    assert len(session.store.turns(session.id)) == 4


@pytest.mark.parametrize(
    "output",
    [
        [{"type": "set_slot", "slot": "s" * MB, "value": "x"}],
        [{"type": "take", "event": "e" * MB}],
        [{"type": "start_flow", "flow": "f" * MB}],
        [{"type": "claim", "fact": "c" * MB, "value": 1}],
    ],
    ids=["slot", "event", "flow", "fact"],
)
def test_rejection_reasons_stay_short_for_huge_names(output: object) -> None:
    session, interpreter = _at_confirmation(output, [{"type": "noop"}])

    turn = session.turn_sync("...")

    assert turn.rejected
    assert all(len(r.reason) <= 2_000 for r in turn.rejected)
    view, _ = interpreter.calls[-1]
    assert all(len(f) <= 2_000 for f in view.feedback)


# -- one retry with the reasons -------------------------------------------------------------------


def test_a_rejection_is_fed_back_for_one_retry_and_a_valid_retry_is_applied() -> None:
    session, interpreter = _at_confirmation(
        [{"type": "set_slot", "slot": "favourite_colour", "value": "blue"}],
        [Take(event="confirm_price")],
    )
    calls_before = len(interpreter.calls)
    crm_before = _crm(session)

    turn = session.turn_sync("yes, go ahead")

    assert len(interpreter.calls) == calls_before + 2
    first, _ = interpreter.calls[-2]
    retry, text = interpreter.calls[-1]
    assert (first.attempt, first.feedback) == (1, ())
    assert retry.attempt == 2
    assert text == "yes, go ahead"
    assert len(retry.feedback) == 1
    assert "unknown slot 'favourite_colour'" in retry.feedback[0]
    assert retry.state == "awaiting_confirmation"

    assert [r.attempt for r in turn.rejected] == [1]
    assert turn.record.attempts == [
        [{"type": "set_slot", "slot": "favourite_colour", "value": "blue"}],
        [{"type": "take", "event": "confirm_price"}],
    ]
    assert turn.state == "changed"
    assert turn.outcome == "completed"
    crm_after = _crm(session)
    assert crm_after != crm_before
    line = next(line for line in crm_after["lines"] if line["line_id"] == "L2001")
    assert line["plan_id"] == "P1002"


def test_a_second_bad_attempt_ends_the_turn_without_a_third_call() -> None:
    bad = [{"type": "take", "event": "launch_missiles"}]
    session, interpreter = _at_confirmation(bad, bad, [Take(event="confirm_price")])
    calls_before = len(interpreter.calls)

    turn = session.turn_sync("...")

    assert len(interpreter.calls) == calls_before + 2
    assert [r.attempt for r in turn.rejected] == [1, 2]
    assert turn.state == "awaiting_confirmation"
    assert len(session.store.turns(session.id)) == 4


def test_a_valid_command_is_applied_even_when_a_sibling_is_rejected() -> None:
    session, _ = _at_confirmation(
        [
            {"type": "take", "event": "launch_missiles"},
            {"type": "take", "event": "decline_price"},
        ],
    )
    crm_before = _crm(session)

    turn = session.turn_sync("no thanks")

    assert [r.reason.split(" ")[1] for r in turn.rejected] == ["'launch_missiles'"]
    assert turn.state == "declined"
    assert turn.outcome == "declined"
    assert _crm(session) == crm_before


def test_a_model_interpreter_gets_its_one_retry_after_unparseable_output() -> None:
    from cxflow.interpreter import Interpretation, TurnView, interpretation_from_raw

    class FlakyModel:
        """Answers garbage first, then a valid command (like a model asked again)."""

        name = "flaky-model"

        def __init__(self) -> None:
            self.feedback: list[tuple[str, ...]] = []

        async def interpret(self, view: TurnView, text: str) -> Interpretation:
            self.feedback.append(view.feedback)
            if len(self.feedback) == 1:
                return interpretation_from_raw("{not json")
            return interpretation_from_raw(
                [{"type": "set_slot", "slot": "phone_number", "value": "555-014-3301"}]
            )

    model = FlakyModel()
    session = Session.start(PlanUpgrade, interpreter=model)
    turn = session.turn_sync("my number is 555-014-3301")
    assert len(model.feedback) == 2 and model.feedback[1]  # retried with the reason
    assert turn.state == "choose_line"
    assert turn.rejected and turn.rejected[0].attempt == 1
