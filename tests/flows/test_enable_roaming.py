"""enable_roaming: free, only for a traveling customer whose line does not roam yet."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session
from cxflow.flows.enable_roaming import EnableRoaming
from cxflow.tools.telecom import TelecomTools, load_telecom_db, sample_db_path, telecom_db_json

MAYA = "555-014-3301"  # L2001, roaming disabled
PRIYA = "555-039-4412"  # L2004 roams already; her L2005 does not


def _session() -> tuple[Session, TelecomTools]:
    crm = TelecomTools(load_telecom_db(sample_db_path()))
    return Session.start(EnableRoaming, interpreter=RuleInterpreter(), env=crm), crm


def _writes(session: Session) -> list[str]:
    return [c.tool for r in session.turns() for c in r.tool_calls if c.side_effect]


def test_enables_roaming_at_no_cost_for_a_traveling_customer() -> None:
    session, crm = _session()
    session.turn_sync(f"my number is {MAYA}")
    turn = session.turn_sync("yes, I'm on vacation in Spain")
    assert turn.outcome == "completed" and "at no cost" in turn.reply
    assert crm.get_line("L2001").roaming_enabled is True
    assert _writes(session) == ["enable_roaming"]


def test_a_customer_at_home_is_refused() -> None:
    session, crm = _session()
    before = telecom_db_json(crm.db)
    session.turn_sync(f"my number is {MAYA}")
    turn = session.turn_sync("no, I'm at home")
    assert turn.outcome == "refused" and _writes(session) == []
    assert telecom_db_json(crm.db) == before


def test_a_line_that_already_roams_is_left_alone() -> None:
    session, crm = _session()
    before = telecom_db_json(crm.db)
    session.turn_sync(f"my number is {PRIYA}")
    turn = session.turn_sync("yes")
    assert turn.state == "already_enabled" and _writes(session) == []
    assert telecom_db_json(crm.db) == before


def test_an_unclear_travel_answer_is_asked_again() -> None:
    session, crm = _session()
    session.turn_sync(f"my number is {MAYA}")
    turn = session.turn_sync("what do you mean exactly?")
    assert turn.state == "ask_travel" and turn.reply.startswith("Sorry, I didn't get that.")
    assert session.turn_sync("I'm traveling abroad").outcome == "completed"
    assert crm.get_line("L2001").roaming_enabled is True


def test_the_other_line_of_a_customer_identified_by_name() -> None:
    session, crm = _session()
    turn = session.turn_sync("I'm Priya Natarajan, born 1993-07-21")
    assert turn.state == "choose_line"
    assert session.turn_sync("the watch, 555-039-4413").state == "ask_travel"
    assert session.turn_sync("yes, I'm abroad").outcome == "completed"
    assert crm.get_line("L2005").roaming_enabled is True
