"""Overdue bill payment, following tau2-bench's telecom policy ("Overdue Bill Payment").

Dual control: the agent identifies the customer, checks the bill is overdue and its amount, and
(once the customer agrees) sends a payment request, which makes the bill Awaiting Payment; the
customer checks their payment requests on their phone and pays; the agent reads the bill again
and says it is paid only when the CRM shows it Paid.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State, auto
from cxflow.flows._telecom import IDENTITY, TelecomSlots, identification, telecom_crm
from cxflow.flows._telecom_account import has_bills_to_pay, load_bills, payment
from cxflow.tools.telecom import TelecomTools


class PaymentSlots(TelecomSlots):
    """What the payment conversation knows (the shared telecom slots)."""


class PayOverdueBill(Flow[PaymentSlots]):
    """Take payment of an overdue bill through a payment request the customer pays on the phone."""

    title = "Pay an overdue bill"
    keywords = ("pay", "overdue", "bill", "payment", "owe")
    example: ClassVar[tuple[str, ...]] = (
        "my number is 555-027-8810",
        "yes, send it",
        "Payment of 55.0 USD has been made for bill B2003.",
    )
    facts = (
        SharedFact("bill", "bill_id", "the overdue bill being paid"),
        SharedFact("amount", "bill_amount", "the amount due"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="I can help you pay an overdue bill. What is the phone number on your account? "
        "(You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    find_bills = State(tools=(load_bills,), purpose="Find the customer's overdue bills.")
    nothing_overdue = State(
        final=True,
        outcome="refused",
        say="I don't see an overdue bill on your account, and I can only request payment of an "
        "overdue bill.",
    )
    paid = State(final=True, say="Thank you: bill {bill_id} (${bill_amount}) is now paid.")
    declined = State(
        final=True,
        outcome="declined",
        say="No problem. Bill {bill_id} stays overdue; you can pay it whenever you're ready.",
    )
    payment_failed = State(
        final=True, outcome="failed", say="I couldn't complete the payment: {payment_error}."
    )
    who = identification(identify, then=find_bills, with_line=False)
    pay = payment(paid, declined, payment_failed)

    found = auto(
        find_bills.to(pay.pay_start, cond=has_bills_to_pay) | find_bills.to(nothing_overdue)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
