"""Data refueling, following tau2-bench's telecom policy ("Data Refueling").

Identify the customer and the line, show the data used against the plan's limit, ask how much
data to add (at most 2 GB), state the price (the plan's price per GB), and add the data only
after the customer confirms that price in a turn of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State
from cxflow.flows._telecom import IDENTITY, TelecomSlots, identification, telecom_crm
from cxflow.flows._telecom_data import refueling
from cxflow.tools.telecom import TelecomTools


class RefuelSlots(TelecomSlots):
    """What the refueling conversation knows (the shared telecom slots)."""


class RefuelData(Flow[RefuelSlots]):
    """Add up to 2 GB of data to a line after the customer confirms the price."""

    title = "Add more data"
    keywords = ("refuel", "top up", "top-up", "more data", "add data", "extra data")
    example: ClassVar[tuple[str, ...]] = ("my number is 555-014-3301", "2 GB please", "yes")
    facts = (
        SharedFact("line", "line_phone", "the line that gets the data"),
        SharedFact("amount", "refuel_gb", "the data to add, in GB"),
        SharedFact("quoted_price", "refuel_charge", "the price stated to the customer"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="I can add data to your line. What is the phone number on your account? "
        "(You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    refueled = State(
        final=True,
        say="Done: {refuel_gb:g} GB of data was added to line {line_phone} for ${refuel_charge}, "
        "charged to your next bill.",
    )
    declined = State(final=True, outcome="declined", say="No problem, I haven't added any data.")
    refuel_failed = State(
        final=True, outcome="failed", say="I couldn't add the data: {refuel_error}."
    )
    line_inactive = State(
        final=True,
        outcome="refused",
        say="Line {line_phone} is {line.status}; data can only be added to an active line.",
    )
    refuel = refueling(
        refueled,
        declined,
        refuel_failed,
        line_inactive,
        offer="Line {line_phone} has used {data_used_gb} GB of its {data_limit_gb} GB this "
        "month, plus {data_refueling_gb} GB refueled. I can add up to 2 GB at ${refuel_price} "
        "per GB. How many GB would you like to add?",
    )
    who = identification(identify, then=refuel.refuel_start)

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
