"""The airline agent tools, with tau2-bench's exact semantics.

`AirlineTools` reproduces tau2-bench 1.0.1's 14 airline tools: argument names, return values,
error messages and side effects, including those the written policy forbids (the tools do not
enforce it): cancelling appends negated payments but refunds nothing and frees no seats, a
certificate is consumed whole, a cheaper itinerary credits a gift card, new ids come from tau2's
fixed lists and "now" is fixed. Gift card balances change by unrounded float arithmetic.

Arguments are used as given, never validated up front (tau2 does not either): a string where a
list is expected is iterated character by character, and pydantic's messages for bad values
surface as the tool's error. Errors are exceptions; `call` renders them as tau2 does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any, Literal, TypeAlias, cast

from cxflow.tools._tau2 import ToolResult, invoke
from cxflow.tools.airline._records import AIRPORTS, RecordAccess, as_models
from cxflow.tools.airline.models import (
    AirlineDB,
    AirportCode,
    CabinClass,
    Certificate,
    DirectFlight,
    FlightDateStatusAvailable,
    FlightInfo,
    FlightType,
    GiftCard,
    Insurance,
    Passenger,
    Payment,
    Reservation,
    ReservationFlight,
    User,
)

__all__ = ["NOW", "TOOL_NAMES", "TOOL_TYPES", "AirlineTools", "ToolType"]

NOW = "2024-05-15T15:00:00"
"""tau2-bench's fixed "now" for the airline domain (stored as `created_at` of new bookings)."""

ToolType: TypeAlias = Literal["read", "write", "generic"]
"""tau2's classification of a tool: reads the DB, writes it, or touches neither."""

TOOL_TYPES: Mapping[str, ToolType] = {
    "book_reservation": "write",
    "calculate": "generic",
    "cancel_reservation": "write",
    "get_flight_status": "read",
    "get_reservation_details": "read",
    "get_user_details": "read",
    "list_all_airports": "read",
    "search_direct_flight": "read",
    "search_onestop_flight": "read",
    "send_certificate": "write",
    "transfer_to_human_agents": "generic",
    "update_reservation_baggages": "write",
    "update_reservation_flights": "write",
    "update_reservation_passengers": "write",
}
"""Every agent tool and what it does to the DB, as tau2 classifies it."""

TOOL_NAMES: tuple[str, ...] = tuple(TOOL_TYPES)
"""The 14 agent tools tau2 exposes in the airline domain, sorted."""

_CALCULATOR_CHARS = frozenset("0123456789+-*/(). ")


