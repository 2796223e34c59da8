"""A scripted telecom customer holding a real phone (dual control).

The customer does on their own phone what the agent asks (`reply.asks_actions`, with
`reply.action_arguments`) through tau2's phone tools and reads the outputs back to the agent; the
phone's results reach the agent only through what the customer says. Their view of the
`status_bar` fact is what they believe the status bar shows; the truth is what it shows.

Two personas act on the phone:

- `forgets_action`: skips the first action that changes the phone, says "Done", and pastes the
  outputs of the checks they were asked for (or the status bar, when none was asked), which
  still show the old state; they believe the fix worked ("signal").
- `misreads_screen`: reads the status bar wrong once ("no signal" for airplane mode, and the
  other way round) and reports that in words; they believe what they read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxflow.flows._phone_reports import AIRPLANE, NO_SIGNAL, SIGNAL, read_status_bar
from cxflow.records import Reply
from cxflow.simulators.scenario import Scenario
from cxflow.simulators.scripted import ScriptedCustomer
from cxflow.simulators.telecom.environment import TelecomEnvironment
from cxflow.simulators.telecom.phone_tools import USER_TOOL_TYPES

__all__ = ["TelecomCustomer"]

_MISREAD = {AIRPLANE: NO_SIGNAL, NO_SIGNAL: AIRPLANE, SIGNAL: NO_SIGNAL}
_IN_WORDS = {
    AIRPLANE: "I see the airplane icon, so Airplane Mode is on.",
    NO_SIGNAL: "It says No Signal, there are no bars.",
    SIGNAL: "I have signal bars now.",
}


class TelecomCustomer(ScriptedCustomer):
    """A scripted customer whose device is a tau2 phone coupled to the agent's CRM."""

    def __init__(self, scenario: Scenario, world: TelecomEnvironment, *, seed: int = 0) -> None:
        """Hold `world.phone`; the scenario's `device` set-up has already been applied."""
        super().__init__(scenario, seed=seed)
        self.world = world

    def truth(self) -> Mapping[str, Any]:
        """What the phone's status bar really shows."""
        return {"status_bar": read_status_bar(self.world.phone.check_status_bar())}

    def _act(self, reply: Reply) -> tuple[list[str], tuple[str, ...]]:
        """Do the asked phone actions (or, per persona, skip or misread) and report them."""
        if not reply.asks_actions:
            return [], ()
        self.world.sync()  # what the agent just changed in the CRM reaches the phone
        outputs: list[str] = []
        done: list[str] = []
        forgot = False
        arguments_of = reply.action_arguments or [{} for _ in reply.asks_actions]
        for name, arguments in zip(reply.asks_actions, arguments_of, strict=True):
            changes_phone = USER_TOOL_TYPES.get(name) == "write"
            if changes_phone and not forgot and self._fires("forgets_action"):
                forgot = True
                continue
            outputs.append(self.world.call("user", name, arguments).output)
            done.append(name)
        if forgot:
            self.beliefs["status_bar"] = SIGNAL  # they believe the fix worked
            if not outputs:  # nothing else was asked: they glance at the status bar
                outputs = [self.world.phone.check_status_bar()]
            return ["Done.", *outputs], tuple(done)
        report = "\n".join(outputs)
        shown = read_status_bar(report) if "Status Bar:" in report else None
        if shown is not None and self._fires("misreads_screen"):
            wrong = _MISREAD[shown]
            self.beliefs["status_bar"] = wrong
            rest = [o for o in outputs if "Status Bar:" not in o]
            return [*rest, _IN_WORDS[wrong]], tuple(done)
        if shown is not None:
            self.beliefs["status_bar"] = shown
        elif any(USER_TOOL_TYPES.get(name) == "write" for name in done):
            self.beliefs.pop("status_bar", None)  # the phone changed and they did not look
        return outputs, tuple(done)
