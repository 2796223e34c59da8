"""Telecom plan change, following tau2-bench's telecom policy ("Change Plan").

Identify the customer (phone number, or full name and date of birth), pick the line, list the
plans, let the customer choose, state the new monthly price and the difference, and apply the
change only after the customer confirms that price in a turn of their own.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.telecom import Customer, Line, TelecomTools, load_telecom_db, sample_db_path
from cxflow.types import PersonName, PhoneNumber


class UpgradeSlots(BaseModel):
    """What the plan-change conversation knows."""

    # given by the customer
    phone_number: PhoneNumber | None = Field(None, description="the phone number on the account")
    full_name: PersonName | None = Field(None, description="the account holder's full name")
    date_of_birth: date | None = Field(None, description="the account holder's date of birth")
    line_phone: PhoneNumber | None = Field(None, description="the phone number of the line")
    target_plan_id: str | None = Field(None, description="the plan the customer wants")
    # found by tools
    customer_id: str | None = None
    customer_name: str | None = None
    lookup_error: str | None = None
    lines: dict[str, str] | None = None
    line_list: str | None = None
    line_id: str | None = None
    line_status: str | None = None
    current_plan_id: str | None = None
    current_plan_name: str | None = None
    current_price: Decimal | None = None
    plans: dict[str, str] | None = None
    plan_list: str | None = None
    line_error: str | None = None
    target_plan_name: str | None = None
    new_price: Decimal | None = None
    difference_text: str | None = None
    plan_changed: bool | None = None
    change_error: str | None = None


# -- guards (pure predicates of the slots) ------------------------------------------------------


def has_identity(slots: UpgradeSlots) -> bool:
    """We need a phone number, or a full name with a date of birth."""
    return slots.phone_number is not None or (
        slots.full_name is not None and slots.date_of_birth is not None
    )


def customer_found(slots: UpgradeSlots) -> bool:
    """The customer must be identified first."""
    return slots.customer_id is not None


def lookup_failed(slots: UpgradeSlots) -> bool:
    """The lookup found no account."""
    return slots.lookup_error is not None


def may_retry_lookup(slots: UpgradeSlots) -> bool:
    """New identity details are needed to look the account up again."""
    return has_identity(slots) and slots.lookup_error is None


def line_chosen(slots: UpgradeSlots) -> bool:
    """The customer must say which line."""
    return slots.line_phone is not None


def line_loaded(slots: UpgradeSlots) -> bool:
    """The line's details must be loaded."""
    return slots.line_id is not None


def line_problem(slots: UpgradeSlots) -> bool:
    """The line could not be loaded for this customer."""
    return slots.line_error is not None


def line_is_active(slots: UpgradeSlots) -> bool:
    """Only an active line can change plans."""
    return slots.line_status == "Active"


def plan_chosen(slots: UpgradeSlots) -> bool:
    """The customer must pick a plan."""
    return slots.target_plan_id is not None


def plan_differs(slots: UpgradeSlots) -> bool:
    """The new plan must differ from the current one."""
    return slots.target_plan_id is not None and slots.target_plan_id != slots.current_plan_id


def price_quoted(slots: UpgradeSlots) -> bool:
    """The new monthly price must be stated before the change."""
    return slots.new_price is not None and slots.target_plan_id is not None


def may_change_plan(slots: UpgradeSlots) -> bool:
    """The line is active, the plan differs, and the price was quoted."""
    return line_is_active(slots) and plan_differs(slots) and price_quoted(slots)


def plan_was_changed(slots: UpgradeSlots) -> bool:
    """The CRM confirmed the change."""
    return slots.plan_changed is True


def change_failed(slots: UpgradeSlots) -> bool:
    """The CRM refused the change."""
    return slots.change_error is not None


# -- tools --------------------------------------------------------------------------------------


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _line(crm: TelecomTools, line_id: str) -> Line:
    found = crm.get_details_by_id(line_id)
    assert isinstance(found, Line)
    return found


def _found(customer: Customer, crm: TelecomTools) -> dict[str, object]:
    names = {p.plan_id: p.name for p in crm.list_plans()}
    lines: dict[str, str] = {}
    for line_id in customer.line_ids:
        line = _line(crm, line_id)
        lines[line.phone_number] = f"{names.get(line.plan_id, line.plan_id)}, {line.status}"
    return {
        "customer_id": customer.customer_id,
        "customer_name": customer.full_name,
        "lines": lines,
        "line_list": "; ".join(f"{phone} ({label})" for phone, label in lines.items()),
    }