class AirlineTools(RecordAccess):
    """The airline agent tools over one `AirlineDB` (write tools mutate it in place).

    The class name is part of tau2's observable behaviour: Python's argument errors read
    `AirlineTools.list_all_airports() got an unexpected keyword argument 'city'`.

    Attributes:
        db: The database the tools read and write.
    """

    def __init__(self, db: AirlineDB) -> None:
        """Wrap a database.

        Args:
            db: The database to read and write.
        """
        self.db = db

    def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one tool as tau2's environment does and return the text the agent sees.

        Args:
            name: The tool name (anything else gives `Error: Tool '<name>' not found.`).
            arguments: Keyword arguments exactly as the model gave them.

        Returns:
            The rendered result, or `"Error: <message>"` with `error=True` if the tool raised.
        """
        return invoke(self, TOOL_NAMES, name, arguments)

    # ---- read tools ---------------------------------------------------------------------------

    def get_user_details(self, user_id: str) -> User:
        """Get a user's profile, including payment methods and reservation ids.

        Args:
            user_id: The user id, such as `sara_doe_496` (matched exactly).

        Raises:
            ValueError: `User <id> not found`.
        """
        return self._get_user(user_id)

    def get_reservation_details(self, reservation_id: str) -> Reservation:
        """Get a reservation's details.

        Args:
            reservation_id: The six-character reservation id, such as `8JX2WO`.

        Raises:
            ValueError: `Reservation <id> not found`.
        """
        return self._get_reservation(reservation_id)

    def list_all_airports(self) -> list[AirportCode]:
        """List the 20 airports the airline serves (a fixed list, not read from the DB)."""
        return [AirportCode(iata=iata, city=city) for iata, city in AIRPORTS]

    def search_direct_flight(self, origin: str, destination: str, date: str) -> list[DirectFlight]:
        """Find direct flights between two airports that are bookable on a date.

        Args:
            origin: IATA code, matched case-sensitively (`"phl"` finds nothing).
            destination: IATA code.
            date: `YYYY-MM-DD`; only dates whose status is `available` count.

        Returns:
            The flights in DB order, with seats and prices for that date and `date` unset.
        """
        return self._search_direct_flight(date, origin=origin, destination=destination)

    def search_onestop_flight(
        self, origin: str, destination: str, date: str
    ) -> list[list[DirectFlight]]:
        """Find two-leg connections between two airports starting on a date.

        The second leg must leave (same-day string comparison of the times) no earlier than the
        first arrives. If the first leg arrives the next day (`+1`), the second leg is searched
        on `2024-05-<day + 1>`, tau2's arithmetic: unpadded and May only.

        Args:
            origin: IATA code of the first leg's origin.
            destination: IATA code of the second leg's destination.
            date: `YYYY-MM-DD` of the first leg.

        Returns:
            `[leg1, leg2]` pairs, each leg with its `date` set.
        """
        results: list[list[DirectFlight]] = []
        for first in self._search_direct_flight(date, origin=origin):
            first.date = date
            second_date = (
                f"2024-05-{int(date[-2:]) + 1}"
                if "+1" in first.scheduled_arrival_time_est
                else date
            )
            for second in self._search_direct_flight(
                second_date,
                origin=first.destination,
                destination=destination,
                leave_after=first.scheduled_arrival_time_est,
            ):
                second.date = second_date
                results.append([first, second])
        return results

    def get_flight_status(self, flight_number: str, date: str) -> str:
        """Get a flight's status on a date (`available`, `landed`, `cancelled`, ...).

        Args:
            flight_number: The flight number, such as `HAT001`.
            date: `YYYY-MM-DD`.

        Raises:
            ValueError: `Flight <n> not found` or `Flight <n> not found on date <d>`.
        """
        return self._get_flight_instance(flight_number, date).status

    # ---- generic tools ------------------------------------------------------------------------

    def calculate(self, expression: str) -> str:
        """Evaluate arithmetic made of digits, `+ - * / ( ) .` and spaces.

        Args:
            expression: The expression, such as `(137 + 411) * 2 / 3`.

        Returns:
            The value as a float rounded to 2 decimals, as text (`"4.0"`, `"365.33"`).

        Raises:
            ValueError: `Invalid characters in expression`.
            ZeroDivisionError, SyntaxError: From Python's own evaluation, as in tau2.
        """
        if not all(char in _CALCULATOR_CHARS for char in expression):
            raise ValueError("Invalid characters in expression")
        # The character check leaves only arithmetic; eval gives tau2's exact results and errors.
        return str(round(float(eval(expression, {"__builtins__": None}, {})), 2))

    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the conversation to a human agent, with a summary of the issue.

        Args:
            summary: What the customer needs, for the human agent.
        """
        return "Transfer successful"

    # ---- write tools --------------------------------------------------------------------------

    def book_reservation(
        self,
        user_id: str,
        origin: str,
        destination: str,
        flight_type: FlightType,
        cabin: CabinClass,
        flights: Sequence[FlightInfo | dict[str, Any]],
        passengers: Sequence[Passenger | dict[str, Any]],
        payment_methods: Sequence[Payment | dict[str, Any]],
        total_baggages: int,
        nonfree_baggages: int,
        insurance: Insurance,
    ) -> Reservation:
        """Book a reservation, charge it and take the seats.

        Price: each flight's cabin price per passenger, plus 30 per passenger with insurance,
        plus 50 per non-free bag. The payments must add up to it exactly. Gift cards are
        debited; a certificate is removed whole.

        Args:
            user_id: The user booking, such as `sara_doe_496`.
            origin: IATA code of the trip's origin.
            destination: IATA code of the trip's destination.
            flight_type: `one_way` or `round_trip`.
            cabin: `basic_economy`, `economy` or `business`, the same on every flight.
            flights: Each segment as `{"flight_number": ..., "date": "YYYY-MM-DD"}`.
            passengers: Each as `{"first_name": ..., "last_name": ..., "dob": "YYYY-MM-DD"}`.
            payment_methods: Each as `{"payment_id": ..., "amount": <whole dollars>}`, ids
                from the user's profile.
            total_baggages: Bags in the reservation.
            nonfree_baggages: Bags that are charged.
            insurance: `yes` or `no`.

        Returns:
            The new reservation (id `HATHAT`, then `HATHAU`, `HATHAV`; created at `NOW`).

        Raises:
            ValueError: Unknown user, flight or date; flight not available; not enough seats;
                unknown payment method; gift card or certificate short; amounts don't add up;
                `Too many reservations`. Nothing is written before every check has passed
                (except, as in tau2, a certificate listed twice: a KeyError half-way).
            pydantic.ValidationError: A bad trip type, cabin, insurance, passenger or payment.
        """
        flight_infos = as_models(flights, FlightInfo)
        people = as_models(passengers, Passenger)
        payments = as_models(payment_methods, Payment)
        user = self._get_user(user_id)
        reservation_id = self._new_reservation_id()
        reservation = Reservation(
            reservation_id=reservation_id,
            user_id=user_id,
            origin=origin,
            destination=destination,
            flight_type=flight_type,
            cabin=cabin,
            flights=[],
            passengers=deepcopy(people),
            payment_history=deepcopy(payments),
            created_at=NOW,
            total_baggages=total_baggages,
            nonfree_baggages=nonfree_baggages,
            insurance=insurance,
        )

        total_price = 0
        booked: list[FlightDateStatusAvailable] = []
        for info in flight_infos:
            flight = self._get_flight(info.flight_number)
            on_date = self._get_flight_instance(info.flight_number, info.date)
            if not isinstance(on_date, FlightDateStatusAvailable):
                raise ValueError(f"Flight {info.flight_number} not available on date {info.date}")
            if on_date.available_seats[cabin] < len(people):
                raise ValueError(f"Not enough seats on flight {info.flight_number}")
            price = on_date.prices[cabin]
            reservation.flights.append(
                ReservationFlight(
                    flight_number=info.flight_number,
                    origin=flight.origin,
                    destination=flight.destination,
                    date=info.date,
                    price=price,
                )
            )
            booked.append(on_date)
            total_price += price * len(people)
        if insurance == "yes":
            total_price += 30 * len(people)
        total_price += 50 * nonfree_baggages

        for payment in payments:
            if payment.payment_id not in user.payment_methods:
                raise ValueError(f"Payment method {payment.payment_id} not found")
            method = user.payment_methods[payment.payment_id]
            if isinstance(method, GiftCard | Certificate) and method.amount < payment.amount:
                raise ValueError(f"Not enough balance in payment method {payment.payment_id}")
        total_payment = sum(payment.amount for payment in payments)
        if total_payment != total_price:
            raise ValueError(
                f"Payment amount does not add up, total price is {total_price}, "
                f"but paid {total_payment}"
            )

        for payment in payments:
            method = user.payment_methods[payment.payment_id]
            if isinstance(method, GiftCard):
                method.amount -= payment.amount
            elif isinstance(method, Certificate):
                user.payment_methods.pop(payment.payment_id)
        for on_date in booked:
            on_date.available_seats[cabin] -= len(people)
        self.db.reservations[reservation_id] = reservation
        self.db.users[user_id].reservations.append(reservation_id)
        return reservation

    def cancel_reservation(self, reservation_id: str) -> Reservation:
        """Cancel a whole reservation, whatever the policy says about it.

        Every payment entry gets a negated copy appended (on a second call, the refunds are
        negated again) and `status` becomes `cancelled`. Gift card balances, certificates and
        seat counts are left as they are.

        Args:
            reservation_id: The reservation to cancel, such as `ZFA04Y`.

        Raises:
            ValueError: `Reservation <id> not found`.
        """
        reservation = self._get_reservation(reservation_id)
        refunds = [
            Payment(payment_id=payment.payment_id, amount=-payment.amount)
            for payment in reservation.payment_history
        ]
        reservation.payment_history.extend(refunds)
        reservation.status = "cancelled"
        return reservation

    def update_reservation_baggages(
        self, reservation_id: str, total_baggages: int, nonfree_baggages: int, payment_id: str
    ) -> Reservation:
        """Set a reservation's bag counts, charging 50 per added non-free bag.

        Fewer bags are accepted too, without charge or refund.

        Args:
            reservation_id: The reservation, such as `ZFA04Y`.
            total_baggages: The new total number of bags.
            nonfree_baggages: The new number of charged bags.
            payment_id: A credit card or gift card id from the user's profile.

        Raises:
            ValueError: Unknown reservation, user or payment method; a certificate as payment;
                a gift card short of the charge.
        """
        reservation = self._get_reservation(reservation_id)
        user = self._get_user(reservation.user_id)
        total_price = 50 * max(0, nonfree_baggages - reservation.nonfree_baggages)
        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation.payment_history.append(payment)
        reservation.total_baggages = total_baggages
        reservation.nonfree_baggages = nonfree_baggages
        return reservation

    def update_reservation_flights(
        self,
        reservation_id: str,
        cabin: CabinClass,
        flights: Sequence[FlightInfo | dict[str, Any]],
        payment_id: str,
    ) -> Reservation:
        """Replace a reservation's itinerary and cabin, charging or refunding the difference.

        `flights` is the whole new itinerary. A segment that is already booked (same flight,
        date and an unchanged cabin) keeps its price; any other is priced at today's fare for
        `cabin` and must be available with enough seats. The difference against what the old
        segments cost is paid with `payment_id` (negative when cheaper; a gift card then gains
        it). Seat counts are not changed.

        Args:
            reservation_id: The reservation, such as `ZFA04Y`.
            cabin: The cabin for the whole new itinerary.
            flights: Every segment of the new itinerary, changed or not, as
                `{"flight_number": ..., "date": "YYYY-MM-DD"}`.
            payment_id: A credit card or gift card id from the user's profile.

        Raises:
            ValueError: Unknown reservation, user, flight, date or payment method; a flight not
                available or without enough seats; a certificate as payment; a gift card short
                of the charge.
        """
        flight_infos = as_models(flights, FlightInfo)
        reservation = self._get_reservation(reservation_id)
        user = self._get_user(reservation.user_id)
        travellers = len(reservation.passengers)

        total_price = 0
        new_flights: list[ReservationFlight] = []
        for info in flight_infos:
            kept = next(
                (
                    segment
                    for segment in reservation.flights
                    if segment.flight_number == info.flight_number
                    and segment.date == info.date
                    and cabin == reservation.cabin
                ),
                None,
            )
            if kept:
                total_price += kept.price * travellers
                new_flights.append(kept)
                continue
            flight = self._get_flight(info.flight_number)
            on_date = self._get_flight_instance(info.flight_number, info.date)
            if not isinstance(on_date, FlightDateStatusAvailable):
                raise ValueError(f"Flight {info.flight_number} not available on date {info.date}")
            if on_date.available_seats[cabin] < travellers:
                raise ValueError(f"Not enough seats on flight {info.flight_number}")
            segment = ReservationFlight(
                flight_number=info.flight_number,
                date=info.date,
                price=on_date.prices[cabin],
                origin=flight.origin,
                destination=flight.destination,
            )
            total_price += segment.price * travellers
            new_flights.append(segment)
        total_price -= sum(segment.price for segment in reservation.flights) * travellers

        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation.payment_history.append(payment)
        reservation.flights = new_flights
        reservation.cabin = cabin
        return reservation

    def update_reservation_passengers(
        self, reservation_id: str, passengers: Sequence[Passenger | dict[str, Any]]
    ) -> Reservation:
        """Replace a reservation's passenger details (the number of passengers must not change).

        Args:
            reservation_id: The reservation, such as `ZFA04Y`.
            passengers: Every passenger, as `{"first_name": ..., "last_name": ..., "dob": ...}`.

        Raises:
            ValueError: `Reservation <id> not found`, `Number of passengers does not match`.
        """
        people = as_models(passengers, Passenger)
        reservation = self._get_reservation(reservation_id)
        if len(people) != len(reservation.passengers):
            raise ValueError("Number of passengers does not match")
        reservation.passengers = deepcopy(cast(list[Passenger], people))
        return reservation

    def send_certificate(self, user_id: str, amount: int) -> str:
        """Add a travel certificate worth `amount` to a user's payment methods.

        Args:
            user_id: The user, such as `sara_doe_496`.
            amount: The certificate's value in dollars.

        Returns:
            `Certificate certificate_3221322 added to user <id> with amount <amount>.` (the
            first of the fixed ids the user does not hold yet).

        Raises:
            ValueError: `User <id> not found`, `Too many certificates`.
        """
        user = self._get_user(user_id)
        payment_id = self._new_certificate_id(user)
        user.payment_methods[payment_id] = Certificate(
            id=payment_id, amount=amount, source="certificate"
        )
        return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
