"""What the agent asks the customer to do on their phone, and the slots their reports fill.

`PhoneAction` is a customer action naming one phone tool and its arguments, so a simulated
customer (or a person reading the instruction) performs exactly what was asked. The slot types
read a report with the readers of `_phone_reports` and refuse one they cannot read: the
interpreter's value is rejected, the slot stays empty, and the flow asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from cxflow.flow import CustomerAction
from cxflow.flows._phone_reports import (
    read_app_permissions,
    read_mms,
    read_mmsc,
    read_network_mode,
    read_network_type,
    read_payment,
    read_sim,
    read_speed,
    read_status_bar,
    read_switch,
    read_traveling,
)
from cxflow.types import Parse

__all__ = [
    "AppPermissionsReport",
    "DataSaverReport",
    "MmsReport",
    "MmscReport",
    "MobileDataReport",
    "NetworkModeReport",
    "NetworkTypeReport",
    "PaymentReport",
    "PhoneAction",
    "RoamingReport",
    "SimReport",
    "SpeedReport",
    "StatusBarReport",
    "TravelReport",
    "VpnReport",
    "WifiCallingReport",
]


@dataclass(frozen=True, slots=True)
class PhoneAction(CustomerAction):
    """A customer action that is one phone tool call (`name`) with its `arguments`."""


# -- slot types ----------------------------------------------------------------------------------


def _require(reader: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        found = reader(str(value))
        if found is None:
            raise ValueError(f"could not tell {what} from that report; ask again")
        return found

    return read


def _switch(labels: tuple[str, ...], names: str) -> Callable[[str], bool | None]:
    return lambda text: read_switch(text, labels=labels, names=names)


StatusBarReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_status_bar, "what the status bar shows"))
]
"""The status bar as reported: `airplane_mode`, `no_signal` or `signal`."""

SimReport = Annotated[str, Parse("text"), AfterValidator(_require(read_sim, "the SIM status"))]
"""The SIM card as reported: `active`, `missing` or `locked`."""

SpeedReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_speed, "the speed test result"))
]
"""The speed test as reported: `no_connection`, `very_poor`, `poor`, `fair`, `good`,
`excellent`."""


def _switch_report(labels: tuple[str, ...], names: str, what: str) -> BeforeValidator:
    reader = _switch(labels, names)
    return BeforeValidator(_require(reader, what))


RoamingReport = Annotated[
    bool,
    Parse("text"),
    _switch_report(
        (r"data roaming enabled:\s*(\w+)", r"data roaming is now (\w+)"),
        r"data roaming|roaming",
        "whether data roaming is on",
    ),
]
"""Whether the phone's Data Roaming switch is on, as reported."""

MobileDataReport = Annotated[
    bool,
    Parse("text"),
    _switch_report(
        (r"mobile data enabled:\s*(\w+)", r"mobile data is now (\w+)"),
        r"mobile data|cellular data|data",
        "whether mobile data is on",
    ),
]
"""Whether the phone's Mobile Data switch is on, as reported."""

DataSaverReport = Annotated[
    bool,
    Parse("text"),
    _switch_report(
        (r"data saver mode is (?:now )?(\w+)",),
        r"data saver|data saving",
        "whether Data Saver is on",
    ),
]
"""Whether Data Saver mode is on, as reported."""

WifiCallingReport = Annotated[
    bool,
    Parse("text"),
    _switch_report(
        (r"wi-fi calling is (?:currently turned |now )(\w+)",),
        r"wi-?fi calling|wifi calling",
        "whether Wi-Fi Calling is on",
    ),
]
"""Whether Wi-Fi Calling is on, as reported."""

VpnReport = Annotated[
    bool,
    Parse("text"),
    _switch_report(
        (
            r"vpn is on and (connected)",
            r"vpn is turned on in settings, but currently (not)",
            r"vpn is turned (off)",
            r"vpn (disconnected) successfully",
            r"(no) active vpn",
        ),
        r"vpn",
        "whether a VPN is connected",
    ),
]
"""Whether a VPN is connected, as reported."""

NetworkModeReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_network_mode, "the network mode"))
]
"""The preferred network mode as reported (`4g_5g_preferred`, ..., `2g_only`)."""

NetworkTypeReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_network_type, "the network type"))
]
"""The connected network technology as reported (`2G` ... `5G`, `none`)."""

AppPermissionsReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_app_permissions, "the app's permissions"))
]
"""The messaging app's permissions as reported: `complete` or `missing`."""

MmscReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_mmsc, "whether an MMSC URL is set"))
]
"""The APN's MMSC URL as reported: `complete` or `missing`."""

MmsReport = Annotated[
    bool, Parse("text"), BeforeValidator(_require(read_mms, "whether MMS can be sent"))
]
"""Whether the messaging app can send MMS, as reported."""

PaymentReport = Annotated[
    str, Parse("text"), AfterValidator(_require(read_payment, "whether the bill was paid"))
]
"""The payment as reported: `paid`, `declined`, `no_request` or `pending`."""

TravelReport = Annotated[
    bool, Parse("text"), BeforeValidator(_require(read_traveling, "whether you are traveling"))
]
"""Whether the customer says they are outside their home network."""
