"""tau2-bench's airline policy as pure functions: may this write happen in this situation?

Each function takes the records a write would touch (the user, the reservation, the flight
statuses of its segments, the proposed arguments) and returns a `Decision`: allowed or not, and
the rule that decided, worded for the customer. Nothing here reads or writes a database, so the
same functions serve the flows' guards and the tests that check every gold write of tau2's
airline tasks is allowed and every policy-violating probe is refused.

"Now" is the policy's fixed time, 2024-05-15 15:00 EST (`NOW`). Flight statuses come from
`segment_statuses`, keyed by `segment_key(flight_number, date)`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias

from cxflow.tools.airline.models import (
    CabinClass,
    Flight,
    Passenger,
    Payment,
    Reservation,
    ReservationFlight,
    User,
)
from cxflow.tools.airline.pricing import (
    PRICE_PER_EXTRA_BAG,
    booking_price,
    flight_change_cost,
    nonfree_bags,
)
from cxflow.tools.airline.tools import NOW as NOW_TEXT

__all__ = [
    "MAX_PASSENGERS",
    "NOW",
    "CancellationReason",
    "CompensationIssue",
    "Decision",
    "baggage_update_allowed",
    "bags_addable",
    "booking_allowed",
    "cabin_changeable",
    "cancellation_allowed",
    "compensation_allowed",
    "compensation_amount",
    "flight_change_allowed",
    "flights_changeable",
    "flown_segments",
    "passenger_update_allowed",
    "payment_mix_allowed",
    "segment_key",
    "segment_statuses",
]

NOW = datetime.fromisoformat(NOW_TEXT)
"""The policy's current time: 2024-05-15 15:00:00 EST."""

MAX_PASSENGERS = 5

CancellationReason: TypeAlias = Literal[
    "change_of_plan", "airline_cancelled_flight", "health", "weather", "other"
]
"""Why the customer cancels; travel insurance covers health and weather."""

CompensationIssue: TypeAlias = Literal["cancelled", "delayed"]
"""What the customer complains about: a cancelled or a delayed flight."""

_COVERED_REASONS = frozenset({"health", "weather"})
_FLOWN = frozenset({"landed", "flying"})
_MAX_PER_SOURCE = {"certificate": 1, "credit_card": 1, "gift_card": 3}


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer about one write.

    Attributes:
        allowed: Whether the write may happen.
        rule: The rule that decided, as a sentence for the customer.
        transfer: Only a human agent can help (e.g. a flown segment in a cancellation).
    """

    allowed: bool
    rule: str
    transfer: bool = False


def _yes(rule: str) -> Decision:
    return Decision(True, rule)


def _no(rule: str, *, transfer: bool = False) -> Decision:
    return Decision(False, rule, transfer)


# ---- flight statuses --------------------------------------------------------------------------


def segment_key(flight_number: str, on: str) -> str:
    """The key of one flight on one date in a status mapping: `"HAT001 2024-05-20"`."""
    return f"{flight_number} {on}"


def segment_statuses(reservation: Reservation, flights: Mapping[str, Flight]) -> dict[str, str]:
    """The status of each of a reservation's segments (`"unknown"` when the DB lacks it)."""
    statuses: dict[str, str] = {}
    for segment in reservation.flights:
        flight = flights.get(segment.flight_number)
        on_date = flight.dates.get(segment.date) if flight is not None else None
        statuses[segment_key(segment.flight_number, segment.date)] = (
            on_date.status if on_date is not None else "unknown"
        )
    return statuses


def flown_segments(reservation: Reservation, statuses: Mapping[str, str]) -> list[str]:
    """Segments that have taken off (flying or landed), as `segment_key`s."""
    return [
        key
        for key in (segment_key(s.flight_number, s.date) for s in reservation.flights)
        if statuses.get(key) in _FLOWN
    ]


def _with_status(reservation: Reservation, statuses: Mapping[str, str], status: str) -> list[str]:
    return [
        key
        for key in (segment_key(s.flight_number, s.date) for s in reservation.flights)
        if statuses.get(key) == status
    ]


def _inactive(reservation: Reservation) -> Decision | None:
    if reservation.status == "cancelled":
        return _no(f"Reservation {reservation.reservation_id} is already cancelled.")
    return None


