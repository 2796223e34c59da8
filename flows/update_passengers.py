"""Update a passenger's details on an airline reservation (tau2-bench "Change passengers").

Identify the customer, find the reservation, list its passengers, and replace one passenger's
name and date of birth. The number of passengers can never change (not even by a human agent):
asking to remove or add one is refused. The customer confirms the new passenger list first.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from cxflow.errors import ToolError
from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._airline import (
    ReservationSlots,
    airline_env,
    identification,
    identification_states,
    reservation_cancelled,
    reservation_choice,
    reservation_loaded,
    reservation_states,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.airline import AirlineTools, Passenger
from cxflow.tools.airline.policy import Decision, passenger_update_allowed
from cxflow.types import PersonName


class PassengerSlots(ReservationSlots):
    """What the passenger-update conversation knows."""

    passenger_list: str | None = None
    count_change: Literal["remove", "add"] | None = Field(
        None, description="the customer asks to remove or add a passenger (not allowed)"
    )
    passenger: str | None = Field(None, description="the number of the passenger to update")
    new_name: PersonName | None = Field(None, description="the passenger's full name")
    new_dob: date | None = Field(None, description="the passenger's date of birth")
    old_passenger: str | None = None
    new_passenger: str | None = None
    new_passengers: list[Passenger] | None = None
    passengers_updated: bool | None = None
    update_error: str | None = None


def _person(p: Passenger) -> str:
    return f"{p.first_name} {p.last_name} (born {p.dob})"


def _decision(slots: PassengerSlots) -> Decision:
    if slots.reservation is None or slots.new_passengers is None:
        return Decision(False, "The reservation and the new passenger details are needed first.")
    return passenger_update_allowed(slots.reservation, slots.new_passengers)


# -- guards ------------------------------------------------------------------------------------


def wants_count_change(slots: PassengerSlots) -> bool:
    """The number of passengers on a reservation cannot be changed."""
    return slots.count_change is not None


def passenger_chosen(slots: PassengerSlots) -> bool:
    """I need to know which passenger to update."""
    return slots.passenger is not None


def details_given(slots: PassengerSlots) -> bool:
    """I need the passenger's full name and date of birth."""
    return slots.new_name is not None and slots.new_dob is not None


def may_update_passengers(slots: PassengerSlots) -> bool:
    """The policy does not allow this passenger update."""
    return _decision(slots).allowed


def list_built(slots: PassengerSlots) -> bool:
    """The new passenger list must be built first."""
    return slots.new_passengers is not None


def passengers_written(slots: PassengerSlots) -> bool:
    """The reservation system confirmed the new passengers."""
    return slots.passengers_updated is True


def update_failed(slots: PassengerSlots) -> bool:
    """The reservation system refused the update."""
    return slots.update_error is not None


# -- tools -------------------------------------------------------------------------------------


