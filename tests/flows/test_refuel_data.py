"""refuel_data: at most 2 GB, the plan's price stated and confirmed, only on an active line."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session
from cxflow.flows.refuel_data import RefuelData
from cxflow.tools.telecom import TelecomTools, load_telecom_db, sample_db_path, telecom_db_json

MAYA = "555-014-3301"  # L2001, Starter 5 ($6.00 per GB refueled), Active
TOMAS = "555-027-8810"  # L2003, Suspended


def _session() -> tuple[Session, TelecomTools]:
    crm = TelecomTools(load_telecom_db(sample_db_path()), new_bill_id=lambda: "B9001")
    return Session.start(RefuelData, interpreter=RuleInterpreter(), env=crm), crm


def _say(session: Session, *lines: str) -> list[str]:
    return [session.turn_sync(text).reply for text in lines]


def _writes(session: Session) -> list[Any]:
    return [c for r in session.turns() for c in r.tool_calls if c.side_effect]


def test_refuels_the_confirmed_amount_at_the_plans_price() -> None:
    session, crm = _session()
    replies = _say(session, f"my number is {MAYA}", "2 GB please", "yes")
    assert "used 6.1 GB of its 5.0 GB" in replies[0] and "$6.00 per GB" in replies[0]
    assert replies[1] == (
        "Adding 2 GB of data to line 555-014-3301 costs $12.00 ($6.00 per GB), charged to your "
        "next bill. Shall I add it?"
    )
    assert session.outcome == "completed"
    assert crm.get_line("L2001").data_refueling_gb == 4.0
    assert crm.get_bill("B9001").total_due == 12.0  # a new Draft bill carries the charge
    assert [(c.tool, c.arguments["refuel_gb"]) for c in _writes(session)] == [("refuel_data", 2.0)]


def test_more_than_two_gb_is_refused_and_asked_again() -> None:
    session, crm = _session()
    replies = _say(session, f"my number is {MAYA}", "5 GB", "one and a half then", "yes")
    assert replies[1].startswith("I can add more than 0 and at most 2 GB at a time")
    assert "Adding 1.5 GB" in replies[2]
    assert crm.get_line("L2001").data_refueling_gb == 3.5


def test_declining_the_price_adds_nothing() -> None:
    session, crm = _session()
    before = telecom_db_json(crm.db)
    _say(session, f"my number is {MAYA}", "2 GB", "no, that's too expensive")
    assert session.outcome == "declined" and _writes(session) == []
    assert telecom_db_json(crm.db) == before


def test_a_suspended_line_gets_no_data() -> None:
    session, crm = _session()
    before = telecom_db_json(crm.db)
    (reply,) = _say(session, f"my number is {TOMAS}")
    assert reply == "Line 555-027-8810 is Suspended; data can only be added to an active line."
    assert session.outcome == "refused" and _writes(session) == []
    assert telecom_db_json(crm.db) == before


def test_a_customer_identified_by_name_picks_the_line() -> None:
    session, crm = _session()
    replies = _say(session, "I am Maya Okafor, born 1988-03-09", "555-014-3302", "1 GB", "yes")
    assert replies[0].startswith("Thanks, Maya Okafor. Which line is this about?")
    assert "$8.00 per GB" in replies[1]  # the Connected Device plan's price
    assert crm.get_line("L2002").data_refueling_gb == 1.0
