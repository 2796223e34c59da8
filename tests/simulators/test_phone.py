"""The telecom customer's phone: its tools, set-up functions, checks and the sync with the CRM."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxflow.errors import DataFileError
from cxflow.simulators.telecom import (
    NetworkStatus,
    NetworkTechnology,
    PhoneState,
    PhoneTools,
    TelecomEnvironment,
    TelecomUserTools,
    load_phone_state,
    phone_state_hash,
)
from cxflow.tools.telecom import BillStatus, LineStatus, load_telecom_db, sample_db_path

NUMBER = "555-014-3301"  # line L2001 of customer C2001 in the sample CRM: Basic Plan, 6.1 GB used


@pytest.fixture
def phone() -> TelecomUserTools:
    return TelecomUserTools(PhoneState())


@pytest.fixture
def env() -> TelecomEnvironment:
    world = TelecomEnvironment(load_telecom_db(sample_db_path()), PhoneState())
    world.set_up("user", "set_user_info", {"name": "Dana Whitfield", "phone_number": NUMBER})
    return world


def test_airplane_mode_toggle_changes_the_status_bar(phone: TelecomUserTools) -> None:
    assert phone.check_status_bar() == "Status Bar: 📶³ Good | 5G | 📱 Data Enabled | 🔋 80%"
    assert phone.toggle_airplane_mode() == (
        "Airplane Mode is now ON.\nStatus Bar: ✈️ Airplane Mode | 🔋 80%"
    )
    assert phone.toggle_airplane_mode() == (
        "Airplane Mode is now OFF.\nStatus Bar: 📶⁴ Excellent | 5G | 📱 Data Enabled | 🔋 80%"
    )


def test_unseated_sim_means_no_service_until_reseated() -> None:
    world = TelecomEnvironment(load_telecom_db(sample_db_path()), PhoneState())
    assert world.set_up("user", "unseat_sim_card", {}) == "SIM card un-seated successfully."
    assert world.call("user", "check_sim_status", {}).output == "No SIM card detected in the phone."
    assert world.phone.check_status_bar() == "Status Bar: 📵 No Signal | 📵 Data Disabled | 🔋 80%"
    assert world.check("user", "assert_service_status", {"expected_status": "no_service"})
    world.call("user", "reseat_sim_card", {})
    assert world.check("user", "assert_service_status", {"expected_status": "connected"})


def test_sync_after_the_crm_suspends_the_line(env: TelecomEnvironment) -> None:
    result = env.call(
        "assistant", "suspend_line", {"customer_id": "C2001", "line_id": "L2001", "reason": "x"}
    )
    assert not result.error
    assert env.crm.get_line("L2001").status is LineStatus.SUSPENDED
    assert env.phone.surroundings.line_active is False
    # The device notices only on its next network search.
    assert env.phone.device.network_connection_status is NetworkStatus.CONNECTED
    rebooted = env.call("user", "reboot_device", {}).output
    assert rebooted.endswith("📵 No Signal | 📵 Data Disabled | 🔋 80%")
    env.call("assistant", "resume_line", {"customer_id": "C2001", "line_id": "L2001"})
    assert env.phone.surroundings.line_active is True
    env.call("user", "reboot_device", {})
    assert env.phone.device.network_connection_status is NetworkStatus.CONNECTED


def test_sync_copies_data_quota_and_roaming(env: TelecomEnvironment) -> None:
    surroundings = env.phone.surroundings
    assert surroundings.mobile_data_usage_exceeded is False  # 6.1 GB of 5 GB + 2 GB refueled
    usage = {"customer_id": "C2001", "line_id": "L2001", "data_used_gb": 7.5}
    assert env.set_up("assistant", "set_data_usage", usage) == (
        "Data usage set to 7.5 GB for line L2001"
    )
    assert surroundings.mobile_data_usage_exceeded is True
    assert env.call("user", "run_speed_test", {}).output == "Speed test failed: No Connection."
    env.call(
        "assistant", "refuel_data", {"customer_id": "C2001", "line_id": "L2001", "gb_amount": 2.0}
    )
    assert surroundings.mobile_data_usage_exceeded is False
    assert env.call("user", "run_speed_test", {}).output == (
        "Speed Test Result: 220.00 Mbps (Excellent). Connection is very fast."
    )
    env.set_up("user", "set_user_location", {"abroad": True})
    assert not env.check("user", "assert_mobile_data_status", {"expected_status": True})
    env.call("assistant", "enable_roaming", {"customer_id": "C2001", "line_id": "L2001"})
    env.call("user", "toggle_roaming", {})
    assert surroundings.roaming_allowed is True
    assert env.check("user", "assert_mobile_data_status", {"expected_status": True})


def test_payment_on_the_phone_is_booked_in_the_crm(env: TelecomEnvironment) -> None:
    sent = env.call(
        "assistant", "send_payment_request", {"customer_id": "C2001", "bill_id": "B2002"}
    )
    assert sent.output == "Payment request sent to the customer for bill B2002"
    request = env.call("user", "check_payment_request", {}).output
    assert request.startswith("You have a payment request for bill B2002 of ")
    assert env.call("user", "make_payment", {}).output.startswith("Payment of ")
    assert env.crm.get_bill("B2002").status is BillStatus.PAID
    assert env.phone.surroundings.payment_request is None
    assert env.check("assistant", "assert_no_overdue_bill", {"overdue_bill_id": "B2002"})


def test_tools_are_dispatched_by_requestor(env: TelecomEnvironment) -> None:
    assert env.call("assistant", "toggle_data", {}).output == "Error: Tool 'toggle_data' not found."
    wrong = env.call("user", "check_app_status", {})
    assert wrong.error
    assert wrong.output == (
        "Error: TelecomUserTools.check_app_status() missing 1 required positional argument: "
        "'app_name'"
    )
    assert PhoneTools is TelecomUserTools


def test_a_failing_sync_is_the_calls_error() -> None:
    world = TelecomEnvironment(load_telecom_db(sample_db_path()), PhoneState())
    world.phone.surroundings.phone_number = "555-000-0000"
    result = world.call("user", "toggle_data", {})
    assert result.error
    assert result.output == "Error: Line with phone number 555-000-0000 not found"
    assert world.phone.device.data_enabled is False  # the tool itself did run


def test_mms_needs_permissions_and_an_mmsc(phone: TelecomUserTools) -> None:
    assert phone.can_send_mms() == "Your messaging app can send MMS messages."
    phone.grant_app_permission("messaging", "sms")
    world = TelecomEnvironment(load_telecom_db(sample_db_path()), phone)
    world.set_up("user", "remove_app_permission", {"app_name": "messaging", "permission": "sms"})
    assert (
        phone.check_app_permissions("messaging")
        == "App 'messaging' has permission for: storage, phone."
    )
    assert not world.check("user", "assert_can_send_mms", {"expected_status": True})
    phone.grant_app_permission("messaging", "SMS")
    world.set_up("user", "break_apn_mms_setting", {})
    assert "MMSC URL (for picture messages): Not Set" in phone.check_apn_settings()
    phone.reset_apn_settings()
    assert phone.reboot_device().startswith(
        "Resetting APN settings...\nRestarting network services..."
    )
    assert phone.can_send_mms() == "Your messaging app can send MMS messages."


def test_unknown_set_up_or_check_is_a_programmer_error(env: TelecomEnvironment) -> None:
    with pytest.raises(ValueError, match="Function break_everything not found in user tools"):
        env.set_up("user", "break_everything", {})
    with pytest.raises(ValueError, match="returned <class 'str'> instead of bool"):
        env.check("user", "check_status_bar", {})


def test_tau2_user_db_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "user_db.toml"
    path.write_text(
        '[device]\nbattery_level = 55\n[device.active_apn_settings]\napn_name = "internet"\n'
    )
    state = load_phone_state(path)
    assert state.device.battery_level == 55
    assert state.surroundings.line_active is True
    assert list(state.device.app_statuses) == ["messaging", "browser"]
    assert phone_state_hash(state) != phone_state_hash(PhoneState())


def test_bad_user_db_names_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not found"):
        load_phone_state(tmp_path / "missing.toml")
    path = tmp_path / "user_db.toml"
    path.write_text('[device]\nsim_card_status = "melted"\n')
    with pytest.raises(DataFileError) as info:
        load_phone_state(path)
    assert info.value.record == "device['sim_card_status']"
    assert "'active', 'missing', 'locked_pin' or 'locked_puk' (got 'melted')" in str(info.value)
    path.write_text("[device\n")
    with pytest.raises(DataFileError, match="TOML"):
        load_phone_state(path)


def test_set_up_switches_end_in_the_named_state(env: TelecomEnvironment) -> None:
    device = env.phone.device
    for name, attribute, value in [
        ("turn_airplane_mode_on", "airplane_mode", True),
        ("turn_airplane_mode_on", "airplane_mode", True),
        ("turn_airplane_mode_off", "airplane_mode", False),
        ("turn_airplane_mode_off", "airplane_mode", False),
        ("turn_data_off", "data_enabled", False),
        ("turn_data_on", "data_enabled", True),
        ("turn_roaming_on", "roaming_enabled", True),
        ("turn_roaming_on", "roaming_enabled", True),
        ("turn_roaming_off", "roaming_enabled", False),
        ("turn_data_saver_mode_on", "data_saver_mode", True),
        ("turn_data_saver_mode_off", "data_saver_mode", False),
        ("turn_data_saver_mode_off", "data_saver_mode", False),
    ]:
        env.set_up("user", name, {})
        assert getattr(device, attribute) is value, name
    assert env.check("user", "assert_airplane_mode_status", {"expected_status": False})
    assert env.check("user", "assert_mobile_roaming_status", {"expected_status": False})
    assert env.check("user", "assert_mobile_data_saver_mode_status", {"expected_status": False})
    assert env.set_up("user", "set_wifi_calling", {"enabled": False}) == (
        "Wi-Fi Calling is now OFF."
    )


def test_a_puk_locked_sim_cannot_be_fixed_on_the_phone(env: TelecomEnvironment) -> None:
    env.set_up("user", "lock_sim_card", {"mode": "puk"})
    env.call("user", "reseat_sim_card", {})
    assert env.phone.check_sim_status() == "The SIM card is locked with a PUK code."
    assert env.check("user", "assert_internet_speed", {"expected_speed": 0})
    assert env.check("user", "assert_internet_not_excellent", {})


def test_speed_depends_on_network_mode_and_coverage(phone: TelecomUserTools) -> None:
    assert phone.set_network_mode_preference("3g_only").endswith(
        "📶² Fair | 3G | 📱 Data Enabled | 🔋 80%"
    )
    assert phone.run_speed_test() == (
        "Speed Test Result: 1.50 Mbps (Poor). "
        "Connection is slow. Web browsing may be sluggish, streaming difficult."
    )
    del phone.surroundings.signal_strength[NetworkTechnology.FIVE_G]  # no 5G coverage here
    phone.set_network_mode_preference("4g_5g_preferred")
    assert phone.device.network_technology_connected is NetworkTechnology.FOUR_G
    assert phone.run_speed_test() == (
        "Speed Test Result: 44.00 Mbps (Good). "
        "Connection is good for most activities, including HD streaming."
    )


def test_wifi_vpn_and_app_texts(phone: TelecomUserTools) -> None:
    device = phone.device
    device.wifi_enabled, device.wifi_connected, device.wifi_ssid = True, True, "HomeNet"
    assert (
        phone.check_wifi_status()
        == "Wi-Fi is ON and connected to 'HomeNet'. Signal strength: none."
    )
    assert phone.check_network_status().endswith(
        "Wi-Fi Connected: Yes\nConnected Wi-Fi Network: HomeNet"
    )
    assert "📡 Connected to HomeNet" in phone.check_status_bar()
    assert phone.toggle_wifi().startswith("Wi-Fi is now OFF.")
    assert device.wifi_ssid is None
    device.vpn_enabled_setting = True
    assert phone.check_vpn_status() == "VPN is turned ON in settings, but currently not connected."
    device.vpn_connected = True
    assert phone.check_vpn_status() == "VPN is ON and connected (no specific details available)."
    assert phone.check_wifi_calling_status() == "Wi-Fi Calling is currently turned OFF."
    browser = device.app_statuses["browser"].permissions
    browser.network = browser.storage = False
    assert (
        phone.check_app_permissions("browser")
        == "App 'browser' currently has no permissions granted."
    )
    assert (
        phone.check_app_status("browser")
        == "Status for App: browser\n - Permissions: None granted."
    )
    assert phone.check_app_permissions("camera") == "App 'camera' not found on this phone."
    assert phone.set_apn_settings({"apn_name": "broken"}).startswith("APN settings set to: broken")
    assert device.network_connection_status is NetworkStatus.NO_SERVICE


def test_overdue_bill_scenario_and_its_checks(env: TelecomEnvironment) -> None:
    overdue = {"customer_id": "C2001", "line_id": "L2001", "new_bill_id": "B9000001"}
    message = env.set_up(
        "assistant", "suspend_line_for_overdue_bill", {**overdue, "contract_ended": True}
    )
    assert message == "Line L2001 suspended for unpaid bill B9000001. Contract ended: True"
    line = env.crm.get_line("L2001")
    assert str(line.contract_end_date) == "2025-01-31"
    assert env.crm.get_bill("B9000001").total_due == 35.0
    assert env.check(
        "assistant",
        "assert_overdue_bill_exists",
        {"customer_id": "C2001", "overdue_bill_id": "B9000001"},
    )
    assert env.check(
        "assistant",
        "assert_line_status",
        {"customer_id": "C2001", "line_id": "L2001", "expected_status": "Suspended"},
    )
    assert not env.check("assistant", "assert_no_overdue_bill", {"overdue_bill_id": "B9000001"})
    with pytest.raises(ValueError, match="Line must be active to suspend for unpaid bill"):
        env.set_up(
            "assistant", "suspend_line_for_overdue_bill", {**overdue, "contract_ended": False}
        )
    other_line = {**overdue, "line_id": "L2002", "contract_ended": False}
    with pytest.raises(ValueError, match="Customer already has an overdue bill"):
        env.set_up("assistant", "suspend_line_for_overdue_bill", other_line)
    with pytest.raises(ValueError, match="Overdue bill B2001 is not overdue"):
        env.check(
            "assistant",
            "assert_overdue_bill_exists",
            {"customer_id": "C2001", "overdue_bill_id": "B2001"},
        )
    with pytest.raises(ValueError, match="Overdue bill B2003 not found"):
        env.check(
            "assistant",
            "assert_overdue_bill_exists",
            {"customer_id": "C2001", "overdue_bill_id": "B2003"},
        )
    assert env.check("user", "assert_mobile_data_usage_exceeded", {"expected_status": False})


def test_a_result_is_rendered_after_the_sync(env: TelecomEnvironment) -> None:
    env.call("assistant", "send_payment_request", {"customer_id": "C2001", "bill_id": "B2002"})
    request = env.phone.surroundings.payment_request
    assert request is not None
    request.paid = True  # paid on the phone, not yet booked in the CRM
    shown = env.call("assistant", "get_details_by_id", {"id": "B2002"}).output
    assert '"status": "Paid"' in shown  # as in tau2: sync first, then render


def test_an_unknown_requestor_is_an_error(env: TelecomEnvironment) -> None:
    result = env.call("system", "toggle_data", {})  # type: ignore[arg-type]
    assert result.error
    assert result.output == "Error: Invalid requestor: system"
