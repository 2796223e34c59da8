"""The telecom front desk: identify the customer once, then handle each request in turn.

The router asks who the customer is (or lets them start with their request), then starts the
flow for what they ask, by its keywords: no service, mobile data, picture messages, paying an
overdue bill, a suspended line, roaming, more data, or a plan change. The customer's identity
is shared with every flow it starts (same-named slots), so each one skips identification; when a
flow ends the router asks whether there is anything else.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from cxflow.flow import Flow, State, describe
from cxflow.flows._telecom import IDENTITY, identification, telecom_crm
from cxflow.flows.enable_roaming import EnableRoaming
from cxflow.flows.fix_mms import FixMms
from cxflow.flows.fix_mobile_data import FixMobileData
from cxflow.flows.fix_no_service import FixNoService
from cxflow.flows.pay_overdue_bill import PayOverdueBill
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.flows.refuel_data import RefuelData
from cxflow.flows.resume_line import ResumeLine
from cxflow.tools.telecom import TelecomTools
from cxflow.types import PersonName, PhoneNumber


class DeskSlots(BaseModel):
    """What the front desk knows: only who the customer is (shared with every flow)."""

    phone_number: PhoneNumber | None = Field(None, description="the phone number on the account")
    full_name: PersonName | None = Field(None, description="the account holder's full name")
    date_of_birth: date | None = Field(None, description="the account holder's date of birth")
    customer_id: str | None = None
    customer_name: str | None = None
    lookup_error: str | None = None
    lines: dict[str, str] | None = None
    line_list: str | None = None


REQUESTS = (
    FixNoService,
    FixMobileData,
    FixMms,
    PayOverdueBill,
    ResumeLine,
    EnableRoaming,
    RefuelData,
    PlanUpgrade,
)
"""The telecom flows the desk can start."""


class TelecomSupport(Flow[DeskSlots]):
    """Identify the customer once and handle their telecom requests one after another."""

    title = "Telecom customer support"
    keywords = ("help", "support")
    example: ClassVar[tuple[str, ...]] = (
        "my number is 555-014-3301",
        "I'm going abroad and need roaming",
        "yes, I'm in Canada",
        "I'd also like more data",
        "1 GB",
        "yes",
        "no, that's all",
    )

    welcome = State(
        initial=True,
        fills=IDENTITY,
        starts=REQUESTS,
        returns_to="anything_else",
        say="Hello, I can help with service and data problems, picture messages, bills, "
        "suspended lines, roaming, more data and plan changes. What is the phone number on "
        "your account? (You can also give your full name and date of birth.)",
        purpose="Identify the customer, or start the flow for their request right away.",
    )
    how_can_i_help = State(
        starts=REQUESTS,
        returns_to="anything_else",
        say="Thanks, {customer_name}. How can I help you today?",
        purpose="Find out what the customer needs and start that flow.",
    )
    anything_else = State(
        starts=REQUESTS,
        say="Is there anything else I can help you with?",
        purpose="Start another request, or end the conversation.",
    )
    goodbye = State(final=True, say="Thank you for contacting us. Goodbye!")
    who = identification(welcome, then=how_can_i_help, with_line=False)

    finish = describe(
        anything_else.to(goodbye),
        "The customer needs nothing else.",
        keywords=("<no>", "that's all", "nothing else", "bye", "goodbye"),
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
