"""fix_no_service: tau2's Path 1 under dual control, with the customer's words or phone texts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cxflow import RuleInterpreter, Session
from cxflow.flows.fix_no_service import FixNoService
from cxflow.reply import HANDOFF_TEXT
from cxflow.tools.telecom import BillStatus, LineStatus, TelecomTools, telecom_db_json

MAYA = "555-014-3301"  # L2001 Active
TOMAS = "555-027-8810"  # L2003 Suspended over the Overdue bill B2003


def _run(*lines: str, crm: TelecomTools | None = None) -> tuple[Session, TelecomTools, list[str]]:
    crm = crm or FixNoService.make_env()
    session = Session.start(FixNoService, interpreter=RuleInterpreter(), env=crm)
    states = []
    for text in lines:
        turn = session.turn_sync(text)
        assert not turn.rejected, [r.reason for r in turn.rejected]
        states.append(turn.state)
    return session, crm, states


def _tools(session: Session) -> list[Any]:
    return [c for r in session.turns() for c in r.tool_calls]


def test_turning_airplane_mode_off_brings_service_back() -> None:
    session, _, states = _run(
        f"my number is {MAYA}",
        "it shows airplane mode",
        "ok, airplane mode is off now and I have full bars",
    )
    assert states == ["svc_status", "svc_airplane", "fixed"]
    assert session.outcome == "completed"


def test_each_step_asks_for_one_phone_action_and_its_report() -> None:
    session, _, _ = _run(f"my number is {MAYA}", "no service at all")
    asks = [(a.name, a.reports) for a in FixNoService.spec.states[session.state].asks]
    assert session.state == "svc_sim" and asks == [("check_sim_status", "sim")]
    assert session.reply == (
        "Let's check your SIM card. Please check your SIM status: what does it say?"
    )


def test_a_locked_sim_is_transferred_to_a_human() -> None:
    session, crm, states = _run(
        f"my number is {MAYA}", "no signal", "The SIM card is locked with a PIN code."
    )
    before = telecom_db_json(crm.db)
    assert states == ["svc_status", "svc_sim", "transfer"]
    assert session.outcome == "handed_off" and session.reply == HANDOFF_TEXT
    assert [c.tool for c in _tools(session)][-1] == "transfer_to_human_agents"
    assert telecom_db_json(crm.db) == before


def test_a_suspended_line_is_resumed_after_the_bill_is_paid_then_the_phone_reboots() -> None:
    session, crm, states = _run(
        f"my number is {TOMAS}",
        "No Signal",
        "my SIM is active",
        "I reset the APN and restarted, still no signal",
        "yes, send it",
        "Payment of 55.0 USD has been made for bill B2003.",
        "Restarting network services... Status Bar: 📶³ Good | 5G | 📱 Data Enabled | 🔋 80%",
    )
    assert states == [
        "svc_status",
        "svc_sim",
        "svc_apn",
        "pay_offer",
        "pay_wait",
        "svc_reboot",
        "fixed",
    ]
    assert crm.get_bill("B2003").status == BillStatus.PAID
    assert crm.get_line("L2003").status == LineStatus.ACTIVE
    assert session.outcome == "completed"


def test_a_suspension_that_cannot_be_lifted_is_transferred_without_resuming() -> None:
    crm = FixNoService.make_env()
    crm.get_line("L2003").contract_end_date = dt.date(2025, 1, 31)
    before = telecom_db_json(crm.db)
    session, _, states = _run(
        f"my number is {TOMAS}", "no signal", "SIM is active", "still no service", crm=crm
    )
    assert states[-1] == "transfer" and session.outcome == "handed_off"
    writes = [c for c in _tools(session) if c.side_effect]
    assert [(c.tool, c.refused is not None) for c in writes] == [("resume_line", True)]
    assert telecom_db_json(crm.db) == before


def test_an_unreadable_report_is_asked_again() -> None:
    crm = FixNoService.make_env()
    session = Session.start(FixNoService, interpreter=RuleInterpreter(), env=crm)
    session.turn_sync(f"my number is {MAYA}")
    turn = session.turn_sync("hmm, let me see")
    assert turn.state == "svc_status" and turn.reply.startswith("Sorry, I didn't get that.")
    assert session.turn_sync("I have 4 bars and 5G").outcome == "completed"
    assert session.state == "has_service"
