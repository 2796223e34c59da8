"""Telecom data pieces: usage, refueling (at most 2 GB, price confirmed) and roaming.

`refueling` is the state-graph fragment shared by `refuel_data` and the mobile-data
troubleshooting; the roaming tool and guards are shared by `enable_roaming` and the same
troubleshooting path.
"""

from __future__ import annotations

from typing import Any

from statemachine.states import States

from cxflow.errors import ToolError
from cxflow.flow import Flow, State, auto, describe
from cxflow.flows._telecom import TelecomSlots, forget_reports, money
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.telecom import LineStatus, TelecomTools
from cxflow.tools.telecom.policy import (
    MAX_REFUEL_GB,
    refuel_allowed,
    refuel_charge,
    roaming_enable_allowed,
)

__all__ = [
    "enable_roaming",
    "forget_refuel_amount",
    "is_traveling",
    "line_roams",
    "load_usage",
    "not_traveling",
    "refresh_line",
    "refueling",
    "roaming_failed",
    "roaming_was_enabled",
    "usage_over_limit",
]


# -- guards ---------------------------------------------------------------------------------------


def line_active(slots: TelecomSlots) -> bool:
    """Data can only be added to an active line."""
    return slots.line is not None and slots.line.status == LineStatus.ACTIVE


def usage_over_limit(slots: TelecomSlots) -> bool:
    """The line has used up its data allowance (plan limit plus refueled data)."""
    return slots.usage_exceeded is True


def refuel_amount_given(slots: TelecomSlots) -> bool:
    """The customer must say how much data to add."""
    return slots.refuel_gb is not None


def within_refuel_limit(slots: TelecomSlots) -> bool:
    """I can add more than 0 and at most 2 GB of data at a time."""
    return slots.refuel_gb is not None and 0 < slots.refuel_gb <= MAX_REFUEL_GB


def refuel_price_quoted(slots: TelecomSlots) -> bool:
    """The price of exactly this amount was stated to the customer."""
    return (
        slots.plan is not None
        and slots.refuel_gb is not None
        and slots.refuel_charge == money(refuel_charge(slots.plan, slots.refuel_gb))
    )


def may_refuel(slots: TelecomSlots) -> bool:
    """I can add at most 2 GB to an active line, at the price you confirmed."""
    return (
        slots.line is not None
        and slots.refuel_gb is not None
        and refuel_allowed(
            slots.line, slots.refuel_gb, price_confirmed=refuel_price_quoted(slots)
        ).allowed
    )


def data_was_refueled(slots: TelecomSlots) -> bool:
    """The CRM added the data."""
    return slots.refueled is True


def refuel_failed(slots: TelecomSlots) -> bool:
    """The data could not be added."""
    return slots.refuel_error is not None


def is_traveling(slots: TelecomSlots) -> bool:
    """The customer is outside their home network."""
    return slots.traveling is True


def not_traveling(slots: TelecomSlots) -> bool:
    """Roaming is enabled for customers traveling outside their home network."""
    return slots.traveling is False


def line_roams(slots: TelecomSlots) -> bool:
    """The line is already roaming enabled."""
    return slots.line is not None and slots.line.roaming_enabled


def may_enable_roaming(slots: TelecomSlots) -> bool:
    """I can enable roaming, at no cost, on a line of a customer who is traveling."""
    return (
        slots.line is not None
        and roaming_enable_allowed(slots.line, traveling=slots.traveling is True).allowed
    )


def roaming_was_enabled(slots: TelecomSlots) -> bool:
    """The CRM enabled roaming on the line."""
    return slots.roaming_enabled_now is True


def roaming_failed(slots: TelecomSlots) -> bool:
    """Roaming could not be enabled."""
    return slots.roaming_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("customer_id", "line_id"), writes=("line", "plan"), error_slot="line_error")
