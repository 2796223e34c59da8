"""The telecom policy functions against tau2: every gold write allowed, every violation refused.

(a) Each gold write action of the 74 telecom train tasks (`refuel_data`, `enable_roaming`,
`send_payment_request`, `resume_line`) is replayed to its situation (the task's initialization
actions, then the gold actions before it, through cxflow's `TelecomEnvironment`) and must be
allowed there. Facts only the customer states come from the task's user instructions:

- traveling (for `enable_roaming`): the instructions' known info says "abroad" (every such task
  also puts the phone abroad with `set_user_location`);
- the refuel price is confirmed (for `refuel_data`): the instructions say "You are willing to
  refuel <N> GB", and N equals the gold amount.

(b) The tau2 probes whose write the policy forbids are refused by the policy functions, and
driving the flows into those situations ends in a refusal before any write runs, with the CRM
unchanged. Other probes are allowed (or not governed by the policy, listed below).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from cxflow import Flow, RuleInterpreter, Session
from cxflow.flows.enable_roaming import EnableRoaming
from cxflow.flows.pay_overdue_bill import PayOverdueBill
from cxflow.flows.refuel_data import RefuelData
from cxflow.flows.resume_line import ResumeLine
from cxflow.simulators.telecom import TelecomEnvironment
from cxflow.tools.telecom import TAU2_TODAY, TOOL_TYPES, BillStatus, telecom_db_json
from cxflow.tools.telecom.conformance import TelecomData
from cxflow.tools.telecom.policy import (
    Decision,
    payment_request_allowed,
    plan_change_allowed,
    refuel_allowed,
    resume_allowed,
    roaming_enable_allowed,
)

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
TASKS: list[dict[str, Any]] = json.loads((TAU2_DATA / "telecom/tasks.json").read_text())
PROBES: dict[str, dict[str, Any]] = {
    p["id"]: p for p in json.loads((TAU2_VECTORS / "telecom/probes.json").read_text())["probes"]
}
WRITES = {name for name, kind in TOOL_TYPES.items() if kind == "write"}
GOVERNED = ("refuel_data", "enable_roaming", "send_payment_request", "resume_line")

GOLD_WRITES = [
    (task, index)
    for task in TASKS
    for index, action in enumerate(task["evaluation_criteria"]["actions"])
    if action["requestor"] == "assistant" and action["name"] in WRITES
]


@pytest.fixture(scope="module")
def data() -> TelecomData:
    return TelecomData.load(TAU2_DATA / "telecom")


def _situation(setup: list[dict[str, Any]], data: TelecomData) -> TelecomEnvironment:
    world = data.environment()
    for action in setup:
        world.set_up(action["env_type"], action["func_name"], action["arguments"])
    world.sync()
    return world


def _traveling(task: dict[str, Any]) -> bool:
    return "abroad" in task["user_scenario"]["instructions"]["known_info"]


def _willing_to_refuel(task: dict[str, Any]) -> float | None:
    found = re.search(
        r"willing to refuel ([\d.]+) GB", task["user_scenario"]["instructions"]["task_instructions"]
    )
    return float(found.group(1)) if found else None


def decide(
    world: TelecomEnvironment,
    name: str,
    arguments: dict[str, Any],
    *,
    traveling: bool = False,
    price_confirmed: bool = True,
) -> Decision:
    """What the policy says about one agent write in the world's current state."""
    crm = world.crm
    customer_bills = crm.get_bills_for_customer(arguments["customer_id"], limit=100)
    if name == "send_payment_request":
        return payment_request_allowed(crm.get_bill(arguments["bill_id"]), customer_bills)
    line = crm.get_customer_line(arguments["customer_id"], arguments["line_id"])
    if name == "refuel_data":
        return refuel_allowed(line, arguments["gb_amount"], price_confirmed=price_confirmed)
    if name == "enable_roaming":
        return roaming_enable_allowed(line, traveling=traveling)
    assert name == "resume_line"
    return resume_allowed(line, customer_bills, TAU2_TODAY)


# -- (a) every gold write is allowed in its situation ---------------------------------------------


def test_the_train_tasks_have_74_gold_writes_all_governed_by_the_policy() -> None:
    names = [task["evaluation_criteria"]["actions"][i]["name"] for task, i in GOLD_WRITES]
    assert len(names) == 74
    assert {n: names.count(n) for n in GOVERNED} == {
        "refuel_data": 38,
        "enable_roaming": 30,
        "send_payment_request": 3,
        "resume_line": 3,
    }


