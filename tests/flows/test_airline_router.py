"""airline_support: one identification, then several requests in one conversation."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.airline_support import AirlineSupport
from cxflow.reply import HANDOFF_TEXT
from cxflow.tools.airline import AirlineDB, AirlineTools


def _start() -> Session:
    return Session.start(AirlineSupport, interpreter=RuleInterpreter())


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


def _asked_for_user_id(session: Session) -> int:
    return sum("what is your user id" in t.reply.text for t in session.turns())


def test_two_requests_in_one_conversation_reuse_the_identification() -> None:
    session = _start()
    turn = _talk(session, "hi, my user id is ava_moreno_1024")
    assert turn.state == "menu" and "Thanks, Ava Moreno" in turn.reply
    turn = _talk(session, "I need to add checked bags")
    assert (turn.flow, turn.state) == ("update_baggage", "choose_reservation")
    turn = _talk(session, "K7QZ2M", "3", "yes")
    assert (turn.flow, turn.state) == ("airline_support", "anything_else")
    assert turn.reply.startswith("Done: reservation K7QZ2M now has 3 checked bags.")
    turn = _talk(session, "I also want to update a passenger")
    assert (turn.flow, turn.state) == ("update_passengers", "choose_reservation")
    turn = _talk(session, "K7QZ2M", "Leo Moreno", "his name is Leo Garcia, born 2012-07-30", "yes")
    assert turn.state == "anything_else"
    turn = _talk(session, "no, that's all")
    assert turn.done and turn.outcome == "completed"
    assert _asked_for_user_id(session) == 0  # only the opening prompt asked, never a flow
    reservation = _db(session).reservations["K7QZ2M"]
    assert reservation.total_baggages == 3 and reservation.passengers[1].last_name == "Garcia"


def test_a_request_before_the_user_id_is_started_and_its_identification_kept() -> None:
    session = _start()
    turn = _talk(session, "I want to cancel a reservation")
    assert (turn.flow, turn.state) == ("cancel_reservation", "identify")
    turn = _talk(session, "noah_patel_2048", "W8NB4T", "change of plan", "yes")
    assert (turn.flow, turn.state) == ("airline_support", "anything_else")
    assert turn.slots["user_id"] == "noah_patel_2048"
    turn = _talk(session, "please add checked bags")
    assert (turn.flow, turn.state) == ("update_baggage", "choose_reservation")
    turn = _talk(session, "B2EC9N", "1", "mastercard", "yes", "nothing else")
    assert turn.done and turn.outcome == "completed"
    assert _asked_for_user_id(session) == 1  # the cancellation flow asked, once
    assert _db(session).reservations["W8NB4T"].status == "cancelled"
    assert _db(session).reservations["B2EC9N"].nonfree_baggages == 1


def test_a_refusal_returns_to_the_router_and_a_transfer_ends_the_conversation() -> None:
    session = _start()
    turn = _talk(session, "ava_moreno_1024", "cancel my reservation", "K7QZ2M", "change of plan")
    assert turn.state == "anything_else" and "health or weather reasons only" in turn.reply
    turn = _talk(session, "I want to cancel another reservation", "P3LX9D")
    assert turn.done and turn.outcome == "handed_off" and turn.reply == HANDOFF_TEXT
    assert _db(session).reservations["K7QZ2M"].status is None
    assert _db(session).reservations["P3LX9D"].status is None
