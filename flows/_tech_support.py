"""tau2-bench's telecom troubleshooting workflow as state-graph fragments (dual control).

The customer holds the phone, the agent holds the CRM. Each asking state names the phone tools
the customer should use (`PhoneAction`s) and the slot their report fills; the report is read
into a small vocabulary (`_phone_reports`) and pure guards route on it. Agent-side fixes
(lifting a suspension, enabling roaming, refueling data) are followed by asking the customer to
reboot or re-test, as `tech_support_workflow.md` says, and the customer is transferred to a
human exactly where the workflow escalates.

- `service_checks`: Path 1, no service (status bar, airplane mode, SIM, APN, suspension).
- `data_checks`: Path 2.1 after service is confirmed (roaming, mobile data, data usage).
"""

from __future__ import annotations

from statemachine.states import States

from cxflow.flow import State, auto
from cxflow.flows._phone_actions import PhoneAction
from cxflow.flows._phone_reports import (
    AIRPLANE,
    EXCELLENT,
    NO_CONNECTION,
    SIGNAL,
    SIM_ACTIVE,
    SIM_LOCKED,
    SIM_MISSING,
)
from cxflow.flows._telecom import TelecomSlots, forget_reports, line_problem
from cxflow.flows._telecom_account import (
    line_not_suspended,
    line_was_resumed,
    load_account,
    must_pay_first,
    payment,
    resume_line,
    resume_refused,
)
from cxflow.flows._telecom_data import (
    enable_roaming,
    forget_refuel_amount,
    is_traveling,
    line_roams,
    load_usage,
    not_traveling,
    refresh_line,
    refueling,
    roaming_failed,
    roaming_was_enabled,
    usage_over_limit,
)
from cxflow.flows.plan_upgrade import PlanUpgrade

__all__ = [
    "CHECK_STATUS_BAR",
    "RUN_SPEED_TEST",
    "ask_customer",
    "data_checks",
    "data_connected",
    "service_checks",
    "speed_excellent",
    "speed_reported",
]

# -- what the customer is asked to do on the phone ----------------------------------------------

CHECK_STATUS_BAR = PhoneAction(
    "check_status_bar", "Look at the status bar at the top of your screen", "status_bar"
)
RUN_SPEED_TEST = PhoneAction("run_speed_test", "Run a speed test", "speed")
_AIRPLANE_OFF = PhoneAction("toggle_airplane_mode", "Turn Airplane Mode off", "status_bar")
_CHECK_SIM = PhoneAction("check_sim_status", "Check your SIM card's status", "sim")
_RESEAT_SIM = PhoneAction("reseat_sim_card", "Take the SIM card out and put it back in")
_RESET_APN = PhoneAction("reset_apn_settings", "Reset your APN settings to the defaults")
_REBOOT = PhoneAction("reboot_device", "Restart your phone", "status_bar")
_NETWORK_STATUS = PhoneAction("check_network_status", "Check your network status")
_ROAMING_ON = PhoneAction("toggle_roaming", "Turn Data Roaming on")
_DATA_ON = PhoneAction("toggle_data", "Turn Mobile Data on")


def _reporting(action: PhoneAction, slot: str) -> PhoneAction:
    return PhoneAction(action.name, action.instruction, slot, action.arguments)


# -- guards on the customer's reports -------------------------------------------------------------


def has_signal(slots: TelecomSlots) -> bool:
    """The status bar shows signal: the phone has service."""
    return slots.status_bar == SIGNAL


def shows_airplane_mode(slots: TelecomSlots) -> bool:
    """The status bar shows Airplane Mode."""
    return slots.status_bar == AIRPLANE


def status_reported(slots: TelecomSlots) -> bool:
    """The customer said what the status bar shows."""
    return slots.status_bar is not None


def sim_missing(slots: TelecomSlots) -> bool:
    """The phone does not detect the SIM card."""
    return slots.sim == SIM_MISSING


def sim_locked(slots: TelecomSlots) -> bool:
    """The SIM card is locked with a PIN or PUK: technical support must unlock it."""
    return slots.sim == SIM_LOCKED