@tool(
    reads=("phone_number", "full_name", "date_of_birth"),
    writes=("customer_id", "customer_name", "lines", "line_list"),
    error_slot="lookup_error",
)
def find_customer(
    slots: UpgradeSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, object]:
    """Find the customer's account by phone number, or by full name and date of birth."""
    from cxflow.errors import ToolError

    if slots.phone_number is not None:
        try:
            return _found(crm.get_customer_by_phone(slots.phone_number), crm)
        except ValueError as exc:
            raise ToolError("find_customer", str(exc)) from exc
    assert slots.full_name is not None and slots.date_of_birth is not None
    matches = crm.get_customer_by_name(slots.full_name, slots.date_of_birth.isoformat())
    if len(matches) != 1:
        raise ToolError(
            "find_customer",
            f"{len(matches)} customers match that name and date of birth",
        )
    return _found(matches[0], crm)


@tool(
    reads=("customer_id", "line_phone"),
    writes=(
        "line_id",
        "line_status",
        "current_plan_id",
        "current_plan_name",
        "current_price",
        "plans",
        "plan_list",
    ),
    error_slot="line_error",
)
def load_line(slots: UpgradeSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, object]:
    """Load the chosen line, its current plan, and the plans on offer."""
    from cxflow.errors import ToolError

    assert slots.customer_id is not None and slots.line_phone is not None
    customer = crm.get_customer_by_id(slots.customer_id)
    line = next(
        (
            line
            for line in (_line(crm, lid) for lid in customer.line_ids)
            if line.phone_number == slots.line_phone
        ),
        None,
    )
    if line is None:
        raise ToolError("load_line", f"no line {slots.line_phone} on this account")
    plans = crm.list_plans()
    current = next(p for p in plans if p.plan_id == line.plan_id)
    return {
        "line_id": line.line_id,
        "line_status": str(line.status),
        "current_plan_id": current.plan_id,
        "current_plan_name": current.name,
        "current_price": _money(current.price_per_month),
        "plans": {p.plan_id: p.name for p in plans},
        "plan_list": "; ".join(
            f"{p.name} ({p.plan_id}): {p.data_limit_gb:g} GB for ${_money(p.price_per_month)}"
            for p in plans
        ),
    }


@tool(
    reads=("target_plan_id", "current_price"),
    writes=("target_plan_name", "new_price", "difference_text"),
)
def quote_price(slots: UpgradeSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, object]:
    """Price the chosen plan and compare it with the current one."""
    assert slots.target_plan_id is not None and slots.current_price is not None
    plan = next(p for p in crm.list_plans() if p.plan_id == slots.target_plan_id)
    price = _money(plan.price_per_month)
    diff = price - slots.current_price
    if diff > 0:
        text = f"${diff} more than"
    elif diff < 0:
        text = f"${-diff} less than"
    else:
        text = "the same as"
    return {"target_plan_name": plan.name, "new_price": price, "difference_text": text}


