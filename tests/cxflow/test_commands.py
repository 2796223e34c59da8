"""The closed command grammar, and the per-turn JSON schema built for the current state only."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from cxflow import (
    Cancel,
    Claim,
    Clarify,
    Command,
    Handoff,
    NoOp,
    ScriptedInterpreter,
    Session,
    SetSlot,
    StartFlow,
    Take,
    TurnView,
    turn_schema,
)
from cxflow.commands import parse_commands
from cxflow.flows.plan_upgrade import PlanUpgrade

# -- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"type": "set_slot", "slot": "phone_number", "value": "555-014-3301"},
            SetSlot(slot="phone_number", value="555-014-3301"),
        ),
        ({"type": "take", "event": "confirm_price"}, Take(event="confirm_price")),
        ({"type": "clarify", "question": "Which line?"}, Clarify(question="Which line?")),
        ({"type": "clarify"}, Clarify()),
        ({"type": "cancel"}, Cancel()),
        ({"type": "handoff", "reason": "asked for a human"}, Handoff(reason="asked for a human")),
        ({"type": "start_flow", "flow": "billing"}, StartFlow(flow="billing")),
        (
            {"type": "claim", "fact": "current_plan", "value": "Starter 5"},
            Claim(fact="current_plan", value="Starter 5"),
        ),
        ({"type": "noop"}, NoOp()),
    ],
)
def test_each_command_kind_parses_by_its_type_tag(raw: dict[str, Any], expected: Command) -> None:
    [command] = parse_commands([raw])

    assert type(command) is type(expected)
    assert command == expected
    assert command.model_dump(mode="json") == expected.model_dump(mode="json")


def test_a_list_of_mixed_commands_keeps_its_order() -> None:
    commands = parse_commands(
        [
            {"type": "set_slot", "slot": "target_plan_id", "value": "P1002"},
            {"type": "take", "event": "confirm_price"},
            {"type": "noop"},
        ]
    )

    assert [type(c) for c in commands] == [SetSlot, Take, NoOp]


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "take", "event": "confirm_price", "force": True},
        {"type": "set_slot", "slot": "phone_number", "value": "555-014-3301", "why": "x"},
        {"type": "noop", "text": "hi"},
        {"type": "cancel", "reason": "bored"},
    ],
)
def test_extra_fields_are_forbidden(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        parse_commands([raw])


@pytest.mark.parametrize(
    "raw",
    [
        [{"type": "launch_missiles"}],
        [{"slot": "phone_number", "value": "555-014-3301"}],
        [{"type": "take"}],
        [{"type": "set_slot", "value": "x"}],
        {"type": "noop"},
        "noop",
    ],
)
def test_unknown_kinds_missing_fields_and_non_lists_are_refused(raw: object) -> None:
    with pytest.raises(ValidationError):
        parse_commands(raw)


def test_commands_are_frozen() -> None:
    command = Take(event="confirm_price")

    with pytest.raises(ValidationError):
        command.event = "decline_price"  # type: ignore[misc]


# -- the per-turn schema ---------------------------------------------------------------------------

_TO_STATE: dict[str, list[list[Command]]] = {
    "identify": [],
    "choose_line": [[SetSlot(slot="phone_number", value="555-014-3301")]],
    "choose_plan": [
        [SetSlot(slot="phone_number", value="555-014-3301")],
        [SetSlot(slot="line_phone", value="555-014-3301")],
    ],
    "awaiting_confirmation": [
        [SetSlot(slot="phone_number", value="555-014-3301")],
        [SetSlot(slot="line_phone", value="555-014-3301")],
        [SetSlot(slot="target_plan_id", value="P1002")],
    ],
}


def _view_in(state: str) -> TurnView:
    """The view an interpreter gets in `state` of PlanUpgrade (reached by real turns)."""
    script: list[object] = [*_TO_STATE[state], [NoOp()]]
    interpreter = ScriptedInterpreter(script)
    session = Session.start(PlanUpgrade, interpreter=interpreter)
    for _ in script:
        session.turn_sync("...")
    view = interpreter.calls[-1][0]
    assert view.state == state
    return view


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return schema["properties"]["commands"]["items"]["anyOf"]


def _set_slot_variants(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        v["properties"]["slot"]["const"]: v["properties"]["value"]
        for v in _variants(schema)
        if v["properties"]["type"] == {"const": "set_slot"}
    }


def _take_events(schema: dict[str, Any]) -> list[str] | None:
    for v in _variants(schema):
        if v["properties"]["type"] == {"const": "take"}:
            return list(v["properties"]["event"]["enum"])
    return None


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("state", list(_TO_STATE))
def test_schema_lists_only_the_slots_fillable_in_the_state(state: str) -> None:
    view = _view_in(state)
    schema = turn_schema(view)

    assert list(_set_slot_variants(schema)) == [s.name for s in view.slots]


def test_schema_in_the_first_state_offers_its_own_slots_and_no_event() -> None:
    schema = turn_schema(_view_in("identify"))

    assert list(_set_slot_variants(schema)) == ["phone_number", "full_name", "date_of_birth"]
    assert _take_events(schema) is None


def test_schema_offers_filled_customer_slots_as_corrections() -> None:
    schema = turn_schema(_view_in("choose_plan"))

    assert list(_set_slot_variants(schema)) == ["target_plan_id", "line_phone", "phone_number"]


def test_schema_types_slot_values_by_the_slot_type() -> None:
    values = _set_slot_variants(turn_schema(_view_in("identify")))

    assert values["phone_number"] == {"type": "string", "pattern": r"^\d{3}-\d{3}-\d{4}$"}
    assert values["date_of_birth"] == {"type": "string", "format": "date"}
    assert values["full_name"]["maxLength"] == 80


def test_schema_restricts_a_slot_with_choices_to_their_values() -> None:
    values = _set_slot_variants(turn_schema(_view_in("choose_plan")))

    assert values["target_plan_id"] == {"enum": ["P1001", "P1002", "P1003", "P1004", "P1005"]}


def test_schema_events_are_the_enabled_non_automatic_ones() -> None:
    schema = turn_schema(_view_in("awaiting_confirmation"))

    assert _take_events(schema) == ["confirm_price", "decline_price"]


def test_schema_describes_events_for_the_model() -> None:
    schema = turn_schema(_view_in("awaiting_confirmation"))

    take = next(v for v in _variants(schema) if v["properties"]["type"] == {"const": "take"})
    assert "confirm_price: The customer accepts the quoted price" in take["description"]


def test_schema_always_offers_the_conversation_commands() -> None:
    kinds = {v["properties"]["type"]["const"] for v in _variants(turn_schema(_view_in("identify")))}

    assert {"clarify", "cancel", "handoff", "noop", "claim"} <= kinds


def test_schema_restricts_a_correction_to_the_choices_of_the_state_that_asks_for_it() -> None:
    values = _set_slot_variants(turn_schema(_view_in("awaiting_confirmation")))

    assert values["target_plan_id"] == {"enum": ["P1001", "P1002", "P1003", "P1004", "P1005"]}


GOOD_PAYLOADS: dict[str, list[dict[str, Any]]] = {
    "identify": [
        {"type": "set_slot", "slot": "phone_number", "value": "555-014-3301"},
        {"type": "set_slot", "slot": "date_of_birth", "value": "1988-03-09"},
        {"type": "set_slot", "slot": "full_name", "value": "Maya Okafor"},
        {"type": "clarify", "question": "Which number?"},
    ],
    "awaiting_confirmation": [
        {"type": "take", "event": "confirm_price"},
        {"type": "claim", "fact": "quoted_price", "value": "55.00"},
        {"type": "handoff", "reason": "asked for a human"},
        {"type": "cancel"},
        {"type": "noop"},
    ],
}

BAD_PAYLOADS: dict[str, list[object]] = {
    "identify": [
        {"type": "set_slot", "slot": "target_plan_id", "value": "P1002"},
        {"type": "set_slot", "slot": "phone_number", "value": "5550143301"},
        {"type": "set_slot", "slot": "phone_number", "value": 5550143301},
        {"type": "set_slot", "slot": "date_of_birth", "value": "9 March 1988"},
        {"type": "set_slot", "slot": "customer_id", "value": "C2001"},
        {"type": "take", "event": "identified"},
        {"type": "launch_missiles"},
        {"type": "noop", "extra": 1},
    ],
    "awaiting_confirmation": [
        {"type": "take", "event": "applied"},
        {"type": "take", "event": "launch"},
        {"type": "take", "event": "confirm_price", "force": True},
        {"type": "claim", "fact": "balance", "value": 1},
        {"type": "set_slot", "slot": "new_price", "value": "0.01"},
    ],
}


@pytest.mark.parametrize("state", list(GOOD_PAYLOADS))
def test_good_payloads_validate_against_the_schema_and_parse(state: str) -> None:
    validator = _validator(turn_schema(_view_in(state)))

    for command in GOOD_PAYLOADS[state]:
        payload = {"commands": [command]}
        assert list(validator.iter_errors(payload)) == [], command
        assert len(parse_commands(payload["commands"])) == 1


@pytest.mark.parametrize("state", list(BAD_PAYLOADS))
def test_bad_payloads_fail_the_schema(state: str) -> None:
    validator = _validator(turn_schema(_view_in(state)))

    for command in BAD_PAYLOADS[state]:
        assert not validator.is_valid({"commands": [command]}), command


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"commands": {"type": "noop"}},
        {"commands": [], "thoughts": "sneaky"},
        [{"type": "noop"}],
    ],
)
def test_payloads_of_the_wrong_shape_fail_the_schema(payload: object) -> None:
    assert not _validator(turn_schema(_view_in("identify"))).is_valid(payload)


def test_usage_of_two_attempts_adds_up() -> None:
    from cxflow.records import Usage

    total = Usage(model_calls=1, input_tokens=10, cost_usd=0.5).plus(
        Usage(
            model_calls=1,
            input_tokens=5,
            cached_input_tokens=3,
            output_tokens=2,
            thinking_tokens=1,
            cost_usd=0.25,
        )
    )
    assert total == Usage(
        model_calls=2,
        input_tokens=15,
        cached_input_tokens=3,
        output_tokens=2,
        thinking_tokens=1,
        cost_usd=0.75,
    )
