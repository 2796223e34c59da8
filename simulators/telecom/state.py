"""The customer's phone and surroundings, mirroring tau2-bench's telecom user data model.

`PhoneState` is tau2's user DB (`TelecomUserDB`): the `device` (a mock phone's settings and
connection) and the `surroundings` (who and where the customer is, what the network offers, and
what the carrier's CRM says about their line). Field names, defaults and declaration order follow
`tau2.domains.telecom.user_data_model` (tau2-bench 1.0.1), so the JSON dump hashes to tau2's
user-DB hash. `APNSettings` and `PerformanceLevel` keep tau2's class names because they show up
in tool output (a validation error title, a VPN details repr).
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cxflow.errors import DataFileError
from cxflow.tools._loading import validation_error
from cxflow.tools._tau2 import db_hash

__all__ = [
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
    "SignalStrength",
    "SimStatus",
    "Surroundings",
    "VpnDetails",
    "load_phone_state",
    "phone_state_hash",
    "phone_state_json",
]


class _Record(BaseModel):
    """Base of every phone model: unknown fields are rejected, as in tau2's BaseModelNoExtra."""

    model_config = ConfigDict(extra="forbid")


class SimStatus(StrEnum):
    """State of the SIM card."""

    ACTIVE = "active"
    MISSING = "missing"
    LOCKED_PIN = "locked_pin"
    LOCKED_PUK = "locked_puk"


class NetworkTechnology(StrEnum):
    """Cellular technology generation (`none` when not connected)."""

    NONE = "none"
    TWO_G = "2G"
    THREE_G = "3G"
    FOUR_G = "4G"
    FIVE_G = "5G"


class NetworkModePreference(StrEnum):
    """Which technologies the phone may connect to."""

    FOUR_G_5G_PREFERRED = "4g_5g_preferred"
    FOUR_G_ONLY = "4g_only"
    THREE_G_ONLY = "3g_only"
    TWO_G_ONLY = "2g_only"


class SignalStrength(StrEnum):
    """Signal bars: none, poor (1), fair (2), good (3), excellent (4)."""

    NONE = "none"
    POOR = "poor"
    FAIR = "fair"
    GOOD = "good"
    EXCELLENT = "excellent"


class PerformanceLevel(StrEnum):
    """Quality of a VPN server."""

    UNKNOWN = "unknown"
    POOR = "poor"
    FAIR = "fair"
    GOOD = "good"
    EXCELLENT = "excellent"


class NetworkStatus(StrEnum):
    """Cellular connection status."""

    CONNECTED = "connected"
    SEARCHING = "searching"
    NO_SERVICE = "no_service"
    EMERGENCY_ONLY = "emergency_only"


class APNNames(StrEnum):
    """APN profile name; `broken` stands for wrong settings that kill the connection."""

    INTERNET = "internet"
    BROKEN = "broken"


class APNSettings(_Record):
    """The active Access Point Name configuration (mobile data and MMS)."""

    apn_name: APNNames = APNNames.INTERNET
    reset_at_reboot: bool = False
    mms_apn: str | None = "mms"
    mmsc_url: str | None = "http://mms.carrier.com/mms/wapenc"
    mms_proxy: str | None = None
    mms_port: int | None = None


class VpnDetails(_Record):
    """The VPN server the phone is connected to."""

    server_address: str | None = None
    protocol: str | None = None
    server_performance: PerformanceLevel = PerformanceLevel.UNKNOWN


class AppPermissions(_Record):
    """The permissions tau2 tracks per app, in tau2's order."""

    sms: bool = False
    storage: bool = False
    phone: bool = False
    network: bool = False


class AppStatus(_Record):
    """An installed app and its permissions."""

    app_name: str
    permissions: AppPermissions = Field(default_factory=AppPermissions)


def _default_apps() -> dict[str, AppStatus]:
    return {
        "messaging": AppStatus(
            app_name="messaging",
            permissions=AppPermissions(sms=True, storage=True, phone=True),
        ),
        "browser": AppStatus(
            app_name="browser", permissions=AppPermissions(network=True, storage=True)
        ),
    }