# ---- cancellation -----------------------------------------------------------------------------


def cancellation_allowed(
    reservation: Reservation,
    reason: CancellationReason,
    statuses: Mapping[str, str],
    now: datetime = NOW,
) -> Decision:
    """May the whole reservation be cancelled for this reason?

    A flown segment needs a human agent. Otherwise cancelling is allowed if the booking is at
    most 24 hours old, the airline cancelled a flight, the cabin is business, or the reservation
    has travel insurance and the reason (health or weather) is covered.
    """
    if (refused := _inactive(reservation)) is not None:
        return refused
    if flown_segments(reservation, statuses):
        return _no(
            "Part of this trip has already been flown, so only a human agent can help.",
            transfer=True,
        )
    if now - datetime.fromisoformat(reservation.created_at) <= timedelta(hours=24):
        return _yes("The booking was made within the last 24 hours.")
    if _with_status(reservation, statuses, "cancelled"):
        return _yes("The airline cancelled a flight in this reservation.")
    if reservation.cabin == "business":
        return _yes("Business reservations can be cancelled.")
    if reservation.insurance == "yes":
        if reason in _COVERED_REASONS:
            return _yes(f"Travel insurance covers cancelling for {reason} reasons.")
        return _no(
            "Travel insurance covers cancellations for health or weather reasons only, and this "
            "reservation was booked more than 24 hours ago."
        )
    return _no(
        f"A {reservation.cabin.replace('_', ' ')} reservation without travel insurance booked "
        "more than 24 hours ago can be cancelled only if the airline cancelled a flight."
    )


# ---- baggage ----------------------------------------------------------------------------------


def _payment_for_update(user: User, payment_id: str, charge: int) -> Decision | None:
    method = user.payment_methods.get(payment_id)
    if method is None:
        return _no(f"Payment method {payment_id} is not in the profile.")
    if method.source == "certificate":
        return _no("Changes to a reservation are paid with a credit card or a gift card.")
    if method.source == "gift_card" and charge > method.amount:
        return _no(f"Gift card {payment_id} has ${method.amount:g}, less than ${charge}.")
    return None


def bags_addable(reservation: Reservation, total_baggages: int) -> Decision:
    """May the reservation's checked bags become `total_baggages`? Only more, never fewer."""
    if (refused := _inactive(reservation)) is not None:
        return refused
    if total_baggages < reservation.total_baggages:
        return _no("Checked bags can be added but not removed.")
    if total_baggages == reservation.total_baggages:
        return _no(f"The reservation already has {total_baggages} checked bags.")
    return _yes("Checked bags can be added.")


def baggage_update_allowed(
    reservation: Reservation,
    user: User,
    total_baggages: int,
    nonfree_baggages: int,
    payment_id: str,
) -> Decision:
    """May the reservation's checked bags become these counts, paid with this method?

    Bags can be added, never removed; the charged ones are exactly those above the free
    allowance (by the user's membership and the cabin), $50 each.
    """
    if (refused := _inactive(reservation)) is not None:
        return refused
    if not (added := bags_addable(reservation, total_baggages)).allowed:
        return added
    expected = nonfree_bags(
        total_baggages,
        user.membership,
        reservation.cabin,
        len(reservation.passengers),
        reservation.nonfree_baggages,
    )
    if nonfree_baggages != expected:
        return _no(f"{expected} of {total_baggages} bags are charged, not {nonfree_baggages}.")
    charge = PRICE_PER_EXTRA_BAG * (nonfree_baggages - reservation.nonfree_baggages)
    if (refused := _payment_for_update(user, payment_id, charge)) is not None:
        return refused
    return _yes(f"Adding bags costs ${charge}.")


# ---- flight and cabin changes -----------------------------------------------------------------


