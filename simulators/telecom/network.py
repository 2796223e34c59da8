"""How the mock phone behaves: network search, status bar, mobile data, speed test and MMS.

Pure functions over a `PhoneState`, reproducing tau2-bench 1.0.1's `TelecomUserTools` logic
(including its quirks: the connection status changes only on a network search, toggling data
or roaming triggers one, a data-saver phone runs at 20 % speed). The phone tools and the task
set-up functions are built from these.
"""

from __future__ import annotations

import copy

from cxflow.simulators.telecom.state import (
    APNNames,
    NetworkModePreference,
    NetworkStatus,
    NetworkTechnology,
    PerformanceLevel,
    PhoneDevice,
    PhoneState,
    SignalStrength,
    SimStatus,
    VpnDetails,
)

__all__ = [
    "DEFAULT_VPN",
    "can_send_mms",
    "connect_vpn",
    "disconnect_vpn",
    "mobile_data_working",
    "sim_status",
    "simulate_network_search",
    "speed_test",
    "status_bar",
    "toggle_airplane_mode",
    "toggle_data",
    "toggle_data_saver_mode",
    "toggle_roaming",
    "toggle_wifi_calling",
]

DEFAULT_VPN = VpnDetails(
    server_address="192.168.1.1", protocol="OpenVPN", server_performance=PerformanceLevel.EXCELLENT
)
"""The VPN the phone connects to."""

_PREFERRED_TECHNOLOGY = {
    NetworkModePreference.FOUR_G_ONLY: NetworkTechnology.FOUR_G,
    NetworkModePreference.THREE_G_ONLY: NetworkTechnology.THREE_G,
    NetworkModePreference.TWO_G_ONLY: NetworkTechnology.TWO_G,
}

_SIGNAL_ICONS = {
    SignalStrength.NONE: "📵 No Signal",
    SignalStrength.POOR: "📶¹ Poor",
    SignalStrength.FAIR: "📶² Fair",
    SignalStrength.GOOD: "📶³ Good",
    SignalStrength.EXCELLENT: "📶⁴ Excellent",
}

# Download speed range (Mbps) per technology and the share of it each signal level gets.
_SPEED_RANGE = {
    NetworkTechnology.TWO_G: (0.1, 0.4),
    NetworkTechnology.THREE_G: (1.0, 5.0),
    NetworkTechnology.FOUR_G: (10.0, 100.0),
    NetworkTechnology.FIVE_G: (50.0, 500.0),
    NetworkTechnology.NONE: (0.0, 0.0),
}
_SIGNAL_FACTOR = {
    SignalStrength.POOR: 0.2,
    SignalStrength.FAIR: 0.5,
    SignalStrength.GOOD: 0.8,
    SignalStrength.EXCELLENT: 1.0,
    SignalStrength.NONE: 0.0,
}


def sim_status(device: PhoneDevice) -> SimStatus:
    """The SIM's status as the phone reports it (`missing` when it is not seated)."""
    if device.sim_card_missing:
        return SimStatus.MISSING
    return device.sim_card_status


def simulate_network_search(state: PhoneState) -> None:
    """Reconnect the phone: pick technology and signal from the SIM, preference and location.

    No service when the SIM is missing or locked, airplane mode is on, the APN is broken or
    the carrier's line is not active.
    """
    device, surroundings = state.device, state.surroundings
    if sim_status(device) == SimStatus.ACTIVE:
        device.network_connection_status = NetworkStatus.CONNECTED
        available = surroundings.signal_strength
        preference = device.network_mode_preference
        if preference == NetworkModePreference.FOUR_G_5G_PREFERRED:
            five_g = available.get(NetworkTechnology.FIVE_G, SignalStrength.NONE)
            if five_g == SignalStrength.NONE:
                technology = NetworkTechnology.FOUR_G
            else:
                technology = NetworkTechnology.FIVE_G
        else:
            technology = _PREFERRED_TECHNOLOGY.get(preference, NetworkTechnology.FOUR_G)
        device.network_technology_connected = technology
        device.network_signal_strength = available.get(technology, SignalStrength.NONE)
    else:
        _lose_service(device)
    if (
        device.airplane_mode
        or device.active_apn_settings.apn_name == APNNames.BROKEN
        or not surroundings.line_active
    ):
        _lose_service(device)


def _lose_service(device: PhoneDevice) -> None:
    device.network_connection_status = NetworkStatus.NO_SERVICE
    device.network_technology_connected = NetworkTechnology.NONE
    device.network_signal_strength = SignalStrength.NONE


def status_bar(device: PhoneDevice) -> str:
    """The status bar icons, e.g. `📶³ Good | 5G | 📱 Data Enabled | 🔋 80%`."""
    indicators: list[str] = []
    if device.airplane_mode:
        indicators.append("✈️ Airplane Mode")
    else:
        indicators.append(_SIGNAL_ICONS.get(device.network_signal_strength, "📵 No Signal"))
        connected = device.network_technology_connected != NetworkTechnology.NONE
        if connected:
            indicators.append(device.network_technology_connected.value)
        if device.data_enabled and connected:
            indicators.append("📱 Data Enabled")
            if device.data_saver_mode:
                indicators.append("🔽 Data Saver")
        else:
            indicators.append("📵 Data Disabled")
    if device.wifi_enabled and device.wifi_connected:
        wifi = f"📡 Connected to {device.wifi_ssid}" if device.wifi_ssid else "📡 Enabled"
        indicators.append(wifi)
    if device.vpn_connected:
        indicators.append("🔒 VPN Connected")
    indicators.append(f"🔋 {device.battery_level}%")
    return " | ".join(indicators)