def sim_active(slots: TelecomSlots) -> bool:
    """The SIM card is active."""
    return slots.sim == SIM_ACTIVE


def sim_reported(slots: TelecomSlots) -> bool:
    """The customer said what the SIM status is."""
    return slots.sim is not None


def speed_reported(slots: TelecomSlots) -> bool:
    """The customer said what the speed test gave."""
    return slots.speed is not None


def data_connected(slots: TelecomSlots) -> bool:
    """The speed test got through: mobile data works (at some speed)."""
    return slots.speed is not None and slots.speed != NO_CONNECTION


def speed_excellent(slots: TelecomSlots) -> bool:
    """The speed test rates the connection Excellent."""
    return slots.speed == EXCELLENT


def roaming_switch_off(slots: TelecomSlots) -> bool:
    """Data Roaming is off on the phone."""
    return slots.roaming_setting is False


def roaming_switch_reported(slots: TelecomSlots) -> bool:
    """The customer said whether Data Roaming is on."""
    return slots.roaming_setting is not None


def mobile_data_off(slots: TelecomSlots) -> bool:
    """Mobile Data is off on the phone."""
    return slots.mobile_data is False


def mobile_data_reported(slots: TelecomSlots) -> bool:
    """The customer said whether Mobile Data is on."""
    return slots.mobile_data is not None


# -- Path 1: no service ---------------------------------------------------------------------------


def ask_customer(
    say: str, fills: str | tuple[str, ...], *actions: PhoneAction, purpose: str = ""
) -> State:
    """A state asking the customer to act on their phone and report what it shows in `fills`.

    Earlier reports are forgotten on entering it (see `forget_reports`).
    """
    slots = (fills,) if isinstance(fills, str) else fills
    return State(tools=(forget_reports,), fills=slots, asks=actions, say=say, purpose=purpose)


def ask_again(step: State, say: str) -> State:
    """`step` once more, opened by `say`.

    A fix state also asks the customer to check the setting it changes. When that check shows
    the fix did not take (they forgot it, or did something else), the flow asks for it once
    more instead of moving on. Declare the copy's transitions like `step`'s, without the way
    back to it, so a fix that still fails moves on.
    """
    return State(
        tools=(forget_reports,),
        fills=step.fills,
        asks=step.asks,
        say=say,
        purpose=f"Once more: {step.purpose or 'the last check shows the fix did not take'}",
    )


