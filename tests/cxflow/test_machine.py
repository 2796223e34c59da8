"""The compiled transition table agrees with python-statemachine, and slot values are checked."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from statemachine.exceptions import TransitionNotAllowed

from cxflow import Flow, State, auto, describe
from cxflow.flows.plan_upgrade import PlanUpgrade, UpgradeSlots
from cxflow.machine import MAX_VALUE_CHARS, FlowSpec, Refusal, TransitionSpec

# -- a small flow exercising what PlanUpgrade does not --------------------------------------------
# an event leaving several states, a self-transition, a guard list, cond + unless on one
# transition, a fallback without guards, and a state with both automatic and picked events.


class DeskSlots(BaseModel):
    code: str | None = None
    vip: bool | None = None
    blocked: bool | None = None
    agreed: bool | None = None


def has_code(slots: DeskSlots) -> bool:
    """A code is needed."""
    return slots.code is not None


def is_vip(slots: DeskSlots) -> bool:
    """VIP customers go to the VIP desk."""
    return slots.vip is True


def is_blocked(slots: DeskSlots) -> bool:
    """Blocked accounts cannot go on."""
    return slots.blocked is True


def has_agreed(slots: DeskSlots) -> bool:
    """The customer must agree first."""
    return slots.agreed is True


class ServiceDesk(Flow[DeskSlots]):
    """Route a customer by code, then make them an offer."""

    ask = State(initial=True, fills=("code",), say="Your code?")
    check = State()
    offer = State(fills=("agreed",), say="Shall I go ahead?")
    vip_desk = State(final=True, outcome="vip")
    refused = State(final=True, outcome="refused")
    accepted = State(final=True)
    gave_up = State(final=True, outcome="cancelled")

    entered = auto(ask.to(check, cond=has_code))
    routed = auto(
        check.to(refused, cond=is_blocked)
        | check.to(vip_desk, cond=[has_code, is_vip], unless=is_blocked)
        | check.to(offer)
    )
    agreed_already = auto(offer.to(accepted, cond=has_agreed, unless=is_blocked))
    decide = describe(
        offer.to(accepted, cond=has_agreed) | offer.to(refused, cond=is_blocked),
        "The customer decides.",
        keywords=("decide",),
    )
    repeat = describe(offer.to.itself(), "Say the offer again.", keywords=("again",))
    give_up = describe(ask.to(gave_up) | offer.to(gave_up), "The customer gives up.")


DESK_FIXTURES = [
    DeskSlots(code=code, vip=vip, blocked=blocked, agreed=agreed)
    for code, vip, blocked, agreed in itertools.product(
        (None, "X1"), (None, True), (None, True), (None, True)
    )
]

_IDENTIFIED: dict[str, Any] = {"phone_number": "555-014-3301", "customer_id": "C2001"}
_LOADED: dict[str, Any] = {
    **_IDENTIFIED,
    "line_phone": "555-014-3301",
    "line_id": "L2001",
    "line_status": "Active",
    "current_plan_id": "P1001",
    "current_price": Decimal("35.00"),
}
PLAN_FIXTURES = [
    UpgradeSlots(),
    UpgradeSlots(phone_number="555-014-3301"),
    UpgradeSlots(full_name="Maya Okafor"),
    UpgradeSlots(full_name="Maya Okafor", date_of_birth=date(1988, 3, 9)),
    UpgradeSlots(phone_number="555-999-0000", lookup_error="no customer"),
    UpgradeSlots(**_IDENTIFIED),
    UpgradeSlots(**_IDENTIFIED, line_phone="555-014-3301"),
    UpgradeSlots(**_IDENTIFIED, line_phone="555-014-9999", line_error="no such line"),
    UpgradeSlots(**_LOADED),
    UpgradeSlots(**{**_LOADED, "line_status": "Suspended"}),
    UpgradeSlots(**_LOADED, target_plan_id="P1001"),
    UpgradeSlots(**_LOADED, target_plan_id="P1002"),
    UpgradeSlots(**_LOADED, target_plan_id="P1002", new_price=Decimal("55.00")),
    UpgradeSlots(**_LOADED, target_plan_id="P1002", new_price=Decimal("55.00"), plan_changed=True),
    UpgradeSlots(**_LOADED, target_plan_id="P1002", new_price=Decimal("55.00"), change_error="x"),
    UpgradeSlots(**_LOADED, target_plan_id="P1002", plan_changed=False),
]

CASES = [(ServiceDesk, DESK_FIXTURES), (PlanUpgrade, PLAN_FIXTURES)]


# -- python-statemachine, the reference ---------------------------------------------------------


def _psm_outcomes(
    flow: type[Flow[Any]], state: str, events: list[str], slots: BaseModel
) -> dict[str, str | None]:
    """Send each event to a real machine in `state`; return the state reached, None if refused.

    A refused event leaves the machine where it was, so one instance serves until an event
    is accepted (instantiating python-statemachine costs about a millisecond).
    """
    outcomes: dict[str, str | None] = {}
    machine: Any = None
    for event in events:
        if machine is None:
            machine = flow(start_value=state)
        try:
            machine.send(event, slots=slots)
        except TransitionNotAllowed:
            assert machine.current_state_value == state
            outcomes[event] = None
            continue
        outcomes[event] = machine.current_state_value
        machine = None
    return outcomes


def _table_outcome(spec: FlowSpec, state: str, event: str, slots: BaseModel) -> str | None:
    transitions = [t for t in spec.states[state].transitions if t.event == event]
    if transitions and all(t.auto for t in transitions):
        chosen = next((t for t in transitions if t.refusing_guard(slots) is None), None)
        return chosen.target if chosen is not None else None
    decision = spec.take(state, event, slots)
    return decision.target if isinstance(decision, TransitionSpec) else None


def _event_ids(flow: type[Flow[Any]]) -> list[str]:
    return [str(e.id) for e in flow.events]


def test_flows_instantiate_as_python_statemachine_machines() -> None:
    machine = PlanUpgrade(start_value="choose_plan")

    assert machine.current_state_value == "choose_plan"


@pytest.mark.parametrize(("flow", "fixtures"), CASES, ids=["service_desk", "plan_upgrade"])
def test_compiled_table_agrees_with_python_statemachine_on_every_state_and_event(
    flow: type[Flow[Any]], fixtures: list[BaseModel]
) -> None:
    spec: FlowSpec = flow.spec
    events = _event_ids(flow)
    disagreements: list[str] = []
    taken: set[tuple[str, str, str]] = set()
    compared = 0
    for slots, state in itertools.product(fixtures, spec.states):
        reference = _psm_outcomes(flow, state, events, slots)
        for event in events:
            compared += 1
            if reference[event] is not None:
                taken.add((state, event, str(reference[event])))
            ours = _table_outcome(spec, state, event, slots)
            if ours != reference[event]:
                disagreements.append(
                    f"{state} --{event}--> table {ours}, psm {reference[event]} for {slots!r}"
                )

    assert compared == len(fixtures) * len(spec.states) * len(events)
    assert disagreements == []
    every_transition = {
        (t.source, t.event, t.target) for s in spec.states.values() for t in s.transitions
    }
    assert taken == every_transition  # the fixtures reach every transition at least once


@pytest.mark.parametrize(("flow", "fixtures"), CASES, ids=["service_desk", "plan_upgrade"])
def test_next_auto_is_the_first_automatic_transition_python_statemachine_accepts(
    flow: type[Flow[Any]], fixtures: list[BaseModel]
) -> None:
    spec: FlowSpec = flow.spec
    for slots, (state_id, state) in itertools.product(fixtures, spec.states.items()):
        auto_events = list(dict.fromkeys(t.event for t in state.autos))
        reference = _psm_outcomes(flow, state_id, auto_events, slots)
        expected = next((reference[e] for e in auto_events if reference[e] is not None), None)
        step = spec.next_auto(state_id, slots)

        assert (step.target if step is not None else None) == expected, (state_id, slots)


@pytest.mark.parametrize(("flow", "fixtures"), CASES, ids=["service_desk", "plan_upgrade"])
def test_slot_fixtures_drive_every_guard_both_ways(
    flow: type[Flow[Any]], fixtures: list[BaseModel]
) -> None:
    spec: FlowSpec = flow.spec
    guards = {g for s in spec.states.values() for t in s.transitions for g in (*t.conds, *t.unless)}
    one_sided = [g.__name__ for g in guards if len({bool(g(slots)) for slots in fixtures}) != 2]

    assert guards
    assert one_sided == []


def test_events_the_interpreter_may_take_exclude_automatic_ones() -> None:
    spec = PlanUpgrade.spec

    assert spec.enabled_events("awaiting_confirmation") == ("confirm_price", "decline_price")
    assert spec.enabled_events("identify") == ()
    assert spec.enabled_events("choose_plan") == ()
    assert ServiceDesk.spec.enabled_events("offer") == ("decide", "repeat", "give_up")


def test_take_refuses_an_automatic_event_as_not_enabled() -> None:
    decision = PlanUpgrade.spec.take("lookup", "looked_up", PLAN_FIXTURES[5])

    assert isinstance(decision, Refusal)
    assert "'looked_up' is not enabled in state 'lookup'" in decision.reason


def test_take_refuses_an_event_that_does_not_exist() -> None:
    decision = PlanUpgrade.spec.take("awaiting_confirmation", "launch_missiles", UpgradeSlots())

    assert isinstance(decision, Refusal)
    assert "does not exist" in decision.reason
    assert "['confirm_price', 'decline_price']" in decision.reason


def test_take_refusal_names_the_guard_and_its_message() -> None:
    decision = PlanUpgrade.spec.take("awaiting_confirmation", "confirm_price", UpgradeSlots())

    assert isinstance(decision, Refusal)
    assert decision.guard == "price_quoted"
    assert "The new monthly price must be stated before the change." in decision.reason


# -- slot values ----------------------------------------------------------------------------------

SPEC = PlanUpgrade.spec


def _refusal(state: str, slot: str, value: object, slots: BaseModel | None = None) -> str:
    typed, refusal = SPEC.check_value(state, slot, value, slots or UpgradeSlots())
    assert typed is None
    assert refusal is not None
    return refusal.reason


def test_check_value_accepts_and_types_a_good_value() -> None:
    typed, refusal = SPEC.check_value("identify", "date_of_birth", "1988-03-09", UpgradeSlots())

    assert refusal is None
    assert typed == date(1988, 3, 9)


def test_check_value_refuses_an_unknown_slot() -> None:
    reason = _refusal("identify", "favourite_colour", "blue")

    assert "unknown slot 'favourite_colour'" in reason
    assert "['phone_number', 'full_name', 'date_of_birth']" in reason


def test_check_value_refuses_a_slot_not_fillable_in_this_state() -> None:
    reason = _refusal("identify", "target_plan_id", "P1002")

    assert "'target_plan_id' cannot be filled in state 'identify'" in reason


def test_check_value_refuses_a_tool_written_slot() -> None:
    reason = _refusal("choose_plan", "new_price", "0.01", PLAN_FIXTURES[8])

    assert "'new_price' cannot be filled in state 'choose_plan'" in reason


@pytest.mark.parametrize(
    ("slot", "value"),
    [
        ("phone_number", 5550143301),
        ("phone_number", "5550143301"),
        ("phone_number", ["555-014-3301"]),
        ("date_of_birth", "9th of March"),
        ("date_of_birth", True),
        ("full_name", "R2D2"),
    ],
)
def test_check_value_refuses_a_value_of_the_wrong_type(slot: str, value: object) -> None:
    assert f"invalid value for {slot!r}" in _refusal("identify", slot, value)


def test_check_value_refuses_an_over_long_string() -> None:
    reason = _refusal("identify", "full_name", "M" * (MAX_VALUE_CHARS + 1))

    assert f"{MAX_VALUE_CHARS + 1} characters long" in reason
    assert f"limit is {MAX_VALUE_CHARS}" in reason


def test_check_value_refuses_none() -> None:
    assert "empty" in _refusal("identify", "phone_number", None)


def test_check_value_restricts_a_slot_to_the_state_choices() -> None:
    slots = UpgradeSlots(**_LOADED, plans={"P1001": "Starter 5", "P1002": "Everyday 20"})

    typed, refusal = SPEC.check_value("choose_plan", "target_plan_id", "P1002", slots)
    assert (typed, refusal) == ("P1002", None)

    reason = _refusal("choose_plan", "target_plan_id", "P9999", slots)
    assert "'P9999' is not one of the choices for 'target_plan_id'" in reason
    assert "['P1001', 'P1002']" in reason


def test_check_value_restricts_a_correction_to_the_choices_of_the_asking_state() -> None:
    slots = UpgradeSlots(
        **_LOADED,
        plans={"P1001": "Starter 5", "P1002": "Everyday 20"},
        target_plan_id="P1002",
        new_price=Decimal("55.00"),
    )

    typed, refusal = SPEC.check_value("awaiting_confirmation", "target_plan_id", "P9999", slots)

    assert typed is None
    assert refusal is not None and "choices" in refusal.reason


def test_fillable_offers_filled_customer_slots_as_corrections() -> None:
    slots = UpgradeSlots(**_LOADED)

    assert SPEC.fillable("choose_plan", slots) == ("target_plan_id", "line_phone", "phone_number")
    assert SPEC.fillable("identify", UpgradeSlots()) == (
        "phone_number",
        "full_name",
        "date_of_birth",
    )
    typed, refusal = SPEC.check_value("choose_plan", "phone_number", "555-039-4412", slots)
    assert (typed, refusal) == ("555-039-4412", None)


def test_fillable_never_offers_tool_written_slots() -> None:
    slots = UpgradeSlots(**_LOADED, target_plan_id="P1002", new_price=Decimal("55.00"))

    assert set(SPEC.fillable("awaiting_confirmation", slots)) <= SPEC.customer_slots
    assert "customer_id" not in SPEC.fillable("awaiting_confirmation", slots)


def test_dependents_of_the_phone_number_include_the_customer_and_the_line() -> None:
    dependents = SPEC.dependents["phone_number"]

    assert {"customer_id", "customer_name", "lines", "line_list", "lookup_error"} <= dependents
    assert {
        "line_id",
        "line_status",
        "current_plan_id",
        "current_price",
        "plans",
        "new_price",
        "plan_changed",
    } <= dependents
    assert "phone_number" not in dependents


def test_dependents_of_the_target_plan_are_only_what_the_quote_computed() -> None:
    assert SPEC.dependents["target_plan_id"] == frozenset(
        {"target_plan_name", "new_price", "difference_text", "plan_changed", "change_error"}
    )


def test_each_customer_slot_is_asked_in_the_first_state_that_fills_it() -> None:
    assert dict(SPEC.asked_in) == {
        "phone_number": "identify",
        "full_name": "identify",
        "date_of_birth": "identify",
        "line_phone": "choose_line",
        "target_plan_id": "choose_plan",
    }
