"""Data roaming for a traveling customer, following tau2-bench's telecom policy ("Data Roaming").

Identify the customer and the line, ask whether they are traveling outside their home network,
and if so and the line is not roaming enabled yet, enable roaming at no cost. The customer then
turns Data Roaming on on their phone.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State, auto
from cxflow.flows._telecom import IDENTITY, TelecomSlots, identification, telecom_crm
from cxflow.flows._telecom_data import (
    enable_roaming,
    is_traveling,
    line_roams,
    not_traveling,
    roaming_failed,
    roaming_was_enabled,
)
from cxflow.tools.telecom import TelecomTools


class RoamingSlots(TelecomSlots):
    """What the roaming conversation knows (the shared telecom slots)."""


class EnableRoaming(Flow[RoamingSlots]):
    """Enable data roaming, at no cost, on the line of a customer who is traveling."""

    title = "Use my phone abroad"
    keywords = ("roaming", "abroad", "traveling", "travelling", "international", "overseas")
    example: ClassVar[tuple[str, ...]] = (
        "my number is 555-014-3301",
        "yes, I'm traveling in Canada this week",
    )
    facts = (
        SharedFact("line", "line_phone", "the line that gets roaming"),
        SharedFact("traveling", "traveling", "the customer is outside their home network"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="I can help with roaming. What is the phone number on your account? "
        "(You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    ask_travel = State(
        fills=("traveling",),
        say="Are you traveling outside your home network at the moment, for example abroad?",
        purpose="Roaming is for customers traveling outside their home network.",
    )
    enabling = State(tools=(enable_roaming,), purpose="Enable roaming on the line in the CRM.")
    enabled = State(
        final=True,
        say="Done: roaming is now enabled on line {line_phone}, at no cost. Please also turn "
        "Data Roaming on in your phone's settings.",
    )
    already_enabled = State(
        final=True,
        say="Roaming is already enabled on line {line_phone}. Make sure Data Roaming is turned "
        "on in your phone's settings.",
    )
    not_needed = State(
        final=True,
        outcome="refused",
        say="Roaming is only needed, and enabled, when you travel outside your home network. "
        "Let me know when you're traveling.",
    )
    enable_failed = State(
        final=True, outcome="failed", say="I couldn't enable roaming: {roaming_error}."
    )
    who = identification(identify, then=ask_travel)

    staying_home = auto(ask_travel.to(not_needed, cond=not_traveling))
    travels = auto(
        ask_travel.to(already_enabled, cond=[is_traveling, line_roams])
        | ask_travel.to(enabling, cond=is_traveling)
    )
    enabled_now = auto(
        enabling.to(enabled, cond=roaming_was_enabled)
        | enabling.to(enable_failed, cond=roaming_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
