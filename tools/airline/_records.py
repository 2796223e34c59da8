"""Record lookups, tau2's fixed data and the helpers its airline tools share.

`AirlineTools` inherits these; the tools themselves are defined in `tools.py`, so Python's
argument errors still name `AirlineTools.<tool>()` as tau2's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from cxflow.tools.airline.models import (
    AirlineDB,
    Certificate,
    DirectFlight,
    Flight,
    FlightDateStatus,
    FlightDateStatusAvailable,
    GiftCard,
    Payment,
    Reservation,
    User,
)

__all__ = ["AIRPORTS", "RecordAccess", "as_models"]

_M = TypeVar("_M", bound=BaseModel)

_NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
_NEW_CERTIFICATE_IDS = tuple(f"certificate_{n}" for n in (3221322, 3221323, 3221324))

AIRPORTS = (
    ("SFO", "San Francisco"),
    ("JFK", "New York"),
    ("LAX", "Los Angeles"),
    ("ORD", "Chicago"),
    ("DFW", "Dallas"),
    ("DEN", "Denver"),
    ("SEA", "Seattle"),
    ("ATL", "Atlanta"),
    ("MIA", "Miami"),
    ("BOS", "Boston"),
    ("PHX", "Phoenix"),
    ("IAH", "Houston"),
    ("LAS", "Las Vegas"),
    ("MCO", "Orlando"),
    ("EWR", "Newark"),
    ("CLT", "Charlotte"),
    ("MSP", "Minneapolis"),
    ("DTW", "Detroit"),
    ("PHL", "Philadelphia"),
    ("LGA", "LaGuardia"),
)
"""The airports `list_all_airports` reports (IATA code, city), in tau2's order."""


class RecordAccess:
    """Finds users, reservations and flights in an `AirlineDB`, with tau2's error messages.

    Attributes:
        db: The database the tools read and write.
    """

    db: AirlineDB

    def _get_user(self, user_id: str) -> User:
        if user_id not in self.db.users:
            raise ValueError(f"User {user_id} not found")
        return self.db.users[user_id]

    def _get_reservation(self, reservation_id: str) -> Reservation:
        if reservation_id not in self.db.reservations:
            raise ValueError(f"Reservation {reservation_id} not found")
        return self.db.reservations[reservation_id]

    def _get_flight(self, flight_number: str) -> Flight:
        if flight_number not in self.db.flights:
            raise ValueError(f"Flight {flight_number} not found")
        return self.db.flights[flight_number]

    def _get_flight_instance(self, flight_number: str, date: str) -> FlightDateStatus:
        flight = self._get_flight(flight_number)
        if date not in flight.dates:
            raise ValueError(f"Flight {flight_number} not found on date {date}")
        return flight.dates[date]

    def _new_reservation_id(self) -> str:
        for reservation_id in _NEW_RESERVATION_IDS:
            if reservation_id not in self.db.reservations:
                return reservation_id
        raise ValueError("Too many reservations")

    def _new_certificate_id(self, user: User) -> str:
        for payment_id in _NEW_CERTIFICATE_IDS:
            if payment_id not in user.payment_methods:
                return payment_id
        raise ValueError("Too many certificates")

    def _search_direct_flight(
        self,
        date: str,
        origin: str | None = None,
        destination: str | None = None,
        leave_after: str | None = None,
    ) -> list[DirectFlight]:
        results: list[DirectFlight] = []
        for flight in self.db.flights.values():
            # tau2's test order matters: a bad `date` only raises once origin/destination match.
            if origin is not None and flight.origin != origin:
                continue
            if destination is not None and flight.destination != destination:
                continue
            if date not in flight.dates:
                continue
            on_date = flight.dates[date]
            if not isinstance(on_date, FlightDateStatusAvailable):
                continue
            if leave_after is not None and not flight.scheduled_departure_time_est >= leave_after:
                continue
            results.append(
                DirectFlight(
                    flight_number=flight.flight_number,
                    origin=flight.origin,
                    destination=flight.destination,
                    status="available",
                    scheduled_departure_time_est=flight.scheduled_departure_time_est,
                    scheduled_arrival_time_est=flight.scheduled_arrival_time_est,
                    available_seats=on_date.available_seats,
                    prices=on_date.prices,
                )
            )
        return results

    def _payment_for_update(self, user: User, payment_id: str, total_price: int) -> Payment | None:
        """Charge (or, if negative, credit) an existing reservation's change to a payment method.

        Returns the payment entry to record, or None when the amount is 0.
        """
        if payment_id not in user.payment_methods:
            raise ValueError("Payment method not found")
        method = user.payment_methods[payment_id]
        if isinstance(method, Certificate):
            raise ValueError("Certificate cannot be used to update reservation")
        if isinstance(method, GiftCard):
            if method.amount < total_price:
                raise ValueError("Gift card balance is not enough")
            method.amount -= total_price
        if total_price != 0:
            return Payment(payment_id=payment_id, amount=total_price)
        return None


def as_models(items: Sequence[_M | dict[str, Any]], model: type[_M]) -> Sequence[_M]:
    """tau2's argument conversion: build models only if *every* item is a dict.

    A mixed list, or a string, is passed through untouched and fails later where tau2 fails.
    """
    if all(isinstance(item, dict) for item in items):
        return [model(**cast(dict[str, Any], item)) for item in items]
    return cast(Sequence[_M], items)
