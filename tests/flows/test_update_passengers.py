"""update_passengers: a passenger's details change; the number of passengers never does."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.update_passengers import UpdatePassengers
from cxflow.tools.airline import AirlineDB, AirlineTools, db_json


def _start() -> Session:
    return Session.start(UpdatePassengers, interpreter=RuleInterpreter())


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


def test_a_passenger_is_replaced_after_the_customer_confirms() -> None:
    session = _start()
    turn = _talk(session, "my user id is ava_moreno_1024", "K7QZ2M")
    assert "1. Ava Moreno (born 1988-03-14); 2. Leo Moreno (born 2012-07-30)" in turn.reply
    turn = _talk(session, "Leo Moreno", "his name is Leo Garcia, born 2012-07-30")
    assert "Leo Moreno (born 2012-07-30) becomes Leo Garcia (born 2012-07-30)" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    people = _db(session).reservations["K7QZ2M"].passengers
    assert [(p.first_name, p.last_name, p.dob) for p in people] == [
        ("Ava", "Moreno", "1988-03-14"),
        ("Leo", "Garcia", "2012-07-30"),
    ]


def test_removing_a_passenger_is_refused() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "I want to remove a passenger")
    assert turn.done and turn.outcome == "refused"
    assert "number of passengers on a reservation cannot be changed" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_adding_a_passenger_is_refused() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "lena_fischer_4096", "C4NX7R", "can I add my sister to it?")
    assert turn.outcome == "refused"
    assert _writes(session) == [] and _dump(session) == before


def test_a_cancelled_reservation_keeps_its_passengers_and_a_no_changes_nothing() -> None:
    turn = _talk(_start(), "lena_fischer_4096", "Z2RC6H")
    assert turn.outcome == "refused"
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "W8NB4T", "1", "name is Noah Patil", "1975-11-02")
    assert turn.state == "awaiting_confirmation"
    turn = _talk(session, "no")
    assert turn.outcome == "declined" and _dump(session) == before
