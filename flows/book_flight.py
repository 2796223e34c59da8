"""Book a new airline reservation, following tau2-bench's airline policy ("Book flight").

Identify the customer (user id first), then ask the trip type, origin and destination, the
dates, the cabin (one for every flight) and the number of passengers (at most five). Offer the
direct and one-stop options, collect each passenger's name and date of birth, the checked bags
(free allowance by membership and cabin, $50 per extra bag) and whether to buy travel insurance
($30 per passenger). Payment comes from the profile only: at most one travel certificate, one
credit card and three gift cards. The booking is made after an explicit yes to every detail.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._airline import (
    CABINS,
    AirlineSlots,
    airline_env,
    identification,
    identification_states,
)
from cxflow.flows._airline_booking import (
    TRIPS,
    add_passenger,
    allocate_payment,
    book_reservation,
    list_airports,
    may_book,
    payment_mix_decision,
    price_booking,
    refuse_payment,
    review_booking,
    search_outbound,
    search_return,
    start_passengers,
    state_allowance,
)
from cxflow.tools.airline import (
    AirlineTools,
    CabinClass,
    FlightInfo,
    Passenger,
    Payment,
    ReservationFlight,
)
from cxflow.tools.airline.policy import MAX_PASSENGERS
from cxflow.tools.airline.pricing import INSURANCE_PER_PASSENGER
from cxflow.types import PersonName


class BookSlots(AirlineSlots):
    """What the booking conversation knows."""

    trip_type: Literal["one_way", "round_trip"] | None = Field(
        None, description="one way or round trip"
    )
    airports: dict[str, str] | None = None
    origin: str | None = Field(None, description="the airport the trip starts from (IATA code)")
    destination: str | None = Field(None, description="the airport the trip goes to")
    depart_date: date | None = Field(None, description="the date of the outbound flights")
    return_date: date | None = Field(None, description="the date of the return flights")
    cabin: CabinClass | None = Field(None, description="the cabin for every flight")
    passenger_count: int | None = Field(None, description="how many passengers travel")
    out_options: dict[str, str] | None = None
    out_list: str | None = None
    out_flights: dict[str, list[FlightInfo]] | None = None
    out_error: str | None = None
    out_choice: str | None = Field(None, description="the number of the outbound option")
    back_options: dict[str, str] | None = None
    back_list: str | None = None
    back_flights: dict[str, list[FlightInfo]] | None = None
    back_error: str | None = None
    back_choice: str | None = Field(None, description="the number of the return option")
    passengers: list[Passenger] | None = None
    passenger_number: int | None = None
    passenger_name: PersonName | None = Field(None, description="a passenger's full name")
    passenger_dob: date | None = Field(None, description="that passenger's date of birth")
    allowance_text: str | None = None
    total_bags: int | None = Field(None, description="how many checked bags in total")
    insurance: bool | None = Field(None, description="whether to buy travel insurance")
    flights: list[FlightInfo] | None = None
    segments: list[ReservationFlight] | None = None
    nonfree: int | None = None
    price: int | None = None
    summary: str | None = None
    methods: dict[str, str] | None = None
    method_list: str | None = None
    payment_choice: str | None = Field(None, description="the payment method to use next")
    payments: list[Payment] | None = None
    remaining: int | None = None
    payment_text: str | None = None
    policy_rule: str | None = None
    booked_id: str | None = None
    book_error: str | None = None


# -- guards ------------------------------------------------------------------------------------


def trip_given(slots: BookSlots) -> bool:
    """I need the trip type."""
    return slots.trip_type is not None


def origin_given(slots: BookSlots) -> bool:
    """I need the origin."""
    return slots.origin is not None


def destination_given(slots: BookSlots) -> bool:
    """I need the destination."""
    return slots.destination is not None


def round_trip_dated(slots: BookSlots) -> bool:
    """I need the departure date of the round trip."""
    return slots.depart_date is not None and slots.trip_type == "round_trip"


def dates_given(slots: BookSlots) -> bool:
    """I need the travel dates."""
    return slots.depart_date is not None and (
        slots.trip_type == "one_way" or slots.return_date is not None
    )


def cabin_given(slots: BookSlots) -> bool:
    """I need the cabin."""
    return slots.cabin is not None


def count_given(slots: BookSlots) -> bool:
    """I need the number of passengers."""
    return slots.passenger_count is not None


def too_many_passengers(slots: BookSlots) -> bool:
    """A reservation can have one to five passengers."""
    return slots.passenger_count is not None and not 1 <= slots.passenger_count <= MAX_PASSENGERS


def out_found(slots: BookSlots) -> bool:
    """Outbound options must be found first."""
    return bool(slots.out_options)


def out_missing(slots: BookSlots) -> bool:
    """No outbound flights were found."""
    return slots.out_error is not None


def out_chosen(slots: BookSlots) -> bool:
    """I need the outbound option."""
    return slots.out_choice is not None


def out_chosen_round_trip(slots: BookSlots) -> bool:
    """The return flights come next."""
    return slots.out_choice is not None and slots.trip_type == "round_trip"


def back_found(slots: BookSlots) -> bool:
    """Return options must be found first."""
    return bool(slots.back_options)


def back_missing(slots: BookSlots) -> bool:
    """No return flights were found."""
    return slots.back_error is not None


def back_chosen(slots: BookSlots) -> bool:
    """I need the return option."""
    return slots.back_choice is not None


def has_return_date(slots: BookSlots) -> bool:
    """I need the return date."""
    return slots.return_date is not None


def has_depart_date(slots: BookSlots) -> bool:
    """I need the departure date."""
    return slots.depart_date is not None


def passenger_given(slots: BookSlots) -> bool:
    """I need the passenger's full name and date of birth."""
    return slots.passenger_name is not None and slots.passenger_dob is not None