def _route_problem(
    origin: str, destination: str, trip: str, segments: Sequence[ReservationFlight]
) -> str | None:
    if not segments:
        return "The itinerary has no flights."
    for earlier, later in itertools.pairwise(segments):
        if earlier.destination != later.origin:
            return f"Flight {later.flight_number} does not leave from {earlier.destination}."
    if segments[0].origin != origin:
        return f"The trip must start in {origin}."
    if trip == "one_way" and segments[-1].destination != destination:
        return f"A one-way trip must end in {destination}."
    if trip == "round_trip" and (
        segments[-1].destination != origin or all(s.destination != destination for s in segments)
    ):
        return f"A round trip must go to {destination} and back to {origin}."
    return None


def flights_changeable(reservation: Reservation) -> Decision:
    """May the reservation's flights change at all? Not for basic economy."""
    if (refused := _inactive(reservation)) is not None:
        return refused
    if reservation.cabin == "basic_economy":
        return _no("Basic economy flights cannot be changed (the cabin can be).")
    return _yes("The flights can be changed.")


def cabin_changeable(reservation: Reservation, statuses: Mapping[str, str]) -> Decision:
    """May the reservation's cabin change? Not once any of its flights has been flown."""
    if (refused := _inactive(reservation)) is not None:
        return refused
    if flown_segments(reservation, statuses):
        return _no("The cabin cannot be changed after part of the trip has been flown.")
    return _yes("The cabin can be changed.")


def flight_change_allowed(
    reservation: Reservation,
    user: User,
    cabin: CabinClass,
    new_segments: Sequence[ReservationFlight],
    payment_id: str,
    statuses: Mapping[str, str],
) -> Decision:
    """May the reservation get these flights and this cabin, paid or refunded with this method?

    Basic economy flights cannot change; other reservations keep their origin, destination and
    trip type. The cabin cannot change once a segment has been flown, and always changes for
    the whole reservation. Payment: one credit card or gift card from the profile.
    """
    if (refused := _inactive(reservation)) is not None:
        return refused
    old = [(s.flight_number, s.date) for s in reservation.flights]
    new = [(s.flight_number, s.date) for s in new_segments]
    flights_change = old != new
    cabin_changes = cabin != reservation.cabin
    if not flights_change and not cabin_changes:
        return _no("The new itinerary and cabin are the same as the current ones.")
    flown = flown_segments(reservation, statuses)
    if flights_change:
        if not (changeable := flights_changeable(reservation)).allowed:
            return changeable
        kept = {segment_key(*pair) for pair in new}
        if any(key not in kept for key in flown):
            return _no("Flights that have already been flown cannot be changed.")
        problem = _route_problem(
            reservation.origin, reservation.destination, reservation.flight_type, new_segments
        )
        if problem is not None:
            return _no(f"Origin, destination and trip type cannot change: {problem}")
    if cabin_changes and not (changeable := cabin_changeable(reservation, statuses)).allowed:
        return changeable
    charge = flight_change_cost(reservation, cabin, new_segments)
    if (refused := _payment_for_update(user, payment_id, charge)) is not None:
        return refused
    return _yes("The change follows the modification rules.")


# ---- passengers -------------------------------------------------------------------------------


def _passenger_problem(passengers: Sequence[Passenger]) -> str | None:
    for person in passengers:
        if not person.first_name.strip() or not person.last_name.strip():
            return "Every passenger needs a first and a last name."
        try:
            date.fromisoformat(person.dob)
        except ValueError:
            return f"{person.first_name}'s date of birth must be a date (YYYY-MM-DD)."
    return None


def passenger_update_allowed(reservation: Reservation, passengers: Sequence[Passenger]) -> Decision:
    """May the reservation's passengers become these? Details may change, the count never."""
    if (refused := _inactive(reservation)) is not None:
        return refused
    if len(passengers) != len(reservation.passengers):
        return _no("The number of passengers on a reservation cannot be changed.")
    if (problem := _passenger_problem(passengers)) is not None:
        return _no(problem)
    return _yes("Passenger details can be updated.")


# ---- booking ----------------------------------------------------------------------------------


