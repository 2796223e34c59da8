"""The flight-change flow's rules and tools: what the customer wants, the searches, the quote
and the write.

Split from `change_flight.py` (which holds the slots model, the guards and the flow) to keep both
modules short; the functions here read the flow's `ChangeSlots`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxflow.errors import ToolError
from cxflow.flows._airline import (
    CABINS,
    flight_options,
    options_text,
    payment_labels,
    payment_list,
    segments_text,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.airline import AirlineTools, CabinClass, FlightInfo, ReservationFlight
from cxflow.tools.airline.policy import (
    Decision,
    cabin_changeable,
    flight_change_allowed,
    flights_changeable,
)
from cxflow.tools.airline.pricing import change_itinerary, flight_change_cost

if TYPE_CHECKING:
    from cxflow.flows.change_flight import ChangeSlots


def wants_flights(slots: ChangeSlots) -> bool:
    """The customer wants other flights."""
    return slots.change_kind in ("flights", "flights_and_cabin")


def wants_cabin(slots: ChangeSlots) -> bool:
    """The customer wants another cabin."""
    current = slots.reservation.cabin if slots.reservation else None
    return slots.change_kind in ("cabin", "flights_and_cabin") or (
        slots.new_cabin is not None and slots.new_cabin != current
    )


def early_decision(slots: ChangeSlots) -> Decision:
    """The rules that can refuse before any flight is picked."""
    assert slots.reservation is not None
    if wants_flights(slots) and not (ok := flights_changeable(slots.reservation)).allowed:
        return ok
    if wants_cabin(slots):
        if not (ok := cabin_changeable(slots.reservation, slots.statuses or {})).allowed:
            return ok
        if slots.change_kind == "cabin" and slots.new_cabin == slots.reservation.cabin:
            return Decision(False, f"The reservation is already in {CABINS[slots.new_cabin]}.")
    return Decision(True, "The requested kind of change is possible.")


def change_decision(slots: ChangeSlots) -> Decision:
    """Every modification rule applied to the priced change."""
    if (
        slots.reservation is None
        or slots.user is None
        or slots.target_cabin is None
        or slots.new_segments is None
        or slots.payment_id is None
    ):
        return Decision(False, "The new flights, cabin and payment method are needed first.")
    return flight_change_allowed(
        slots.reservation,
        slots.user,
        slots.target_cabin,
        slots.new_segments,
        slots.payment_id,
        slots.statuses or {},
    )


def may_change(slots: ChangeSlots) -> bool:
    """The policy does not allow this change."""
    return change_decision(slots).allowed


# -- tools -------------------------------------------------------------------------------------


def legs(slots: ChangeSlots) -> tuple[list[ReservationFlight], list[ReservationFlight]]:
    """The reservation's segments split into the outbound and the return leg."""
    assert slots.reservation is not None
    segments = slots.reservation.flights
    if slots.reservation.flight_type == "one_way":
        return list(segments), []
    turn = next(
        (i for i, s in enumerate(segments) if s.destination == slots.reservation.destination),
        len(segments) - 1,
    )
    return list(segments[: turn + 1]), list(segments[turn + 1 :])


def cabin_for(slots: ChangeSlots) -> CabinClass:
    """The cabin after the change: the new one, else the current one."""
    assert slots.reservation is not None
    return slots.new_cabin or slots.reservation.cabin