def more_passengers(slots: BookSlots) -> bool:
    """Every passenger's details are needed."""
    return len(slots.passengers or []) < (slots.passenger_count or 0)


def all_passengers(slots: BookSlots) -> bool:
    """Every passenger's details are needed."""
    return slots.passengers is not None and not more_passengers(slots)


def bags_given(slots: BookSlots) -> bool:
    """I need the number of checked bags."""
    return slots.total_bags is not None


def insurance_given(slots: BookSlots) -> bool:
    """I need to know whether you want travel insurance."""
    return slots.insurance is not None


def payment_chosen(slots: BookSlots) -> bool:
    """I need the payment method."""
    return slots.payment_choice is not None


def payment_mix_ok(slots: BookSlots) -> bool:
    """A reservation can use at most one certificate, one credit card and three gift cards."""
    return slots.payment_choice is not None and payment_mix_decision(slots).allowed


def still_to_pay(slots: BookSlots) -> bool:
    """The whole price must be covered."""
    return (slots.remaining or 0) > 0


def fully_paid(slots: BookSlots) -> bool:
    """The whole price must be covered."""
    return slots.remaining == 0 and slots.payment_choice is None


def was_booked(slots: BookSlots) -> bool:
    """The reservation system confirmed the booking."""
    return slots.booked_id is not None


def book_failed(slots: BookSlots) -> bool:
    """The reservation system refused the booking."""
    return slots.book_error is not None


# -- choices -----------------------------------------------------------------------------------


def _trips(slots: BookSlots) -> dict[str, str]:
    return dict(TRIPS)


def _origins(slots: BookSlots) -> dict[str, str]:
    return dict(slots.airports or {})


def _destinations(slots: BookSlots) -> dict[str, str]:
    return {k: v for k, v in (slots.airports or {}).items() if k != slots.origin}


def _cabins(slots: BookSlots) -> dict[str, str]:
    return dict(CABINS)


def _out(slots: BookSlots) -> dict[str, str]:
    return dict(slots.out_options or {})


def _back(slots: BookSlots) -> dict[str, str]:
    return dict(slots.back_options or {})


