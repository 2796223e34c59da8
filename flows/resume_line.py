"""Lifting a line suspension, following tau2-bench's telecom policy ("Line Suspension").

Identify the customer and the line; a suspension is lifted only when every overdue bill is paid
(the customer pays on their phone through a payment request, see `pay_overdue_bill`) and never
when the line's contract has ended. After the line is resumed the customer must restart their
phone to get service back.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State, auto
from cxflow.flows._telecom import IDENTITY, TelecomSlots, identification, telecom_crm
from cxflow.flows._telecom_account import (
    line_not_suspended,
    line_was_resumed,
    load_account,
    must_pay_first,
    payment,
    resume_line,
    resume_refused,
)
from cxflow.tools.telecom import TelecomTools


class ResumeSlots(TelecomSlots):
    """What the suspension conversation knows (the shared telecom slots)."""


class ResumeLine(Flow[ResumeSlots]):
    """Lift a line's suspension once its overdue bills are paid, unless the contract ended."""

    title = "Reactivate my suspended line"
    keywords = ("suspended", "suspension", "reactivate", "resume", "unsuspend", "restore")
    example: ClassVar[tuple[str, ...]] = (
        "my number is 555-027-8810",
        "yes please",
        "Payment of 55.0 USD has been made for bill B2003.",
    )
    facts = (
        SharedFact("line", "line_phone", "the suspended line"),
        SharedFact("bill", "bill_id", "the overdue bill to pay first"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="I can help with a suspended line. What is the phone number on your account? "
        "(You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    account = State(tools=(load_account,), purpose="Read the line's status and the bills.")
    resuming = State(tools=(resume_line,), purpose="Lift the suspension in the CRM.")
    resumed = State(
        final=True,
        say="Line {line_phone} is active again. Please restart your phone to get service back.",
    )
    not_suspended = State(
        final=True,
        outcome="refused",
        say="Line {line_phone} is {line.status}, not suspended, so there is no suspension to lift.",
    )
    cannot_resume = State(
        final=True,
        outcome="refused",
        say="I'm sorry, I can't lift the suspension of line {line_phone}: {resume_rule}.",
    )
    unpaid = State(
        final=True,
        outcome="declined",
        say="All right. The line stays suspended until the overdue bill is paid.",
    )
    payment_failed = State(
        final=True,
        outcome="failed",
        say="I couldn't complete the payment ({payment_error}), so the line stays suspended.",
    )
    who = identification(identify, then=account)
    pay = payment(
        account,
        unpaid,
        payment_failed,
        why="Line {line_phone} is suspended, and I can lift the suspension once every overdue "
        "bill is paid. ",
    )

    checked = auto(
        account.to(not_suspended, cond=line_not_suspended)
        | account.to(pay.pay_start, cond=must_pay_first)
        | account.to(resuming)
    )
    lifted = auto(
        resuming.to(resumed, cond=line_was_resumed)
        | resuming.to(cannot_resume, cond=resume_refused)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