@tool(reads=("reservation",), writes=("passenger_list",))
def list_passengers(
    slots: PassengerSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Number the reservation's passengers for the customer."""
    assert slots.reservation is not None
    people = slots.reservation.passengers
    return {"passenger_list": "; ".join(f"{i}. {_person(p)}" for i, p in enumerate(people, 1))}


@tool(
    reads=("reservation", "passenger", "new_name", "new_dob"),
    writes=("new_passengers", "old_passenger", "new_passenger", "policy_rule"),
)
def build_passengers(
    slots: PassengerSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """The reservation's passengers with the chosen one replaced (same count, same order)."""
    assert slots.reservation is not None and slots.passenger is not None
    assert slots.new_name is not None and slots.new_dob is not None
    first, _, last = slots.new_name.rpartition(" ")
    people = [p.model_copy() for p in slots.reservation.passengers]
    index = int(slots.passenger) - 1
    old = people[index]
    people[index] = Passenger(first_name=first, last_name=last, dob=slots.new_dob.isoformat())
    updates: dict[str, object] = {
        "new_passengers": people,
        "old_passenger": _person(old),
        "new_passenger": _person(people[index]),
    }
    probe = slots.model_copy(update={"new_passengers": people})
    updates["policy_rule"] = _decision(probe).rule
    return updates


@tool(
    reads=("reservation_id", "new_passengers"),
    writes=("passengers_updated",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_update_passengers,
    error_slot="update_error",
)
def update_passengers(
    slots: PassengerSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Write the new passenger list (tau2's update_reservation_passengers)."""
    assert slots.reservation_id and slots.new_passengers
    try:
        env.update_reservation_passengers(slots.reservation_id, slots.new_passengers)
    except ValueError as exc:
        raise ToolError("update_reservation_passengers", str(exc)) from exc
    return {"passengers_updated": True}


def _passenger_choices(slots: PassengerSlots) -> dict[str, str]:
    if slots.reservation is None:
        return {}
    people = slots.reservation.passengers
    return {str(i): f"{p.first_name} {p.last_name}" for i, p in enumerate(people, 1)}


class UpdatePassengers(Flow[PassengerSlots]):
    """Replace a passenger's name and date of birth; the passenger count never changes."""

    title = "Update passenger details"
    keywords = ("passenger", "passengers", "name", "traveler", "traveller", "birth")
    example: ClassVar[tuple[str, ...]] = (
        "my user id is ava_moreno_1024",
        "K7QZ2M",
        "Leo Moreno",
        "his name is Leo Garcia, born 2012-07-30",
        "yes",
    )
    facts = (
        SharedFact("reservation", "reservation_id", "the reservation being updated"),
        SharedFact("old_passenger", "old_passenger", "the passenger being replaced"),
        SharedFact("new_passenger", "new_passenger", "the passenger's new details"),
    )

    identify, lookup_user, user_unknown = identification_states(
        "I can help you update passenger details."
    )
    choose_reservation, load_reservation = reservation_states("update")
    choose_passenger = State(
        fills=("count_change", "passenger"),
        tools=(list_passengers,),
        choices={"passenger": _passenger_choices},
        say="The passengers on {reservation_id} are: {passenger_list}. Which passenger's "
        "details should I update?",
        purpose="Pick the passenger to update (removing or adding one is refused).",
    )
    ask_details = State(
        fills=("new_name", "new_dob"),
        say="What are the passenger's full name and date of birth?",
    )
    prepare = State(tools=(build_passengers,), purpose="Build the new passenger list.")
    awaiting_confirmation = State(
        say="Here is the change on reservation {reservation_id}: {old_passenger} becomes "
        "{new_passenger}; the other passengers stay as they are. Shall I update it (yes/no)?",
        purpose="List the passenger change; get an explicit yes or no.",
    )
    updating = State(tools=(update_passengers,), purpose="Write the confirmed passengers.")
    updated = State(final=True, say="Done: {new_passenger} is now on reservation {reservation_id}.")
    kept = State(final=True, outcome="declined", say="OK, the passengers stay as they are.")
    count_refused = State(
        final=True,
        outcome="refused",
        say="I'm sorry, the number of passengers on a reservation cannot be changed, not even by "
        "a human agent. I can update a passenger's name or date of birth.",
    )
    refused = State(
        final=True, outcome="refused", say="I'm sorry, I can't update it: {policy_rule}"
    )
    already_cancelled = State(
        final=True,
        outcome="refused",
        say="Reservation {reservation_id} is cancelled, so its passengers cannot change.",
    )
    failed = State(final=True, outcome="failed", say="I couldn't update it: {update_error}.")

    identified = identification(identify, lookup_user, user_unknown, choose_reservation)
    picked = reservation_choice(choose_reservation, load_reservation)
    loaded = auto(
        load_reservation.to(already_cancelled, cond=reservation_cancelled)
        | load_reservation.to(choose_passenger, cond=reservation_loaded)
    )
    passenger_picked = auto(
        choose_passenger.to(count_refused, cond=wants_count_change)
        | choose_passenger.to(ask_details, cond=passenger_chosen)
    )
    details_stated = auto(ask_details.to(prepare, cond=details_given))
    prepared = auto(
        prepare.to(awaiting_confirmation, cond=may_update_passengers)
        | prepare.to(refused, cond=list_built)
    )
    confirm_update = describe(
        awaiting_confirmation.to(updating, cond=may_update_passengers),
        "The customer confirms the passenger change as listed.",
        keywords=("<yes>", "confirm", "proceed", "go ahead"),
        confirms=update_passengers,
    )
    decline_update = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the change.",
        keywords=("<no>", "keep"),
    )
    done = auto(
        updating.to(updated, cond=passengers_written) | updating.to(failed, cond=update_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