def refresh_line(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Read the line again (status, roaming, plan) as the CRM has it now."""
    assert slots.customer_id is not None and slots.line_id is not None
    try:
        line = crm.get_customer_line(slots.customer_id, slots.line_id)
        return {"line": line, "plan": crm.get_plan(line.plan_id)}
    except ValueError as exc:
        raise ToolError("refresh_line", str(exc)) from exc


@tool(
    reads=("customer_id", "line_id"),
    writes=(
        "line",
        "plan",
        "data_used_gb",
        "data_limit_gb",
        "data_refueling_gb",
        "usage_exceeded",
        "refuel_price",
    ),
    error_slot="line_error",
)
def load_usage(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Read the line's data usage this cycle, its plan's limit and the refueling price."""
    assert slots.customer_id is not None and slots.line_id is not None
    try:
        usage = crm.get_data_usage(slots.customer_id, slots.line_id)
        line = crm.get_customer_line(slots.customer_id, slots.line_id)
    except ValueError as exc:
        raise ToolError("load_usage", str(exc)) from exc
    plan = crm.get_plan(line.plan_id)
    return {
        "line": line,
        "plan": plan,
        "data_used_gb": usage["data_used_gb"],
        "data_limit_gb": usage["data_limit_gb"],
        "data_refueling_gb": usage["data_refueling_gb"],
        "usage_exceeded": line.data_used_gb >= plan.data_limit_gb + line.data_refueling_gb,
        "refuel_price": money(plan.data_refueling_price_per_gb),
    }


@tool(writes=("refuel_gb",))
def forget_refuel_amount(
    slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, Any]:
    """Clear the amount asked for, so the customer can name another one."""
    return {"refuel_gb": None}


@tool(reads=("refuel_gb", "plan"), writes=("refuel_charge",))
def quote_refuel(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Price the data the customer asked for at their plan's refueling price."""
    assert slots.refuel_gb is not None and slots.plan is not None
    return {"refuel_charge": money(refuel_charge(slots.plan, slots.refuel_gb))}


@tool(
    reads=("customer_id", "line_id", "refuel_gb"),
    writes=("refueled", "data_refueling_gb"),
    side_effect=True,
    needs_confirmation=True,
    guard=may_refuel,
    error_slot="refuel_error",
    name="refuel_data",
)
def refuel_data_tool(
    slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, Any]:
    """Add the confirmed amount of data to the line; the charge goes on the next bill."""
    assert slots.customer_id and slots.line_id and slots.refuel_gb is not None
    try:
        receipt = crm.refuel_data(slots.customer_id, slots.line_id, slots.refuel_gb)
    except ValueError as exc:
        raise ToolError("refuel_data", str(exc)) from exc
    return {"refueled": True, "data_refueling_gb": receipt["new_data_refueling_gb"]}


@tool(
    reads=("customer_id", "line_id", "traveling"),
    writes=("roaming_enabled_now", "line"),
    side_effect=True,
    guard=may_enable_roaming,
    error_slot="roaming_error",
)
def enable_roaming(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Enable data roaming on the line, at no cost."""
    assert slots.customer_id is not None and slots.line_id is not None
    try:
        crm.enable_roaming(slots.customer_id, slots.line_id)
        line = crm.get_customer_line(slots.customer_id, slots.line_id)
    except ValueError as exc:
        raise ToolError("enable_roaming", str(exc)) from exc
    return {"roaming_enabled_now": True, "line": line}


# -- the refueling fragment -----------------------------------------------------------------------

_NO_REFUEL = ("<no>", "neither", "no thanks", "nothing")


def refueling(
    done: State,
    declined: State,
    failed: State,
    inactive: State,
    *,
    offer: str,
    starts: tuple[type[Flow[Any]], ...] = (),
    returns_to: str | None = None,
) -> States:
    """Add data to the loaded line: ask how much (at most 2 GB), quote, confirm, refuel.

    Enter at `refuel_start` with `line_id` known. Leaves to `done` after the CRM added the data,
    `declined` when the customer does not want it, `failed` when the CRM refuses, and
    `inactive` when the line is not active.

    Args:
        done: Where to go after the data was added.
        declined: Where to go when the customer does not want data.
        failed: Where to go when the CRM refuses (`refuel_error` says why).
        inactive: Where to go when the line is not active.
        offer: What the agent says when asking how much data to add (usage placeholders such
            as `{data_used_gb}` and `{refuel_price}` are filled).
        starts: Flows the customer may start instead (e.g. a plan change).
        returns_to: Where to continue after such a flow ends.
    """
    start = State(tools=(load_usage,), purpose="Read the usage and the refueling price.")
    ask = State(
        tools=(forget_reports,),
        fills=("refuel_gb",),
        say=offer,
        starts=starts,
        returns_to=returns_to,
        purpose="Ask how much data to add (at most 2 GB).",
    )
    too_much = State(
        tools=(forget_refuel_amount,),
        fills=("refuel_gb",),
        say=f"I can add more than 0 and at most {MAX_REFUEL_GB:g} GB at a time, at "
        "${refuel_price} per GB. How many GB would you like?",
    )
    quote = State(
        tools=(forget_reports, quote_refuel),
        say="Adding {refuel_gb:g} GB of data to line {line_phone} costs ${refuel_charge} "
        "(${refuel_price} per GB), charged to your next bill. Shall I add it?",
        purpose="State the amount and the price; get an explicit yes or no.",
    )
    apply = State(tools=(refuel_data_tool,), purpose="Add the confirmed data in the CRM.")
    auto(start.to(inactive, event="refuel_line_inactive", unless=line_active))
    auto(start.to(ask, event="refuel_line_ready"))
    for source, suffix in ((ask, ""), (too_much, "_again")):
        auto(source.to(quote, event=f"refuel_amount_ok{suffix}", cond=within_refuel_limit))
        auto(source.to(too_much, event=f"refuel_amount_too_big{suffix}", cond=refuel_amount_given))
        describe(
            source.to(declined, event=f"no_refuel{suffix}"),
            "The customer does not want data added.",
            keywords=_NO_REFUEL,
        )
    describe(
        quote.to(apply, event="confirm_refuel", cond=refuel_price_quoted),
        "The customer accepts the price and wants the data added.",
        keywords=("<yes>", "add it", "go ahead", "proceed"),
        confirms=refuel_data_tool,
    )
    describe(
        quote.to(declined, event="reject_refuel_price"),
        "The customer does not want the data at that price.",
        keywords=("<no>",),
    )
    auto(apply.to(done, event="refuel_applied", cond=data_was_refueled))
    auto(apply.to(failed, event="refuel_refused", cond=refuel_failed))
    return States(
        {
            "refuel_start": start,
            "refuel_ask": ask,
            "refuel_too_much": too_much,
            "refuel_quote": quote,
            "refuel_apply": apply,
        }
    )
