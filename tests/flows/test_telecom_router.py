"""telecom_support: one identification, several requests, each handled by its own flow."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session
from cxflow.flows.telecom_support import TelecomSupport
from cxflow.reply import HANDOFF_TEXT
from cxflow.tools.telecom import TelecomTools

MAYA = "555-014-3301"


def _desk() -> tuple[Session, TelecomTools]:
    session = Session.start(TelecomSupport, interpreter=RuleInterpreter())
    return session, session.env  # pyright: ignore[reportReturnType]


def _lookups(session: Session) -> int:
    return sum(c.tool == "find_customer" for r in session.turns() for c in r.tool_calls)


def test_two_requests_in_one_conversation_share_one_identification() -> None:
    session, crm = _desk()
    assert session.turn_sync(f"my number is {MAYA}").reply == (
        "Thanks, Maya Okafor. How can I help you today?"
    )
    roaming = session.turn_sync("I'm going abroad and need roaming")
    assert (roaming.flow, roaming.state) == ("enable_roaming", "ask_travel")
    back = session.turn_sync("yes, I'm in Canada")
    assert (back.flow, back.state) == ("telecom_support", "anything_else")
    assert back.reply.endswith("Is there anything else I can help you with?")
    refuel = session.turn_sync("I'd also like more data")
    assert (refuel.flow, refuel.state) == ("refuel_data", "refuel_ask")
    session.turn_sync("1 GB")
    session.turn_sync("yes")
    bye = session.turn_sync("no, that's all")
    assert bye.done and bye.outcome == "completed"
    assert _lookups(session) == 1  # the started flows reused the desk's identification
    assert crm.get_line("L2001").roaming_enabled is True
    assert crm.get_line("L2001").data_refueling_gb == 3.0


def test_a_request_first_is_identified_in_its_flow_and_the_identity_comes_back() -> None:
    session, _ = _desk()
    first = session.turn_sync("My phone has no service")
    assert (first.flow, first.state) == ("fix_no_service", "identify")
    session.turn_sync(f"it's {MAYA}")
    back = session.turn_sync("actually I have 4 bars now")
    assert (back.flow, back.state) == ("telecom_support", "anything_else")
    assert back.slots["customer_id"] == "C2001"
    more = session.turn_sync("I need more data")
    assert (more.flow, more.state) == ("refuel_data", "refuel_ask")
    assert _lookups(session) == 1


def test_a_transfer_inside_a_started_flow_ends_the_whole_conversation() -> None:
    session, _ = _desk()
    session.turn_sync(f"my number is {MAYA}")
    session.turn_sync("I can't send picture messages")
    session.turn_sync("Your messaging app cannot send MMS messages.")
    session.turn_sync("no signal")
    turn = session.turn_sync("The SIM card is locked with a PIN code.")
    assert turn.done and turn.outcome == "handed_off"
    assert turn.reply == HANDOFF_TEXT


def test_a_plan_change_from_the_desk_skips_straight_to_the_line() -> None:
    session, _ = _desk()
    session.turn_sync(f"my number is {MAYA}")
    turn = session.turn_sync("I want to change my plan")
    assert (turn.flow, turn.state) == ("plan_upgrade", "choose_line")
    assert turn.reply.startswith("Thanks, Maya Okafor. Which line should change plans?")
