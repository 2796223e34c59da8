"""What airline bookings and changes cost: fares, checked bags and insurance.

The arithmetic of tau2-bench's airline tools (`book_reservation`, `update_reservation_flights`,
`update_reservation_baggages`) and policy (free bag allowance by membership and cabin), as pure
functions, so flows can state a price before the customer confirms and policy checks can
verify what a write would charge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cxflow.tools.airline.models import (
    CabinClass,
    Flight,
    FlightDateStatusAvailable,
    FlightInfo,
    MembershipLevel,
    Reservation,
    ReservationFlight,
)

__all__ = [
    "INSURANCE_PER_PASSENGER",
    "PRICE_PER_EXTRA_BAG",
    "booking_price",
    "change_itinerary",
    "flight_change_cost",
    "free_bags",
    "nonfree_bags",
    "price_itinerary",
]

PRICE_PER_EXTRA_BAG = 50
INSURANCE_PER_PASSENGER = 30

_FREE_BAGS: Mapping[MembershipLevel, Mapping[CabinClass, int]] = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 4},
}


def free_bags(membership: MembershipLevel, cabin: CabinClass, passengers: int) -> int:
    """Free checked bags for a reservation: per passenger, by membership and cabin."""
    return _FREE_BAGS[membership][cabin] * passengers


def nonfree_bags(
    total: int, membership: MembershipLevel, cabin: CabinClass, passengers: int, already: int = 0
) -> int:
    """Charged bags among `total`: those above the free allowance, never fewer than `already`."""
    return max(already, total - free_bags(membership, cabin, passengers), 0)


def price_itinerary(
    infos: Sequence[FlightInfo], flights: Mapping[str, Flight], cabin: CabinClass, seats: int = 1
) -> list[ReservationFlight]:
    """Price new segments at today's fare for a cabin.

    Raises:
        ValueError: A flight is unknown, not bookable on its date, or has too few seats.
    """
    segments: list[ReservationFlight] = []
    for info in infos:
        flight = flights.get(info.flight_number)
        on_date = flight.dates.get(info.date) if flight is not None else None
        if flight is None or not isinstance(on_date, FlightDateStatusAvailable):
            raise ValueError(f"Flight {info.flight_number} is not available on {info.date}.")
        if on_date.available_seats[cabin] < seats:
            raise ValueError(f"Flight {info.flight_number} has too few seats left.")
        segments.append(
            ReservationFlight(
                flight_number=flight.flight_number,
                origin=flight.origin,
                destination=flight.destination,
                date=info.date,
                price=on_date.prices[cabin],
            )
        )
    return segments


def change_itinerary(
    reservation: Reservation,
    cabin: CabinClass,
    infos: Sequence[FlightInfo],
    flights: Mapping[str, Flight],
) -> list[ReservationFlight]:
    """The segments a change would give, priced as `update_reservation_flights` prices them.

    A segment kept with an unchanged cabin keeps its old price; the others cost today's fare.

    Raises:
        ValueError: A new segment is unknown, not bookable, or has too few seats.
    """
    kept = {(s.flight_number, s.date): s for s in reservation.flights}
    segments: list[ReservationFlight] = []
    for info in infos:
        old = kept.get((info.flight_number, info.date))
        if old is not None and cabin == reservation.cabin:
            segments.append(old)
        else:
            segments += price_itinerary([info], flights, cabin, len(reservation.passengers))
    return segments


def flight_change_cost(
    reservation: Reservation, cabin: CabinClass, new_segments: Sequence[ReservationFlight]
) -> int:
    """What the change costs (negative: a refund), as `update_reservation_flights` charges it.

    A segment kept with an unchanged cabin keeps its old price; the others cost today's fare.
    """
    old = {(s.flight_number, s.date): s.price for s in reservation.flights}
    new_total = 0
    for segment in new_segments:
        key = (segment.flight_number, segment.date)
        kept = cabin == reservation.cabin and key in old
        new_total += old[key] if kept else segment.price
    return (new_total - sum(old.values())) * len(reservation.passengers)


def booking_price(
    segments: Sequence[ReservationFlight], passengers: int, insurance: bool, nonfree: int
) -> int:
    """The price of a booking: fares per passenger, $30 insurance each, $50 per charged bag."""
    fares = sum(s.price for s in segments) * passengers
    return fares + INSURANCE_PER_PASSENGER * passengers * insurance + PRICE_PER_EXTRA_BAG * nonfree
