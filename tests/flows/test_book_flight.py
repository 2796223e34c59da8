"""book_flight: a booking within the booking rules, every detail confirmed first."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.book_flight import BookFlight
from cxflow.tools.airline import AirlineDB, AirlineTools, GiftCard, db_json


def _start() -> Session:
    return Session.start(BookFlight, interpreter=RuleInterpreter())


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


TRIP = ("my user id is ava_moreno_1024", "one way", "from Boston", "to New York", "2024-05-18")


def test_a_one_way_trip_is_booked_after_the_customer_confirms_every_detail() -> None:
    session = _start()
    turn = _talk(session, *TRIP, "economy", "one passenger")
    assert "option 1: CX301 06:00-07:15, $120 per passenger" in turn.reply
    turn = _talk(session, "option 1", "It's Ava Moreno, born 1988-03-14")
    assert "gold member in economy" in turn.reply and "3 free checked bags" in turn.reply
    turn = _talk(session, "one bag", "no thanks", "the gift card")
    assert turn.state == "awaiting_confirmation"
    assert "CX301 BOS-JFK on 2024-05-18, economy, for Ava Moreno (1988-03-14)" in turn.reply
    assert "1 checked bags (0 paid)" in turn.reply and "Total: $120" in turn.reply
    assert _db(session).reservations.get("HATHAT") is None
    turn = _talk(session, "yes")
    assert turn.outcome == "completed" and "HATHAT" in turn.reply
    booked = _db(session).reservations["HATHAT"]
    assert (booked.cabin, booked.total_baggages, booked.nonfree_baggages) == ("economy", 1, 0)
    gift = _db(session).users["ava_moreno_1024"].payment_methods["gift_card_3300440"]
    assert isinstance(gift, GiftCard) and gift.amount == 60.0


def test_a_round_trip_with_insurance_combines_certificate_gift_card_and_credit_card() -> None:
    session = _start()
    _talk(
        session,
        "ava_moreno_1024",
        "round trip",
        "JFK",
        "Chicago",
        "2024-05-17",
        "2024-05-19",
        "business",
        "2",
        "option 1",
        "option 1",
        "It's Ava Moreno, born 1988-03-14",
        "It's Leo Moreno, born 2012-07-30",
        "zero",
        "yes please",
    )
    turn = _talk(session, "certificate 0660", "gift card", "visa")
    assert "Total: $1780" in turn.reply
    assert "$150 on certificate 0660, $180 on gift card, $1450 on visa" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    booked = _db(session).reservations["HATHAT"]
    assert [p.amount for p in booked.payment_history] == [150, 180, 1450]
    assert booked.insurance == "yes" and len(booked.passengers) == 2
    assert "certificate_5500660" not in _db(session).users["ava_moreno_1024"].payment_methods


def test_more_than_five_passengers_are_refused() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, *TRIP, "economy", "six passengers")
    assert turn.done and turn.outcome == "refused"
    assert "at most 5 passengers" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_a_second_travel_certificate_is_refused_and_another_method_asked_for() -> None:
    session = _start()
    _talk(session, *TRIP, "business", "1", "option 1", "It's Ava Moreno, born 1988-03-14")
    turn = _talk(session, "0", "no", "certificate 0660")
    assert "$135 is left to pay" in turn.reply
    turn = _talk(session, "certificate 0661")
    assert turn.state == "payment_refused"
    assert "at most one travel certificate" in turn.reply
    assert "(2 certificates chosen)" in turn.reply
    turn = _talk(session, "visa", "yes")
    assert turn.outcome == "completed"
    payments = _db(session).reservations["HATHAT"].payment_history
    assert [p.payment_id for p in payments] == ["certificate_5500660", "credit_card_1100220"]


def test_declining_books_nothing() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, *TRIP, "basic economy", "1", "1", "It's Ava Moreno, born 1988-03-14", "0")
    turn = _talk(session, "no", "visa", "no")
    assert turn.outcome == "declined"
    assert _writes(session) == [] and _dump(session) == before
