"""The booking flow's tools: searches, passengers, pricing, payment allocation and the booking.

Split from `book_flight.py` (which holds the slots model, the guards and the flow) to keep both
modules short; the functions here read the flow's `BookSlots`.
"""

from __future__ import annotations

from datetime import date
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
from cxflow.tools.airline import AirlineTools, FlightInfo, Passenger, Payment
from cxflow.tools.airline.policy import Decision, booking_allowed, payment_mix_allowed
from cxflow.tools.airline.pricing import (
    INSURANCE_PER_PASSENGER,
    PRICE_PER_EXTRA_BAG,
    booking_price,
    free_bags,
    nonfree_bags,
    price_itinerary,
)

if TYPE_CHECKING:
    from cxflow.flows.book_flight import BookSlots

TRIPS = {"one_way": "one way", "round_trip": "round trip"}
SOURCES = ("certificate", "gift_card", "credit_card")


def booking_decision(slots: BookSlots) -> Decision:
    """The booking rules applied to the booking as it stands."""
    s = slots
    if not (s.user and s.origin and s.destination and s.trip_type and s.cabin and s.segments):
        return Decision(False, "The trip, passengers and payment are needed first.")
    return booking_allowed(
        s.user,
        s.origin,
        s.destination,
        s.trip_type,
        s.segments,
        s.passengers or [],
        s.payments or [],
        s.total_bags or 0,
        s.nonfree or 0,
        bool(s.insurance),
        s.cabin,
    )


def payment_mix_decision(slots: BookSlots) -> Decision:
    """The payment-mix rules applied to the methods chosen so far plus the new choice."""
    assert slots.user is not None and slots.payment_choice is not None
    chosen = [p.payment_id for p in slots.payments or []] + [slots.payment_choice]
    return payment_mix_allowed(slots.user, chosen)


def may_book(slots: BookSlots) -> bool:
    """The policy does not allow this booking."""
    return booking_decision(slots).allowed


# -- tools -------------------------------------------------------------------------------------


