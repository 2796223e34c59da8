"""Shared pieces of the telecom flows: slots, identification, the transfer and the CRM.

Every telecom flow except `plan_upgrade` (which keeps its own copy so its transcript and graph
stay as they are) uses `TelecomSlots`, so a router and the flows it starts share the customer's
identity by slot name, and the state-graph fragments (`identification` here, payment and
resume in `_telecom_account`, refueling in `_telecom_data`, troubleshooting in
`_tech_support`) can be built into any of them. A fragment is a function returning
python-statemachine `States`: a flow class assigns it to an attribute and the states, with
their transitions, become part of the flow (see `identification`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from statemachine.states import States

from cxflow.errors import ToolError
from cxflow.flow import State, auto
from cxflow.flows._phone_actions import (
    AppPermissionsReport,
    DataSaverReport,
    MmscReport,
    MmsReport,
    MobileDataReport,
    NetworkModeReport,
    NetworkTypeReport,
    PaymentReport,
    RoamingReport,
    SimReport,
    SpeedReport,
    StatusBarReport,
    TravelReport,
    VpnReport,
    WifiCallingReport,
)
from cxflow.reply import HANDOFF_TEXT
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.telecom import (
    Bill,
    BillStatus,
    Customer,
    Line,
    Plan,
    TelecomTools,
    load_telecom_db,
    sample_db_path,
)
from cxflow.types import PersonName, PhoneNumber

__all__ = [
    "IDENTITY",
    "REPORTS",
    "TelecomSlots",
    "customer_found",
    "forget_reports",
    "identification",
    "line_problem",
    "money",
    "telecom_crm",
    "transfer_state",
]

IDENTITY = ("phone_number", "full_name", "date_of_birth")
"""The slots a customer identifies with: a phone number, or full name and date of birth."""


class TelecomSlots(BaseModel):
    """What a telecom conversation knows: the customer, the line, the account and the phone."""

    # identification (given by the customer)
    phone_number: PhoneNumber | None = Field(None, description="the phone number on the account")
    full_name: PersonName | None = Field(None, description="the account holder's full name")
    date_of_birth: date | None = Field(None, description="the account holder's date of birth")
    # found by tools
    customer_id: str | None = None
    customer_name: str | None = None
    lookup_error: str | None = None
    lines: dict[str, str] | None = None
    line_list: str | None = None
    # the line the conversation is about
    line_phone: PhoneNumber | None = Field(None, description="the phone number of the line")
    line_id: str | None = None
    line: Line | None = None
    plan: Plan | None = None
    line_error: str | None = None
    # the account: bills, payment, suspension
    bills: list[Bill] | None = None
    overdue_bills: dict[str, str] | None = None
    overdue_list: str | None = None
    bill_id: str | None = Field(None, description="the overdue bill to pay")
    bill: Bill | None = None
    bill_amount: Decimal | None = None
    bill_period: str | None = None
    payment_sent: bool | None = None
    payment_error: str | None = None
    payment_checks: int | None = None
    resume_rule: str | None = None
    line_resumed: bool | None = None
    resume_error: str | None = None
    # data usage, refueling and roaming
    data_used_gb: float | None = None
    data_limit_gb: float | None = None
    data_refueling_gb: float | None = None
    usage_exceeded: bool | None = None
    refuel_price: Decimal | None = None
    refuel_gb: float | None = Field(None, description="how many GB of data to add (at most 2)")
    refuel_charge: Decimal | None = None
    refueled: bool | None = None
    refuel_error: str | None = None
    traveling: TravelReport | None = Field(
        None, description="whether the customer is traveling outside their home network"
    )
    roaming_enabled_now: bool | None = None
    roaming_error: str | None = None
    # what the customer reports from their phone (dual control)
    status_bar: StatusBarReport | None = Field(
        None, description="what the status bar shows: airplane mode, no signal, or signal bars"
    )
    sim: SimReport | None = Field(None, description="the SIM status: active, missing or locked")
    speed: SpeedReport | None = Field(
        None, description="the speed test result: no connection, or the speed's rating"
    )
    roaming_setting: RoamingReport | None = Field(
        None, description="whether Data Roaming is turned on on the phone"
    )
    mobile_data: MobileDataReport | None = Field(
        None, description="whether Mobile Data is turned on on the phone"
    )
    data_saver: DataSaverReport | None = Field(None, description="whether Data Saver mode is on")
    network_mode: NetworkModeReport | None = Field(
        None, description="the preferred network mode (2G/3G only, 4G only, 4G/5G preferred)"
    )
    vpn: VpnReport | None = Field(None, description="whether a VPN is connected")
    network_type: NetworkTypeReport | None = Field(
        None, description="the network technology the phone is connected to (2G ... 5G)"
    )
    wifi_calling: WifiCallingReport | None = Field(None, description="whether Wi-Fi Calling is on")
    permissions: AppPermissionsReport | None = Field(
        None, description="whether the messaging app has both SMS and storage permission"
    )
    mmsc: MmscReport | None = Field(
        None, description="whether the APN settings show an MMSC URL (or 'Not Set')"
    )
    mms: MmsReport | None = Field(None, description="whether the messaging app can send MMS")
    payment: PaymentReport | None = Field(
        None, description="whether the customer paid the payment request on their phone"
    )


REPORTS = (
    "status_bar",
    "sim",
    "speed",
    "roaming_setting",
    "mobile_data",
    "data_saver",
    "network_mode",
    "vpn",
    "network_type",
    "wifi_calling",
    "permissions",
    "mmsc",
    "mms",
    "payment",
)
"""Slots holding one phone report each; forgotten whenever the agent asks something new."""


def money(value: float) -> Decimal:
    """A dollar amount rounded to cents."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


