"""fix_mobile_data: tau2's Path 2 under dual control (service first, then data, then speed)."""

from __future__ import annotations

from typing import Any

from cxflow import RuleInterpreter, Session
from cxflow.flows.fix_mobile_data import FixMobileData
from cxflow.reply import HANDOFF_TEXT
from cxflow.tools.telecom import TelecomTools, telecom_db_json

MAYA = "555-014-3301"  # L2001: Starter 5 (5 GB + 2 GB refueled, 6.1 GB used), no roaming
NO_CONNECTION = "Speed test failed: No Connection."
EXCELLENT = "Speed Test Result: 275.00 Mbps (Excellent). Connection is very fast."


def _crm(data_used_gb: float | None = None) -> TelecomTools:
    crm = FixMobileData.make_env()
    if data_used_gb is not None:
        crm.get_line("L2001").data_used_gb = data_used_gb
    return crm


def _run(crm: TelecomTools, *lines: str) -> tuple[Session, list[str]]:
    session = Session.start(FixMobileData, interpreter=RuleInterpreter(), env=crm)
    states = []
    for text in lines:
        turn = session.turn_sync(text)
        assert not turn.rejected, [r.reason for r in turn.rejected]
        states.append(turn.state)
    return session, states


def _writes(session: Session) -> list[Any]:
    return [c for r in session.turns() for c in r.tool_calls if c.side_effect]


def test_turning_mobile_data_on_fixes_it() -> None:
    session, states = _run(_crm(), *FixMobileData.example)
    assert states == [
        "speed_test",
        "svc_status",
        "data_travel",
        "data_switch",
        "data_switch_on",
        "fixed",
    ]
    assert session.outcome == "completed" and _writes(session) == []


def test_a_used_up_allowance_is_refueled_after_the_price_is_confirmed() -> None:
    crm = _crm(data_used_gb=7.5)
    session, states = _run(
        crm,
        f"my number is {MAYA}",
        NO_CONNECTION,
        "I have full bars",
        "no, I'm at home",
        "mobile data is on",
        "2 GB please",
        "yes",
        EXCELLENT,
    )
    assert states[-4:] == ["refuel_ask", "refuel_quote", "data_after_refuel", "fixed"]
    assert crm.get_line("L2001").data_refueling_gb == 4.0
    assert [c.tool for c in _writes(session)] == ["refuel_data"]


def test_declining_the_refuel_is_transferred_with_no_write() -> None:
    crm = _crm(data_used_gb=7.5)
    before = telecom_db_json(crm.db)
    session, states = _run(
        crm,
        f"my number is {MAYA}",
        NO_CONNECTION,
        "4 bars",
        "not traveling",
        "Mobile Data Enabled: Yes",
        "no thanks",
    )
    assert states[-1] == "transfer" and session.reply == HANDOFF_TEXT
    assert _writes(session) == [] and telecom_db_json(crm.db) == before


def test_abroad_the_line_gets_roaming_at_no_cost_then_data_works() -> None:
    crm = _crm()
    session, states = _run(
        crm,
        f"my number is {MAYA}",
        NO_CONNECTION,
        "Status Bar: 📶³ Good | 4G | 📱 Data Enabled | 🔋 80%",
        "yes, I'm in France",
        "Data Roaming Enabled: Yes",
        "it works now, excellent",
    )
    assert states[-3:] == ["data_roaming", "data_after_roaming", "fixed"]
    assert "enabled roaming on it at no cost" in session.turns()[-2].reply.text
    assert crm.get_line("L2001").roaming_enabled is True


def test_slow_data_goes_through_data_saver_network_mode_and_vpn_then_transfers() -> None:
    session, states = _run(
        _crm(),
        f"my number is {MAYA}",
        "Speed Test Result: 22.00 Mbps (Fair).",
        "Data Saver mode is ON (limits data usage).",
        "Data Saver Mode is now OFF. Speed Test Result: 44.00 Mbps (Good).",
        "Network Mode Preference: 4g_5g_preferred",
        "VPN is turned OFF.",
    )
    assert states[1:] == ["saver", "saver_off", "mode", "vpn_check", "transfer"]
    assert session.outcome == "handed_off"


def test_slow_data_from_an_old_network_mode_is_fixed() -> None:
    session, states = _run(
        _crm(),
        f"my number is {MAYA}",
        "it's slow, about 3 Mbps",
        "data saver is off",
        "it's set to 2G only",
        "Preferred Network Mode set to: 4g_5g_preferred " + EXCELLENT,
    )
    assert states[1:] == ["saver", "mode", "mode_fix", "fixed"]
    assert session.outcome == "completed"


def test_a_plan_change_instead_of_a_refuel_returns_to_the_speed_test() -> None:
    crm = _crm(data_used_gb=7.5)
    _, states = _run(
        crm,
        f"my number is {MAYA}",
        NO_CONNECTION,
        "full bars",
        "at home",
        "mobile data is on",
        "I'd like to change my plan",
        "Everyday 20",
        "yes",
        EXCELLENT,
    )
    assert states[-4:] == ["choose_plan", "awaiting_confirmation", "data_after_refuel", "fixed"]
    assert crm.get_line("L2001").plan_id == "P1002"
