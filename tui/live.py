"""Live mode: a session started from the TUI, talked to by the user or a simulated customer.

Every change goes through the `Session` API (`await session.turn(...)`, inside Textual's event
loop, where `turn_sync` may not run); the TUI learns of new records from `session.listeners`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxflow.errors import CxflowError
from cxflow.session import Session
from cxflow.tools.telecom import TelecomTools

if TYPE_CHECKING:
    from cxflow.flow import Flow
    from cxflow.simulators.scenario import Scenario
    from cxflow.simulators.scripted import ScriptedCustomer
    from cxflow.store import Store

__all__ = ["LiveConversation"]


class LiveConversation:
    """A live session plus the scripted customer of the flow's first library scenario."""

    def __init__(self, flow: type[Flow[Any]], store: Store) -> None:
        """Start a session (offline `RuleInterpreter`) and, when the flow has a scenario
        library, its scripted customer (with a phone for telecom flows)."""
        from cxflow.simulators.scenario import PERSONAS

        self.personas = PERSONAS
        self.persona_index = 0
        self.scenario: Scenario | None = None
        self.customer: ScriptedCustomer | None = None
        self.problem = ""
        env = flow.make_env()
        try:
            from cxflow.simulators.scenario import library

            self.scenario = library(flow.flow_id).scenarios[0]
        except (CxflowError, IndexError) as exc:
            self.problem = f"no simulated customer: {exc}"
        if (
            self.scenario is not None
            and isinstance(env, TelecomTools)
            and type(env) is not TelecomTools
        ):
            # as `simulate` does: the customer holds the phone, the sample CRM need not pay
            env = TelecomTools(env.db)
        self.session = Session.start(flow, store=store, env=env, meta={"source": "tui"})
        if self.scenario is not None:
            self._new_customer()

    def _new_customer(self) -> None:
        from cxflow.simulators.run import customer_for

        assert self.scenario is not None
        scenario = self.scenario.model_validate(
            {**self.scenario.model_dump(), "personas": {self.persona: 1.0}}
        )
        try:
            self.customer = customer_for(scenario, self.session.env, seed=0)
        except ValueError as exc:
            self.customer = None
            self.problem = f"no simulated customer: {exc}"

    @property
    def persona(self) -> str:
        """The simulated customer's persona."""
        return self.personas[self.persona_index]

    def cycle_persona(self) -> str:
        """Switch to the next persona (the customer's beliefs so far are kept); return it."""
        self.persona_index = (self.persona_index + 1) % len(self.personas)
        if self.customer is not None and self.scenario is not None:
            self.customer.scenario = self.scenario.model_validate(
                {**self.scenario.model_dump(), "personas": {self.persona: 1.0}}
            )
        return self.persona

    async def say(self, text: str) -> None:
        """The user, as the customer, says `text`."""
        await self.session.turn(text)

    async def customer_turn(self) -> str | None:
        """The simulated customer answers the last reply; return its text (None: it stopped)."""
        if self.customer is None:
            raise CxflowError(self.problem or "this flow has no simulated customer")
        answer = self.customer.respond(self.session.prompt())
        if answer.done or not answer.text:
            return None
        truth = self.customer.truth() or None
        await self.session.turn(answer.text, customer_view=self.customer.view(), truth=truth)
        return answer.text

    def phone(self) -> str | None:
        """The customer's phone, in one line (None: no phone)."""
        world = getattr(self.customer, "world", None)
        if world is None:
            return None
        device = world.phone.state.device
        return (
            f"phone: airplane {'ON' if device.airplane_mode else 'off'} · SIM "
            f"{'missing' if device.sim_card_missing else device.sim_card_status.value} · signal "
            f"{device.network_signal_strength.value} · data "
            f"{'on' if device.data_enabled else 'off'} · bar: {world.phone.check_status_bar()}"
        )
