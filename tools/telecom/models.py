"""Pydantic models of the telecom CRM, mirroring tau2-bench's telecom agent data model.

Field names, types, defaults and declaration order follow `tau2.domains.telecom.data_model`
(tau2-bench 1.0.1) exactly, so `json.dumps(model.model_dump(), default=str)` reproduces the
tool outputs tau2 shows to the agent byte for byte, and the DB hash matches tau2's.
"""

import datetime as dt
from enum import StrEnum
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountStatus",
    "Address",
    "Bill",
    "BillStatus",
    "Customer",
    "Device",
    "DeviceType",
    "JSONValue",
    "Line",
    "LineItem",
    "LineStatus",
    "PaymentMethod",
    "PaymentMethodType",
    "Plan",
    "TelecomDB",
]

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
"""A value that `json.dumps` accepts without a `default` hook."""

DEFAULT_CREATED_AT = dt.datetime(2025, 1, 1)
"""Default `Customer.created_at` (tau2 uses the date 2025-01-01; every record sets it)."""


class _Record(BaseModel):
    """Base of every telecom model: unknown fields are rejected, as in tau2's BaseModelNoExtra."""

    model_config = ConfigDict(extra="forbid")


class Address(_Record):
    """A customer's billing address."""

    street: str
    city: str
    state: str
    zip_code: str


class Plan(_Record):
    """A service plan: monthly data allowance, price and refueling price."""

    plan_id: str
    name: str
    data_limit_gb: float
    price_per_month: float
    data_refueling_price_per_gb: float


class DeviceType(StrEnum):
    """Kind of device attached to a line."""

    PHONE = "phone"
    ROUTER = "router"
    TABLET = "tablet"
    WATCH = "watch"
    OTHER = "other"


class Device(_Record):
    """A device (phone, tablet, ...) known to the CRM."""

    device_id: str
    device_type: DeviceType
    model: str
    imei: str | None = None
    is_esim_capable: bool
    activated: bool = False
    activation_date: dt.datetime | None = None
    last_esim_transfer_date: dt.datetime | None = None


class LineStatus(StrEnum):
    """Status of a phone/data line."""

    ACTIVE = "Active"
    SUSPENDED = "Suspended"
    PENDING_ACTIVATION = "Pending Activation"
    CLOSED = "Closed"


class Line(_Record):
    """A phone/data line: number, status, plan, device, usage and contract dates."""

    line_id: str
    phone_number: str
    status: LineStatus = LineStatus.PENDING_ACTIVATION
    plan_id: str
    device_id: str | None = None
    data_used_gb: float = 0.0
    data_refueling_gb: float = 0.0
    roaming_enabled: bool = False
    contract_end_date: dt.date | None = None
    last_plan_change_date: dt.date | None = None
    last_sim_replacement_date: dt.date | None = None
    suspension_start_date: dt.date | None = None


class LineItem(_Record):
    """One charge, fee, credit or payment on a bill."""

    description: str
    amount: float
    date: dt.date
    item_type: str


class BillStatus(StrEnum):
    """Status of a bill."""

    DRAFT = "Draft"
    ISSUED = "Issued"
    AWAITING_PAYMENT = "Awaiting Payment"
    PAID = "Paid"
    OVERDUE = "Overdue"
    DISPUTED = "Disputed"


class Bill(_Record):
    """A customer's bill for one billing period."""

    bill_id: str
    customer_id: str
    period_start: dt.date
    period_end: dt.date
    issue_date: dt.date
    total_due: float
    due_date: dt.date
    line_items: list[LineItem] = Field(default_factory=lambda: list[LineItem]())
    status: BillStatus = BillStatus.DRAFT


class AccountStatus(StrEnum):
    """Status of a customer account."""

    ACTIVE = "Active"
    SUSPENDED = "Suspended"
    PENDING_VERIFICATION = "Pending Verification"
    CLOSED = "Closed"


class PaymentMethodType(StrEnum):
    """Kind of stored payment method."""

    CREDIT_CARD = "Credit Card"
    DEBIT_CARD = "Debit Card"
    PAYPAL = "PayPal"


class PaymentMethod(_Record):
    """A stored payment method (only the last 4 digits are kept)."""

    method_type: PaymentMethodType
    account_number_last_4: str
    expiration_date: str


class Customer(_Record):
    """A customer profile. `date_of_birth` is a `YYYY-MM-DD` string, as in tau2."""

    customer_id: str
    full_name: str
    date_of_birth: str
    email: str
    phone_number: str
    address: Address
    account_status: AccountStatus = AccountStatus.PENDING_VERIFICATION
    payment_methods: list[PaymentMethod] = Field(default_factory=lambda: list[PaymentMethod]())
    line_ids: list[str] = Field(default_factory=lambda: list[str]())
    bill_ids: list[str] = Field(default_factory=lambda: list[str]())
    created_at: dt.datetime = DEFAULT_CREATED_AT
    last_extension_date: dt.date | None = None
    goodwill_credit_used_this_year: float = 0.0


class TelecomDB(_Record):
    """The whole telecom CRM: plans, customers, lines, bills and devices (tau2's table order)."""

    plans: list[Plan] = Field(default_factory=lambda: list[Plan]())
    customers: list[Customer] = Field(default_factory=lambda: list[Customer]())
    lines: list[Line] = Field(default_factory=lambda: list[Line]())
    bills: list[Bill] = Field(default_factory=lambda: list[Bill]())
    devices: list[Device] = Field(default_factory=lambda: list[Device]())