@tool(
    reads=("customer_id", "line_id", "target_plan_id"),
    writes=("plan_changed",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_change_plan,
    error_slot="change_error",
)
def change_plan(slots: UpgradeSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, object]:
    """Move the line to the new plan in the CRM."""
    from cxflow.errors import ToolError

    assert slots.customer_id and slots.line_id and slots.target_plan_id
    try:
        crm.change_plan(slots.customer_id, slots.line_id, slots.target_plan_id)
    except ValueError as exc:
        raise ToolError("change_plan", str(exc)) from exc
    return {"plan_changed": True}


def _line_choices(slots: UpgradeSlots) -> dict[str, str]:
    return dict(slots.lines or {})


def _plan_choices(slots: UpgradeSlots) -> dict[str, str]:
    return dict(slots.plans or {})


class PlanUpgrade(Flow[UpgradeSlots]):
    """Change the plan of a telecom line after the customer confirms the new monthly price."""

    title = "Change my plan"
    keywords = ("plan", "upgrade", "downgrade")
    example = ("my number is 555-014-3301", "555-014-3301", "Everyday 20 please", "yes")
    facts = (
        SharedFact("line", "line_phone", "the line whose plan changes"),
        SharedFact("current_plan", "current_plan_name", "the plan the line is on now"),
        SharedFact("target_plan", "target_plan_name", "the plan the customer chose"),
        SharedFact("quoted_price", "new_price", "the new monthly price stated to the customer"),
    )

    identify = State(
        initial=True,
        fills=("phone_number", "full_name", "date_of_birth"),
        say="I can help you change your plan. What is the phone number on your account? "
        "(You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    lookup = State(tools=(find_customer,), purpose="Look up the account.")
    not_found = State(
        fills=("phone_number", "full_name", "date_of_birth"),
        say="I couldn't find an account with those details ({lookup_error}). Could you give "
        "the phone number on the account, or your full name and date of birth?",
    )
    choose_line = State(
        fills=("line_phone",),
        choices={"line_phone": _line_choices},
        say="Thanks, {customer_name}. Which line should change plans? Your lines: {line_list}.",
        purpose="Find out which of the customer's lines changes plans.",
    )
    load = State(tools=(load_line,), purpose="Load the line and the plans on offer.")
    line_unavailable = State(
        fills=("line_phone",),
        choices={"line_phone": _line_choices},
        say="I couldn't use that line ({line_error}). Which line should change plans? "
        "Your lines: {line_list}.",
    )
    choose_plan = State(
        fills=("target_plan_id",),
        choices={"target_plan_id": _plan_choices},
        say="Your line {line_phone} is on {current_plan_name} at ${current_price} a month. "
        "Available plans: {plan_list}. Which plan would you like?",
        purpose="Let the customer pick a new plan.",
    )
    same_plan = State(
        fills=("target_plan_id",),
        choices={"target_plan_id": _plan_choices},
        say="Your line is already on {current_plan_name}. Which other plan would you like? "
        "Available plans: {plan_list}.",
    )
    awaiting_confirmation = State(
        tools=(quote_price,),
        say="{target_plan_name} costs ${new_price} a month, {difference_text} your current "
        "${current_price}. Shall I change line {line_phone} to {target_plan_name}?",
        purpose="State the new price and the difference; get an explicit yes or no.",
    )
    applying = State(tools=(change_plan,), purpose="Apply the confirmed change in the CRM.")
    changed = State(
        final=True,
        say="Done: line {line_phone} is now on {target_plan_name} at ${new_price} a month.",
    )
    declined = State(final=True, outcome="declined", say="No problem, I haven't changed anything.")
    line_not_active = State(
        final=True,
        outcome="refused",
        say="Line {line_phone} is {line_status}, and only an active line can change plans.",
    )
    change_refused = State(
        final=True, outcome="failed", say="I couldn't change the plan: {change_error}."
    )

    identified = auto(identify.to(lookup, cond=has_identity))
    retried = auto(not_found.to(lookup, cond=may_retry_lookup))
    looked_up = auto(
        lookup.to(choose_line, cond=customer_found) | lookup.to(not_found, cond=lookup_failed)
    )
    line_picked = auto(choose_line.to(load, cond=line_chosen))
    line_repicked = auto(line_unavailable.to(load, cond=line_chosen, unless=line_problem))
    loaded = auto(
        load.to(line_unavailable, cond=line_problem)
        | load.to(line_not_active, cond=line_loaded, unless=line_is_active)
        | load.to(choose_plan, cond=line_loaded)
    )
    plan_picked = auto(
        choose_plan.to(awaiting_confirmation, cond=plan_differs)
        | choose_plan.to(same_plan, cond=plan_chosen)
    )
    plan_repicked = auto(same_plan.to(awaiting_confirmation, cond=plan_differs))
    confirm_price = describe(
        awaiting_confirmation.to(applying, cond=price_quoted),
        "The customer accepts the quoted price and wants the change made.",
        keywords=("<yes>", "confirm", "proceed", "go ahead"),
        confirms=change_plan,
    )
    decline_price = describe(
        awaiting_confirmation.to(declined),
        "The customer does not want the change.",
        keywords=("<no>", "decline"),
    )
    applied = auto(
        applying.to(changed, cond=plan_was_changed)
        | applying.to(change_refused, cond=change_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM shipped with cxflow, or tau2's telecom CRM (a fresh copy per call)."""
        path = sample_db_path() if tau2_data is None else Path(tau2_data) / "telecom" / "db.toml"
        return TelecomTools(load_telecom_db(path))