def service_checks(ok: State, restored: State, transfer: State, *, why: str = "") -> States:
    """Path 1: make sure the phone has service (tech_support_workflow.md, steps 1.0-1.4).

    Enter at `svc_status` with the line loaded. Leaves to `ok` when the status bar shows signal
    at once, to `restored` when a fix brought service back, and to `transfer` where the workflow
    escalates (SIM locked, suspension that cannot be lifted, nothing helped). A customer who will
    not pay the overdue bill ends in `svc_unpaid`. `why` opens the first question.
    """
    status = ask_customer(
        why + "Please look at the status bar at the top of your phone's screen. What does it show?",
        "status_bar",
        CHECK_STATUS_BAR,
        purpose="Step 1.0: does the phone have service?",
    )
    airplane = ask_customer(
        "Airplane Mode is on, and it turns off all wireless connections. Please turn Airplane "
        "Mode off and tell me what the status bar shows now.",
        "status_bar",
        _AIRPLANE_OFF,
        purpose="Step 1.1: airplane mode off.",
    )
    airplane_still = ask_customer(
        "Your status bar still shows Airplane Mode, so it is still on. Please turn Airplane "
        "Mode off and tell me what the status bar shows now.",
        "status_bar",
        _AIRPLANE_OFF,
        purpose="Step 1.1 again: the last status check still shows Airplane Mode.",
    )
    sim = ask_customer(
        "Let's check your SIM card. Please check your SIM status: what does it say?",
        "sim",
        _CHECK_SIM,
        purpose="Step 1.2: is the SIM active, missing or locked?",
    )
    reseat = ask_customer(
        "Your phone doesn't detect the SIM card. Please take the SIM card out, put it back in, "
        "then check the SIM status again and tell me what it says.",
        "sim",
        _RESEAT_SIM,
        _CHECK_SIM,
        purpose="Step 1.2: re-seat a missing SIM.",
    )
    reseat_again = ask_again(
        reseat,
        "The SIM card is still not detected. Please take the SIM card out and put it back in "
        "once more, then check the SIM status again and tell me what it says.",
    )
    after_reseat = ask_customer(
        "Thanks, the SIM card is active. What does the status bar show now?",
        "status_bar",
        CHECK_STATUS_BAR,
    )
    apn = ask_customer(
        "Let's reset your network settings. Please reset your APN settings to the defaults, "
        "then restart your phone, and tell me what the status bar shows after the restart.",
        "status_bar",
        _RESET_APN,
        _REBOOT,
        purpose="Step 1.3: reset the APN settings and reboot.",
    )
    account = State(tools=(load_account,), purpose="Step 1.4: is the line suspended?")
    resume = State(tools=(resume_line,), purpose="Lift the suspension in the CRM.")
    reboot = ask_customer(
        "I've lifted the suspension on line {line_phone}. Please restart your phone and tell me "
        "what the status bar shows after the restart.",
        "status_bar",
        _REBOOT,
        purpose="After resuming the line the phone must reboot to get service.",
    )
    unpaid = State(
        final=True,
        outcome="declined",
        say="All right. Line {line_phone} stays suspended, without service, until the overdue "
        "bill is paid.",
    )
    pay = payment(
        account,
        unpaid,
        transfer,
        why="Line {line_phone} is suspended because of an overdue bill, which is why there is "
        "no service. ",
    )
    auto(status.to(ok, event="svc_has_signal", cond=has_signal))
    auto(status.to(airplane, event="svc_in_airplane_mode", cond=shows_airplane_mode))
    auto(status.to(sim, event="svc_no_signal", cond=status_reported))
    # a later status check that still shows Airplane Mode (the customer forgot to turn it off, or
    # misread the screen earlier): turn it off before anything else
    auto(airplane.to(airplane_still, event="svc_airplane_still_on", cond=shows_airplane_mode))
    auto(airplane.to(restored, event="svc_airplane_fixed", cond=has_signal))
    auto(airplane.to(sim, event="svc_airplane_not_enough", cond=status_reported))
    auto(airplane_still.to(restored, event="svc_airplane_now_fixed", cond=has_signal))
    auto(airplane_still.to(transfer, event="svc_airplane_stuck", cond=shows_airplane_mode))
    auto(airplane_still.to(sim, event="svc_airplane_now_off", cond=status_reported))
    auto(sim.to(reseat, event="svc_sim_missing", cond=sim_missing))
    auto(sim.to(transfer, event="svc_sim_locked", cond=sim_locked))
    auto(sim.to(apn, event="svc_sim_active", cond=sim_reported))
    auto(reseat.to(after_reseat, event="svc_sim_reseated", cond=sim_active))
    auto(reseat.to(reseat_again, event="svc_sim_still_missing", cond=sim_missing))
    auto(reseat.to(transfer, event="svc_sim_still_bad", cond=sim_reported))
    auto(reseat_again.to(after_reseat, event="svc_sim_reseated_again", cond=sim_active))
    auto(reseat_again.to(transfer, event="svc_sim_reseat_failed", cond=sim_reported))
    auto(after_reseat.to(airplane, event="svc_reseat_shows_airplane", cond=shows_airplane_mode))
    auto(after_reseat.to(restored, event="svc_reseat_fixed", cond=has_signal))
    auto(after_reseat.to(apn, event="svc_reseat_not_enough", cond=status_reported))
    auto(apn.to(airplane, event="svc_apn_shows_airplane", cond=shows_airplane_mode))
    auto(apn.to(restored, event="svc_apn_fixed", cond=has_signal))
    auto(apn.to(account, event="svc_apn_not_enough", cond=status_reported))
    auto(account.to(transfer, event="svc_account_unreadable", cond=line_problem))
    auto(account.to(transfer, event="svc_line_not_suspended", cond=line_not_suspended))
    auto(account.to(pay.pay_start, event="svc_bill_to_pay", cond=must_pay_first))
    auto(account.to(resume, event="svc_try_resume"))
    auto(resume.to(reboot, event="svc_resumed", cond=line_was_resumed))
    auto(resume.to(transfer, event="svc_resume_refused", cond=resume_refused))
    auto(reboot.to(airplane, event="svc_reboot_shows_airplane", cond=shows_airplane_mode))
    auto(reboot.to(restored, event="svc_reboot_fixed", cond=has_signal))
    auto(reboot.to(transfer, event="svc_still_no_service", cond=status_reported))
    return States(
        {
            "svc_status": status,
            "svc_airplane": airplane,
            "svc_airplane_still": airplane_still,
            "svc_sim": sim,
            "svc_reseat": reseat,
            "svc_reseat_again": reseat_again,
            "svc_after_reseat": after_reseat,
            "svc_apn": apn,
            "svc_account": account,
            "svc_resume": resume,
            "svc_reboot": reboot,
            "svc_unpaid": unpaid,
            **dict(pay.items()),
        }
    )


