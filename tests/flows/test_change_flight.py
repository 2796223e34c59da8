"""change_flight: other flights or another cabin within the modification rules, after a yes."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.change_flight import ChangeFlight
from cxflow.tools.airline import AirlineDB, AirlineTools, GiftCard, db_json


def _start() -> Session:
    return Session.start(ChangeFlight, interpreter=RuleInterpreter())


def _talk(session: Session, *lines: str) -> Turn:
    turn: Turn | None = None
    for line in lines:
        turn = session.turn_sync(line)
        assert not turn.rejected, [r.reason for r in turn.rejected]
    assert turn is not None
    return turn


def _db(session: Session) -> AirlineDB:
    assert isinstance(session.env, AirlineTools)
    return session.env.db


def _dump(session: Session) -> dict[str, Any]:
    return db_json(_db(session))


def _writes(session: Session) -> list[Any]:
    return [c for t in session.turns() for c in t.tool_calls if c.side_effect]


def test_new_dates_are_quoted_confirmed_and_the_difference_refunded_to_a_gift_card() -> None:
    session = _start()
    turn = _talk(
        session,
        "my user id is ava_moreno_1024",
        "K7QZ2M",
        "I'd like to change the flights",
        "May 19, 2024",
    )
    assert "option 1: CX101 08:00-10:30 + CX201 13:00-16:30, $362 per passenger" in turn.reply
    turn = _talk(session, "option 1", "the gift card")
    assert turn.state == "awaiting_confirmation"
    assert "You get $24 back, refunded to your gift card" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    reservation = _db(session).reservations["K7QZ2M"]
    assert [(s.flight_number, s.date) for s in reservation.flights] == [
        ("CX101", "2024-05-19"),
        ("CX201", "2024-05-19"),
    ]
    assert reservation.payment_history[-1].amount == -24
    gift = _db(session).users["ava_moreno_1024"].payment_methods["gift_card_3300440"]
    assert isinstance(gift, GiftCard) and gift.amount == 204.0


def test_one_leg_of_a_round_trip_changes_and_the_other_is_kept() -> None:
    session = _start()
    turn = _talk(
        session,
        "noah_patel_2048",
        "W8NB4T",
        "change the flights",
        "the return flights",
        "2024-05-20",
        "option 1",
        "mastercard",
    )
    assert "flights CX102 ORD-JFK on 2024-05-17, CX101 JFK-ORD on 2024-05-20" in turn.reply
    assert "You pay $7 more" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    reservation = _db(session).reservations["W8NB4T"]
    assert [s.price for s in reservation.flights] == [438, 455]  # the kept leg keeps its price


def test_the_whole_reservation_changes_cabin() -> None:
    session = _start()
    turn = _talk(session, "noah_patel_2048", "W8NB4T", "downgrade the cabin to economy")
    assert turn.state == "ask_payment"
    turn = _talk(session, "mastercard", "yes")
    assert turn.outcome == "completed"
    assert _db(session).reservations["W8NB4T"].cabin == "economy"


def test_basic_economy_flights_cannot_change() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "B2EC9N", "I want to change my flight")
    assert turn.done and turn.outcome == "refused"
    assert "Basic economy flights cannot be changed" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_the_cabin_cannot_change_after_a_flight_was_flown() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "P3LX9D", "upgrade the cabin to economy")
    assert turn.outcome == "refused"
    assert "cabin cannot be changed after part of the trip has been flown" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_a_cancelled_reservation_cannot_change_and_a_no_keeps_everything() -> None:
    turn = _talk(_start(), "lena_fischer_4096", "Z2RC6H")
    assert turn.outcome == "refused" and "is cancelled" in turn.reply
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "W8NB4T", "the cabin", "economy", "mastercard", "no")
    assert turn.outcome == "declined" and _dump(session) == before


def test_a_date_without_flights_is_asked_again() -> None:
    session = _start()
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "the flights", "2024-05-25")
    assert turn.state == "no_flights" and "no economy flights from JFK to SFO" in turn.reply
    turn = _talk(session, "2024-05-18")
    assert turn.state == "choose_option"
