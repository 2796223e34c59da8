"""Set-up functions that put a telecom task's world in its starting (usually broken) state.

A tau2 task's `initial_state.initialization_actions` name these functions: phone-side ones
(`env_type: "user"`, e.g. `unseat_sim_card`, `break_apn_settings`) take the `PhoneState`,
CRM-side ones (`"assistant"`, e.g. `set_data_usage`, `suspend_line_for_overdue_bill`) take the
`TelecomTools`. They are not tools: neither the agent nor the customer can call them. Texts and
effects follow tau2-bench 1.0.1; tools used as set-up (`set_network_mode_preference`,
`enable_roaming`, ...) are called through their toolkit instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from cxflow.simulators.telecom import network
from cxflow.simulators.telecom.state import (
    APNNames,
    NetworkStatus,
    PerformanceLevel,
    PhoneState,
    SimStatus,
)
from cxflow.tools.telecom.billing import overdue_bill_for_last_month
from cxflow.tools.telecom.models import BillStatus, LineStatus
from cxflow.tools.telecom.tools import TAU2_TODAY, TelecomTools

__all__ = ["CRM_SETUP", "PHONE_SETUP"]


# ---- phone side ---------------------------------------------------------------------------------


def set_user_info(state: PhoneState, name: str, phone_number: str) -> None:
    """Say who holds the phone and which line it uses (the sync follows this number)."""
    state.surroundings.name = name
    state.surroundings.phone_number = phone_number


def set_user_location(state: PhoneState, abroad: bool) -> None:
    """Put the customer abroad (data then needs roaming on the phone and on the line) or home."""
    state.surroundings.is_abroad = abroad


def turn_airplane_mode_on(state: PhoneState) -> str:
    """Switch airplane mode on (toggling twice if it was already on)."""
    if not network.toggle_airplane_mode(state):
        network.toggle_airplane_mode(state)
    return "Airplane Mode is now ON."


def turn_airplane_mode_off(state: PhoneState) -> str:
    """Switch airplane mode off (toggling twice if it was already off)."""
    if network.toggle_airplane_mode(state):
        network.toggle_airplane_mode(state)
    return "Airplane Mode is now OFF."


def unseat_sim_card(state: PhoneState) -> str:
    """Pull the SIM out; `reseat_sim_card` fixes it."""
    state.device.sim_card_missing = True
    network.simulate_network_search(state)
    return "SIM card un-seated successfully."


def lock_sim_card(state: PhoneState, mode: Literal["pin", "puk"]) -> str:
    """Lock the SIM with a PIN or PUK; no phone tool can fix that."""
    if mode == "pin":
        state.device.sim_card_status = SimStatus.LOCKED_PIN
    elif mode == "puk":
        state.device.sim_card_status = SimStatus.LOCKED_PUK
    network.simulate_network_search(state)
    return f"SIM card locked successfully in {mode} mode."


def turn_data_on(state: PhoneState) -> str:
    """Switch mobile data on (no network search, as in tau2)."""
    state.device.data_enabled = True
    return "Data connection restored."


def turn_data_off(state: PhoneState) -> str:
    """Switch mobile data off (toggling twice if it was already off)."""
    if network.toggle_data(state):
        network.toggle_data(state)
    return "Data connection broken."


def turn_roaming_on(state: PhoneState) -> str:
    """Switch data roaming on (toggling twice if it was already on)."""
    if not network.toggle_roaming(state):
        network.toggle_roaming(state)
    return "Data Roaming is now ON."


def turn_roaming_off(state: PhoneState) -> str:
    """Switch data roaming off (toggling twice if it was already off)."""
    if network.toggle_roaming(state):
        network.toggle_roaming(state)
    return "Data Roaming is now OFF."


def turn_data_saver_mode_on(state: PhoneState) -> str:
    """Switch data saver mode on."""
    if not network.toggle_data_saver_mode(state):
        network.toggle_data_saver_mode(state)
    return "Data Saver Mode is now ON."


def turn_data_saver_mode_off(state: PhoneState) -> str:
    """Switch data saver mode off."""
    if network.toggle_data_saver_mode(state):
        network.toggle_data_saver_mode(state)
    return "Data Saver Mode is now OFF."


def break_apn_settings(state: PhoneState) -> str:
    """Break the APN (no service); `reset_apn_settings` and a reboot fix it."""
    state.device.active_apn_settings.apn_name = APNNames.BROKEN
    network.simulate_network_search(state)
    assert state.device.network_connection_status == NetworkStatus.NO_SERVICE
    return "APN settings broken. Please call reset_apn_settings() to fix."


def break_apn_mms_setting(state: PhoneState) -> str:
    """Remove the MMSC URL (no MMS); `reset_apn_settings` and a reboot fix it."""
    state.device.active_apn_settings.mmsc_url = None
    assert not network.can_send_mms(state)
    return "APN MMS setting broken. Please call reset_apn_settings() to fix."


def break_vpn(state: PhoneState) -> str:
    """Connect a VPN with a poor server (slow data); `disconnect_vpn` fixes it."""
    network.connect_vpn(state)
    assert state.device.vpn_details is not None
    state.device.vpn_details.server_performance = PerformanceLevel.POOR
    return "VPN connection broken."


def set_wifi_calling(state: PhoneState, enabled: bool, mms_over_wifi: bool | None = None) -> str:
    """Set Wi-Fi calling, and its MMS-over-Wi-Fi preference if given."""
    if state.device.wifi_calling_enabled != enabled:
        network.toggle_wifi_calling(state)
    message = f"Wi-Fi Calling is now {'ON' if enabled else 'OFF'}."
    if mms_over_wifi is not None:
        state.device.wifi_calling_mms_over_wifi = mms_over_wifi
        message += f"\nMMS over Wi-Fi is now {'ON' if mms_over_wifi else 'OFF'}."
    return message


def remove_app_permission(state: PhoneState, app_name: str, permission: str) -> tuple[bool, str]:
    """Revoke one app permission; `grant_app_permission` fixes it."""
    app = state.device.app_statuses.get(app_name)
    permission = permission.lower()
    if app is None:
        return False, f"App '{app_name}' not found. Cannot remove permission."
    if not hasattr(app.permissions, permission):
        return False, f"Permission '{permission}' not tracked for app '{app_name}'."
    setattr(app.permissions, permission, False)
    return True, f"Permission '{permission}' removed from app '{app_name}'."


def simulate_network_search(state: PhoneState) -> None:
    """Let the phone search the network now (e.g. after the CRM suspended the line)."""
    network.simulate_network_search(state)


PHONE_SETUP: Mapping[str, Callable[..., object]] = {
    f.__name__: f
    for f in (
        break_apn_mms_setting,
        break_apn_settings,
        break_vpn,
        lock_sim_card,
        remove_app_permission,
        set_user_info,
        set_user_location,
        set_wifi_calling,
        simulate_network_search,
        turn_airplane_mode_off,
        turn_airplane_mode_on,
        turn_data_off,
        turn_data_on,
        turn_data_saver_mode_off,
        turn_data_saver_mode_on,
        turn_roaming_off,
        turn_roaming_on,
        unseat_sim_card,
    )
}
"""Phone-side set-up functions by name; each takes the `PhoneState` first."""


# ---- CRM side -----------------------------------------------------------------------------------


def set_data_usage(crm: TelecomTools, customer_id: str, line_id: str, data_used_gb: float) -> str:
    """Set how much data a customer's line has used this cycle.

    Raises:
        ValueError: The customer or line (for this customer) is not found.
    """
    line = crm.get_customer_line(customer_id, line_id)
    line.data_used_gb = data_used_gb
    return f"Data usage set to {data_used_gb} GB for line {line_id}"


def suspend_line_for_overdue_bill(
    crm: TelecomTools, customer_id: str, line_id: str, new_bill_id: str, contract_ended: bool
) -> str:
    """Suspend an Active line for an unpaid bill: add last month's Overdue bill for its plan price.

    With `contract_ended`, the line's contract also ends on the last day of last month (then the
    policy forbids lifting the suspension).

    Raises:
        ValueError: The line is not Active, the plan price is not positive, the customer is not
            found or already has an Overdue bill.
    """
    line = crm.get_line(line_id)
    if line.status != LineStatus.ACTIVE:
        raise ValueError("Line must be active to suspend for unpaid bill")
    amount = crm.get_plan(line.plan_id).price_per_month
    if amount <= 0:
        raise ValueError("Amount must be positive for overdue bill")
    customer = crm.get_customer_by_id(customer_id)
    bills = [crm.get_bill(bill_id) for bill_id in customer.bill_ids]
    if any(bill.status == BillStatus.OVERDUE for bill in bills):
        raise ValueError("Customer already has an overdue bill")
    bill = overdue_bill_for_last_month(
        customer_id, new_bill_id, amount, f"Charge for line {line.line_id}", TAU2_TODAY
    )
    crm.db.bills.append(bill)
    customer.bill_ids.append(new_bill_id)
    line.status = LineStatus.SUSPENDED
    line.suspension_start_date = TAU2_TODAY
    if contract_ended:
        line.contract_end_date = bill.period_end
    return (
        f"Line {line_id} suspended for unpaid bill {new_bill_id}. Contract ended: {contract_ended}"
    )


CRM_SETUP: Mapping[str, Callable[..., object]] = {
    "set_data_usage": set_data_usage,
    "suspend_line_for_overdue_bill": suspend_line_for_overdue_bill,
}
"""CRM-side set-up functions by name; each takes the `TelecomTools` first."""
