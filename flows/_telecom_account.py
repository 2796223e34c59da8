"""Telecom account pieces: overdue-bill payment (dual control) and lifting a suspension.

Paying an overdue bill takes both parties: the agent checks the bill is overdue and sends a
payment request (the bill becomes Awaiting Payment); the customer checks their payment requests
and pays on their phone; the agent reads the bill again and says it is paid only once the CRM
says Paid (`payment` fragment). A suspension is lifted only when every overdue bill is paid and
the contract is still running (`load_account`, `resume_line`).
"""

from __future__ import annotations

from typing import Any

from statemachine.states import States

from cxflow.errors import ToolError
from cxflow.flow import State, auto, describe
from cxflow.flows._phone_actions import PhoneAction
from cxflow.flows._phone_reports import DECLINED
from cxflow.flows._telecom import TelecomSlots, forget_reports, money
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.telecom import TAU2_TODAY, Bill, BillStatus, LineStatus, TelecomTools
from cxflow.tools.telecom.policy import (
    bill_payment_confirmed,
    payment_request_allowed,
    resume_allowed,
    unpaid_overdue_bills,
)

__all__ = [
    "has_bills_to_pay",
    "line_not_suspended",
    "line_was_resumed",
    "load_account",
    "load_bills",
    "must_pay_first",
    "payment",
    "resume_line",
    "resume_refused",
]

MAX_PAYMENT_CHECKS = 2
"""How often the agent reads the bill after the customer says they paid before giving up."""


def _bill(slots: TelecomSlots) -> Bill | None:
    return next((b for b in slots.bills or [] if b.bill_id == slots.bill_id), None)


# -- guards ---------------------------------------------------------------------------------------


def bill_chosen(slots: TelecomSlots) -> bool:
    """The customer must say which overdue bill to pay."""
    return slots.bill_id is not None


def bill_awaits_payment(slots: TelecomSlots) -> bool:
    """A payment request for this bill is already on the customer's phone."""
    return slots.bill is not None and slots.bill.status == BillStatus.AWAITING_PAYMENT


def payment_refused(slots: TelecomSlots) -> bool:
    """The policy does not allow a payment request for this bill."""
    return slots.payment_error is not None


def may_request_payment(slots: TelecomSlots) -> bool:
    """I can only send a payment request for an overdue bill, one bill at a time."""
    bill = _bill(slots)
    return bill is not None and payment_request_allowed(bill, slots.bills or []).allowed


def payment_request_sent(slots: TelecomSlots) -> bool:
    """The CRM accepted the payment request."""
    return slots.payment_sent is True


def customer_declined_payment(slots: TelecomSlots) -> bool:
    """The customer does not want to pay."""
    return slots.payment == DECLINED


def payment_reported(slots: TelecomSlots) -> bool:
    """The customer reported back from their payment requests."""
    return slots.payment is not None


def bill_is_paid(slots: TelecomSlots) -> bool:
    """I can say the bill is paid only once the CRM shows it as Paid."""
    return slots.bill is not None and bill_payment_confirmed(slots.bill).allowed


def payment_checks_exhausted(slots: TelecomSlots) -> bool:
    """The bill still is not paid after the customer said twice they paid."""
    return (slots.payment_checks or 0) >= MAX_PAYMENT_CHECKS


def has_bills_to_pay(slots: TelecomSlots) -> bool:
    """The customer has an overdue bill still to pay."""
    return bool(slots.overdue_bills)


def line_not_suspended(slots: TelecomSlots) -> bool:
    """Only a suspended line can be resumed."""
    return slots.line is not None and slots.line.status != LineStatus.SUSPENDED


def must_pay_first(slots: TelecomSlots) -> bool:
    """Overdue bills must be paid before the suspension can be lifted (contract still running)."""
    line = slots.line
    if line is None or line.status != LineStatus.SUSPENDED:
        return False
    contract_running = line.contract_end_date is None or line.contract_end_date >= TAU2_TODAY
    return contract_running and bool(unpaid_overdue_bills(slots.bills or []))


def may_resume(slots: TelecomSlots) -> bool:
    """I can lift a suspension only when every overdue bill is paid and the contract is running."""
    return (
        slots.line is not None and resume_allowed(slots.line, slots.bills or [], TAU2_TODAY).allowed
    )


