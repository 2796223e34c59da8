"""No-service troubleshooting (tau2-bench's tech support workflow, Path 1), under dual control.

Identify the customer and the line, then walk the customer through their phone one step at a
time: status bar, airplane mode, SIM card (re-seat a missing one; a locked SIM goes to a human),
APN reset and reboot, and finally the line itself: a suspended line is resumed once its overdue
bill is paid (payment request, paid on the phone) unless the contract ended, and the customer
reboots. Whatever cannot be fixed is transferred to a human agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State
from cxflow.flows._tech_support import service_checks
from cxflow.flows._telecom import (
    IDENTITY,
    TelecomSlots,
    identification,
    telecom_crm,
    transfer_state,
)
from cxflow.tools.telecom import TelecomTools


class NoServiceSlots(TelecomSlots):
    """What the no-service conversation knows (the shared telecom slots)."""


class FixNoService(Flow[NoServiceSlots]):
    """Bring back cellular service on the customer's phone, or hand over to a human."""

    title = "My phone has no service"
    keywords = ("no service", "no signal", "service", "signal", "bars", "calls", "sos")
    example: ClassVar[tuple[str, ...]] = (
        "my number is 555-014-3301",
        "Status Bar: ✈️ Airplane Mode | 🔋 80%",
        "Airplane Mode is now OFF. Status Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%",
    )
    facts = (
        SharedFact("line", "line_phone", "the line of the phone without service"),
        SharedFact("bill", "bill_id", "the overdue bill to pay before the line is resumed"),
        SharedFact("status_bar", "status_bar", "what the phone's status bar shows"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="I'm sorry your phone has no service; let's fix that together. First, what is the "
        "phone number on your account? (You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    has_service = State(
        final=True,
        say="Your status bar shows signal, so your phone does have service right now.",
    )
    fixed = State(final=True, say="Great, your phone has service again.")
    transfer = transfer_state()
    service = service_checks(has_service, fixed, transfer)
    who = identification(identify, then=service.svc_status)

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
