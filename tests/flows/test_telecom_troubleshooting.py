"""Tech-support flows on tau2's telecom train tasks, with a customer holding a real phone.

Each task's initialization actions break the phone (and sometimes the line) as tau2 does. The
scripted customer below performs every phone action the agent asks for with the real phone tools
and answers with their output text, and answers the agent's questions from the task (phone
number, whether they are abroad, 2 GB of data, yes). At the end tau2's env assertions must hold,
the conversation must end in a transfer exactly when tau2's gold actions transfer, and the
agent's CRM writes must be tau2's gold writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow import Flow, RuleInterpreter, Session
from cxflow.flows._phone_actions import PhoneAction
from cxflow.flows.fix_mms import FixMms
from cxflow.flows.fix_mobile_data import FixMobileData
from cxflow.flows.fix_no_service import FixNoService
from cxflow.reply import HANDOFF_TEXT
from cxflow.simulators.telecom import TelecomEnvironment
from cxflow.tools.telecom.conformance import TelecomData

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TASKS: list[dict[str, Any]] = json.loads((TAU2_DATA / "telecom/tasks.json").read_text())
FLOWS: dict[str, type[Flow[Any]]] = {
    "service_issue": FixNoService,
    "mobile_data_issue": FixMobileData,
    "mms_issue": FixMms,
}
MAX_TURNS = 60


class PhoneCustomer:
    """A cooperative customer who does on a real phone what the agent asks and reads it out.

    Phone actions go through the `TelecomEnvironment`, so every call is followed by tau2's sync
    (the CRM's view of the line reaches the phone; a payment made on the phone reaches the CRM).
    The seed of a customer simulator: no persona, no mistakes, no memory.
    """

    def __init__(self, world: TelecomEnvironment, phone_number: str, refuel: str) -> None:
        self.world = world
        self.phone_number = phone_number
        self.refuel = refuel
        self.actions: list[str] = []

    def reply(self, session: Session) -> str:
        """What the customer says to the agent's last message."""
        state = session.flows[session.flow].spec.states[session.state]
        if state.asks:
            self.world.sync()  # what the agent just changed in the CRM reaches the phone
            outputs = []
            for action in state.asks:
                arguments = action.kwargs if isinstance(action, PhoneAction) else {}
                outputs.append(self.world.call("user", action.name, arguments).output)
                self.actions.append(action.name)
            return "\n".join(outputs)
        wanted = [slot for slot in state.fills if session.slots.get(slot) is None]
        if "phone_number" in wanted:
            return f"My phone number is {self.phone_number}."
        if "traveling" in wanted:
            abroad = self.world.phone.surroundings.is_abroad
            return "Yes, I'm abroad." if abroad else "No, I'm at home."
        if "refuel_gb" in wanted:
            return self.refuel
        return "yes"


def _flow(task: dict[str, Any]) -> type[Flow[Any]]:
    return FLOWS[task["id"].split("]")[0].lstrip("[")]


def _transfers(task: dict[str, Any]) -> bool:
    actions = task["evaluation_criteria"]["actions"]
    return any(a["name"] == "transfer_to_human_agents" for a in actions)


def _world(task: dict[str, Any], data: TelecomData) -> TelecomEnvironment:
    world = data.environment()
    for action in task["initial_state"]["initialization_actions"]:
        world.set_up(action["env_type"], action["func_name"], action["arguments"])
    world.sync()
    return world


def play(task: dict[str, Any], data: TelecomData) -> tuple[Session, TelecomEnvironment]:
    """Run the task's tech-support flow with the scripted customer until it ends."""
    world = _world(task, data)
    number = world.phone.surroundings.phone_number
    assert number is not None
    customer = PhoneCustomer(world, number, refuel="I'd like to refuel 2 GB.")
    session = Session.start(_flow(task), interpreter=RuleInterpreter(), env=world.crm)
    for _ in range(MAX_TURNS):
        if session.done:
            break
        turn = session.turn_sync(customer.reply(session))
        assert not turn.rejected, [r.reason for r in turn.rejected]
    assert session.done, f"still in {session.state} after {MAX_TURNS} turns"
    return session, world


@pytest.fixture(scope="module")
def data() -> TelecomData:
    return TelecomData.load(TAU2_DATA / "telecom")


def _writes(session: Session) -> list[str]:
    calls = [c for r in session.turns() for c in r.tool_calls if c.side_effect]
    return sorted(c.tool for c in calls if c.refused is None and c.error is None)


def _gold_writes(task: dict[str, Any]) -> list[str]:
    actions = task["evaluation_criteria"]["actions"]
    return sorted(
        a["name"]
        for a in actions
        if a["requestor"] == "assistant" and a["name"] != "transfer_to_human_agents"
    )


def test_every_train_task_is_a_tech_support_task_of_one_of_the_three_flows() -> None:
    assert len(TASKS) == 74
    counts = {flow.flow_id: sum(_flow(t) is flow for t in TASKS) for flow in FLOWS.values()}
    assert counts == {"fix_no_service": 14, "fix_mobile_data": 27, "fix_mms": 33}


@pytest.mark.parametrize("task", TASKS, ids=[t["id"] for t in TASKS])
def test_flow_fixes_the_phone_or_transfers_exactly_as_tau2_does(
    task: dict[str, Any], data: TelecomData
) -> None:
    session, world = play(task, data)
    world.sync()
    assert session.outcome == ("handed_off" if _transfers(task) else "completed"), session.reply
    unmet = [
        (a["func_name"], a["arguments"])
        for a in task["evaluation_criteria"]["env_assertions"]
        if world.check(a["env_type"], a["func_name"], a["arguments"]) != a["assert_value"]
    ]
    assert unmet == []
    assert _writes(session) == _gold_writes(task)


def test_a_transfer_calls_tau2s_transfer_tool_then_says_the_transfer_message(
    data: TelecomData,
) -> None:
    task = next(t for t in TASKS if t["id"].startswith("[service_issue]lock_sim_card_pin|"))
    session, _ = play(task, data)
    last = session.turns()[-1]
    assert [c.tool for c in last.tool_calls][-1] == "transfer_to_human_agents"
    assert last.reply.text == HANDOFF_TEXT
    assert [r.state_after for r in session.turns()] == ["svc_status", "svc_sim", "transfer"]


def test_a_contract_that_ended_is_refused_by_the_resume_guard_then_transferred(
    data: TelecomData,
) -> None:
    task = next(t for t in TASKS if "contract_end_suspension|unseat" in t["id"])
    session, world = play(task, data)
    resumes = [c for r in session.turns() for c in r.tool_calls if c.tool == "resume_line"]
    assert len(resumes) == 1 and resumes[0].refused is not None
    assert "may_resume" in resumes[0].refused
    assert world.crm.get_line("L1002").status == "Suspended"
    assert session.outcome == "handed_off"
    sent = [c for r in session.turns() for c in r.tool_calls if c.tool == "send_payment_request"]
    assert sent == []  # no point paying: the suspension cannot be lifted anyway


def test_the_overdue_bill_is_paid_on_the_phone_before_the_line_is_resumed(
    data: TelecomData,
) -> None:
    task = next(t for t in TASKS if "airplane_mode_on|overdue_bill_suspension|unseat" in t["id"])
    world = _world(task, data)
    customer = PhoneCustomer(world, "555-123-2002", refuel="2 GB")
    session = Session.start(FixNoService, interpreter=RuleInterpreter(), env=world.crm)
    states: list[str] = []
    while not session.done:
        states.append(session.turn_sync(customer.reply(session)).state)
    assert states == [
        "svc_status",
        "svc_airplane",
        "svc_sim",
        "svc_reseat",
        "svc_after_reseat",
        "svc_apn",
        "pay_offer",
        "pay_wait",
        "svc_reboot",
        "fixed",
    ]
    assert customer.actions[-3:] == ["check_payment_request", "make_payment", "reboot_device"]
    assert world.crm.get_bill("B1234321").status == "Paid"
    assert world.crm.get_line("L1002").status == "Active"
    writes = [c.tool for r in session.turns() for c in r.tool_calls if c.side_effect]
    assert writes == ["send_payment_request", "resume_line"]


@pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))
def test_each_flow_fixes_at_least_five_different_tasks(
    flow: type[Flow[Any]], data: TelecomData
) -> None:
    fixed = []
    for task in [t for t in TASKS if _flow(t) is flow and not _transfers(t)][:5]:
        session, world = play(task, data)
        world.sync()
        met = all(
            world.check(a["env_type"], a["func_name"], a["arguments"]) == a["assert_value"]
            for a in task["evaluation_criteria"]["env_assertions"]
        )
        if session.outcome == "completed" and met:
            fixed.append(task["id"])
    assert len(fixed) == 5
