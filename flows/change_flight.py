"""Change the flights or the cabin of an airline reservation (tau2-bench policy "Modify flight").

Identify the customer, find the reservation, ask what changes: the flights of one leg (new
date, then one of the direct or one-stop options on the same route), the cabin (always the
whole reservation), or both. Basic economy flights cannot change; the cabin cannot change once
a segment has been flown. The price difference is stated and paid (or refunded) with one credit
card or gift card from the profile, and nothing is written before the customer says yes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._airline import (
    CABINS,
    ReservationSlots,
    airline_env,
    identification,
    identification_states,
    reservation_cancelled,
    reservation_choice,
    reservation_loaded,
    reservation_states,
    segments_text,
)
from cxflow.flows._airline_change import (
    assess_request,
    early_decision,
    legs,
    may_change,
    quote_change,
    review_change,
    search_options,
    update_flights,
    wants_cabin,
    wants_flights,
)
from cxflow.tools.airline import AirlineTools, CabinClass, FlightInfo, ReservationFlight

ChangeKind = Literal["flights", "cabin", "flights_and_cabin"]


class ChangeSlots(ReservationSlots):
    """What the flight-change conversation knows."""

    change_kind: ChangeKind | None = Field(
        None, description="what to change: the flights, the cabin, or flights and cabin"
    )
    new_cabin: CabinClass | None = Field(None, description="the cabin for the whole reservation")
    leg: Literal["outbound", "return"] | None = Field(
        None, description="which leg's flights change: outbound or return"
    )
    new_date: date | None = Field(None, description="the new date of the leg's flights")
    options: dict[str, str] | None = None
    option_list: str | None = None
    option_flights: dict[str, list[FlightInfo]] | None = None
    search_error: str | None = None
    option: str | None = Field(None, description="the number of the flight option chosen")
    target_cabin: CabinClass | None = None
    cabin_text: str | None = None
    new_flights: list[FlightInfo] | None = None
    new_segments: list[ReservationFlight] | None = None
    itinerary_text: str | None = None
    change_cost: int | None = None
    difference_text: str | None = None
    quote_error: str | None = None
    cards: dict[str, str] | None = None
    card_list: str | None = None
    payment_id: str | None = Field(None, description="the credit card or gift card to use")
    cost_text: str | None = None
    changed: bool | None = None
    change_error: str | None = None


# -- guards ------------------------------------------------------------------------------------


def change_kind_given(slots: ChangeSlots) -> bool:
    """I need to know what to change."""
    return slots.change_kind is not None


def change_refused(slots: ChangeSlots) -> bool:
    """The policy does not allow this kind of change."""
    return slots.reservation is not None and not early_decision(slots).allowed


def cabin_missing(slots: ChangeSlots) -> bool:
    """I need the new cabin."""
    return wants_cabin(slots) and slots.new_cabin is None


def leg_missing(slots: ChangeSlots) -> bool:
    """I need to know which leg changes."""
    return wants_flights(slots) and slots.leg is None


def date_missing(slots: ChangeSlots) -> bool:
    """I need the new date."""
    return wants_flights(slots) and slots.new_date is None


def cabin_only(slots: ChangeSlots) -> bool:
    """Only the cabin changes."""
    return not wants_flights(slots) and slots.new_cabin is not None


def has_cabin(slots: ChangeSlots) -> bool:
    """I need the new cabin."""
    return slots.new_cabin is not None


def has_leg(slots: ChangeSlots) -> bool:
    """I need to know which leg changes."""
    return slots.leg is not None


def has_date(slots: ChangeSlots) -> bool:
    """I need the new date."""
    return slots.new_date is not None


def options_found(slots: ChangeSlots) -> bool:
    """Flight options must be found first."""
    return bool(slots.options)


def search_failed(slots: ChangeSlots) -> bool:
    """No flights were found."""
    return slots.search_error is not None


def option_chosen(slots: ChangeSlots) -> bool:
    """I need the option you want."""
    return slots.option is not None


def quoted(slots: ChangeSlots) -> bool:
    """The change must be priced first."""
    return slots.change_cost is not None


def quote_failed(slots: ChangeSlots) -> bool:
    """The change could not be priced."""
    return slots.quote_error is not None


def payment_chosen(slots: ChangeSlots) -> bool:
    """I need the credit card or gift card for the change."""
    return slots.payment_id is not None


def was_changed(slots: ChangeSlots) -> bool:
    """The reservation system confirmed the change."""
    return slots.changed is True


def change_failed(slots: ChangeSlots) -> bool:
    """The reservation system refused the change."""
    return slots.change_error is not None


def _cabin_choices(slots: ChangeSlots) -> dict[str, str]:
    return dict(CABINS)


def _leg_choices(slots: ChangeSlots) -> dict[str, str]:
    if slots.reservation is None:
        return {}
    outbound, back = legs(slots)
    choices = {"outbound": f"outbound ({segments_text(outbound)})"}
    if back:
        choices["return"] = f"return ({segments_text(back)})"
    return choices


def _option_choices(slots: ChangeSlots) -> dict[str, str]:
    return dict(slots.options or {})


def _card_choices(slots: ChangeSlots) -> dict[str, str]:
    return dict(slots.cards or {})


class ChangeFlight(Flow[ChangeSlots]):
    """Change a reservation's flights and/or cabin within the policy, after an explicit yes."""

    title = "Change flights or cabin"
    keywords = ("change", "modify", "reschedule", "move", "upgrade", "downgrade", "cabin", "date")
    example: ClassVar[tuple[str, ...]] = (
        "my user id is ava_moreno_1024",
        "K7QZ2M",
        "I'd like to change the flights",
        "May 19, 2024",
        "option 1",
        "the gift card",
        "yes",
    )
    facts = (
        SharedFact("reservation", "reservation_id", "the reservation being changed"),
        SharedFact("new_itinerary", "itinerary_text", "the flights after the change"),
        SharedFact(
            "price_difference",
            "change_cost",
            "what the customer pays (or gets back)",
            stated_by=("cost_text",),
        ),
    )

    identify, lookup_user, user_unknown = identification_states(
        "I can help you change your flights or cabin."
    )
    choose_reservation, load_reservation = reservation_states("change")
    ask_change = State(
        fills=("new_cabin", "change_kind"),  # the cabin first: the kind routes at once
        choices={"new_cabin": _cabin_choices},
        say="I have {reservation_summary}. What would you like to change: the flights, the "
        "cabin, or flights and cabin?",
        purpose="Find out whether the flights, the cabin or both change.",
    )
    check_request = State(tools=(assess_request,), purpose="Check the kind of change; route.")
    ask_cabin = State(
        fills=("new_cabin",),
        choices={"new_cabin": _cabin_choices},
        say="Which cabin would you like for the whole reservation: basic economy, economy or "
        "business?",
    )
    ask_leg = State(
        fills=("leg",),
        choices={"leg": _leg_choices},
        say="Which flights would you like to change: the outbound or the return flights?",
    )
    ask_date = State(fills=("new_date",), say="On which date would you like to fly instead?")
    search = State(tools=(search_options,), purpose="Find flights for the leg on the new date.")
    no_flights = State(
        fills=("new_date",),
        say="I found {search_error}. Would you like to try another date?",
    )
    choose_option = State(
        fills=("option",),
        choices={"option": _option_choices},
        say="Here are the options: {option_list}. Which option would you like?",
    )
    quote = State(tools=(quote_change,), purpose="Price the new itinerary.")
    ask_payment = State(
        fills=("payment_id",),
        choices={"payment_id": _card_choices},
        say="The new itinerary is {itinerary_text} in {cabin_text}: {difference_text} in total. "
        "Which credit card or gift card should I use for the payment or refund: {card_list}?",
    )
    review = State(tools=(review_change,), purpose="Apply every modification rule.")
    awaiting_confirmation = State(
        say="Here is the change to reservation {reservation_id}: flights {itinerary_text}, "
        "cabin {cabin_text}. {cost_text} Shall I make this change (yes/no)?",
        purpose="List the change, its price and payment; get an explicit yes or no.",
    )
    changing = State(tools=(update_flights,), purpose="Write the confirmed change.")
    changed_done = State(
        final=True,
        say="Done: reservation {reservation_id} now has {itinerary_text} in {cabin_text}.",
    )
    kept = State(final=True, outcome="declined", say="OK, I haven't changed anything.")
    refused = State(
        final=True, outcome="refused", say="I'm sorry, I can't make that change: {policy_rule}"
    )
    already_cancelled = State(
        final=True,
        outcome="refused",
        say="Reservation {reservation_id} is cancelled, so it cannot be changed.",
    )
    quote_problem = State(
        final=True, outcome="failed", say="I couldn't price that change: {quote_error}."
    )
    failed = State(final=True, outcome="failed", say="I couldn't change it: {change_error}.")

    identified = identification(identify, lookup_user, user_unknown, choose_reservation)
    picked = reservation_choice(choose_reservation, load_reservation)
    loaded = auto(
        load_reservation.to(already_cancelled, cond=reservation_cancelled)
        | load_reservation.to(ask_change, cond=reservation_loaded)
    )
    told = auto(ask_change.to(check_request, cond=change_kind_given))
    routed = auto(
        check_request.to(refused, cond=change_refused)
        | check_request.to(ask_cabin, cond=cabin_missing)
        | check_request.to(ask_leg, cond=leg_missing)
        | check_request.to(ask_date, cond=date_missing)
        | check_request.to(quote, cond=cabin_only)
    )
    cabin_given = auto(ask_cabin.to(check_request, cond=has_cabin))
    leg_given = auto(ask_leg.to(check_request, cond=has_leg))
    date_given = auto(ask_date.to(search, cond=has_date) | no_flights.to(search, cond=has_date))
    searched = auto(
        search.to(choose_option, cond=options_found) | search.to(no_flights, cond=search_failed)
    )
    option_given = auto(choose_option.to(quote, cond=option_chosen))
    priced = auto(quote.to(ask_payment, cond=quoted) | quote.to(quote_problem, cond=quote_failed))
    paid_with = auto(ask_payment.to(review, cond=payment_chosen))
    reviewed = auto(
        review.to(awaiting_confirmation, cond=may_change) | review.to(refused, cond=quoted)
    )
    confirm_change = describe(
        awaiting_confirmation.to(changing, cond=may_change),
        "The customer confirms the change, its price and payment as listed.",
        keywords=("<yes>", "confirm", "proceed", "go ahead"),
        confirms=update_flights,
    )
    decline_change = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the change.",
        keywords=("<no>", "keep"),
    )
    done = auto(
        changing.to(changed_done, cond=was_changed) | changing.to(failed, cond=change_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
