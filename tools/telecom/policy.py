"""tau2-bench's telecom agent policy as pure decisions over the CRM's models.

Each function answers "may the agent do this now?" for one write the policy governs and returns
a `Decision`: `allowed`, and `rule`, the sentence of the policy that decided (said to the
customer on a refusal). Flow guards call them with the models tools loaded into slots; the tests
replay tau2's train tasks through them. Nothing here reads a clock or a database: the caller
passes what the decision depends on (the line, the customer's bills, tau2's "today").

Rules (tau2's `main_policy.md`):

- Data refueling: at most 2 GB, a positive amount, after the customer confirmed the price.
  (cxflow adds: only on an Active line; tau2 left its own "line must be active" check
  commented out.)
- Data roaming: enable it, at no cost, on a line of a customer who travels outside the home
  network and whose line is not roaming enabled yet.
- Overdue bill payment: send a payment request only for an Overdue bill, and only while no other
  bill of the customer awaits payment; tell the customer a bill is paid only once it is Paid.
- Line suspension: lift it only when every overdue bill is paid, never when the line's contract
  end date is past.
- Plan change: an Active line, a different plan, after the customer confirmed the new price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cxflow.tools.telecom.models import Bill, BillStatus, Line, LineStatus, Plan

__all__ = [
    "MAX_REFUEL_GB",
    "Decision",
    "bill_payment_confirmed",
    "payment_request_allowed",
    "plan_change_allowed",
    "refuel_allowed",
    "refuel_charge",
    "resume_allowed",
    "roaming_enable_allowed",
    "unpaid_overdue_bills",
]

MAX_REFUEL_GB = 2.0
"""The most data the agent may add to a line at a time, in GB."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the policy allows an action, and the rule that decided.

    Attributes:
        allowed: True when the action may be taken now.
        rule: The policy sentence behind the decision, phrased for the customer.
    """

    allowed: bool
    rule: str

    def __bool__(self) -> bool:
        return self.allowed


def _allow(rule: str) -> Decision:
    return Decision(True, rule)


def _refuse(rule: str) -> Decision:
    return Decision(False, rule)


def refuel_charge(plan: Plan, gb_amount: float) -> float:
    """What refueling `gb_amount` GB costs on this plan, in dollars (tau2's arithmetic)."""
    return gb_amount * plan.data_refueling_price_per_gb


def refuel_allowed(line: Line, gb_amount: float, *, price_confirmed: bool) -> Decision:
    """May the agent add `gb_amount` GB of data to `line`?

    Args:
        line: The line to refuel.
        gb_amount: The data the customer asked for, in GB.
        price_confirmed: The customer confirmed the price of exactly this amount.
    """
    if gb_amount <= 0:
        return _refuse("the amount of data to add must be more than 0 GB")
    if gb_amount > MAX_REFUEL_GB:
        return _refuse(f"I can add at most {MAX_REFUEL_GB:g} GB of data at a time")
    if line.status != LineStatus.ACTIVE:
        return _refuse(f"data can only be added to an active line; this line is {line.status}")
    if not price_confirmed:
        return _refuse("you need to confirm the price before I add the data")
    return _allow(f"up to {MAX_REFUEL_GB:g} GB can be added once the price is confirmed")


def roaming_enable_allowed(line: Line, *, traveling: bool) -> Decision:
    """May the agent enable data roaming on `line`?

    Args:
        line: The line.
        traveling: The customer said they are outside their home network.
    """
    if not traveling:
        return _refuse("roaming is enabled for customers traveling outside their home network")
    if line.roaming_enabled:
        return _refuse("roaming is already enabled on this line")
    return _allow("roaming is enabled at no cost for customers who are traveling")


def payment_request_allowed(bill: Bill, customer_bills: Sequence[Bill]) -> Decision:
    """May the agent send the customer a payment request for `bill`?

    Args:
        bill: The bill to request payment for.
        customer_bills: All of the customer's bills (to find one already awaiting payment).
    """
    if bill.status != BillStatus.OVERDUE:
        return _refuse(
            f"I can only request payment of an overdue bill; bill {bill.bill_id} is {bill.status}"
        )
    waiting = [
        b.bill_id
        for b in customer_bills
        if b.status == BillStatus.AWAITING_PAYMENT and b.bill_id != bill.bill_id
    ]
    if waiting:
        return _refuse(
            f"only one bill can await payment at a time, and bill {waiting[0]} already does"
        )
    return _allow("a payment request can be sent for an overdue bill")


def bill_payment_confirmed(bill: Bill) -> Decision:
    """May the agent tell the customer that `bill` is paid? Only once the CRM says Paid."""
    if bill.status != BillStatus.PAID:
        return _refuse(f"bill {bill.bill_id} is {bill.status}, not paid yet")
    return _allow(f"bill {bill.bill_id} is paid")


def unpaid_overdue_bills(bills: Sequence[Bill]) -> list[Bill]:
    """The bills still to pay before a suspension may be lifted: Overdue or Awaiting Payment.

    A bill awaiting payment was overdue when the request was sent (requests are only sent for
    overdue bills), and it stays unpaid until the CRM marks it Paid.
    """
    unpaid = (BillStatus.OVERDUE, BillStatus.AWAITING_PAYMENT)
    return [bill for bill in bills if bill.status in unpaid]


def resume_allowed(line: Line, customer_bills: Sequence[Bill], today: dt.date) -> Decision:
    """May the agent lift the suspension of `line`?

    Args:
        line: The line.
        customer_bills: All of the customer's bills.
        today: The current date (tau2's is 2025-02-25).
    """
    if line.status != LineStatus.SUSPENDED:
        return _refuse(f"only a suspended line can be resumed; this line is {line.status}")
    if line.contract_end_date is not None and line.contract_end_date < today:
        return _refuse(
            f"the line's contract ended on {line.contract_end_date.isoformat()}, and a "
            "suspension cannot be lifted after the contract has ended"
        )
    unpaid = unpaid_overdue_bills(customer_bills)
    if unpaid:
        ids = ", ".join(b.bill_id for b in unpaid)
        return _refuse(f"every overdue bill must be paid first (unpaid: {ids})")
    return _allow("the suspension can be lifted: no overdue bills and the contract is running")


def plan_change_allowed(line: Line, target: Plan, *, price_confirmed: bool) -> Decision:
    """May the agent move `line` to plan `target`?

    Args:
        line: The line.
        target: The plan the customer chose.
        price_confirmed: The customer confirmed the new plan's price.
    """
    if line.status != LineStatus.ACTIVE:
        return _refuse(f"only an active line can change plans; this line is {line.status}")
    if line.plan_id == target.plan_id:
        return _refuse(f"the line is already on {target.name}")
    if not price_confirmed:
        return _refuse("you need to confirm the new price before I change the plan")
    return _allow("an active line can change plans once the new price is confirmed")