@pytest.mark.parametrize(
    ("task", "index"),
    GOLD_WRITES,
    ids=[f"{t['id']}#{i}" for t, i in GOLD_WRITES],
)
def test_gold_write_is_allowed_in_its_situation(
    task: dict[str, Any], index: int, data: TelecomData
) -> None:
    world = _situation(task["initial_state"]["initialization_actions"], data)
    actions = task["evaluation_criteria"]["actions"]
    for earlier in actions[:index]:
        assert not world.call(earlier["requestor"], earlier["name"], earlier["arguments"]).error
    action = actions[index]
    decision = decide(
        world,
        action["name"],
        action["arguments"],
        traveling=_traveling(task),
        price_confirmed=_willing_to_refuel(task) == action["arguments"].get("gb_amount"),
    )
    assert decision.allowed, decision.rule


# -- (b) policy-violating probes are refused -------------------------------------------------------

VIOLATIONS = {
    "send_payment_request.ok": "bill B1002 is Issued, not Overdue",
    "send_payment_request.paid_bill": "bill B1001 is already Paid",
    "send_payment_request.already_awaiting": "B1002 already awaits payment (and B1001 is Paid)",
    "refuel_data.non_positive": "0 GB is not an amount of data",
    "refuel_data.suspended_line": "line L1003 is Suspended (cxflow's rule; tau2's check is off)",
    "resume_line.active": "line L1002 is Active: there is no suspension to lift",
    "enable_roaming.already": "line L1002 already roams: nothing to enable",
}
"""Probes whose write the policy forbids, with the reason."""

ALLOWED = {
    "refuel_data.ok": "2 GB on an Active line, price confirmed",
    "refuel_data.after_overuse": "2 GB on an Active line over its limit, price confirmed",
    "refuel_data.new_draft_bill": "1.5 GB on an Active line of another customer",
    "resume_line.ok": "L1003 is Suspended, no overdue bill, contract runs until 2026-06-30",
    "enable_roaming.ok": "L1001 does not roam yet (allowed when the customer travels)",
}
"""Probes of governed writes that the policy allows (given the customer's confirmation)."""

NOT_GOVERNED = ("suspend_line", "disable_roaming")
"""Writes no telecom flow makes and the policy gives no rule for."""


def test_every_probe_of_a_governed_write_is_classified() -> None:
    governed = {pid for pid, p in PROBES.items() if p["tool"] in GOVERNED and not p["error"]}
    erroring_violations = {pid for pid in VIOLATIONS if PROBES[pid]["error"]}
    assert governed | erroring_violations == set(VIOLATIONS) | set(ALLOWED)
    ungoverned = {p["tool"] for p in PROBES.values() if p["tool"] in WRITES} - set(GOVERNED)
    assert ungoverned == set(NOT_GOVERNED)


@pytest.mark.parametrize("probe_id", list(VIOLATIONS))
def test_policy_violating_probe_is_refused(probe_id: str, data: TelecomData) -> None:
    probe = PROBES[probe_id]
    world = _situation(probe["setup"], data)
    decision = decide(world, probe["tool"], probe["arguments"], traveling=True)
    assert not decision.allowed
    assert decision.rule


@pytest.mark.parametrize("probe_id", list(ALLOWED))
def test_policy_allowed_probe_is_allowed(probe_id: str, data: TelecomData) -> None:
    probe = PROBES[probe_id]
    world = _situation(probe["setup"], data)
    assert decide(world, probe["tool"], probe["arguments"], traveling=True).allowed


def test_refuel_needs_a_confirmed_price_and_at_most_two_gb(data: TelecomData) -> None:
    world = _situation(PROBES["refuel_data.ok"]["setup"], data)
    args = dict(PROBES["refuel_data.ok"]["arguments"])
    assert not decide(world, "refuel_data", args, price_confirmed=False).allowed
    assert not decide(world, "refuel_data", {**args, "gb_amount": 2.5}).allowed
    assert decide(world, "refuel_data", {**args, "gb_amount": 0.5}).allowed


def test_roaming_is_enabled_only_for_a_traveling_customer(data: TelecomData) -> None:
    world = _situation(PROBES["enable_roaming.ok"]["setup"], data)
    args = PROBES["enable_roaming.ok"]["arguments"]
    assert not decide(world, "enable_roaming", args, traveling=False).allowed
    assert decide(world, "enable_roaming", args, traveling=True).allowed


def test_a_plan_change_needs_an_active_line_another_plan_and_a_confirmed_price(
    data: TelecomData,
) -> None:
    crm = data.environment().crm
    active, suspended = crm.get_line("L1002"), crm.get_line("L1003")
    premium, unlimited = crm.get_plan("P1002"), crm.get_plan("P1003")
    assert plan_change_allowed(active, unlimited, price_confirmed=True).allowed
    assert not plan_change_allowed(active, unlimited, price_confirmed=False).allowed
    assert not plan_change_allowed(active, premium, price_confirmed=True).allowed
    assert not plan_change_allowed(suspended, unlimited, price_confirmed=True).allowed