def line_was_resumed(slots: TelecomSlots) -> bool:
    """The CRM lifted the suspension."""
    return slots.line_resumed is True


def resume_refused(slots: TelecomSlots) -> bool:
    """The suspension could not be lifted."""
    return slots.resume_error is not None


# -- tools ----------------------------------------------------------------------------------------


def _label(bill: Bill) -> str:
    return f"{bill.bill_id}: ${money(bill.total_due)} for {bill.period_start:%B %Y}, {bill.status}"


def _bills_found(bills: list[Bill]) -> dict[str, object]:
    unpaid = unpaid_overdue_bills(bills)
    return {
        "bills": bills,
        "overdue_bills": {b.bill_id: _label(b) for b in unpaid},
        "overdue_list": "; ".join(_label(b) for b in unpaid),
        "bill_id": unpaid[0].bill_id if len(unpaid) == 1 else None,
    }


@tool(
    reads=("customer_id",),
    writes=("bills", "overdue_bills", "overdue_list", "bill_id"),
    error_slot="lookup_error",
)
def load_bills(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, object]:
    """Read the customer's bills and find the overdue ones still to pay."""
    assert slots.customer_id is not None
    try:
        return _bills_found(crm.get_bills_for_customer(slots.customer_id, limit=100))
    except ValueError as exc:
        raise ToolError("load_bills", str(exc)) from exc


@tool(
    reads=("customer_id", "line_id"),
    writes=("line", "bills", "overdue_bills", "overdue_list", "bill_id", "resume_rule"),
    error_slot="line_error",
)
def load_account(
    slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, object]:
    """Read the line's status and the customer's bills, and what the policy says about resuming."""
    assert slots.customer_id is not None and slots.line_id is not None
    try:
        line = crm.get_customer_line(slots.customer_id, slots.line_id)
        bills = crm.get_bills_for_customer(slots.customer_id, limit=100)
    except ValueError as exc:
        raise ToolError("load_account", str(exc)) from exc
    return {
        "line": line,
        **_bills_found(bills),
        "resume_rule": resume_allowed(line, bills, TAU2_TODAY).rule,
    }


