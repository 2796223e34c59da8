"""The airline desk: identify the customer once, then handle one request after another.

The policy's first step for every request is the user id, so the router asks for it (and checks
it exists) before anything else; every flow it starts receives the identification (same-named
slots are copied in) and passes straight through its own identification states. A customer
who opens with a request instead starts that flow right away; it identifies them itself and the
router keeps what it learned for the next request.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, State, describe
from cxflow.flows._airline import (
    AirlineSlots,
    airline_env,
    identification,
    identification_states,
)
from cxflow.flows.book_flight import BookFlight
from cxflow.flows.cancel_reservation import CancelReservation
from cxflow.flows.change_flight import ChangeFlight
from cxflow.flows.request_compensation import RequestCompensation
from cxflow.flows.update_baggage import UpdateBaggage
from cxflow.flows.update_passengers import UpdatePassengers
from cxflow.tools.airline import AirlineTools

REQUESTS = (
    BookFlight,
    ChangeFlight,
    CancelReservation,
    UpdateBaggage,
    UpdatePassengers,
    RequestCompensation,
)
"""Every airline request flow, in the order the menu names them."""


class AirlineSupport(Flow[AirlineSlots]):
    """Identify the airline customer once, then route each request to its flow."""

    title = "Airline support"
    keywords = ("airline", "flight", "reservation")
    example: ClassVar[tuple[str, ...]] = (
        "hi, my user id is ava_moreno_1024",
        "I need to add checked bags",
        "K7QZ2M",
        "3",
        "yes",
        "I also want to update a passenger",
        "K7QZ2M",
        "Leo Moreno",
        "his name is Leo Garcia, born 2012-07-30",
        "yes",
        "no, that's all",
    )

    identify, lookup_user, user_unknown = identification_states(
        "Welcome to the airline desk.", starts=REQUESTS, returns_to="anything_else"
    )
    menu = State(
        starts=REQUESTS,
        returns_to="anything_else",
        say="Thanks, {customer_name}. How can I help you today? I can book a flight, change "
        "flights or the cabin, cancel a reservation, add checked bags, update passenger "
        "details, or look into compensation for a cancelled or delayed flight.",
        purpose="Find out what the customer needs and start that flow.",
    )
    anything_else = State(
        starts=REQUESTS,
        say="Is there anything else I can help you with?",
        purpose="Start another request, or end the conversation.",
    )
    goodbye = State(final=True, say="Thank you for contacting us, {customer_name}. Goodbye!")

    identified = identification(identify, lookup_user, user_unknown, menu)
    finish = describe(
        anything_else.to(goodbye) | menu.to(goodbye),
        "The customer needs nothing (more).",
        keywords=("<no>", "that's all", "nothing", "bye", "goodbye"),
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
