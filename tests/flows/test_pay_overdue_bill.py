"""pay_overdue_bill: request payment of an overdue bill; say it is paid only once it is Paid."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session
from cxflow.flows.pay_overdue_bill import PayOverdueBill
from cxflow.simulators.telecom import PhoneState, TelecomEnvironment
from cxflow.tools.telecom import (
    BillStatus,
    TelecomTools,
    load_telecom_db,
    sample_db_path,
    telecom_db_json,
)

TOMAS = "555-027-8810"  # bill B2003 ($55.00) is Overdue
MAYA = "555-014-3301"  # no overdue bill


def _crm() -> TelecomTools:
    return TelecomTools(load_telecom_db(sample_db_path()))


def _writes(session: Session) -> list[Any]:
    return [c for r in session.turns() for c in r.tool_calls if c.side_effect]


def test_the_sample_customer_pays_and_the_agent_confirms_after_checking() -> None:
    session = Session.start(PayOverdueBill, interpreter=RuleInterpreter())
    for text in PayOverdueBill.example:
        turn = session.turn_sync(text)
    assert turn.reply == "Thank you: bill B2003 ($55.00) is now paid."
    crm: TelecomTools = session.env  # pyright: ignore[reportAssignmentType]
    assert crm.get_bill("B2003").status == BillStatus.PAID
    checks = [c.tool for r in session.turns() for c in r.tool_calls if c.tool == "check_payment"]
    assert checks == ["check_payment"]  # read the bill before saying it is paid


def test_dual_control_the_customer_pays_on_the_phone_and_the_crm_shows_it() -> None:
    world = TelecomEnvironment(_crm(), PhoneState())
    world.set_up("user", "set_user_info", {"name": "Tomas Reyes", "phone_number": TOMAS})
    session = Session.start(PayOverdueBill, interpreter=RuleInterpreter(), env=world.crm)
    session.turn_sync(f"my number is {TOMAS}")
    wait = session.turn_sync("yes please")
    assert wait.state == "pay_wait"
    assert world.crm.get_bill("B2003").status == BillStatus.AWAITING_PAYMENT
    world.sync()  # tau2 syncs after the agent's call: the request reaches the phone
    asks = PayOverdueBill.spec.states["pay_wait"].asks
    phone = [world.call("user", action.name, {}).output for action in asks]
    assert phone == [
        "You have a payment request for bill B2003 of 55.0 USD.",
        "Payment of 55.0 USD has been made for bill B2003.",
    ]
    turn = session.turn_sync(" ".join(phone))
    assert (turn.state, turn.outcome) == ("paid", "completed")
    assert world.crm.get_bill("B2003").status == BillStatus.PAID


def test_a_payment_that_never_arrives_is_never_called_paid() -> None:
    crm = _crm()  # no phone: the customer's "I paid" never reaches the CRM
    session = Session.start(PayOverdueBill, interpreter=RuleInterpreter(), env=crm)
    session.turn_sync(f"my number is {TOMAS}")
    session.turn_sync("yes")
    again = session.turn_sync("I paid it")
    assert again.state == "pay_again"
    assert "still shows as Awaiting Payment" in again.reply
    turn = session.turn_sync("done, I paid")
    assert turn.outcome == "failed"
    assert turn.reply == (
        "I couldn't complete the payment: bill B2003 is Awaiting Payment, not paid yet."
    )
    assert not any("is now paid" in r.reply.text for r in session.turns())


def test_no_overdue_bill_means_no_payment_request() -> None:
    crm = _crm()
    before = telecom_db_json(crm.db)
    session = Session.start(PayOverdueBill, interpreter=RuleInterpreter(), env=crm)
    turn = session.turn_sync(f"my number is {MAYA}")
    assert turn.outcome == "refused" and _writes(session) == []
    assert telecom_db_json(crm.db) == before


def test_a_customer_who_declines_gets_no_request() -> None:
    crm = _crm()
    before = telecom_db_json(crm.db)
    session = Session.start(PayOverdueBill, interpreter=RuleInterpreter(), env=crm)
    offer = session.turn_sync(f"my number is {TOMAS}")
    assert offer.reply == (
        "Bill B2003 for January 2025 is overdue: $55.00 is due. Shall I send a payment request "
        "for $55.00 to your phone?"
    )
    assert session.turn_sync("no, not now").outcome == "declined"
    assert _writes(session) == [] and telecom_db_json(crm.db) == before


def test_a_request_already_on_the_phone_is_not_sent_again() -> None:
    crm = _crm()
    crm.send_payment_request("C2002", "B2003")
    session = Session.start(PayOverdueBill, interpreter=RuleInterpreter(), env=crm)
    turn = session.turn_sync(f"my number is {TOMAS}")
    assert turn.state == "pay_wait" and _writes(session) == []
