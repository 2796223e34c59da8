"""Telecom CRM tools mirroring tau2-bench's telecom agent domain.

Models (`TelecomDB`, `Customer`, `Line`, ...), the TOML loader and tau2's DB hash, and
`TelecomTools` with tau2's lookup tools plus cxflow's `list_plans` / `change_plan`.
"""

from cxflow.tools.telecom.db import db_hash, load_telecom_db, sample_db_path, telecom_db_json
from cxflow.tools.telecom.models import (
    AccountStatus,
    Address,
    Bill,
    BillStatus,
    Customer,
    Device,
    DeviceType,
    JSONValue,
    Line,
    LineItem,
    LineStatus,
    PaymentMethod,
    PaymentMethodType,
    Plan,
    TelecomDB,
)
from cxflow.tools.telecom.tools import (
    TAU2_TODAY,
    DataUsage,
    Details,
    TelecomTools,
    to_tool_output,
)

__all__ = [
    "TAU2_TODAY",
    "AccountStatus",
    "Address",
    "Bill",
    "BillStatus",
    "Customer",
    "DataUsage",
    "Details",
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
    "TelecomTools",
    "db_hash",
    "load_telecom_db",
    "sample_db_path",
    "telecom_db_json",
    "to_tool_output",
]
