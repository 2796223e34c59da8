"""Telecom CRM tools mirroring tau2-bench's telecom agent domain.

Models (`TelecomDB`, `Customer`, `Line`, ...), the TOML loader and tau2's DB hash, and
`TelecomTools` with tau2's 13 agent tools (dispatched by `call_tool`) plus cxflow's
`list_plans` / `change_plan`. The customer's phone lives in `cxflow.simulators.telecom`; replaying
tau2's conformance vectors is `cxflow.tools.telecom.conformance`.
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
    TOOL_NAMES,
    TOOL_TYPES,
    DataUsage,
    Details,
    LineUpdate,
    RefuelReceipt,
    TelecomTools,
    ToolType,
    call_tool,
    to_tool_output,
)

__all__ = [
    "TAU2_TODAY",
    "TOOL_NAMES",
    "TOOL_TYPES",
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
    "LineUpdate",
    "PaymentMethod",
    "PaymentMethodType",
    "Plan",
    "RefuelReceipt",
    "TelecomDB",
    "TelecomTools",
    "ToolType",
    "call_tool",
    "db_hash",
    "load_telecom_db",
    "sample_db_path",
    "telecom_db_json",
    "to_tool_output",
]