@tool(
    reads=("bill_id", "bills"),
    writes=("bill", "bill_amount", "bill_period", "payment_error", "payment_checks"),
)
def describe_bill(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """State the chosen bill's amount and period, and whether a payment request may be sent."""
    bill = _bill(slots)
    assert bill is not None
    decision = payment_request_allowed(bill, slots.bills or [])
    waiting = bill.status == BillStatus.AWAITING_PAYMENT
    return {
        "bill": bill,
        "bill_amount": money(bill.total_due),
        "bill_period": f"{bill.period_start:%B %Y}",
        "payment_error": None if decision.allowed or waiting else decision.rule,
        "payment_checks": 0,
    }


@tool(
    reads=("customer_id", "bill_id"),
    writes=("payment_sent",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_request_payment,
    error_slot="payment_error",
)
def send_payment_request(
    slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, object]:
    """Send the customer a payment request for the overdue bill (it becomes Awaiting Payment)."""
    assert slots.customer_id is not None and slots.bill_id is not None
    try:
        crm.send_payment_request(slots.customer_id, slots.bill_id)
    except ValueError as exc:
        raise ToolError("send_payment_request", str(exc)) from exc
    return {"payment_sent": True}


@tool(
    reads=("customer_id", "bill_id", "payment_checks"),
    writes=("bill", "bills", "payment_checks", "payment_error"),
)
def check_payment(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Read the bill again: has the customer's payment arrived?"""
    assert slots.bill_id is not None and slots.customer_id is not None
    bill = crm.get_bill(slots.bill_id)
    decision = bill_payment_confirmed(bill)
    return {
        "bill": bill,
        "bills": crm.get_bills_for_customer(slots.customer_id, limit=100),
        "payment_checks": (slots.payment_checks or 0) + 1,
        "payment_error": None if decision.allowed else decision.rule,
    }


@tool(
    reads=("customer_id", "line_id"),
    writes=("line_resumed", "line"),
    side_effect=True,
    guard=may_resume,
    error_slot="resume_error",
)
def resume_line(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, object]:
    """Lift the line's suspension in the CRM."""
    assert slots.customer_id is not None and slots.line_id is not None
    try:
        result = crm.resume_line(slots.customer_id, slots.line_id)
    except ValueError as exc:
        raise ToolError("resume_line", str(exc)) from exc
    return {"line_resumed": True, "line": result["line"]}


def _overdue_choices(slots: TelecomSlots) -> dict[str, str]:
    return dict(slots.overdue_bills or {})


# -- the payment fragment ------------------------------------------------------------------------

_CHECK_REQUESTS = PhoneAction(
    "check_payment_request", "Check the payment requests on your phone", reports="payment"
)
_PAY = PhoneAction("make_payment", "Accept the payment request and pay it", reports="payment")


def payment(paid: State, declined: State, failed: State, *, why: str = "") -> States:
    """Take payment of an overdue bill: request it, let the customer pay, check it is Paid.

    Enter at `pay_start` with `bills`/`overdue_bills` loaded (`load_account`) and `bill_id` set
    when there is a single overdue bill. Leaves to `paid` once the CRM shows the bill Paid, to
    `declined` when the customer will not pay, and to `failed` when the request cannot be sent
    (`payment_error` says why) or the payment never shows up. `why` opens the offer (why the
    bill must be paid now).
    """
    start = State(purpose="Find out which overdue bill to pay.")
    choose = State(
        tools=(forget_reports,),
        fills=("bill_id",),
        choices={"bill_id": _overdue_choices},
        say=why + "You have several overdue bills: {overdue_list}. Which one would you like to "
        "pay first?",
    )
    check_bill = State(tools=(describe_bill,), purpose="Check the bill may be requested.")
    offer = State(
        tools=(forget_reports,),
        say=why + "Bill {bill_id} for {bill_period} is overdue: ${bill_amount} is due. Shall I "
        "send a payment request for ${bill_amount} to your phone?",
        purpose="State the overdue bill and amount; ask whether to send the payment request.",
    )
    send = State(tools=(send_payment_request,), purpose="Send the payment request.")
    wait = State(
        tools=(forget_reports,),
        fills=("payment",),
        asks=(_CHECK_REQUESTS, _PAY),
        say="A payment request for bill {bill_id} (${bill_amount}) is on your phone. Please "
        "check your payment requests, accept it and make the payment, then tell me what your "
        "phone says.",
        purpose="The customer pays on their phone; they say when it is done.",
    )
    check = State(tools=(check_payment,), purpose="Read the bill: is it Paid now?")
    again = State(
        tools=(forget_reports,),
        fills=("payment",),
        asks=(_PAY,),
        say="Bill {bill_id} still shows as {bill.status}, so the payment hasn't arrived. Please "
        "open the payment request on your phone and make the payment, then tell me.",
    )
    auto(start.to(check_bill, event="bill_known", cond=bill_chosen))
    auto(start.to(choose, event="bill_unknown"))
    auto(choose.to(check_bill, event="bill_picked", cond=bill_chosen))
    auto(check_bill.to(failed, event="request_not_allowed", cond=payment_refused))
    auto(check_bill.to(wait, event="request_already_sent", cond=bill_awaits_payment))
    auto(check_bill.to(offer, event="request_allowed"))
    describe(
        offer.to(send, event="accept_payment_request", cond=may_request_payment),
        "The customer wants the payment request sent.",
        keywords=("<yes>", "send", "pay"),
        confirms=send_payment_request,
    )
    describe(
        offer.to(declined, event="decline_payment_request"),
        "The customer does not want to pay now.",
        keywords=("<no>",),
    )
    auto(send.to(wait, event="request_sent", cond=payment_request_sent))
    auto(send.to(failed, event="request_failed", cond=payment_refused))
    auto(wait.to(declined, event="payment_declined", cond=customer_declined_payment))
    auto(wait.to(check, event="payment_reported", cond=payment_reported))
    auto(check.to(paid, event="payment_arrived", cond=bill_is_paid))
    auto(check.to(failed, event="payment_missing", cond=payment_checks_exhausted))
    auto(check.to(again, event="payment_pending"))
    auto(again.to(declined, event="payment_declined_later", cond=customer_declined_payment))
    auto(again.to(check, event="payment_reported_again", cond=payment_reported))
    return States(
        {
            "pay_start": start,
            "pay_choose": choose,
            "pay_check_bill": check_bill,
            "pay_offer": offer,
            "pay_send": send,
            "pay_wait": wait,
            "pay_check": check,
            "pay_again": again,
        }
    )
