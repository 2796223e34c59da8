"""What every airline flow shares: identifying the customer, finding the reservation, payment
labels and the hand-off to a human agent.

tau2's airline policy starts every request the same way: obtain the user id (and check it
exists), then, for changes and cancellations, the reservation id, helping the customer find it
among their reservations when they do not know it. Each flow builds these states with
`identification_states()` / `reservation_states()` and wires them with `identification()` /
`reservation_choice()`, so a router that already identified the customer (same-named slots are
copied into the flows it starts) passes straight through them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints
from statemachine.transition_list import TransitionList

from cxflow.errors import ToolError
from cxflow.flow import Flow, State, auto
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.airline import (
    AirlineTools,
    CabinClass,
    FlightInfo,
    Reservation,
    ReservationFlight,
    User,
    load_airline_db,
    sample_db_path,
)
from cxflow.tools.airline.policy import flown_segments, segment_key
from cxflow.types import Parse


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


UserId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]+_[a-z]+_\d+$"),
    BeforeValidator(_lower),
    Parse("id"),
]
"""A user id such as `sara_doe_496` (read case-insensitively)."""

ReservationId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{6}$"),
    BeforeValidator(_upper),
    Parse("id"),
]
"""A six-character reservation id such as `8JX2WO`."""

MAX_OPTIONS = 6
"""Flight options offered after a search (cheapest first)."""

CABINS = {"basic_economy": "basic economy", "economy": "economy", "business": "business"}
"""The cabins, as the customer says them."""


class AirlineSlots(BaseModel):
    """Who the customer is: what every airline flow and the router share."""

    user_id: UserId | None = Field(None, description="the customer's user id, like sara_doe_496")
    user: User | None = None
    customer_name: str | None = None
    user_error: str | None = None
    reservations: dict[str, str] | None = None
    reservation_list: str | None = None


class ReservationSlots(AirlineSlots):
    """The customer plus the reservation a request is about."""

    reservation_id: ReservationId | None = Field(
        None, description="the six-character id of the reservation the request is about"
    )
    reservation: Reservation | None = None
    statuses: dict[str, str] | None = None
    reservation_summary: str | None = None
    policy_rule: str | None = None
    transfer_summary: str | None = None
    modified_reservation_id: str | None = None
    """Set when a change or cancellation was written (a delay certificate depends on it)."""


def airline_env(tau2_data: Path | None = None) -> AirlineTools:
    """The airline tools over a fresh copy of the bundled sample database, or of tau2's
    `airline/db.json` in `tau2_data` (a folder laid out like tau2-bench's `data/tau2/domains`)."""
    path = sample_db_path() if tau2_data is None else Path(tau2_data) / "airline" / "db.json"
    return AirlineTools(load_airline_db(path))


# ---- labels -----------------------------------------------------------------------------------


def route_label(reservation: Reservation) -> str:
    """How a customer names a trip: `JFK to SFO`."""
    return f"{reservation.origin} to {reservation.destination}"


def reservation_line(reservation: Reservation) -> str:
    """One line describing a reservation, for lists and confirmations."""
    trip = reservation.flight_type.replace("_", " ")
    people = len(reservation.passengers)
    line = (
        f"{reservation.reservation_id} ({route_label(reservation)}, {trip}, "
        f"{reservation.cabin.replace('_', ' ')}, {people} passenger{'s' * (people != 1)}, "
        f"{segments_text(reservation.flights)})"
    )
    return line + (" - cancelled" if reservation.status == "cancelled" else "")


def payment_labels(user: User, sources: tuple[str, ...]) -> dict[str, str]:
    """Short names the customer can use for their payment methods of these kinds.

    A brand (`visa`), `gift card` or `certificate` when it is the only one of its kind, else
    followed by the card's last four digits or the id's last four.
    """
    methods = [m for m in user.payment_methods.values() if m.source in sources]
    labels: dict[str, str] = {}
    for method in methods:
        if method.source == "credit_card":
            base, tail = method.brand.lower(), method.last_four
            same = [m for m in methods if m.source == "credit_card" and m.brand == method.brand]
        else:
            base, tail = method.source.replace("_", " "), method.id[-4:]
            same = [m for m in methods if m.source == method.source]
        labels[method.id] = base if len(same) == 1 else f"{base} {tail}"
    return labels


def payment_list(user: User, labels: dict[str, str]) -> str:
    """The payment methods with what they hold: `visa (card ending 4821), gift card ($180.00)`."""
    parts: list[str] = []
    for payment_id, label in labels.items():
        method = user.payment_methods[payment_id]
        detail = (
            f"card ending {method.last_four}"
            if method.source == "credit_card"
            else f"${method.amount:.2f}"
        )
        parts.append(f"{label} ({detail})")
    return ", ".join(parts)


def flight_options(
    env: AirlineTools, origin: str, destination: str, day: str, cabin: CabinClass, seats: int
) -> tuple[dict[str, str], dict[str, list[FlightInfo]]]:
    """Direct and one-stop flights with enough seats in a cabin, cheapest first, numbered.

    Returns:
        Per option number ("1", "2", ...), a label such as `CX101 08:00-10:30, $147 per
        passenger`, and the flights to book.

    Raises:
        ToolError: Nothing bookable that day.
    """
    found = [[f] for f in env.search_direct_flight(origin, destination, day)]
    found += env.search_onestop_flight(origin, destination, day)
    found = [legs for legs in found if all(f.available_seats[cabin] >= seats for f in legs)]
    found.sort(key=lambda legs: sum(f.prices[cabin] for f in legs))
    if not found:
        raise ToolError(
            "search_direct_flight",
            f"no {cabin.replace('_', ' ')} flights from {origin} to {destination} on {day} "
            f"with {seats} seat(s)",
        )
    labels: dict[str, str] = {}
    flights: dict[str, list[FlightInfo]] = {}
    for number, legs in enumerate(found[:MAX_OPTIONS], start=1):
        times = " + ".join(
            f"{f.flight_number} {f.scheduled_departure_time_est[:5]}-"
            f"{f.scheduled_arrival_time_est[:5]}"
            for f in legs
        )
        labels[str(number)] = f"{times}, ${sum(f.prices[cabin] for f in legs)} per passenger"
        flights[str(number)] = [
            FlightInfo(flight_number=f.flight_number, date=f.date or day) for f in legs
        ]
    return labels, flights


def options_text(labels: dict[str, str]) -> str:
    """The options as one line: `option 1: ...; option 2: ...`."""
    return "; ".join(f"option {key}: {label}" for key, label in labels.items())


def segments_text(segments: list[ReservationFlight]) -> str:
    """Segments as `CX101 JFK-ORD on 2024-05-18, CX201 ORD-SFO on 2024-05-18`."""
    return ", ".join(f"{s.flight_number} {s.origin}-{s.destination} on {s.date}" for s in segments)


# ---- guards -----------------------------------------------------------------------------------


def has_user_id(slots: AirlineSlots) -> bool:
    """I need your user id first."""
    return slots.user_id is not None


def user_found(slots: AirlineSlots) -> bool:
    """Your profile must be found first."""
    return slots.user is not None


def user_lookup_failed(slots: AirlineSlots) -> bool:
    """No profile has that user id."""
    return slots.user_error is not None


def has_reservation_id(slots: ReservationSlots) -> bool:
    """I need to know which reservation."""
    return slots.reservation_id is not None


def reservation_loaded(slots: ReservationSlots) -> bool:
    """The reservation's details must be loaded first."""
    return slots.reservation is not None


def reservation_cancelled(slots: ReservationSlots) -> bool:
    """This reservation is already cancelled."""
    return slots.reservation is not None and slots.reservation.status == "cancelled"


def segment_flown(slots: ReservationSlots) -> bool:
    """Part of this trip has already been flown."""
    return slots.reservation is not None and bool(
        flown_segments(slots.reservation, slots.statuses or {})
    )


# ---- tools ------------------------------------------------------------------------------------


@tool(
    reads=("user_id",),
    writes=("user_id", "user", "customer_name", "reservations", "reservation_list"),
    error_slot="user_error",
)
def find_user(slots: AirlineSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Look the user up and list their reservations (an unknown id is forgotten, to ask again)."""
    assert slots.user_id is not None
    try:
        user = env.get_user_details(slots.user_id)
    except ValueError as exc:
        raise ToolError("get_user_details", str(exc)) from exc
    found = [env.get_reservation_details(rid) for rid in user.reservations]
    return {
        "user": user,
        "customer_name": f"{user.name.first_name} {user.name.last_name}",
        "reservations": {r.reservation_id: route_label(r) for r in found},
        "reservation_list": "; ".join(reservation_line(r) for r in found) or "(none)",
    }


@tool(reads=("reservation_id",), writes=("reservation", "statuses", "reservation_summary"))
def load_reservation(
    slots: ReservationSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Load the reservation and the status of each of its flights."""
    assert slots.reservation_id is not None
    try:
        reservation = env.get_reservation_details(slots.reservation_id)
        statuses = {
            segment_key(s.flight_number, s.date): env.get_flight_status(s.flight_number, s.date)
            for s in reservation.flights
        }
    except ValueError as exc:
        raise ToolError("get_reservation_details", str(exc)) from exc
    return {
        "reservation": reservation,
        "statuses": statuses,
        "reservation_summary": reservation_line(reservation),
    }


@tool(reads=("user_id", "reservation_id", "policy_rule"), writes=("transfer_summary",))
def transfer_to_human(
    slots: ReservationSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Transfer the customer to a human agent (tau2's transfer_to_human_agents) with a summary.

    Run on entering a final state with outcome "handed_off", which ends the whole conversation
    (a router's included) with "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON."
    """
    summary = (
        f"User {slots.user_id} needs help with reservation {slots.reservation_id}: "
        f"{slots.policy_rule or 'part of the trip has already been flown'}"
    )
    env.transfer_to_human_agents(summary)
    return {"transfer_summary": summary}


# ---- states and their wiring ------------------------------------------------------------------


def identification_states(
    greeting: str, *, starts: tuple[type[Flow[Any]], ...] = (), returns_to: str | None = None
) -> tuple[State, State, State]:
    """The states that obtain and check the user id: (identify, lookup_user, user_unknown).

    A router passes `starts`/`returns_to` so a customer who opens with a request can start it
    before giving the user id (the started flow then asks for it).
    """
    identify = State(
        initial=True,
        fills=("user_id",),
        say=f"{greeting} First, what is your user id?",
        purpose="Obtain the customer's user id (policy: always first).",
        starts=starts,
        returns_to=returns_to,
    )
    lookup_user = State(tools=(find_user,), purpose="Check the user id and list reservations.")
    user_unknown = State(
        fills=("user_id",),
        say="I couldn't find that profile ({user_error}). What is your user id?",
        purpose="Ask again for a user id that exists.",
    )
    return identify, lookup_user, user_unknown


def identification(
    identify: State, lookup_user: State, user_unknown: State, then: State
) -> TransitionList:
    """Wire the identification states; go to `then` once the profile is found."""
    return auto(
        identify.to(lookup_user, cond=has_user_id)
        | user_unknown.to(lookup_user, cond=has_user_id)
        | lookup_user.to(then, cond=user_found)
        | lookup_user.to(user_unknown, cond=user_lookup_failed)
    )


def _reservation_choices(slots: Any) -> dict[str, str]:
    return dict(slots.reservations or {})


def reservation_states(action: str) -> tuple[State, State]:
    """The states that find the reservation: (choose_reservation, load_reservation)."""
    choose = State(
        fills=("reservation_id",),
        choices={"reservation_id": _reservation_choices},
        say=f"Thanks, {{customer_name}}. Which reservation would you like to {action}? "
        "Your reservations: {reservation_list}.",
        purpose="Find the reservation, listing the customer's reservations to help.",
    )
    load = State(tools=(load_reservation,), purpose="Load the reservation and flight statuses.")
    return choose, load


def reservation_choice(choose: State, load: State) -> TransitionList:
    """Wire the reservation states: load the reservation once the customer picked it."""
    return auto(choose.to(load, cond=has_reservation_id))