@tool(
    reads=("reservation", "statuses", "change_kind", "new_cabin", "user"),
    writes=("policy_rule", "leg", "cards", "card_list"),
)
def assess_request(
    slots: ChangeSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Check the kind of change against the rules; a one-way trip has only the outbound leg."""
    assert slots.reservation is not None and slots.user is not None
    cards = payment_labels(slots.user, ("credit_card", "gift_card"))
    updates: dict[str, object] = {
        "policy_rule": early_decision(slots).rule,
        "cards": cards,
        "card_list": payment_list(slots.user, cards),
    }
    if slots.reservation.flight_type == "one_way":
        updates["leg"] = "outbound"
    return updates


@tool(
    reads=("reservation", "leg", "new_date", "new_cabin"),
    writes=("options", "option_list", "option_flights", "new_date"),
    error_slot="search_error",
)
def search_options(
    slots: ChangeSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Search direct and one-stop flights for the leg on the new date (an empty search forgets
    the date, to ask for another)."""
    assert slots.reservation is not None and slots.new_date is not None
    origin, destination = slots.reservation.origin, slots.reservation.destination
    if slots.leg == "return":
        origin, destination = destination, origin
    day = slots.new_date.isoformat()
    labels, flights = flight_options(
        env, origin, destination, day, cabin_for(slots), len(slots.reservation.passengers)
    )
    return {"options": labels, "option_list": options_text(labels), "option_flights": flights}


@tool(
    reads=("reservation", "change_kind", "new_cabin", "leg", "option", "option_flights"),
    writes=(
        "target_cabin",
        "cabin_text",
        "new_flights",
        "new_segments",
        "itinerary_text",
        "change_cost",
        "difference_text",
    ),
    error_slot="quote_error",
)
def quote_change(slots: ChangeSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Build the new itinerary and price the difference, as the reservation system will."""
    assert slots.reservation is not None
    outbound, back = legs(slots)
    if wants_flights(slots):
        assert slots.option is not None and slots.option_flights is not None
        chosen = slots.option_flights[slots.option]
        kept = [
            FlightInfo(flight_number=s.flight_number, date=s.date)
            for s in (back if slots.leg == "outbound" else outbound)
        ]
        infos = chosen + kept if slots.leg == "outbound" else kept + chosen
    else:
        infos = [FlightInfo(flight_number=s.flight_number, date=s.date) for s in outbound + back]
    cabin = cabin_for(slots)
    try:
        segments = change_itinerary(slots.reservation, cabin, infos, env.db.flights)
    except ValueError as exc:
        raise ToolError("quote_change", str(exc)) from exc
    cost = flight_change_cost(slots.reservation, cabin, segments)
    return {
        "target_cabin": cabin,
        "cabin_text": CABINS[cabin],
        "new_flights": infos,
        "new_segments": segments,
        "itinerary_text": segments_text(segments),
        "change_cost": cost,
        "difference_text": _difference(cost),
    }


def _difference(cost: int) -> str:
    if cost > 0:
        return f"${cost} more than you paid"
    return f"${-cost} less than you paid" if cost < 0 else "the same price as you paid"


@tool(
    reads=("change_cost", "payment_id", "cards", "new_segments"),
    writes=("policy_rule", "cost_text"),
)
def review_change(
    slots: ChangeSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Apply every modification rule to the priced change and word its cost."""
    assert slots.change_cost is not None and slots.payment_id is not None
    card = (slots.cards or {}).get(slots.payment_id, slots.payment_id)
    cost = slots.change_cost
    if cost > 0:
        text = f"You pay ${cost} more, charged to your {card}."
    elif cost < 0:
        text = f"You get ${-cost} back, refunded to your {card}."
    else:
        text = f"The price does not change (your {card} is on file for the change)."
    return {"policy_rule": change_decision(slots).rule, "cost_text": text}


@tool(
    reads=("reservation_id", "target_cabin", "new_flights", "payment_id"),
    writes=("changed", "modified_reservation_id"),
    side_effect=True,
    needs_confirmation=True,
    guard=may_change,
    error_slot="change_error",
)
def update_flights(
    slots: ChangeSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Write the new flights and cabin (tau2's update_reservation_flights)."""
    assert slots.reservation_id and slots.target_cabin and slots.new_flights and slots.payment_id
    try:
        env.update_reservation_flights(
            slots.reservation_id, slots.target_cabin, slots.new_flights, slots.payment_id
        )
    except ValueError as exc:
        raise ToolError("update_reservation_flights", str(exc)) from exc
    return {"changed": True, "modified_reservation_id": slots.reservation_id}