class PhoneDevice(_Record):
    """The mock phone: SIM, radio, data, Wi-Fi, VPN and app settings and its connection."""

    sim_card_status: SimStatus = SimStatus.ACTIVE
    sim_card_missing: bool = False
    airplane_mode: bool = False
    network_signal_strength: SignalStrength = SignalStrength.GOOD
    network_technology_connected: NetworkTechnology = NetworkTechnology.FIVE_G
    network_connection_status: NetworkStatus = NetworkStatus.CONNECTED
    battery_level: int = 80
    data_enabled: bool = True
    roaming_enabled: bool = False
    network_mode_preference: NetworkModePreference = NetworkModePreference.FOUR_G_5G_PREFERRED
    active_apn_settings: APNSettings = Field(default_factory=APNSettings)
    wifi_enabled: bool = False
    wifi_connected: bool = False
    wifi_ssid: str | None = None
    wifi_signal_strength: SignalStrength = SignalStrength.NONE
    wifi_calling_enabled: bool = False
    wifi_calling_mms_over_wifi: bool = False
    data_saver_mode: bool = False
    vpn_enabled_setting: bool = False
    vpn_connected: bool = False
    vpn_details: VpnDetails | None = None
    app_statuses: dict[str, AppStatus] = Field(default_factory=_default_apps)


class PaymentRequest(_Record):
    """A bill the agent asked the customer to pay; `paid` once they pay it on the phone."""

    bill_id: str
    amount_due: float
    paid: bool = False


def _default_signal() -> dict[NetworkTechnology, SignalStrength]:
    return {
        NetworkTechnology.TWO_G: SignalStrength.POOR,
        NetworkTechnology.THREE_G: SignalStrength.FAIR,
        NetworkTechnology.FOUR_G: SignalStrength.GOOD,
        NetworkTechnology.FIVE_G: SignalStrength.EXCELLENT,
    }


class Surroundings(_Record):
    """The world around the phone: the customer, location, coverage, and the CRM's view.

    `roaming_allowed`, `mobile_data_usage_exceeded`, `line_active` and `payment_request` are
    copied from the CRM by the environment's sync after every tool call.
    """

    name: str | None = None
    phone_number: str | None = None
    is_abroad: bool = False
    roaming_allowed: bool = False
    signal_strength: dict[NetworkTechnology, SignalStrength] = Field(
        default_factory=_default_signal
    )
    mobile_data_usage_exceeded: bool = False
    line_active: bool = True
    payment_request: PaymentRequest | None = None


class PhoneState(_Record):
    """Everything on the customer's side of a telecom conversation (tau2's user DB)."""

    device: PhoneDevice = Field(default_factory=PhoneDevice)
    surroundings: Surroundings = Field(default_factory=Surroundings)


def load_phone_state(path: Path | str) -> PhoneState:
    """Read a phone state from a TOML file in tau2-bench's `user_db.toml` format.

    Missing fields take tau2's defaults (the file usually holds only `[device]`).

    Raises:
        DataFileError: The file is missing or unreadable, is not valid TOML, or a field does
            not match the schema; the message names the file and the field.
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFileError(file, "file not found. Check the path and load again.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise DataFileError(
            file, f"cannot read it as UTF-8 TOML: {exc}. Fix the file and load again."
        ) from None
    try:
        return PhoneState.model_validate(data)
    except ValidationError as exc:
        raise validation_error(file, data, exc.errors(), {}) from None


def phone_state_json(state: PhoneState) -> dict[str, object]:
    """Dump the phone state in pydantic's JSON mode (the vectors' `user_db` form)."""
    return state.model_dump(mode="json")


def phone_state_hash(state: PhoneState) -> str:
    """Hash the phone state exactly like tau2-bench hashes its telecom user DB."""
    return db_hash(phone_state_json(state))
