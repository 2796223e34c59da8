"""request_compensation: certificates only for eligible customers, facts checked first."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.request_compensation import RequestCompensation
from cxflow.tools.airline import AirlineDB, AirlineTools, Certificate, db_json


def _start() -> Session:
    return Session.start(RequestCompensation, interpreter=RuleInterpreter())


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


def _certificates(session: Session, user_id: str) -> list[float]:
    methods = _db(session).users[user_id].payment_methods.values()
    return [m.amount for m in methods if isinstance(m, Certificate)]


def test_a_cancelled_flight_earns_100_per_passenger_after_a_yes() -> None:
    session = _start()
    turn = _talk(session, "my user id is lena_fischer_4096", "C4NX7R", "the flight was cancelled")
    assert turn.state == "offer"
    assert "certificate of $200 ($100 for each of the 2 passenger(s))" in turn.reply
    assert _certificates(session, "lena_fischer_4096") == []
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    assert _certificates(session, "lena_fischer_4096") == [200.0]


def test_a_delay_is_compensated_only_after_changing_the_reservation() -> None:
    session = _start()
    turn = _talk(session, "ava_moreno_1024", "D7LY3K", "it was delayed")
    assert turn.state == "offer_change" and "CX401 2024-05-15" in turn.reply
    turn = _talk(session, "yes, change it")
    assert (turn.flow, turn.state) == ("change_flight", "ask_change")  # no second identification
    turn = _talk(session, "flights", "2024-05-17", "option 1", "visa", "yes")
    assert (turn.flow, turn.state) == ("request_compensation", "after_change")
    assert _db(session).reservations["D7LY3K"].flights[0].date == "2024-05-17"
    turn = _talk(session, "yes")
    assert turn.state == "offer" and "certificate of $50" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    assert _certificates(session, "ava_moreno_1024") == [150.0, 100.0, 50.0]


def test_a_delay_without_a_change_is_not_compensated() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "D7LY3K", "the flight is delayed", "no")
    assert turn.done and turn.outcome == "refused"
    assert "Without a change or cancellation" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_regular_members_without_insurance_in_economy_get_nothing() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "B2EC9N", "it was delayed")
    assert turn.outcome == "refused"
    assert "only for silver or gold members, with travel insurance, or in business" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_the_facts_are_checked_before_anything_is_offered() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "my flight was cancelled")
    assert turn.outcome == "refused"
    assert "No flight in reservation K7QZ2M was cancelled" in turn.reply
    assert _writes(session) == [] and _dump(session) == before
