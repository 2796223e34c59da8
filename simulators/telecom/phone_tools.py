"""The 30 tools the customer uses on their own phone, with tau2-bench's exact output texts.

`TelecomUserTools` (tau2's class name, which appears in argument-error messages; `PhoneTools` is
an alias) acts only on a `PhoneState`. Fix-it tools answer with what changed and the new status
bar; "failures" such as an unknown app are ordinary text, as in tau2. `call_phone_tool`
dispatches one call by name the way tau2's environment does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxflow.simulators.telecom import network
from cxflow.simulators.telecom.state import (
    APNSettings,
    NetworkModePreference,
    NetworkStatus,
    PhoneDevice,
    PhoneState,
    SignalStrength,
    SimStatus,
    Surroundings,
)
from cxflow.tools._tau2 import ToolResult, invoke
from cxflow.tools.telecom.tools import ToolType

__all__ = [
    "USER_TOOL_NAMES",
    "USER_TOOL_TYPES",
    "PhoneTools",
    "TelecomUserTools",
    "call_phone_tool",
]

USER_TOOL_TYPES: Mapping[str, ToolType] = {
    "can_send_mms": "read",
    "check_apn_settings": "read",
    "check_app_permissions": "read",
    "check_app_status": "read",
    "check_data_restriction_status": "read",
    "check_installed_apps": "read",
    "check_network_mode_preference": "read",
    "check_network_status": "read",
    "check_payment_request": "read",
    "check_sim_status": "read",
    "check_status_bar": "read",
    "check_vpn_status": "read",
    "check_wifi_calling_status": "read",
    "check_wifi_status": "read",
    "connect_vpn": "write",
    "disconnect_vpn": "write",
    "grant_app_permission": "write",
    "make_payment": "write",
    "reboot_device": "write",
    "reseat_sim_card": "write",
    "reset_apn_settings": "write",
    "run_speed_test": "read",
    "set_apn_settings": "write",
    "set_network_mode_preference": "write",
    "toggle_airplane_mode": "write",
    "toggle_data": "write",
    "toggle_data_saver_mode": "write",
    "toggle_roaming": "write",
    "toggle_wifi": "write",
    "toggle_wifi_calling": "write",
}
"""Every tau2 telecom phone tool and its type."""

USER_TOOL_NAMES: tuple[str, ...] = tuple(USER_TOOL_TYPES)
"""The tools the customer may call through `call_phone_tool` (sorted)."""

_SIM_TEXT = {
    SimStatus.ACTIVE: "Your SIM card is active and working.",
    SimStatus.MISSING: "No SIM card detected in the phone.",
    SimStatus.LOCKED_PIN: "The SIM card is locked with a PIN code.",
    SimStatus.LOCKED_PUK: "The SIM card is locked with a PUK code.",
}

_SPEED_ADVICE = {
    "Very Poor": "Connection is very slow. Basic web browsing might be difficult.",
    "Poor": "Connection is slow. Web browsing may be sluggish, streaming difficult.",
    "Fair": "Connection is okay for web browsing and some standard definition streaming.",
    "Good": "Connection is good for most activities, including HD streaming.",
    "Excellent": "Connection is very fast.",
}


def _on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


class TelecomUserTools:
    """The customer's phone tools over one `PhoneState` (tools change it in place).

    Attributes:
        state: The phone and its surroundings.
    """

    def __init__(self, state: PhoneState) -> None:
        """Wrap a phone state.

        Args:
            state: The phone and surroundings to read and change.
        """
        self.state = state

    @property
    def device(self) -> PhoneDevice:
        """The phone itself."""
        return self.state.device

    @property
    def surroundings(self) -> Surroundings:
        """The customer's surroundings (location, coverage, the CRM's view of the line)."""
        return self.state.surroundings

    def _with_status_bar(self, text: str) -> str:
        return f"{text}\nStatus Bar: {network.status_bar(self.device)}"

    # ---- status and network -------------------------------------------------------------------

    def check_status_bar(self) -> str:
        """Show the status bar: signal, technology, data, data saver, Wi-Fi, VPN and battery."""
        return f"Status Bar: {network.status_bar(self.device)}"

    def check_network_status(self) -> str:
        """Show airplane mode, SIM, cellular connection, signal, technology, data and Wi-Fi."""
        device = self.device
        lines = [
            f"Airplane Mode: {_on_off(device.airplane_mode)}",
            f"SIM Card Status: {network.sim_status(device).value}",
            f"Cellular Connection: {device.network_connection_status.value}",
            f"Cellular Signal: {device.network_signal_strength.value}",
            f"Cellular Network Type: {device.network_technology_connected.value}",
            f"Mobile Data Enabled: {_yes_no(device.data_enabled)}",
            f"Data Roaming Enabled: {_yes_no(device.roaming_enabled)}",
            f"Wi-Fi Radio: {_on_off(device.wifi_enabled)}",
            f"Wi-Fi Connected: {_yes_no(device.wifi_connected)}",
        ]
        if device.wifi_connected:
            lines.append(f"Connected Wi-Fi Network: {device.wifi_ssid}")
        return "\n".join(lines)

    def check_network_mode_preference(self) -> str:
        """Show which network technologies the phone prefers."""
        return f"Network Mode Preference: {self.device.network_mode_preference.value}"

    def set_network_mode_preference(self, mode: NetworkModePreference | str) -> str:
        """Choose the preferred network mode (`4g_5g_preferred`, `4g_only`, `3g_only`, `2g_only`).

        Triggers a network search. An unknown mode is reported as text, not raised.
        """
        valid = self._set_network_mode_preference(mode)
        if valid is None:
            options = ", ".join(m.value for m in NetworkModePreference)
            return self._with_status_bar(
                f"Failed to set network mode: '{mode}' is not a valid option. "
                f"Please use one of: {options}"
            )
        return self._with_status_bar(f"Preferred Network Mode set to: {valid.value}")

    def _set_network_mode_preference(
        self, mode: NetworkModePreference | str
    ) -> NetworkModePreference | None:
        try:
            # Like tau2, only strings are converted; anything else is stored as given.
            if isinstance(mode, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                mode = NetworkModePreference(mode)
            self.device.network_mode_preference = mode
            network.simulate_network_search(self.state)
            return mode
        except ValueError:
            return None

    def run_speed_test(self) -> str:
        """Measure the mobile download speed and say what it is good for."""
        speed, description = network.speed_test(self.state)
        if speed is None:
            return f"Speed test failed: {description or 'Could not determine speed'}."
        advice = _SPEED_ADVICE.get(description, "")
        return f"Speed Test Result: {speed:.2f} Mbps ({description}). {advice}"

    def toggle_airplane_mode(self) -> str:
        """Turn airplane mode on or off (on drops cellular, Wi-Fi and VPN)."""
        now_on = network.toggle_airplane_mode(self.state)
        return self._with_status_bar(f"Airplane Mode is now {_on_off(now_on)}.")

    # ---- SIM ----------------------------------------------------------------------------------

    def check_sim_status(self) -> str:
        """Say whether the SIM is active, missing, or locked with a PIN or PUK."""
        status = network.sim_status(self.device)
        return _SIM_TEXT.get(status, f"Unknown SIM status: {status.value}")

    def reseat_sim_card(self) -> str:
        """Take the SIM out and put it back in, then search the network (a locked SIM stays)."""
        self.device.sim_card_missing = False
        network.simulate_network_search(self.state)
        return self._with_status_bar("SIM card re-seated successfully.")

    # ---- mobile data and roaming --------------------------------------------------------------

    def toggle_data(self) -> str:
        """Turn mobile data on or off."""
        now_on = network.toggle_data(self.state)
        return self._with_status_bar(f"Mobile Data is now {_on_off(now_on)}.")

    def toggle_roaming(self) -> str:
        """Turn data roaming on or off on the phone (the line must also allow roaming)."""
        now_on = network.toggle_roaming(self.state)
        return self._with_status_bar(f"Data Roaming is now {_on_off(now_on)}.")

    def check_data_restriction_status(self) -> str:
        """Say whether data saver mode is on."""
        if self.device.data_saver_mode:
            return "Data Saver mode is ON (limits data usage)."
        return "Data Saver mode is OFF."

    def toggle_data_saver_mode(self) -> str:
        """Turn data saver mode on or off."""
        now_on = network.toggle_data_saver_mode(self.state)
        return self._with_status_bar(f"Data Saver Mode is now {_on_off(now_on)}.")

    # ---- APN ----------------------------------------------------------------------------------

    def check_apn_settings(self) -> str:
        """Show the APN name and the MMSC URL used for picture messages."""
        settings = self.device.active_apn_settings
        apn_name = settings.apn_name.value or "Not Set"
        mmsc_url = settings.mmsc_url or "Not Set"
        return (
            f"Current APN Name: {apn_name}\nMMSC URL (for picture messages): {mmsc_url}\n"
            "(These are technical settings, usually best left unchanged.)"
        )

    def set_apn_settings(self, apn_settings: APNSettings | dict[str, Any]) -> str:
        """Replace the whole APN configuration (unset fields take defaults) and search again.

        Raises:
            pydantic.ValidationError: The settings are invalid (e.g. an unknown APN name).
        """
        if isinstance(apn_settings, dict):
            apn_settings = APNSettings(**apn_settings)
        self.device.active_apn_settings = apn_settings
        update = f"APN settings set to: {apn_settings.apn_name.value}"
        network.simulate_network_search(self.state)
        return self._with_status_bar(update)

    def reset_apn_settings(self) -> str:
        """Schedule the default APN settings for the next reboot (then search the network)."""
        self.device.active_apn_settings.reset_at_reboot = True
        network.simulate_network_search(self.state)
        return self._with_status_bar("APN settings will reset at reboot.")

    # ---- Wi-Fi and Wi-Fi calling --------------------------------------------------------------

    def check_wifi_status(self) -> str:
        """Say whether Wi-Fi is on and which network it is connected to."""
        device = self.device
        if not device.wifi_enabled:
            return "Wi-Fi is turned OFF."
        if device.wifi_connected:
            return (
                f"Wi-Fi is ON and connected to '{device.wifi_ssid}'. "
                f"Signal strength: {device.wifi_signal_strength.value}."
            )
        return "Wi-Fi is ON but not connected to any network."

    def toggle_wifi(self) -> str:
        """Turn the Wi-Fi radio on or off (not possible in airplane mode)."""
        device = self.device
        if device.airplane_mode:
            return self._with_status_bar("Cannot change Wi-Fi settings while Airplane Mode is ON.")
        device.wifi_enabled = not device.wifi_enabled
        if not device.wifi_enabled:
            device.wifi_connected = False
            device.wifi_ssid = None
            device.wifi_signal_strength = SignalStrength.NONE
        return self._with_status_bar(f"Wi-Fi is now {_on_off(device.wifi_enabled)}.")

    def check_wifi_calling_status(self) -> str:
        """Say whether Wi-Fi calling is on."""
        return f"Wi-Fi Calling is currently turned {_on_off(self.device.wifi_calling_enabled)}."

    def toggle_wifi_calling(self) -> str:
        """Turn Wi-Fi calling on or off."""
        now_on = network.toggle_wifi_calling(self.state)
        return self._with_status_bar(f"Wi-Fi Calling is now {_on_off(now_on)}.")

    # ---- VPN ----------------------------------------------------------------------------------

    def check_vpn_status(self) -> str:
        """Say whether a VPN is connected, and show its details."""
        device = self.device
        if device.vpn_connected:
            # tau2 prints the Python repr of the dumped details (enum members included).
            details = device.vpn_details.model_dump() if device.vpn_details else None
            if details:
                return f"VPN is ON and connected. Details: {details}"
            return "VPN is ON and connected (no specific details available)."
        if device.vpn_enabled_setting:
            return "VPN is turned ON in settings, but currently not connected."
        return "VPN is turned OFF."

    def connect_vpn(self) -> str:
        """Connect the phone's VPN."""
        if not network.connect_vpn(self.state):
            return "VPN already connected."
        return self._with_status_bar("VPN connected successfully.")

    def disconnect_vpn(self) -> str:
        """Disconnect the VPN, if one is connected."""
        if network.disconnect_vpn(self.state):
            return self._with_status_bar("VPN disconnected successfully.")
        return self._with_status_bar("No active VPN connection to disconnect.")

    # ---- apps and MMS -------------------------------------------------------------------------

    def check_installed_apps(self) -> str:
        """List the installed apps."""
        names = ", ".join(self.device.app_statuses)
        return f"The following apps are installed on the phone: {names}"

    def check_app_status(self, app_name: str) -> str:
        """Show an app's granted permissions."""
        app = self.device.app_statuses.get(app_name)
        if app is None:
            return f"App '{app_name}' not found on this phone."
        granted = _granted(app.permissions.model_dump())
        lines = [f"Status for App: {app_name}"]
        if not granted:
            lines.append(" - Permissions: None granted.")
        else:
            lines.append(" - Permissions Granted:")
            lines += [f"   - {permission}" for permission in granted]
        return "\n".join(lines)

    def check_app_permissions(self, app_name: str) -> str:
        """List the permissions an app has."""
        app = self.device.app_statuses.get(app_name)
        if app is None:
            return f"App '{app_name}' not found on this phone."
        granted = _granted(app.permissions.model_dump())
        if not granted:
            return f"App '{app_name}' currently has no permissions granted."
        return f"App '{app_name}' has permission for: {', '.join(granted)}."

    def grant_app_permission(self, app_name: str, permission: str) -> str:
        """Grant an app one permission (`sms`, `storage`, `phone` or `network`; any case)."""
        app = self.device.app_statuses.get(app_name)
        permission = permission.lower()
        if app is None:
            outcome = f"Error. App '{app_name}' not found. Cannot grant permission."
        else:
            available = list(app.permissions.model_dump())
            if permission not in available:
                outcome = (
                    f"Error. Permission '{permission}' not tracked for app '{app_name}', "
                    f"available permissions: {available}"
                )
            else:
                setattr(app.permissions, permission, True)
                outcome = f"Success. Permission '{permission}' granted to app '{app_name}'."
        return self._with_status_bar(outcome)

    def can_send_mms(self) -> str:
        """Say whether the messaging app can send MMS."""
        if network.can_send_mms(self.state):
            return "Your messaging app can send MMS messages."
        return "Your messaging app cannot send MMS messages."

    # ---- device and payments ------------------------------------------------------------------

    def reboot_device(self) -> str:
        """Restart the phone: apply a scheduled APN reset, then search the network."""
        lines: list[str] = []
        if self.device.active_apn_settings.reset_at_reboot:
            lines.append("Resetting APN settings...")
            self.device.active_apn_settings = APNSettings()
        lines.append("Restarting network services...")
        self.device.network_connection_status = NetworkStatus.SEARCHING
        network.simulate_network_search(self.state)
        return self._with_status_bar("\n".join(lines))

    def check_payment_request(self) -> str:
        """Show the payment request the agent sent, if any."""
        request = self.surroundings.payment_request
        if request is None:
            return "No payment request has been made."
        return f"You have a payment request for bill {request.bill_id} of {request.amount_due} USD."

    def make_payment(self) -> str:
        """Pay the requested bill; the CRM marks it Paid when the environment next syncs."""
        request = self.surroundings.payment_request
        if request is None:
            return "You do not have a payment request."
        request.paid = True
        return f"Payment of {request.amount_due} USD has been made for bill {request.bill_id}."


def _granted(permissions: dict[str, bool]) -> list[str]:
    return [name.replace("_", " ").lower() for name, allowed in permissions.items() if allowed]


PhoneTools = TelecomUserTools
"""cxflow's name for tau2's `TelecomUserTools` (the class keeps tau2's name for its messages)."""


def call_phone_tool(tools: TelecomUserTools, name: str, arguments: Mapping[str, Any]) -> ToolResult:
    """Call one phone tool by name as tau2 does and return the text the customer sees.

    Unknown names, argument mistakes and exceptions give `"Error: …"` with `error=True`.
    """
    return invoke(tools, USER_TOOL_NAMES, name, arguments)
