"""The telecom customer's side: their phone, its tools, and the world coupling it to the CRM.

Mirrors tau2-bench's telecom user simulator: `PhoneState` (tau2's user DB: the device and its
surroundings), `TelecomUserTools` (the 30 phone tools; alias `PhoneTools`), the task set-up
functions and end-state checks, and `TelecomEnvironment`, which runs CRM and phone tool calls and
syncs the CRM's view of the line to the phone after each one.
"""

from cxflow.simulators.telecom.assertions import CRM_ASSERTIONS, PHONE_ASSERTIONS
from cxflow.simulators.telecom.coupling import sync
from cxflow.simulators.telecom.environment import Requestor, TelecomEnvironment
from cxflow.simulators.telecom.phone_tools import (
    USER_TOOL_NAMES,
    USER_TOOL_TYPES,
    PhoneTools,
    TelecomUserTools,
    call_phone_tool,
)
from cxflow.simulators.telecom.scenario import CRM_SETUP, PHONE_SETUP
from cxflow.simulators.telecom.state import (
    APNNames,
    APNSettings,
    AppPermissions,
    AppStatus,
    NetworkModePreference,
    NetworkStatus,
    NetworkTechnology,
    PaymentRequest,
    PerformanceLevel,
    PhoneDevice,
    PhoneState,
    SignalStrength,
    SimStatus,
    Surroundings,
    VpnDetails,
    load_phone_state,
    phone_state_hash,
    phone_state_json,
)

__all__ = [
    "CRM_ASSERTIONS",
    "CRM_SETUP",
    "PHONE_ASSERTIONS",
    "PHONE_SETUP",
    "USER_TOOL_NAMES",
    "USER_TOOL_TYPES",
    "APNNames",
    "APNSettings",
    "AppPermissions",
    "AppStatus",
    "NetworkModePreference",
    "NetworkStatus",
    "NetworkTechnology",
    "PaymentRequest",
    "PerformanceLevel",
    "PhoneDevice",
    "PhoneState",
    "PhoneTools",
    "Requestor",
    "SignalStrength",
    "SimStatus",
    "Surroundings",
    "TelecomEnvironment",
    "TelecomUserTools",
    "VpnDetails",
    "call_phone_tool",
    "load_phone_state",
    "phone_state_hash",
    "phone_state_json",
    "sync",
]
