"""Mobile data troubleshooting (tau2-bench's tech support workflow, Path 2), under dual control.

Identify the customer and the line and ask for a speed test. No connection: make sure the phone
has service first (Path 1), then roaming when traveling (the phone's switch, then the line,
enabled at no cost), the mobile data switch, and the data allowance (refuel up to 2 GB at the
confirmed price, or change plan). Slow data: data saver, the network mode preference, a VPN.
Done only when the speed test is Excellent; what cannot be fixed goes to a human agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State, auto
from cxflow.flows._phone_actions import PhoneAction
from cxflow.flows._phone_reports import OLD_MODES
from cxflow.flows._tech_support import (
    RUN_SPEED_TEST,
    ask_again,
    ask_customer,
    data_checks,
    data_connected,
    service_checks,
    speed_excellent,
    speed_reported,
)
from cxflow.flows._telecom import (
    IDENTITY,
    TelecomSlots,
    identification,
    telecom_crm,
    transfer_state,
)
from cxflow.tools.telecom import TelecomTools


class MobileDataSlots(TelecomSlots):
    """What the mobile-data conversation knows (the shared telecom slots)."""


# -- Path 2.2: slow data ------------------------------------------------------------------------


def data_saver_on(slots: MobileDataSlots) -> bool:
    """Data Saver mode is on and slows data down."""
    return slots.data_saver is True


def data_saver_reported(slots: MobileDataSlots) -> bool:
    """The customer said whether Data Saver is on."""
    return slots.data_saver is not None


def old_network_mode(slots: MobileDataSlots) -> bool:
    """The phone prefers an old network (2G or 3G only)."""
    return slots.network_mode in OLD_MODES


def network_mode_reported(slots: MobileDataSlots) -> bool:
    """The customer said which network mode the phone prefers."""
    return slots.network_mode is not None


def vpn_connected(slots: MobileDataSlots) -> bool:
    """A VPN is connected and may slow data down."""
    return slots.vpn is True


def vpn_reported(slots: MobileDataSlots) -> bool:
    """The customer said whether a VPN is connected."""
    return slots.vpn is not None


_SPEED_THEN = "then run a speed test and tell me the result."
_CHECK_SAVER = PhoneAction(
    "check_data_restriction_status", "Check your data restrictions", "data_saver"
)
_CHECK_MODE = PhoneAction(
    "check_network_mode_preference", "Check your network mode", "network_mode"
)
_SET_MODE = PhoneAction(
    "set_network_mode_preference",
    "Set the network mode to 4G/5G preferred",
    arguments=(("mode", "4g_5g_preferred"),),
)
_CHECK_VPN = PhoneAction("check_vpn_status", "Check your VPN status", "vpn")


class FixMobileData(Flow[MobileDataSlots]):
    """Get mobile data working at Excellent speed on the customer's phone, or hand over."""

    title = "My mobile data isn't working"
    keywords = ("mobile data", "internet", "data", "slow", "speed", "browse", "browsing")
    example: ClassVar[tuple[str, ...]] = (
        "555-014-3301",
        "Speed test failed: No Connection.",
        "Status Bar: 📶⁴ Excellent | 5G | 📵 Data Disabled | 🔋 80%",
        "No, I'm at home",
        "Mobile Data Enabled: No",
        "Mobile Data is now ON. Speed Test Result: 275.00 Mbps (Excellent). Connection is very "
        "fast.",
    )
    facts = (
        SharedFact("line", "line_phone", "the line of the phone without data"),
        SharedFact("refuel_amount", "refuel_gb", "the data to add when the allowance is used up"),
        SharedFact("refuel_price", "refuel_charge", "the price of that data, as stated"),
        SharedFact("status_bar", "status_bar", "what the phone's status bar shows"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="Let's get your mobile data working. First, what is the phone number on your "
        "account? (You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    speed_test = ask_customer(
        "Please run a speed test on your phone and tell me the result.", "speed", RUN_SPEED_TEST
    )
    recheck = ask_customer(
        "Your phone has service again. Please run a speed test once more and tell me the result.",
        "speed",
        RUN_SPEED_TEST,
    )
    data_working = State(purpose="Mobile data gets through: is it Excellent yet?")
    saver = ask_customer(
        "Mobile data works but is slow. Please check your data restrictions: is Data Saver on?",
        "data_saver",
        _CHECK_SAVER,
    )
    saver_off = ask_customer(
        "Data Saver slows data down. Please turn Data Saver off, check your data restrictions, "
        + _SPEED_THEN,
        ("speed", "data_saver"),
        PhoneAction("toggle_data_saver_mode", "Turn Data Saver off"),
        _CHECK_SAVER,
        RUN_SPEED_TEST,
    )
    saver_again = ask_again(
        saver_off,
        "Your data restrictions still show Data Saver on. Please turn Data Saver off, check "
        "your data restrictions, " + _SPEED_THEN,
    )
    mode = ask_customer(
        "Please check your network mode preference: which networks does your phone prefer?",
        "network_mode",
        _CHECK_MODE,
    )
    mode_fix = ask_customer(
        "Older networks are slow. Please set your network mode preference to 4G/5G preferred, "
        "check it, " + _SPEED_THEN,
        ("speed", "network_mode"),
        _SET_MODE,
        _CHECK_MODE,
        RUN_SPEED_TEST,
    )
    mode_again = ask_again(
        mode_fix,
        "Your phone still prefers an older network. Please set your network mode preference to "
        "4G/5G preferred, check it, " + _SPEED_THEN,
    )
    vpn_check = ask_customer(
        "Please check your VPN status: is a VPN connected?",
        "vpn",
        _CHECK_VPN,
    )
    vpn_off = ask_customer(
        "A VPN can slow your connection a lot. Please disconnect the VPN, check your VPN "
        "status, " + _SPEED_THEN,
        ("speed", "vpn"),
        PhoneAction("disconnect_vpn", "Disconnect the VPN"),
        _CHECK_VPN,
        RUN_SPEED_TEST,
    )
    vpn_again = ask_again(
        vpn_off,
        "Your VPN is still connected. Please disconnect the VPN, check your VPN status, "
        + _SPEED_THEN,
    )
    works = State(final=True, say="Your mobile data is working at Excellent speed.")
    fixed = State(final=True, say="Great, your mobile data is working at Excellent speed now.")
    transfer = transfer_state()
    data = data_checks(data_working, transfer)
    service = service_checks(
        data.data_travel,
        recheck,
        transfer,
        why="The speed test found no connection. Mobile data needs cellular service, so let's "
        "check that first. ",
    )
    who = identification(identify, then=speed_test)

    tested = auto(
        speed_test.to(works, cond=speed_excellent)
        | speed_test.to(saver, cond=data_connected)
        | speed_test.to(service.svc_status, cond=speed_reported)
    )
    rechecked = auto(
        recheck.to(fixed, cond=speed_excellent)
        | recheck.to(saver, cond=data_connected)
        | recheck.to(data.data_travel, cond=speed_reported)
    )
    judged = auto(data_working.to(fixed, cond=speed_excellent) | data_working.to(saver))
    saver_checked = auto(
        saver.to(saver_off, cond=data_saver_on) | saver.to(mode, cond=data_saver_reported)
    )
    saver_tested = auto(
        saver_off.to(fixed, cond=speed_excellent)
        | saver_off.to(saver_again, cond=data_saver_on)
        | saver_off.to(mode, cond=speed_reported)
    )
    saver_retested = auto(
        saver_again.to(fixed, cond=speed_excellent) | saver_again.to(mode, cond=speed_reported)
    )
    mode_checked = auto(
        mode.to(mode_fix, cond=old_network_mode) | mode.to(vpn_check, cond=network_mode_reported)
    )
    mode_tested = auto(
        mode_fix.to(fixed, cond=speed_excellent)
        | mode_fix.to(mode_again, cond=old_network_mode)
        | mode_fix.to(vpn_check, cond=speed_reported)
    )
    mode_retested = auto(
        mode_again.to(fixed, cond=speed_excellent) | mode_again.to(vpn_check, cond=speed_reported)
    )
    vpn_checked = auto(
        vpn_check.to(vpn_off, cond=vpn_connected) | vpn_check.to(transfer, cond=vpn_reported)
    )
    vpn_tested = auto(
        vpn_off.to(fixed, cond=speed_excellent)
        | vpn_off.to(vpn_again, cond=vpn_connected)
        | vpn_off.to(transfer, cond=speed_reported)
    )
    vpn_retested = auto(
        vpn_again.to(fixed, cond=speed_excellent) | vpn_again.to(transfer, cond=speed_reported)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