def payment_mix_allowed(user: User, payment_ids: Sequence[str]) -> Decision:
    """May a booking be paid with these methods? All from the profile, each once, and at most
    one travel certificate, one credit card and three gift cards."""
    counts = dict.fromkeys(_MAX_PER_SOURCE, 0)
    for payment_id in payment_ids:
        method = user.payment_methods.get(payment_id)
        if method is None:
            return _no(f"Payment method {payment_id} is not in the profile.")
        counts[method.source] += 1
    if len(set(payment_ids)) != len(payment_ids):
        return _no("Each payment method can be used once per reservation.")
    for source, most in _MAX_PER_SOURCE.items():
        if counts[source] > most:
            return _no(
                "A reservation can use at most one travel certificate, one credit card and "
                f"three gift cards ({counts[source]} {source.replace('_', ' ')}s chosen)."
            )
    return _yes("These payment methods can be combined.")


def booking_allowed(
    user: User,
    origin: str,
    destination: str,
    flight_type: str,
    segments: Sequence[ReservationFlight],
    passengers: Sequence[Passenger],
    payments: Sequence[Payment],
    total_baggages: int,
    nonfree_baggages: int,
    insurance: bool,
    cabin: CabinClass,
) -> Decision:
    """May this reservation be booked and paid this way?

    One to five passengers with names and dates of birth, one cabin for every flight (`segments`
    are priced in it), an itinerary matching origin, destination and trip type, bags charged
    only above the free allowance, and payment from the profile: at most one certificate, one
    credit card and three gift cards, within their balances, adding up to the price.
    """
    if not 1 <= len(passengers) <= MAX_PASSENGERS:
        return _no(f"A reservation has one to {MAX_PASSENGERS} passengers.")
    if (problem := _passenger_problem(passengers)) is not None:
        return _no(problem)
    if (problem := _route_problem(origin, destination, flight_type, segments)) is not None:
        return _no(problem)
    expected = nonfree_bags(total_baggages, user.membership, cabin, len(passengers))
    if total_baggages < 0 or nonfree_baggages != expected:
        return _no(f"{expected} of {total_baggages} bags are charged, not {nonfree_baggages}.")
    if not (mix := payment_mix_allowed(user, [p.payment_id for p in payments])).allowed:
        return mix
    for payment in payments:
        method = user.payment_methods[payment.payment_id]
        if method.source != "credit_card" and payment.amount > method.amount:
            return _no(f"{payment.payment_id} has ${method.amount:g}, less than ${payment.amount}.")
    price = booking_price(segments, len(passengers), insurance, nonfree_baggages)
    paid = sum(p.amount for p in payments)
    if paid != price:
        return _no(f"The payments add up to ${paid}, but the price is ${price}.")
    return _yes("The booking follows the booking rules.")


# ---- compensation -----------------------------------------------------------------------------


def compensation_amount(reservation: Reservation, issue: CompensationIssue) -> int:
    """The certificate for a complaint: $100 per passenger (cancelled), $50 (delayed)."""
    return (100 if issue == "cancelled" else 50) * len(reservation.passengers)


def compensation_allowed(
    user: User,
    reservation: Reservation,
    issue: CompensationIssue,
    statuses: Mapping[str, str],
    amount: int,
    *,
    requested: bool,
    changed_or_cancelled: bool,
) -> Decision:
    """May a certificate of `amount` be sent for this complaint about this reservation?

    Only when the customer asked, is silver or gold, has travel insurance or flies business,
    and the facts hold: a flight of the reservation was cancelled ($100 per passenger), or was
    delayed and the reservation has just been changed or cancelled ($50 per passenger).
    `statuses` are those of the flights complained about, taken before any change.
    """
    if not requested:
        return _no("Compensation is offered only when the customer asks for it.")
    eligible = (
        user.membership in ("silver", "gold")
        or reservation.insurance == "yes"
        or reservation.cabin == "business"
    )
    if not eligible:
        return _no(
            "Compensation is possible only for silver or gold members, with travel insurance, "
            "or in business class."
        )
    if not _with_status(reservation, statuses, issue):
        return _no(f"No flight in reservation {reservation.reservation_id} was {issue}.")
    if issue == "delayed" and not changed_or_cancelled:
        return _no(
            "For a delayed flight, a certificate is possible only after changing or cancelling "
            "the reservation."
        )
    due = compensation_amount(reservation, issue)
    if amount != due:
        return _no(f"The certificate for this complaint is ${due}, not ${amount}.")
    return _yes(f"A ${due} certificate for the {issue} flight.")