# -- guards ---------------------------------------------------------------------------------------


def has_identity(slots: TelecomSlots) -> bool:
    """We need a phone number, or a full name with a date of birth."""
    return slots.phone_number is not None or (
        slots.full_name is not None and slots.date_of_birth is not None
    )


def customer_found(slots: TelecomSlots) -> bool:
    """The customer must be identified first."""
    return slots.customer_id is not None and slots.lines is not None


def needs_lookup(slots: TelecomSlots) -> bool:
    """Identity details were given and the account is not looked up yet."""
    return has_identity(slots) and not customer_found(slots)


def lookup_failed(slots: TelecomSlots) -> bool:
    """The lookup found no account."""
    return slots.lookup_error is not None


def may_retry_lookup(slots: TelecomSlots) -> bool:
    """New identity details are needed to look the account up again."""
    return has_identity(slots) and slots.lookup_error is None


def line_chosen(slots: TelecomSlots) -> bool:
    """The customer must say which line."""
    return slots.line_phone is not None


def line_loaded(slots: TelecomSlots) -> bool:
    """The line's details must be loaded."""
    return slots.line is not None and slots.line_error is None


def line_problem(slots: TelecomSlots) -> bool:
    """The line could not be loaded for this customer."""
    return slots.line_error is not None


# -- tools ----------------------------------------------------------------------------------------


def _found(customer: Customer, crm: TelecomTools) -> dict[str, object]:
    names = {p.plan_id: p.name for p in crm.list_plans()}
    lines: dict[str, str] = {}
    for line_id in customer.line_ids:
        line = crm.get_line(line_id)
        lines[line.phone_number] = f"{names.get(line.plan_id, line.plan_id)}, {line.status}"
    return {
        "customer_id": customer.customer_id,
        "customer_name": customer.full_name,
        "lines": lines,
        "line_list": "; ".join(f"{phone} ({label})" for phone, label in lines.items()),
    }


@tool(
    reads=IDENTITY,
    writes=("customer_id", "customer_name", "lines", "line_list"),
    error_slot="lookup_error",
)
def find_customer(
    slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, object]:
    """Find the customer's account by phone number, or by full name and date of birth."""
    if slots.phone_number is not None:
        try:
            return _found(crm.get_customer_by_phone(slots.phone_number), crm)
        except ValueError as exc:
            raise ToolError("find_customer", str(exc)) from exc
    assert slots.full_name is not None and slots.date_of_birth is not None
    matches = crm.get_customer_by_name(slots.full_name, slots.date_of_birth.isoformat())
    if len(matches) != 1:
        raise ToolError(
            "find_customer", f"{len(matches)} customers match that name and date of birth"
        )
    return _found(matches[0], crm)


