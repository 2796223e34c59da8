"""tau2 telecom tasks as troubleshooting runs under dual control.

The customer holds the task's phone, broken by the task's initialization actions (both sides:
the phone and the CRM), and knows only their identity and symptom, never the faults: the flow
must diagnose. What they will say about travel and data comes from the task's known
information and instructions (abroad or not; willing to refuel 2 GB). tau2's persona maps to
cxflow personas: none -> cooperative; Easy (average skills) -> terse now and then; Hard
(uneasy with technology) -> answers piecemeal, sometimes forgets an action or misreads the
screen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cxflow.simulators.scenario import DeviceSetup, Scenario
from cxflow.simulators.tau2 import Derived, Unsupported

__all__ = ["FLOWS", "PERSONAS", "derive", "persona_of"]

FLOWS = {
    "service_issue": "fix_no_service",
    "mobile_data_issue": "fix_mobile_data",
    "mms_issue": "fix_mms",
}
"""tau2 task family (the id's bracketed prefix) -> the troubleshooting flow."""

PERSONAS: dict[str, dict[str, float]] = {
    "None": {},
    "Easy": {"terse": 0.3},
    "Hard": {"piecemeal": 0.5, "forgets_action": 0.2, "misreads_screen": 0.2},
}
"""tau2 telecom persona -> cxflow persona mix."""


def persona_of(task: Mapping[str, Any]) -> str:
    """tau2's persona of a task: "None", "Easy" or "Hard" (from the id's `[PERSONA:...]`)."""
    task_id = str(task["id"])
    if "[PERSONA:" in task_id:
        return task_id.rsplit("[PERSONA:", 1)[1].rstrip("]")
    return "None"


def derive(task: Mapping[str, Any], data_dir: Path) -> Derived | Unsupported:
    """The troubleshooting flow and the phone-holding customer of a telecom task."""
    del data_dir  # the phone and CRM come from the task's initialization actions
    family = str(task["id"]).split("]")[0].lstrip("[")
    flow = FLOWS.get(family)
    if flow is None:
        return Unsupported(f"no flow for telecom task family {family!r}")
    initial = task.get("initial_state") or {}
    actions = initial.get("initialization_actions") or []
    user = next((a["arguments"] for a in actions if a["func_name"] == "set_user_info"), None)
    if user is None:
        return Unsupported("the task does not say who the customer is (no set_user_info)")
    abroad = any(
        a["func_name"] == "set_user_location" and a["arguments"].get("abroad") for a in actions
    )
    persona = persona_of(task)
    if persona not in PERSONAS:
        return Unsupported(f"unknown tau2 persona {persona!r}")
    instructions = (task.get("user_scenario") or {}).get("instructions") or {}
    willing = re.search(r"willing to refuel (\d+(?:\.\d+)?) ?GB", str(instructions))
    return Derived(
        flow=flow,
        scenario=Scenario(
            name=str(task["id"]),
            description=str(instructions.get("reason_for_call", ""))[:200],
            identity={"phone_number": user["phone_number"], "full_name": user["name"]},
            knows={
                "traveling": "Yes, I'm abroad." if abroad else "No, I'm at home.",
                **({"refuel_gb": f"{float(willing.group(1)):g} GB"} if willing else {}),
            },
            device=[DeviceSetup.model_validate(a) for a in actions],
            personas=PERSONAS[persona],
        ),
    )
