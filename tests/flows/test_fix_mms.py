"""fix_mms: tau2's Path 3 under dual control (service, data, then the MMS-specific checks)."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session
from cxflow.flows.fix_mms import FixMms
from cxflow.reply import HANDOFF_TEXT
from cxflow.tools.telecom import telecom_db_json

MAYA = "555-014-3301"
CANNOT = "Your messaging app cannot send MMS messages."
EXCELLENT = "Speed Test Result: 275.00 Mbps (Excellent). Connection is very fast."


def _run(*lines: str) -> tuple[Session, list[str]]:
    session = Session.start(FixMms, interpreter=RuleInterpreter())
    states = []
    for text in lines:
        turn = session.turn_sync(text)
        assert not turn.rejected, [r.reason for r in turn.rejected]
        states.append(turn.state)
    return session, states


# service OK, data OK, MMS still failing: the MMS-specific checks start at `network`
TO_MMS_CHECKS = (f"my number is {MAYA}", CANNOT, "I have 3 bars, 5G", EXCELLENT, "still can't")


def test_turning_wifi_calling_off_fixes_mms() -> None:
    session, states = _run(*FixMms.example)
    assert states == [
        "mms_check",
        "svc_status",
        "speed_test",
        "retry",
        "network",
        "wifi_calling",
        "wifi_calling_off",
        "fixed",
    ]
    assert session.outcome == "completed"


def test_a_2g_network_is_switched_to_4g_5g() -> None:
    _, states = _run(
        *TO_MMS_CHECKS,
        "Cellular Network Type: 2G",
        "Preferred Network Mode set to: 4g_5g_preferred\nCellular Network Type: 5G\n"
        "Your messaging app can send MMS messages.",
    )
    assert states[-2:] == ["network_fix", "fixed"]
    asks = FixMms.spec.states["network_fix"].asks
    assert [(a.name, dict(getattr(a, "arguments", ()))) for a in asks] == [
        ("set_network_mode_preference", {"mode": "4g_5g_preferred"}),
        ("check_network_status", {}),
        ("can_send_mms", {}),
    ]


def test_a_network_mode_that_did_not_take_is_asked_for_once_more() -> None:
    _, states = _run(
        *TO_MMS_CHECKS,
        "Cellular Network Type: 2G",
        "Done.\nCellular Network Type: 2G\nYour messaging app cannot send MMS messages.",
        "Preferred Network Mode set to: 4g_5g_preferred\nCellular Network Type: 5G\n"
        "Your messaging app can send MMS messages.",
    )
    assert states[-3:] == ["network_fix", "network_again", "fixed"]


def test_missing_permissions_are_granted_then_a_missing_mmsc_is_reset() -> None:
    session, states = _run(
        *TO_MMS_CHECKS,
        "it says 5G",
        "wifi calling is off",
        "App 'messaging' has permission for: phone.",
        "I granted both, still can't send",
        "MMSC URL (for picture messages): Not Set",
        "Resetting APN settings... Your messaging app can send MMS messages.",
    )
    assert states[-6:] == ["wifi_calling", "permissions", "grant", "apn", "apn_reset", "fixed"]
    assert session.outcome == "completed"


def test_nothing_helps_so_the_customer_is_transferred() -> None:
    session, states = _run(
        *TO_MMS_CHECKS,
        "5G",
        "Wi-Fi Calling is currently turned OFF.",
        "it has sms and storage permissions",
        "the MMSC URL is http://mms.carrier.com/mms/wapenc",
    )
    assert states[-1] == "transfer" and session.reply == HANDOFF_TEXT
    assert session.outcome == "handed_off"


def test_a_locked_sim_is_transferred_before_any_mms_check() -> None:
    session, states = _run(f"my number is {MAYA}", CANNOT, "no signal", "SIM locked, PUK code")
    assert states == ["mms_check", "svc_status", "svc_sim", "transfer"]
    before = telecom_db_json(FixMms.make_env().db)
    assert telecom_db_json(session.env.db) == before  # pyright: ignore[reportAttributeAccessIssue]


def test_mms_that_already_works_needs_nothing() -> None:
    session, states = _run(f"my number is {MAYA}", "yes it works, the picture went through")
    assert states == ["mms_check", "works"] and session.outcome == "completed"