@tool(reads=("phone_number", "lines"), writes=("line_phone",))
def default_line(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Take the line the customer called about: the number they gave, or their only line."""
    lines = slots.lines or {}
    if slots.phone_number in lines:
        return {"line_phone": slots.phone_number}
    if len(lines) == 1:
        return {"line_phone": next(iter(lines))}
    return {}


@tool(writes=("line_phone",))
def forget_line_choice(
    slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, Any]:
    """Clear the line the customer picked, so they can pick another one."""
    return {"line_phone": None}


@tool(
    reads=("customer_id", "line_phone"),
    writes=("line_id", "line", "plan"),
    error_slot="line_error",
)
def load_line(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, object]:
    """Load the chosen line of this customer and its plan."""
    assert slots.customer_id is not None and slots.line_phone is not None
    customer = crm.get_customer_by_id(slots.customer_id)
    for line_id in customer.line_ids:
        line = crm.get_line(line_id)
        if line.phone_number == slots.line_phone:
            return {"line_id": line.line_id, "line": line, "plan": crm.get_plan(line.plan_id)}
    raise ToolError("load_line", f"no line {slots.line_phone} on this account")


@tool(writes=REPORTS)
def forget_reports(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Forget the customer's earlier phone reports: a new question needs a fresh answer.

    Run on entering every state that waits for the customer, so an old report is never offered
    for correction (a later "sorry, still no signal" must not rewind the troubleshooting).
    """
    return dict.fromkeys(REPORTS)


@tool(reads=("customer_id", "line_phone"), name="transfer_to_human_agents")
def transfer_to_human(slots: TelecomSlots, crm: TelecomTools, call: ToolCallContext) -> None:
    """Transfer the customer to a human agent (tau2's `transfer_to_human_agents`).

    It runs on entering a final state whose outcome is "handed_off", which ends the whole
    session (a router included) with tau2's transfer message.
    """
    summary = (
        f"Customer {slots.customer_id or '(not identified)'}, line "
        f"{slots.line_phone or '(not chosen)'}: the issue could not be resolved within policy."
    )
    crm.transfer_to_human_agents(summary)


def transfer_state() -> State:
    """A final state that transfers the customer to a human agent and says tau2's message."""
    return State(
        final=True,
        outcome="handed_off",
        tools=(transfer_to_human,),
        say=HANDOFF_TEXT,
        purpose="Transfer to a human agent when the policy or the workflow says so.",
    )


def _line_choices(slots: TelecomSlots) -> dict[str, str]:
    return dict(slots.lines or {})


# -- the identification fragment ------------------------------------------------------------------


def identification(identify: State, then: State, *, with_line: bool = True) -> States:
    """Identify the customer (and the line), then continue in `then`.

    `identify` is the flow's initial state, filling `IDENTITY`. When a router already identified
    the customer (`customer_id` and `lines` filled), it is left at once. With `with_line`, the
    line is the number the customer gave if it is one of theirs, their only line, or the one they
    pick; it is loaded into `line`/`plan`.

    Returns:
        The fragment's states, to assign to an attribute of the flow class.
    """
    lookup = State(tools=(find_customer,), purpose="Look up the account.")
    not_found = State(
        fills=IDENTITY,
        say="I couldn't find an account with those details ({lookup_error}). Could you give "
        "the phone number on the account, or your full name and date of birth?",
    )
    auto(not_found.to(lookup, event="retried_lookup", cond=may_retry_lookup))
    states: dict[str, State] = {"lookup": lookup, "not_found": not_found}
    if not with_line:
        auto(identify.to(then, event="already_identified", cond=customer_found))
        auto(identify.to(lookup, event="identified", cond=needs_lookup))
        auto(lookup.to(then, event="looked_up", cond=customer_found))
        auto(lookup.to(not_found, event="not_looked_up", cond=lookup_failed))
        return States(states)
    pick_line = State(tools=(default_line,), purpose="Take the line the customer called about.")
    choose_line = State(
        fills=("line_phone",),
        choices={"line_phone": _line_choices},
        say="Thanks, {customer_name}. Which line is this about? Your lines: {line_list}.",
        purpose="Find out which of the customer's lines this is about.",
    )
    load = State(tools=(load_line,), purpose="Load the line and its plan.")
    line_unavailable = State(
        tools=(forget_line_choice,),
        fills=("line_phone",),
        choices={"line_phone": _line_choices},
        say="I couldn't use that line ({line_error}). Which line is this about? "
        "Your lines: {line_list}.",
    )
    auto(identify.to(pick_line, event="already_identified", cond=customer_found))
    auto(identify.to(lookup, event="identified", cond=needs_lookup))
    auto(lookup.to(pick_line, event="looked_up", cond=customer_found))
    auto(lookup.to(not_found, event="not_looked_up", cond=lookup_failed))
    auto(pick_line.to(load, event="line_defaulted", cond=line_chosen))
    auto(pick_line.to(choose_line, event="line_unknown"))
    auto(choose_line.to(load, event="line_picked", cond=line_chosen))
    auto(load.to(line_unavailable, event="line_not_loaded", cond=line_problem))
    auto(load.to(then, event="line_ready", cond=line_loaded))
    auto(line_unavailable.to(load, event="line_repicked", cond=line_chosen))
    states.update(
        pick_line=pick_line,
        choose_line=choose_line,
        load_line=load,
        line_unavailable=line_unavailable,
    )
    return States(states)


# -- the CRM without a phone -------------------------------------------------------------------


class _PhonelessCrm(TelecomTools):
    """A CRM with no customer phone behind it: a payment request is paid as soon as it is sent.

    Offline (the flows' examples, `cxflow chat`) nobody holds a phone to pay on; this stands in
    for the customer paying on their phone and the phone syncing to the CRM, so payment flows
    can reach their end. With a real phone (`cxflow.simulators.telecom.TelecomEnvironment`)
    pass plain `TelecomTools` as the session's environment instead.
    """

    def send_payment_request(self, customer_id: str, bill_id: str) -> str:
        sent = super().send_payment_request(customer_id, bill_id)
        self.get_bill(bill_id).status = BillStatus.PAID
        return sent


def telecom_crm(tau2_data: Path | None = None) -> TelecomTools:
    """The telecom flows' environment: the bundled sample CRM, or tau2's from `tau2_data`.

    A fresh copy per call, with no phone behind it (see `_PhonelessCrm`).
    """
    path = sample_db_path() if tau2_data is None else Path(tau2_data) / "telecom" / "db.toml"
    return _PhonelessCrm(load_telecom_db(path))
