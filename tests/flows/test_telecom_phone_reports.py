"""Reading the customer's phone reports: the phone tools' exact texts, and plain words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from cxflow.flows import _phone_actions as slots
from cxflow.flows import _phone_reports as read
from cxflow.simulators.telecom import PHONE_SETUP, PhoneState, TelecomUserTools


def _phone(*faults: tuple[str, dict[str, Any]]) -> TelecomUserTools:
    state = PhoneState()
    for name, arguments in faults:
        PHONE_SETUP[name](state, **arguments)
    return TelecomUserTools(state)


def _roaming(text: str) -> bool | None:
    return TypeAdapter(slots.RoamingReport).validate_python(text)


def _mobile_data(text: str) -> bool | None:
    return TypeAdapter(slots.MobileDataReport).validate_python(text)


def _vpn(text: str) -> bool | None:
    return TypeAdapter(slots.VpnReport).validate_python(text)


BROKEN = _phone(
    ("turn_airplane_mode_on", {}),
    ("unseat_sim_card", {}),
    ("turn_data_off", {}),
    ("turn_roaming_off", {}),
)
TOOL_TEXTS: list[tuple[Callable[[str], Any], Callable[[], str], Any]] = [
    (read.read_status_bar, BROKEN.check_status_bar, "airplane_mode"),
    (read.read_sim, BROKEN.check_sim_status, "missing"),
    (read.read_speed, BROKEN.run_speed_test, "no_connection"),
    (_roaming, BROKEN.check_network_status, False),
    (_mobile_data, BROKEN.check_network_status, False),
    (read.read_status_bar, _phone().check_status_bar, "signal"),
    (read.read_sim, _phone(("lock_sim_card", {"mode": "puk"})).check_sim_status, "locked"),
    (read.read_speed, _phone(("break_vpn", {})).run_speed_test, "fair"),
    (_vpn, _phone(("break_vpn", {})).check_vpn_status, True),
    (_vpn, _phone().check_vpn_status, False),
    (read.read_mms, _phone(("break_apn_mms_setting", {})).can_send_mms, False),
    (read.read_mms, _phone().can_send_mms, True),
    (read.read_mmsc, _phone(("break_apn_mms_setting", {})).check_apn_settings, "missing"),
    (read.read_mmsc, _phone().check_apn_settings, "complete"),
    (read.read_network_mode, _phone().check_network_mode_preference, "4g_5g_preferred"),
    (read.read_network_type, _phone().check_network_status, "5G"),
    (read.read_payment, _phone().make_payment, "no_request"),
]


@pytest.mark.parametrize(("reader", "output", "expected"), TOOL_TEXTS)
def test_phone_tool_texts_are_read(
    reader: Callable[[str], Any], output: Callable[[], str], expected: Any
) -> None:
    assert reader(output()) == expected


def test_the_last_of_several_pasted_outputs_counts() -> None:
    phone = _phone(("unseat_sim_card", {}))
    pasted = phone.reseat_sim_card() + "\n" + phone.check_sim_status()
    assert "No Signal" not in pasted and read.read_sim(pasted) == "active"
    toggled = _phone(("turn_airplane_mode_on", {}), ("unseat_sim_card", {})).toggle_airplane_mode()
    assert toggled.startswith("Airplane Mode is now OFF.")
    assert read.read_status_bar(toggled) == "no_signal"


@pytest.mark.parametrize(
    ("reader", "said", "expected"),
    [
        (read.read_status_bar, "it shows airplane mode", "airplane_mode"),
        (read.read_status_bar, "I turned airplane mode off but still no signal", "no_signal"),
        (read.read_status_bar, "airplane mode is off now and I have full bars", "signal"),
        (read.read_status_bar, "it only says SOS", "no_signal"),
        (read.read_sim, "it says no SIM card", "missing"),
        (read.read_sim, "it asks for a PIN", "locked"),
        (read.read_speed, "about 3 Mbps, pretty slow", "poor"),
        (read.read_speed, "it failed, no internet", "no_connection"),
        (read.read_traveling, "yes, I'm on vacation in Spain", True),
        (read.read_traveling, "not traveling, I'm at home", False),
        (read.read_mms, "still can't send them", False),
        (read.read_payment, "I don't want to pay that", "declined"),
        (read.read_payment, "done, I paid", "paid"),
        (read.read_app_permissions, "storage permission is missing", "missing"),
        (read.read_network_mode, "it's set to 3G only", "3g_only"),
        (_roaming, "I don't have roaming on", False),
        (_vpn, "I'm not using a VPN", False),
    ],
)
def test_plain_words_are_read(reader: Callable[[str], Any], said: str, expected: Any) -> None:
    assert reader(said) == expected


def test_an_unreadable_report_is_refused_so_the_flow_asks_again() -> None:
    with pytest.raises(ValidationError, match="could not tell what the status bar shows"):
        TypeAdapter(slots.StatusBarReport).validate_python("hmm, let me look")
    assert TypeAdapter(slots.StatusBarReport).validate_python("no_signal") == "no_signal"
