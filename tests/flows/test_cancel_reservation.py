"""cancel_reservation: cancel only what the airline policy allows, after an explicit yes."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.cancel_reservation import CancelReservation, CancelSlots, may_cancel
from cxflow.reply import HANDOFF_TEXT
from cxflow.tools.airline import AirlineDB, AirlineTools, db_json


def _start() -> Session:
    return Session.start(CancelReservation, interpreter=RuleInterpreter())


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


def test_a_business_reservation_is_cancelled_after_the_customer_confirms() -> None:
    session = _start()
    turn = _talk(session, "my user id is noah_patel_2048", "W8NB4T", "change of plan")
    assert turn.state == "awaiting_confirmation"
    assert "W8NB4T" in turn.reply and "refund of $886" in turn.reply
    assert _db(session).reservations["W8NB4T"].status is None
    turn = _talk(session, "yes")
    assert turn.done and turn.outcome == "completed"
    cancelled = _db(session).reservations["W8NB4T"]
    assert cancelled.status == "cancelled"
    assert [p.amount for p in cancelled.payment_history] == [886, -886]


def test_insurance_covers_a_health_reason() -> None:
    session = _start()
    turn = _talk(session, "ava_moreno_1024", "the JFK to SFO trip", "health reasons", "yes")
    assert turn.outcome == "completed"
    assert _db(session).reservations["K7QZ2M"].status == "cancelled"


def test_insurance_does_not_cover_a_change_of_plan() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "K7QZ2M", "change of plan")
    assert turn.done and turn.outcome == "refused"
    assert "health or weather reasons only" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_basic_economy_without_insurance_is_refused_whatever_the_reason() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "B2EC9N", "health")
    assert turn.outcome == "refused"
    assert "basic economy reservation without travel insurance" in turn.reply
    assert _writes(session) == [] and _dump(session) == before


def test_a_flown_segment_transfers_to_a_human_agent() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "ava_moreno_1024", "P3LX9D")
    assert turn.done and turn.outcome == "handed_off"
    assert turn.reply == HANDOFF_TEXT
    load, transfer = turn.record.tool_calls
    assert (load.tool, transfer.tool, transfer.error) == (
        "load_reservation",
        "transfer_to_human",
        None,
    )
    assert "reservation P3LX9D: part of the trip has already been flown" in str(transfer.updates)
    assert _writes(session) == [] and _dump(session) == before


def test_an_already_cancelled_reservation_is_refused() -> None:
    session = _start()
    turn = _talk(session, "lena_fischer_4096", "Z2RC6H")
    assert turn.outcome == "refused" and "already cancelled" in turn.reply


def test_the_customer_can_keep_the_reservation() -> None:
    session = _start()
    before = _dump(session)
    turn = _talk(session, "noah_patel_2048", "W8NB4T", "weather", "no")
    assert turn.outcome == "declined"
    assert _dump(session) == before


def test_a_reservation_can_be_found_by_its_route_and_an_unknown_user_is_asked_again() -> None:
    session = _start()
    turn = _talk(session, "nobody_here_0000")
    assert turn.state == "user_unknown" and "User nobody_here_0000 not found" in turn.reply
    turn = _talk(session, "lena_fischer_4096")
    assert "C4NX7R (ORD to JFK" in turn.reply
    turn = _talk(session, "the ORD to JFK one", "the airline cancelled the flight", "yes")
    assert turn.outcome == "completed"  # the airline cancelled CX102 on 2024-05-14


def test_the_write_tool_is_guarded_by_the_same_policy() -> None:
    tool = CancelReservation.spec.tools["cancel_reservation"]
    assert tool.guard is may_cancel and tool.needs_confirmation and tool.side_effect
    assert not may_cancel(CancelSlots())