def mobile_data_working(state: PhoneState) -> bool:
    """Whether mobile data gets through: signal, service, roaming abroad, data switch, quota."""
    device, surroundings = state.device, state.surroundings
    if device.airplane_mode or device.network_signal_strength == SignalStrength.NONE:
        return False
    if device.network_connection_status == NetworkStatus.NO_SERVICE:
        return False
    if surroundings.is_abroad and not (device.roaming_enabled and surroundings.roaming_allowed):
        return False
    return device.data_enabled and not surroundings.mobile_data_usage_exceeded


def speed_test(state: PhoneState) -> tuple[float | None, str]:
    """Measure the download speed: `(Mbps, "Very Poor" … "Excellent")` or `(None, "No Connection")`.

    Speed is the middle of the technology's range, times the signal factor, times 0.1 on a
    poor VPN and 0.2 in data-saver mode, rounded to 2 decimals.
    """
    if not mobile_data_working(state):
        return None, "No Connection"
    device = state.device
    factor = 1.0
    if (
        device.vpn_connected
        and device.vpn_details
        and device.vpn_details.server_performance == PerformanceLevel.POOR
    ):
        factor = 0.1
    if device.data_saver_mode:
        factor *= 0.2
    low, high = _SPEED_RANGE.get(device.network_technology_connected, (0.0, 0.0))
    signal = _SIGNAL_FACTOR.get(device.network_signal_strength, 0.0)
    speed = round((low + high) / 2.0 * signal * factor, 2)
    if speed < 1:
        return speed, "Very Poor"
    if speed < 5:
        return speed, "Poor"
    if speed < 25:
        return speed, "Fair"
    if speed < 100:
        return speed, "Good"
    return speed, "Excellent"


def can_send_mms(state: PhoneState) -> bool:
    """Whether the messaging app can send MMS (data, 3G+, no MMS-over-Wi-Fi, MMSC, permissions)."""
    device = state.device
    if not mobile_data_working(state):
        return False
    if device.network_technology_connected == NetworkTechnology.TWO_G:
        return False
    # The phone supports MMS over Wi-Fi calling, but the carrier does not.
    if device.wifi_calling_enabled and device.wifi_calling_mms_over_wifi:
        return False
    if device.active_apn_settings.mmsc_url is None:
        return False
    messaging = device.app_statuses.get("messaging")
    if messaging is None:
        return False
    return messaging.permissions.storage and messaging.permissions.sms


def toggle_airplane_mode(state: PhoneState) -> bool:
    """Flip airplane mode (on: Wi-Fi and VPN drop), search the network; return the new mode."""
    device = state.device
    was_on = device.airplane_mode
    device.airplane_mode = not was_on
    if was_on:
        device.network_connection_status = NetworkStatus.SEARCHING
    if not was_on or device.wifi_enabled:
        device.wifi_connected = False
        device.wifi_ssid = None
        device.wifi_signal_strength = SignalStrength.NONE
    if not was_on and device.vpn_connected:
        disconnect_vpn(state)
    simulate_network_search(state)
    return device.airplane_mode


def toggle_data(state: PhoneState) -> bool:
    """Flip the mobile-data switch and search the network; return the new setting."""
    state.device.data_enabled = not state.device.data_enabled
    simulate_network_search(state)
    return state.device.data_enabled


def toggle_roaming(state: PhoneState) -> bool:
    """Flip the data-roaming switch and search the network; return the new setting."""
    state.device.roaming_enabled = not state.device.roaming_enabled
    simulate_network_search(state)
    return state.device.roaming_enabled


def toggle_data_saver_mode(state: PhoneState) -> bool:
    """Flip data-saver mode (no network search); return the new setting."""
    state.device.data_saver_mode = not state.device.data_saver_mode
    return state.device.data_saver_mode


def toggle_wifi_calling(state: PhoneState) -> bool:
    """Flip Wi-Fi calling (its MMS-over-Wi-Fi preference stays); return the new setting."""
    state.device.wifi_calling_enabled = not state.device.wifi_calling_enabled
    return state.device.wifi_calling_enabled


def connect_vpn(state: PhoneState) -> bool:
    """Connect the default VPN; return False if one was already connected."""
    if state.device.vpn_connected:
        return False
    state.device.vpn_connected = True
    state.device.vpn_details = copy.deepcopy(DEFAULT_VPN)
    return True


def disconnect_vpn(state: PhoneState) -> bool:
    """Drop the VPN connection; return False if none was connected."""
    if not state.device.vpn_connected:
        return False
    state.device.vpn_connected = False
    state.device.vpn_details = None
    return True