@tool(writes=("airports",))
def list_airports(slots: BookSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """The airports the airline serves (tau2's list_all_airports)."""
    return {"airports": {a.iata: a.city for a in env.list_all_airports()}}


def _options(
    env: AirlineTools, slots: BookSlots, origin: str, destination: str, day: date
) -> tuple[dict[str, str], dict[str, list[FlightInfo]]]:
    assert slots.cabin is not None and slots.passenger_count is not None
    return flight_options(
        env, origin, destination, day.isoformat(), slots.cabin, slots.passenger_count
    )


@tool(
    reads=("origin", "destination", "depart_date", "cabin", "passenger_count"),
    writes=("out_options", "out_list", "out_flights", "depart_date"),
    error_slot="out_error",
)
def search_outbound(
    slots: BookSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Search the outbound options (no result forgets the date, to ask for another)."""
    assert slots.origin and slots.destination and slots.depart_date
    labels, flights = _options(env, slots, slots.origin, slots.destination, slots.depart_date)
    return {"out_options": labels, "out_list": options_text(labels), "out_flights": flights}


@tool(
    reads=("origin", "destination", "return_date", "cabin", "passenger_count"),
    writes=("back_options", "back_list", "back_flights", "return_date"),
    error_slot="back_error",
)
def search_return(slots: BookSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Search the return options (no result forgets the date, to ask for another)."""
    assert slots.origin and slots.destination and slots.return_date
    labels, flights = _options(env, slots, slots.destination, slots.origin, slots.return_date)
    return {"back_options": labels, "back_list": options_text(labels), "back_flights": flights}


@tool(reads=("out_choice", "back_choice"), writes=("passengers", "passenger_number"))
def start_passengers(
    slots: BookSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Start collecting the passengers' details."""
    return {"passengers": [], "passenger_number": 1}


@tool(
    reads=("passenger_name", "passenger_dob", "passengers"),
    writes=("passengers", "passenger_number", "passenger_name", "passenger_dob"),
)
def add_passenger(slots: BookSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Add one passenger and clear the name and date of birth for the next one."""
    assert slots.passenger_name is not None and slots.passenger_dob is not None
    first, _, last = slots.passenger_name.rpartition(" ")
    person = Passenger(first_name=first, last_name=last, dob=slots.passenger_dob.isoformat())
    people = [*(slots.passengers or []), person]
    return {
        "passengers": people,
        "passenger_number": len(people) + 1,
        "passenger_name": None,
        "passenger_dob": None,
    }


@tool(reads=("user", "cabin", "passenger_count"), writes=("allowance_text",))
def state_allowance(
    slots: BookSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Work out the free checked bags for this booking."""
    assert slots.user is not None and slots.cabin is not None and slots.passenger_count
    free = free_bags(slots.user.membership, slots.cabin, slots.passenger_count)
    return {
        "allowance_text": f"As a {slots.user.membership} member in {CABINS[slots.cabin]}, "
        f"the {slots.passenger_count} passenger(s) get {free} free checked bags in total; each "
        f"extra bag is ${PRICE_PER_EXTRA_BAG}."
    }


@tool(
    reads=(
        "user",
        "trip_type",
        "cabin",
        "out_choice",
        "back_choice",
        "passengers",
        "total_bags",
        "insurance",
    ),
    writes=(
        "flights",
        "segments",
        "nonfree",
        "price",
        "summary",
        "methods",
        "method_list",
        "payments",
        "remaining",
        "payment_choice",
    ),
)
def price_booking(slots: BookSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Price the booking and list the payment methods of the profile."""
    s = slots
    assert s.user and s.cabin and s.out_flights and s.out_choice and s.passengers is not None
    infos = list(s.out_flights[s.out_choice])
    if s.trip_type == "round_trip" and s.back_flights and s.back_choice:
        infos += s.back_flights[s.back_choice]
    people = len(s.passengers)
    try:
        segments = price_itinerary(infos, env.db.flights, s.cabin, people)
    except ValueError as exc:
        raise ToolError("price_booking", str(exc)) from exc
    nonfree = nonfree_bags(s.total_bags or 0, s.user.membership, s.cabin, people)
    price = booking_price(segments, people, bool(s.insurance), nonfree)
    names = ", ".join(f"{p.first_name} {p.last_name} ({p.dob})" for p in s.passengers)
    insurance = f"yes (${INSURANCE_PER_PASSENGER} per passenger)" if s.insurance else "no insurance"
    methods = _usable(s, payment_labels(s.user, SOURCES), [])
    return {
        "flights": infos,
        "segments": segments,
        "nonfree": nonfree,
        "price": price,
        "summary": f"{TRIPS[s.trip_type or 'one_way']} {s.origin} to {s.destination}: "
        f"{segments_text(segments)}, {CABINS[s.cabin]}, for {names}; {s.total_bags} checked "
        f"bags ({nonfree} paid); travel insurance: {insurance}. Total: ${price}",
        "methods": methods,
        "method_list": payment_list(s.user, methods),
        "payments": [],
        "remaining": price,
        "payment_choice": None,
    }


def _usable(slots: BookSlots, labels: dict[str, str], used: list[Payment]) -> dict[str, str]:
    """Payment methods not used yet and holding money (cards always do)."""
    assert slots.user is not None
    taken = {p.payment_id for p in used}
    return {
        key: label
        for key, label in labels.items()
        if key not in taken and (getattr(slots.user.payment_methods[key], "amount", 1) or 0) >= 1
    }


@tool(
    reads=("user", "payment_choice", "payments", "remaining", "methods"),
    writes=("payments", "remaining", "payment_choice", "payment_text", "methods", "method_list"),
)
def allocate_payment(
    slots: BookSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Charge the chosen method: a certificate or gift card up to its balance, a credit card
    the rest."""
    assert slots.user is not None and slots.payment_choice is not None
    method = slots.user.payment_methods[slots.payment_choice]
    remaining = slots.remaining or 0
    amount = remaining if method.source == "credit_card" else min(int(method.amount), remaining)
    payments = [*(slots.payments or []), Payment(payment_id=method.id, amount=amount)]
    labels = payment_labels(slots.user, SOURCES)
    left = _usable(slots, slots.methods or {}, payments)
    return {
        "payments": payments,
        "remaining": remaining - amount,
        "payment_choice": None,
        "payment_text": ", ".join(f"${p.amount} on {labels[p.payment_id]}" for p in payments),
        "methods": left,
        "method_list": payment_list(slots.user, left),
    }


@tool(reads=("payment_choice", "payments"), writes=("payment_choice", "policy_rule"))
def refuse_payment(slots: BookSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Explain why the chosen method cannot be added and forget it, to ask for another."""
    return {"policy_rule": payment_mix_decision(slots).rule, "payment_choice": None}


@tool(reads=("payments", "segments", "passengers"), writes=("policy_rule",))
def review_booking(slots: BookSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Apply every booking rule to the complete booking."""
    return {"policy_rule": booking_decision(slots).rule}


@tool(
    reads=(
        "user_id",
        "origin",
        "destination",
        "trip_type",
        "cabin",
        "flights",
        "passengers",
        "payments",
        "total_bags",
        "nonfree",
        "insurance",
    ),
    writes=("booked_id",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_book,
    error_slot="book_error",
)
def book_reservation(
    slots: BookSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Book the reservation (tau2's book_reservation)."""
    s = slots
    assert s.user_id and s.origin and s.destination and s.trip_type and s.cabin
    assert s.flights and s.passengers and s.payments is not None
    try:
        booked = env.book_reservation(
            s.user_id,
            s.origin,
            s.destination,
            s.trip_type,
            s.cabin,
            s.flights,
            s.passengers,
            s.payments,
            s.total_bags or 0,
            s.nonfree or 0,
            "yes" if s.insurance else "no",
        )
    except ValueError as exc:
        raise ToolError("book_reservation", str(exc)) from exc
    return {"booked_id": booked.reservation_id}