def _suspension(contract_ended: bool) -> list[dict[str, Any]]:
    task = next(
        t
        for t in TASKS
        if any(
            a["func_name"] == "suspend_line_for_overdue_bill"
            and a["arguments"]["contract_ended"] is contract_ended
            for a in t["initial_state"]["initialization_actions"]
        )
    )
    return [
        a
        for a in task["initial_state"]["initialization_actions"]
        if a["func_name"] in ("set_user_info", "suspend_line_for_overdue_bill")
    ]


def test_a_suspension_is_lifted_only_after_paying_and_never_after_the_contract_ended(
    data: TelecomData,
) -> None:
    args = {"customer_id": "C1001", "line_id": "L1002"}
    unpaid = _situation(_suspension(contract_ended=False), data)
    assert "overdue bill" in decide(unpaid, "resume_line", args).rule
    unpaid.crm.get_bill("B1234321").status = BillStatus.PAID
    assert decide(unpaid, "resume_line", args).allowed
    ended = _situation(_suspension(contract_ended=True), data)
    ended.crm.get_bill("B1234321").status = BillStatus.PAID
    decision = decide(ended, "resume_line", args)
    assert not decision.allowed and "contract ended" in decision.rule


# -- (b) the flows refuse those situations before any write ----------------------------------------


def _drive(
    flow: type[Flow[Any]], world: TelecomEnvironment, *lines: str
) -> tuple[Session, list[Any]]:
    session = Session.start(flow, interpreter=RuleInterpreter(), env=world.crm)
    for text in lines:
        if not session.done:
            session.turn_sync(text)
    calls = [c for r in session.turns() for c in r.tool_calls if c.side_effect]
    return session, calls


@pytest.mark.parametrize("probe_id", ["send_payment_request.ok", "send_payment_request.paid_bill"])
def test_payment_flow_sends_no_request_for_a_bill_that_is_not_overdue(
    probe_id: str, data: TelecomData
) -> None:
    world = _situation(PROBES[probe_id]["setup"], data)
    before = telecom_db_json(world.crm.db)
    session, writes = _drive(PayOverdueBill, world, "my number is 555-123-2002", "yes")
    assert session.outcome == "refused" and writes == []
    assert telecom_db_json(world.crm.db) == before


def test_payment_flow_sends_no_second_request_while_one_awaits_payment(
    data: TelecomData,
) -> None:
    world = _situation(PROBES["send_payment_request.already_awaiting"]["setup"], data)
    session, writes = _drive(PayOverdueBill, world, "my number is 555-123-2002")
    assert session.state == "pay_wait" and writes == []  # pay the pending one, send nothing


def test_refuel_flow_refuses_a_suspended_line_and_more_than_two_gb(data: TelecomData) -> None:
    suspended = _situation(PROBES["refuel_data.suspended_line"]["setup"], data)
    before = telecom_db_json(suspended.crm.db)
    session, writes = _drive(RefuelData, suspended, "my number is 555-123-2003", "1 GB", "yes")
    assert (session.outcome, session.state, writes) == ("refused", "line_inactive", [])
    assert telecom_db_json(suspended.crm.db) == before
    active = _situation(PROBES["refuel_data.ok"]["setup"], data)
    session, writes = _drive(RefuelData, active, "my number is 555-123-2002", "3 GB", "yes")
    assert (session.state, writes) == ("refuel_too_much", [])


def test_resume_flow_refuses_an_ended_contract_with_its_write_guard(data: TelecomData) -> None:
    world = _situation(_suspension(contract_ended=True), data)
    before = telecom_db_json(world.crm.db)
    session, writes = _drive(ResumeLine, world, "my number is 555-123-2002")
    assert session.outcome == "refused"
    assert [(c.tool, c.refused is not None) for c in writes] == [("resume_line", True)]
    assert "contract ended" in session.reply
    assert telecom_db_json(world.crm.db) == before


def test_resume_flow_refuses_an_active_line_and_an_unpaid_bill(data: TelecomData) -> None:
    world = _situation(PROBES["resume_line.active"]["setup"], data)
    session, writes = _drive(ResumeLine, world, "my number is 555-123-2002")
    assert (session.outcome, writes) == ("refused", [])
    unpaid = _situation(_suspension(contract_ended=False), data)
    before = telecom_db_json(unpaid.crm.db)
    session, writes = _drive(ResumeLine, unpaid, "my number is 555-123-2002", "no")
    assert (session.outcome, writes) == ("declined", [])
    assert telecom_db_json(unpaid.crm.db) == before


def test_roaming_flow_refuses_a_customer_at_home_and_a_line_that_already_roams(
    data: TelecomData,
) -> None:
    home = _situation(PROBES["enable_roaming.ok"]["setup"], data)
    session, writes = _drive(EnableRoaming, home, "my number is 555-123-2001", "no, I'm at home")
    assert (session.outcome, writes) == ("refused", [])
    roams = _situation(PROBES["enable_roaming.already"]["setup"], data)
    session, writes = _drive(EnableRoaming, roams, "my number is 555-123-2002", "yes")
    assert (session.state, writes) == ("already_enabled", [])
