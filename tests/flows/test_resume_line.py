"""resume_line: lift a suspension once overdue bills are paid, never after the contract ended."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cxflow import RuleInterpreter, Session
from cxflow.flows.resume_line import ResumeLine
from cxflow.tools.telecom import BillStatus, LineStatus, TelecomTools, telecom_db_json

TOMAS = "555-027-8810"  # L2003 Suspended over the Overdue bill B2003; contract to 2025-12-31
MAYA = "555-014-3301"  # L2001 Active


def _session(crm: TelecomTools | None = None) -> tuple[Session, TelecomTools]:
    crm = crm or ResumeLine.make_env()
    return Session.start(ResumeLine, interpreter=RuleInterpreter(), env=crm), crm


def _writes(session: Session) -> list[Any]:
    return [c for r in session.turns() for c in r.tool_calls if c.side_effect]


def test_pays_the_overdue_bill_then_resumes_and_asks_for_a_reboot() -> None:
    session, crm = _session()
    for text in ResumeLine.example:
        turn = session.turn_sync(text)
    assert turn.reply == (
        "Line 555-027-8810 is active again. Please restart your phone to get service back."
    )
    assert crm.get_line("L2003").status == LineStatus.ACTIVE
    assert [c.tool for c in _writes(session)] == ["send_payment_request", "resume_line"]


def test_an_ended_contract_is_refused_by_the_write_guard() -> None:
    crm = ResumeLine.make_env()
    crm.get_line("L2003").contract_end_date = dt.date(2025, 1, 31)
    crm.get_bill("B2003").status = BillStatus.PAID
    before = telecom_db_json(crm.db)
    session, _ = _session(crm)
    turn = session.turn_sync(f"my number is {TOMAS}")
    assert turn.outcome == "refused"
    assert turn.reply == (
        "I'm sorry, I can't lift the suspension of line 555-027-8810: the line's contract ended "
        "on 2025-01-31, and a suspension cannot be lifted after the contract has ended."
    )
    (resume,) = _writes(session)
    assert resume.tool == "resume_line" and "may_resume" in (resume.refused or "")
    assert telecom_db_json(crm.db) == before


def test_an_active_line_has_no_suspension_to_lift() -> None:
    session, crm = _session()
    before = telecom_db_json(crm.db)
    turn = session.turn_sync(f"my number is {MAYA}")
    assert turn.outcome == "refused" and "not suspended" in turn.reply
    assert _writes(session) == [] and telecom_db_json(crm.db) == before


def test_without_payment_the_line_stays_suspended() -> None:
    session, crm = _session()
    before = telecom_db_json(crm.db)
    session.turn_sync(f"my number is {TOMAS}")
    assert session.turn_sync("no, I don't want to pay now").outcome == "declined"
    assert _writes(session) == [] and telecom_db_json(crm.db) == before
