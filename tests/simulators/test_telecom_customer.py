"""The scripted telecom customer on tau2's 74 telecom train tasks: it holds the task's broken
phone, does what the agent asks on it, and reports the outputs. Cooperative, it gets every task
to tau2's end state with no divergence reported on any turn (the detector's false-positive check
on real troubleshooting), and its phone actions act on its own phone only."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow.flows.fix_mms import FixMms
from cxflow.flows.fix_mobile_data import FixMobileData
from cxflow.flows.fix_no_service import FixNoService
from cxflow.records import Reply
from cxflow.simulators.run import customer_for, simulate
from cxflow.simulators.scenario import DeviceSetup, Scenario
from cxflow.simulators.telecom.customer import TelecomCustomer
from cxflow.tools.telecom import TelecomTools
from cxflow.tools.telecom.conformance import TelecomData

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TASKS: list[dict[str, Any]] = json.loads((TAU2_DATA / "telecom/tasks.json").read_text())
FLOWS = {"service_issue": FixNoService, "mobile_data_issue": FixMobileData, "mms_issue": FixMms}


@pytest.fixture(scope="module")
def data() -> TelecomData:
    return TelecomData.load(TAU2_DATA / "telecom")


def _scenario(task: dict[str, Any]) -> Scenario:
    actions = task["initial_state"]["initialization_actions"]
    user = next(a["arguments"] for a in actions if a["func_name"] == "set_user_info")
    abroad = any(
        a["func_name"] == "set_user_location" and a["arguments"]["abroad"] for a in actions
    )
    return Scenario(
        name=task["id"],
        identity={"phone_number": user["phone_number"], "full_name": user["name"]},
        knows={
            "traveling": "Yes, I'm abroad." if abroad else "No, I'm at home.",
            "refuel_gb": "2 GB",
        },
        device=[DeviceSetup.model_validate(a) for a in actions],
    )


@pytest.mark.parametrize("task", TASKS, ids=[t["id"] for t in TASKS])
def test_a_cooperative_phone_holder_solves_the_task_without_any_divergence(
    task: dict[str, Any], data: TelecomData
) -> None:
    flow = FLOWS[task["id"].split("]")[0].lstrip("[")]
    run = simulate(flow, _scenario(task), env=TelecomTools(data.crm.model_copy(deep=True)))
    assert isinstance(run.customer, TelecomCustomer)
    transcript = [(r.customer_text, r.reply.text) for r in run.records]
    transfers = any(
        a["name"] == "transfer_to_human_agents" for a in task["evaluation_criteria"]["actions"]
    )
    assert run.session.outcome == ("handed_off" if transfers else "completed"), transcript
    world = run.customer.world
    world.sync()
    unmet = [
        a["func_name"]
        for a in task["evaluation_criteria"]["env_assertions"]
        if world.check(a["env_type"], a["func_name"], a["arguments"]) != a["assert_value"]
    ]
    assert unmet == [], transcript
    assert run.divergence.divergences == (), transcript
    # the customer's view and the phone's truth were compared on the turns that checked it
    assert any(r.truth and r.customer_view for r in run.records)


def test_phone_actions_change_only_the_customers_phone(data: TelecomData) -> None:
    task = next(t for t in TASKS if t["id"].startswith("[service_issue]airplane_mode_on|"))
    crm = TelecomTools(data.crm.model_copy(deep=True))
    customer = customer_for(_scenario(task), crm, seed=0)
    assert isinstance(customer, TelecomCustomer)
    before = crm.db.model_dump_json()
    turn = customer.respond(
        Reply(text="Please turn Airplane Mode off.", asks_actions=["toggle_airplane_mode"])
    )
    assert turn.actions == ("toggle_airplane_mode",)
    assert "Airplane Mode is now OFF" in turn.text
    assert not customer.world.phone.state.device.airplane_mode
    assert crm.db.model_dump_json() == before  # the agent's CRM learns of it only by being told