# -- Path 2.1: mobile data unavailable (service already confirmed) --------------------------------


def data_checks(connected: State, transfer: State) -> States:
    """Path 2.1, steps 2.1.2-2.1.4: get mobile data through once the phone has service.

    Enter at `data_travel` after a speed test gave no connection. Leaves to `connected` as soon
    as a speed test gets through (`speed` holds its rating) and to `transfer` where the workflow
    escalates. Data usage over the limit is offered a refuel (at most 2 GB, price confirmed) or,
    by starting `plan_upgrade`, a plan with more data.
    """
    travel = State(
        tools=(forget_reports,),
        fills=("traveling",),
        say="Are you traveling outside your usual service area at the moment, for example abroad?",
        purpose="Step 2.1.2: roaming matters only when traveling.",
    )
    roaming = ask_customer(
        "Please check your network status: is Data Roaming turned on?",
        "roaming_setting",
        _reporting(_NETWORK_STATUS, "roaming_setting"),
    )
    roaming_on = ask_customer(
        "Please turn Data Roaming on, check your network status, then run a speed test and "
        "tell me the result.",
        ("speed", "roaming_setting"),
        _ROAMING_ON,
        _reporting(_NETWORK_STATUS, "roaming_setting"),
        RUN_SPEED_TEST,
    )
    roaming_again = ask_again(
        roaming_on,
        "Your network status still shows Data Roaming off. Please turn Data Roaming on, check "
        "your network status, then run a speed test and tell me the result.",
    )
    line_roaming = State(tools=(refresh_line,), purpose="Is the line roaming enabled in the CRM?")
    enabling = State(tools=(enable_roaming,), purpose="Enable roaming on the line, at no cost.")
    after_roaming = ask_customer(
        "Your line wasn't set up for roaming, so I've enabled roaming on it at no cost. Please "
        "run a speed test again and tell me the result.",
        "speed",
        RUN_SPEED_TEST,
    )
    switch = ask_customer(
        "Please check your network status: is Mobile Data turned on?",
        "mobile_data",
        _reporting(_NETWORK_STATUS, "mobile_data"),
        purpose="Step 2.1.3: the mobile data switch.",
    )
    switch_on = ask_customer(
        "Please turn Mobile Data on, check your network status, then run a speed test and tell "
        "me the result.",
        ("speed", "mobile_data"),
        _DATA_ON,
        _reporting(_NETWORK_STATUS, "mobile_data"),
        RUN_SPEED_TEST,
    )
    switch_again = ask_again(
        switch_on,
        "Your network status still shows Mobile Data off. Please turn Mobile Data on, check "
        "your network status, then run a speed test and tell me the result.",
    )
    usage = State(tools=(load_usage,), purpose="Step 2.1.4: is the data allowance used up?")
    last_test = ask_customer(
        "Your line hasn't used up its data. Please run a speed test once more and tell me the "
        "result.",
        "speed",
        RUN_SPEED_TEST,
    )
    after_refuel = State(
        tools=(forget_reports, forget_refuel_amount),
        fills=("speed",),
        asks=(RUN_SPEED_TEST,),
        say="Please run a speed test again and tell me the result.",
        purpose="After more data was added, check the connection again.",
    )
    refuel = refueling(
        after_refuel,
        transfer,
        transfer,
        transfer,
        offer="Your line {line_phone} has used {data_used_gb} GB of its {data_limit_gb} GB this "
        "month (plus {data_refueling_gb} GB refueled), so mobile data is cut off. I can add up "
        "to 2 GB of data at ${refuel_price} per GB, or you could change to a plan with more "
        "data. How many GB would you like to add?",
        starts=(PlanUpgrade,),
        returns_to="data_after_refuel",
    )
    auto(travel.to(roaming, event="data_traveling", cond=is_traveling))
    auto(travel.to(switch, event="data_at_home", cond=not_traveling))
    auto(roaming.to(roaming_on, event="data_roaming_off", cond=roaming_switch_off))
    auto(roaming.to(line_roaming, event="data_roaming_on", cond=roaming_switch_reported))
    auto(roaming_on.to(connected, event="data_roaming_fixed", cond=data_connected))
    auto(roaming_on.to(roaming_again, event="data_roaming_still_off", cond=roaming_switch_off))
    auto(roaming_on.to(line_roaming, event="data_roaming_not_enough", cond=speed_reported))
    auto(roaming_again.to(connected, event="data_roaming_fixed_again", cond=data_connected))
    auto(roaming_again.to(line_roaming, event="data_roaming_again_not_enough", cond=speed_reported))
    auto(line_roaming.to(transfer, event="data_line_unreadable", cond=line_problem))
    auto(line_roaming.to(switch, event="data_line_roams", cond=line_roams))
    auto(line_roaming.to(enabling, event="data_line_cannot_roam"))
    auto(enabling.to(after_roaming, event="data_roaming_enabled", cond=roaming_was_enabled))
    auto(enabling.to(transfer, event="data_roaming_refused", cond=roaming_failed))
    auto(after_roaming.to(connected, event="data_line_roaming_fixed", cond=data_connected))
    auto(after_roaming.to(switch, event="data_line_roaming_not_enough", cond=speed_reported))
    auto(switch.to(switch_on, event="data_switch_off", cond=mobile_data_off))
    auto(switch.to(usage, event="data_switch_on", cond=mobile_data_reported))
    auto(switch_on.to(connected, event="data_switch_fixed", cond=data_connected))
    auto(switch_on.to(switch_again, event="data_switch_still_off", cond=mobile_data_off))
    auto(switch_on.to(usage, event="data_switch_not_enough", cond=speed_reported))
    auto(switch_again.to(connected, event="data_switch_fixed_again", cond=data_connected))
    auto(switch_again.to(usage, event="data_switch_again_not_enough", cond=speed_reported))
    auto(usage.to(transfer, event="data_usage_unreadable", cond=line_problem))
    auto(usage.to(refuel.refuel_start, event="data_usage_exceeded", cond=usage_over_limit))
    auto(usage.to(last_test, event="data_usage_fine"))
    auto(last_test.to(connected, event="data_works_now", cond=data_connected))
    auto(last_test.to(transfer, event="data_still_down", cond=speed_reported))
    auto(after_refuel.to(connected, event="data_refuel_fixed", cond=data_connected))
    auto(after_refuel.to(transfer, event="data_refuel_not_enough", cond=speed_reported))
    return States(
        {
            "data_travel": travel,
            "data_roaming": roaming,
            "data_roaming_on": roaming_on,
            "data_roaming_again": roaming_again,
            "data_line_roaming": line_roaming,
            "data_enable_roaming": enabling,
            "data_after_roaming": after_roaming,
            "data_switch": switch,
            "data_switch_on": switch_on,
            "data_switch_again": switch_again,
            "data_usage": usage,
            "data_last_test": last_test,
            "data_after_refuel": after_refuel,
            **dict(refuel.items()),
        }
    )
