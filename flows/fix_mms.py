"""Picture-message (MMS) troubleshooting (tau2-bench's tech support workflow, Path 3).

Dual control: identify the customer and the line, and ask whether the messaging app can send
MMS. If not: make sure the phone has service (Path 1) and mobile data gets through (Path 2.1),
then check the network technology (2G cannot carry MMS), Wi-Fi Calling, the messaging app's SMS
and storage permissions, and the APN's MMSC URL, re-trying MMS after each fix. What cannot be
fixed goes to a human agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, SharedFact, State, auto
from cxflow.flows._phone_actions import PhoneAction
from cxflow.flows._phone_reports import COMPLETE, MISSING
from cxflow.flows._tech_support import (
    RUN_SPEED_TEST,
    ask_again,
    ask_customer,
    data_checks,
    data_connected,
    service_checks,
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


class MmsSlots(TelecomSlots):
    """What the MMS conversation knows (the shared telecom slots)."""


def mms_works(slots: MmsSlots) -> bool:
    """The messaging app can send MMS."""
    return slots.mms is True


def mms_reported(slots: MmsSlots) -> bool:
    """The customer said whether MMS can be sent."""
    return slots.mms is not None


def on_2g(slots: MmsSlots) -> bool:
    """The phone is on a 2G network, which cannot carry MMS."""
    return slots.network_type == "2G"


def network_type_reported(slots: MmsSlots) -> bool:
    """The customer said which network the phone is on."""
    return slots.network_type is not None


def wifi_calling_on(slots: MmsSlots) -> bool:
    """Wi-Fi Calling is on and can get in the way of MMS."""
    return slots.wifi_calling is True


def wifi_calling_reported(slots: MmsSlots) -> bool:
    """The customer said whether Wi-Fi Calling is on."""
    return slots.wifi_calling is not None


def permissions_missing(slots: MmsSlots) -> bool:
    """The messaging app lacks the SMS or the storage permission."""
    return slots.permissions == MISSING


def permissions_complete(slots: MmsSlots) -> bool:
    """The messaging app has both permissions."""
    return slots.permissions == COMPLETE


def mmsc_missing(slots: MmsSlots) -> bool:
    """The APN settings have no MMSC URL."""
    return slots.mmsc == MISSING


def mmsc_reported(slots: MmsSlots) -> bool:
    """The customer said what the APN settings show."""
    return slots.mmsc is not None


_CAN_SEND = PhoneAction("can_send_mms", "Try sending a picture message", "mms")
_CHECK_NETWORK = PhoneAction("check_network_status", "Check your network status", "network_type")
_CHECK_WIFI_CALLING = PhoneAction(
    "check_wifi_calling_status", "Check Wi-Fi Calling", "wifi_calling"
)
_CHECK_PERMISSIONS = PhoneAction(
    "check_app_permissions",
    "Check the messaging app's permissions",
    "permissions",
    arguments=(("app_name", "messaging"),),
)
_CHECK_APN = PhoneAction("check_apn_settings", "Check your APN settings", "mmsc")


_RETRY = "then try sending a picture message and tell me whether it works."


class FixMms(Flow[MmsSlots]):
    """Get picture messages (MMS) sending from the customer's phone, or hand over."""

    title = "I can't send picture messages"
    keywords = ("mms", "picture", "pictures", "photo", "photos", "picture message", "group text")
    example: ClassVar[tuple[str, ...]] = (
        "my number is 555-014-3301",
        "No, it says my messaging app cannot send MMS messages",
        "I have full bars, 5G",
        "Speed Test Result: 275.00 Mbps (Excellent). Connection is very fast.",
        "still can't send them",
        "Cellular Network Type: 5G",
        "Wi-Fi Calling is currently turned ON.",
        "Wi-Fi Calling is now OFF. Your messaging app can send MMS messages.",
    )
    facts = (
        SharedFact("line", "line_phone", "the line of the phone that cannot send MMS"),
        SharedFact("refuel_amount", "refuel_gb", "the data to add when the allowance is used up"),
        SharedFact("refuel_price", "refuel_charge", "the price of that data, as stated"),
        SharedFact("status_bar", "status_bar", "what the phone's status bar shows"),
    )

    identify = State(
        initial=True,
        fills=IDENTITY,
        say="Let's get your picture messages going. First, what is the phone number on your "
        "account? (You can also give your full name and date of birth.)",
        purpose="Identify the customer by phone number, or full name and date of birth.",
    )
    mms_check = ask_customer(
        "Please try sending a picture message (MMS) with your messaging app: does it work?",
        "mms",
        _CAN_SEND,
    )
    speed_test = ask_customer(
        "Picture messages also need mobile data. Please run a speed test and tell me the result.",
        "speed",
        RUN_SPEED_TEST,
    )
    retry = ask_customer(
        "Your phone has service and mobile data. Please try sending a picture message again: "
        "does it work now?",
        "mms",
        _CAN_SEND,
    )
    network = ask_customer(
        "Please check your network status: which network type is your phone connected to?",
        "network_type",
        _CHECK_NETWORK,
    )
    network_fix = ask_customer(
        "2G networks can't carry picture messages. Please set your network mode preference to "
        "4G/5G preferred, check your network status, " + _RETRY,
        ("mms", "network_type"),
        PhoneAction(
            "set_network_mode_preference",
            "Set the network mode to 4G/5G preferred",
            arguments=(("mode", "4g_5g_preferred"),),
        ),
        _CHECK_NETWORK,
        _CAN_SEND,
    )
    network_again = ask_again(
        network_fix,
        "Your phone is still on 2G. Please set your network mode preference to 4G/5G "
        "preferred, check your network status, " + _RETRY,
    )
    wifi_calling = ask_customer(
        "Please check whether Wi-Fi Calling is on.", "wifi_calling", _CHECK_WIFI_CALLING
    )
    wifi_calling_off = ask_customer(
        "Wi-Fi Calling can interfere with picture messages. Please turn Wi-Fi Calling off, "
        "check it, " + _RETRY,
        ("mms", "wifi_calling"),
        PhoneAction("toggle_wifi_calling", "Turn Wi-Fi Calling off"),
        _CHECK_WIFI_CALLING,
        _CAN_SEND,
    )
    wifi_calling_again = ask_again(
        wifi_calling_off,
        "Wi-Fi Calling is still on. Please turn Wi-Fi Calling off, check it, " + _RETRY,
    )
    permissions = ask_customer(
        "Please check the permissions of your messaging app: does it have the SMS and storage "
        "permissions?",
        "permissions",
        _CHECK_PERMISSIONS,
    )
    grant = ask_customer(
        "The messaging app needs both the SMS and the storage permission. Please grant the "
        "messaging app both permissions, check them, " + _RETRY,
        ("mms", "permissions"),
        PhoneAction(
            "grant_app_permission",
            "Grant the messaging app the SMS permission",
            arguments=(("app_name", "messaging"), ("permission", "sms")),
        ),
        PhoneAction(
            "grant_app_permission",
            "Grant the messaging app the storage permission",
            arguments=(("app_name", "messaging"), ("permission", "storage")),
        ),
        _CHECK_PERMISSIONS,
        _CAN_SEND,
    )
    grant_again = ask_again(
        grant,
        "The messaging app still lacks a permission. Please grant the messaging app both the "
        "SMS and the storage permission, check them, " + _RETRY,
    )
    apn = ask_customer(
        "Please check your APN settings: is an MMSC URL (for picture messages) set?",
        "mmsc",
        _CHECK_APN,
    )
    apn_reset = ask_customer(
        "The MMSC URL is missing. Please reset your APN settings to the defaults, restart your "
        "phone, check your APN settings, " + _RETRY,
        ("mms", "mmsc"),
        PhoneAction("reset_apn_settings", "Reset your APN settings"),
        PhoneAction("reboot_device", "Restart your phone"),
        _CHECK_APN,
        _CAN_SEND,
    )
    apn_again = ask_again(
        apn_reset,
        "Your APN settings still have no MMSC URL. Please reset your APN settings to the "
        "defaults, restart your phone, check your APN settings, " + _RETRY,
    )
    works = State(final=True, say="Your messaging app can send picture messages.")
    fixed = State(final=True, say="Great, your picture messages are sending again.")
    transfer = transfer_state()
    data = data_checks(retry, transfer)
    service = service_checks(
        speed_test,
        speed_test,
        transfer,
        why="Picture messages need cellular service and mobile data, so let's check those first. ",
    )
    who = identification(identify, then=mms_check)

    checked = auto(
        mms_check.to(works, cond=mms_works) | mms_check.to(service.svc_status, cond=mms_reported)
    )
    tested = auto(
        speed_test.to(retry, cond=data_connected)
        | speed_test.to(data.data_travel, cond=speed_reported)
    )
    retried = auto(retry.to(fixed, cond=mms_works) | retry.to(network, cond=mms_reported))
    network_checked = auto(
        network.to(network_fix, cond=on_2g) | network.to(wifi_calling, cond=network_type_reported)
    )
    network_fixed = auto(
        network_fix.to(fixed, cond=mms_works)
        | network_fix.to(network_again, cond=on_2g)
        | network_fix.to(wifi_calling, cond=mms_reported)
    )
    network_refixed = auto(
        network_again.to(fixed, cond=mms_works) | network_again.to(wifi_calling, cond=mms_reported)
    )
    wifi_calling_checked = auto(
        wifi_calling.to(wifi_calling_off, cond=wifi_calling_on)
        | wifi_calling.to(permissions, cond=wifi_calling_reported)
    )
    wifi_calling_fixed = auto(
        wifi_calling_off.to(fixed, cond=mms_works)
        | wifi_calling_off.to(wifi_calling_again, cond=wifi_calling_on)
        | wifi_calling_off.to(permissions, cond=mms_reported)
    )
    wifi_calling_refixed = auto(
        wifi_calling_again.to(fixed, cond=mms_works)
        | wifi_calling_again.to(permissions, cond=mms_reported)
    )
    permissions_checked = auto(
        permissions.to(grant, cond=permissions_missing)
        | permissions.to(apn, cond=permissions_complete)
    )
    permissions_fixed = auto(
        grant.to(fixed, cond=mms_works)
        | grant.to(grant_again, cond=permissions_missing)
        | grant.to(apn, cond=mms_reported)
    )
    permissions_refixed = auto(
        grant_again.to(fixed, cond=mms_works) | grant_again.to(apn, cond=mms_reported)
    )
    apn_checked = auto(apn.to(apn_reset, cond=mmsc_missing) | apn.to(transfer, cond=mmsc_reported))
    apn_fixed = auto(
        apn_reset.to(fixed, cond=mms_works)
        | apn_reset.to(apn_again, cond=mmsc_missing)
        | apn_reset.to(transfer, cond=mms_reported)
    )
    apn_refixed = auto(
        apn_again.to(fixed, cond=mms_works) | apn_again.to(transfer, cond=mms_reported)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> TelecomTools:
        """The sample CRM, or tau2's telecom CRM from `tau2_data` (a fresh copy, no phone)."""
        return telecom_crm(tau2_data)
