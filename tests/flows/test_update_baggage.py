"""update_baggage: add checked bags, charging only those above the free allowance."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.update_baggage import UpdateBaggage
from cxflow.tools.airline import AirlineDB, AirlineTools, db_json


def _start() -> Session:
    return Session.start(UpdateBaggage, interpreter=RuleInterpreter())


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


def test_bags_above_the_allowance_are_charged_after_a_yes() -> None:
    session = _start()
    turn = _talk(session, "my user id is noah_patel_2048", "B2EC9N")
    assert "regular member in basic economy" in turn.reply and "0 free checked bags" in turn.reply
    turn = _talk(session, "2")
    assert turn.state == "ask_payment" and "$100" in turn.reply
    turn = _talk(session, "mastercard")
    assert "2 checked bags (2 paid), $100, charged to your mastercard" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    reservation = _db(session).reservations["B2EC9N"]
    assert (reservation.total_baggages, reservation.nonfree_baggages) == (2, 2)
    assert reservation.payment_history[-1].model_dump() == {
        "payment_id": "credit_card_7700880",
        "amount": 100,
    }


def test_bags_within_the_allowance_are_free_and_need_no_payment_choice() -> None:
    session = _start()
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "three bags")
    assert turn.state == "awaiting_confirmation" and "no charge" in turn.reply
    turn = _talk(session, "yes")
    assert turn.outcome == "completed"
    reservation = _db(session).reservations["K7QZ2M"]
    assert (reservation.total_baggages, reservation.nonfree_baggages) == (3, 0)
    assert len(reservation.payment_history) == 1


def test_bags_cannot_be_removed() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "just one")
    assert turn.done and turn.outcome == "refused"
    assert "added but not removed" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_the_same_number_of_bags_is_not_a_change() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "2")
    assert turn.outcome == "refused" and "already has 2 checked bags" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_a_cancelled_reservation_gets_no_bags_and_a_no_changes_nothing() -> None:
    turn = _talk(_start(), "lena_fischer_4096", "Z2RC6H")
    assert turn.outcome == "refused"
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "W8NB4T", "4", "mastercard", "no")
    assert turn.outcome == "declined" and _dump(session) == before
