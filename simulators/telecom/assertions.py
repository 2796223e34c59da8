"""Checks on the end state of a telecom conversation: was the customer's problem solved?

A tau2 task's `evaluation_criteria.env_assertions` name these functions. Phone-side checks
(`env_type: "user"`) take the `PhoneState`, CRM-side ones (`"assistant"`) take the
`TelecomTools`; each returns a bool that the task compares with its `assert_value`. Semantics
follow tau2-bench 1.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cxflow.simulators.telecom import network
from cxflow.simulators.telecom.state import NetworkStatus, PhoneState
from cxflow.tools.telecom.models import BillStatus, LineStatus
from cxflow.tools.telecom.tools import TelecomTools

__all__ = ["CRM_ASSERTIONS", "PHONE_ASSERTIONS"]


# ---- phone side ---------------------------------------------------------------------------------


def assert_airplane_mode_status(state: PhoneState, expected_status: bool) -> bool:
    """Airplane mode is on (`True`) or off."""
    return state.device.airplane_mode == expected_status


def assert_service_status(state: PhoneState, expected_status: str) -> bool:
    """The cellular connection status is `connected`, `no_service`, ...

    Raises:
        ValueError: `expected_status` is not a connection status.
    """
    return state.device.network_connection_status == NetworkStatus(expected_status)


def assert_mobile_data_status(state: PhoneState, expected_status: bool) -> bool:
    """Mobile data works (`True`) or not."""
    return network.mobile_data_working(state) == expected_status


def assert_mobile_roaming_status(state: PhoneState, expected_status: bool) -> bool:
    """The phone's data-roaming switch is on (`True`) or off."""
    return state.device.roaming_enabled == expected_status


def assert_mobile_data_saver_mode_status(state: PhoneState, expected_status: bool) -> bool:
    """Data saver mode is on (`True`) or off."""
    return state.device.data_saver_mode == expected_status


def assert_mobile_data_usage_exceeded(state: PhoneState, expected_status: bool) -> bool:
    """The line's data allowance is used up (`True`) or not, as last synced from the CRM."""
    return state.surroundings.mobile_data_usage_exceeded == expected_status


def assert_internet_speed(
    state: PhoneState, expected_speed: float, expected_desc: str | None = None
) -> bool:
    """The speed test gives at least `expected_speed` Mbps (and this description, any case)."""
    speed, description = network.speed_test(state)
    speed = speed or 0.0
    if expected_desc is None:
        return speed >= expected_speed
    return speed >= expected_speed and description.lower() == expected_desc.lower()


def assert_internet_not_excellent(state: PhoneState) -> bool:
    """The speed test does not rate the connection Excellent."""
    _, description = network.speed_test(state)
    return description.lower() != "excellent"


def assert_can_send_mms(state: PhoneState, expected_status: bool) -> bool:
    """The messaging app can send MMS (`True`) or not."""
    return network.can_send_mms(state) == expected_status


PHONE_ASSERTIONS: Mapping[str, Callable[..., bool]] = {
    f.__name__: f
    for f in (
        assert_airplane_mode_status,
        assert_can_send_mms,
        assert_internet_not_excellent,
        assert_internet_speed,
        assert_mobile_data_saver_mode_status,
        assert_mobile_data_status,
        assert_mobile_data_usage_exceeded,
        assert_mobile_roaming_status,
        assert_service_status,
    )
}
"""Phone-side checks by name; each takes the `PhoneState` first."""


# ---- CRM side -----------------------------------------------------------------------------------


def assert_data_refueling_amount(
    crm: TelecomTools, customer_id: str, line_id: str, expected_amount: float
) -> bool:
    """The line's refueled data is `expected_amount` GB (within 1e-6).

    Raises:
        ValueError: The customer or line (for this customer) is not found.
    """
    line = crm.get_customer_line(customer_id, line_id)
    return abs(line.data_refueling_gb - expected_amount) < 1e-6


def assert_line_status(
    crm: TelecomTools, customer_id: str, line_id: str, expected_status: LineStatus
) -> bool:
    """The line has this status.

    Raises:
        ValueError: The customer or line (for this customer) is not found.
    """
    return crm.get_customer_line(customer_id, line_id).status == expected_status


def assert_overdue_bill_exists(crm: TelecomTools, customer_id: str, overdue_bill_id: str) -> bool:
    """The customer has this bill and it is Overdue (otherwise this raises, as in tau2).

    Raises:
        ValueError: The customer or bill is not found, or the bill is not Overdue.
    """
    customer = crm.get_customer_by_id(customer_id)
    if overdue_bill_id not in customer.bill_ids:
        raise ValueError(f"Overdue bill {overdue_bill_id} not found")
    if crm.get_bill(overdue_bill_id).status != BillStatus.OVERDUE:
        raise ValueError(f"Overdue bill {overdue_bill_id} is not overdue")
    return True


def assert_no_overdue_bill(crm: TelecomTools, overdue_bill_id: str) -> bool:
    """The formerly overdue bill is Paid, or no longer exists."""
    try:
        bill = crm.get_bill(overdue_bill_id)
    except ValueError:
        return True
    return bill.status == BillStatus.PAID


CRM_ASSERTIONS: Mapping[str, Callable[..., bool]] = {
    f.__name__: f
    for f in (
        assert_data_refueling_amount,
        assert_line_status,
        assert_no_overdue_bill,
        assert_overdue_bill_exists,
    )
}
"""CRM-side checks by name; each takes the `TelecomTools` first."""