def _methods(slots: BookSlots) -> dict[str, str]:
    return dict(slots.methods or {})


class BookFlight(Flow[BookSlots]):
    """Book a one-way or round trip within the booking rules, after an explicit yes."""

    title = "Book a flight"
    keywords = ("book", "booking", "reserve", "new flight", "new reservation", "ticket")
    example: ClassVar[tuple[str, ...]] = (
        "my user id is ava_moreno_1024",
        "one way",
        "from Boston",
        "to New York",
        "2024-05-18",
        "economy",
        "one passenger",
        "option 1",
        "It's Ava Moreno, born 1988-03-14",
        "one bag",
        "no thanks",
        "the gift card",
        "yes",
    )
    facts = (
        SharedFact("booking", "summary", "the trip, passengers, bags, insurance and price"),
        SharedFact(
            "price", "price", "the total price stated to the customer", stated_by=("summary",)
        ),
        SharedFact("payment", "payment_text", "how the price is paid"),
    )

    identify, lookup_user, user_unknown = identification_states("I can help you book a flight.")
    ask_trip = State(
        fills=("trip_type",),
        tools=(list_airports,),
        choices={"trip_type": _trips},
        say="Thanks, {customer_name}. Is this a one way or a round trip?",
    )
    ask_origin = State(
        fills=("origin",),
        choices={"origin": _origins},
        say="Where are you flying from?",
    )
    ask_destination = State(
        fills=("destination",),
        choices={"destination": _destinations},
        say="And where are you flying to?",
    )
    ask_depart = State(fills=("depart_date",), say="On which date would you like to leave?")
    ask_return = State(fills=("return_date",), say="On which date would you like to come back?")
    ask_cabin = State(
        fills=("cabin",),
        choices={"cabin": _cabins},
        say="Which cabin would you like for every flight: basic economy, economy or business?",
    )
    ask_count = State(
        fills=("passenger_count",), say="How many passengers are traveling (at most five)?"
    )
    search_out = State(tools=(search_outbound,), purpose="Search the outbound options.")
    no_out = State(fills=("depart_date",), say="I found {out_error}. Another departure date?")
    choose_out = State(
        fills=("out_choice",),
        choices={"out_choice": _out},
        say="Outbound options: {out_list}. Which option would you like?",
    )
    search_back = State(tools=(search_return,), purpose="Search the return options.")
    no_back = State(fills=("return_date",), say="I found {back_error}. Another return date?")
    choose_back = State(
        fills=("back_choice",),
        choices={"back_choice": _back},
        say="Return options: {back_list}. Which option would you like?",
    )
    collect = State(tools=(start_passengers,), purpose="Start collecting passengers.")
    ask_passenger = State(
        fills=("passenger_name", "passenger_dob"),
        say="What are the full name and date of birth of passenger {passenger_number}?",
    )
    add = State(tools=(add_passenger,), purpose="Add the passenger.")
    ask_bags = State(
        fills=("total_bags",),
        tools=(state_allowance,),
        say="{allowance_text} How many checked bags would you like in total?",
    )
    ask_insurance = State(
        fills=("insurance",),
        say=f"Would you like travel insurance for ${INSURANCE_PER_PASSENGER} per passenger? It "
        "gives a full refund if you must cancel for health or weather reasons.",
    )
    pricing = State(tools=(price_booking,), purpose="Price the booking.")
    ask_payment = State(
        fills=("payment_choice",),
        choices={"payment_choice": _methods},
        say="The total is ${price}; ${remaining} is left to pay. Which payment method should I "
        "use: {method_list}? A booking can combine one travel certificate, one credit card and "
        "up to three gift cards.",
    )
    add_payment = State(tools=(allocate_payment,), purpose="Charge the chosen method.")
    payment_refused = State(
        fills=("payment_choice",),
        tools=(refuse_payment,),
        choices={"payment_choice": _methods},
        say="{policy_rule} Which other payment method should I use for the ${remaining} left: "
        "{method_list}?",
    )
    review = State(tools=(review_booking,), purpose="Apply every booking rule.")
    awaiting_confirmation = State(
        say="Here is the booking: {summary}, paid with {payment_text}. (The unused part of a "
        "travel certificate is not refunded.) Shall I book it (yes/no)?",
        purpose="List every detail of the booking; get an explicit yes or no.",
    )
    booking = State(tools=(book_reservation,), purpose="Book the confirmed reservation.")
    booked = State(final=True, say="Booked! Your reservation id is {booked_id}.")
    declined = State(final=True, outcome="declined", say="OK, I haven't booked anything.")
    too_many = State(
        final=True,
        outcome="refused",
        say=f"I'm sorry, a reservation can have at most {MAX_PASSENGERS} passengers.",
    )
    refused = State(final=True, outcome="refused", say="I'm sorry, I can't book it: {policy_rule}")
    failed = State(final=True, outcome="failed", say="I couldn't book it: {book_error}.")

    identified = identification(identify, lookup_user, user_unknown, ask_trip)
    trip_stated = auto(ask_trip.to(ask_origin, cond=trip_given))
    origin_stated = auto(ask_origin.to(ask_destination, cond=origin_given))
    destination_stated = auto(ask_destination.to(ask_depart, cond=destination_given))
    departure_stated = auto(
        ask_depart.to(ask_return, cond=round_trip_dated)
        | ask_depart.to(ask_cabin, cond=dates_given)
    )
    return_stated = auto(ask_return.to(ask_cabin, cond=dates_given))
    cabin_stated = auto(ask_cabin.to(ask_count, cond=cabin_given))
    counted = auto(
        ask_count.to(too_many, cond=too_many_passengers)
        | ask_count.to(search_out, cond=count_given)
    )
    searched_out = auto(
        search_out.to(choose_out, cond=out_found) | search_out.to(no_out, cond=out_missing)
    )
    redated_out = auto(no_out.to(search_out, cond=has_depart_date))
    out_picked = auto(
        choose_out.to(search_back, cond=out_chosen_round_trip)
        | choose_out.to(collect, cond=out_chosen)
    )
    searched_back = auto(
        search_back.to(choose_back, cond=back_found) | search_back.to(no_back, cond=back_missing)
    )
    redated_back = auto(no_back.to(search_back, cond=has_return_date))
    back_picked = auto(choose_back.to(collect, cond=back_chosen))
    collecting = auto(collect.to(ask_passenger, cond=more_passengers))
    passenger_stated = auto(ask_passenger.to(add, cond=passenger_given))
    added = auto(
        add.to(ask_passenger, cond=more_passengers) | add.to(ask_bags, cond=all_passengers)
    )
    bags_stated = auto(ask_bags.to(ask_insurance, cond=bags_given))
    insurance_stated = auto(ask_insurance.to(pricing, cond=insurance_given))
    priced = auto(pricing.to(ask_payment, cond=still_to_pay))
    method_chosen = auto(
        ask_payment.to(add_payment, cond=payment_mix_ok)
        | ask_payment.to(payment_refused, cond=payment_chosen)
        | payment_refused.to(add_payment, cond=payment_mix_ok)
        | payment_refused.to(payment_refused, cond=payment_chosen)
    )
    charged = auto(
        add_payment.to(ask_payment, cond=still_to_pay) | add_payment.to(review, cond=fully_paid)
    )
    reviewed = auto(
        review.to(awaiting_confirmation, cond=may_book) | review.to(refused, cond=fully_paid)
    )
    confirm_booking = describe(
        awaiting_confirmation.to(booking, cond=may_book),
        "The customer confirms the booking, its price and payment as listed.",
        keywords=("<yes>", "confirm", "proceed", "go ahead", "book it"),
        confirms=book_reservation,
    )
    decline_booking = describe(
        awaiting_confirmation.to(declined),
        "The customer does not want to book.",
        keywords=("<no>",),
    )
    done = auto(booking.to(booked, cond=was_booked) | booking.to(failed, cond=book_failed))

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
