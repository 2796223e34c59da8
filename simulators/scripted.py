"""A deterministic scripted customer: a scenario, a seed, and the structured part of each reply.

The customer answers what the agent asks for (`reply.asks_slots`) from what the scenario says
they know, in one of several phrasings per kind of value (chosen by the seed, so the offline
interpreter meets more than one template), and answers a yes/no question (`reply.offers`) by
comparing the facts the agent states with what they expect. What they believe of each shared
fact is their view; what they agreed to becomes their belief.

This is the cooperative customer. Personas (terse, piecemeal, forgetful, adversarial, ...) build
on it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from cxflow.customer import CustomerTurn
from cxflow.divergence import same_value
from cxflow.records import Reply

__all__ = ["Scenario", "ScriptedCustomer"]

PHRASES: dict[str, tuple[str, ...]] = {
    "phone_number": ("my number is {v}", "it's {v}", "{v}", "the number on the account is {v}"),
    "line_phone": ("the {v} line", "{v}", "the line {v}, please", "it's {v}"),
    "full_name": ("my name is {v}", "{v}", "it's {v}"),
    "date_of_birth": ("I was born on {v}", "{v}", "my date of birth is {v}"),
    "*": ("{v}", "{v}, please", "it's {v}"),
}
"""Ways to give a value, per slot (\"*\": any other slot)."""
YES = ("yes", "yes please", "sure, go ahead", "that's right, yes")
NO = ("no", "no thanks", "no, that's not what I expected")


class Scenario(BaseModel):
    """What a simulated customer knows, wants and expects.

    Attributes:
        name: The scenario's id in reports.
        knows: Slot name -> the value the customer gives when asked for it.
        expects: Shared fact -> the value the customer expects the agent to state; they confirm
            only when the stated facts match (otherwise they decline).
        believes: Shared fact -> what the customer believes at the start (their view).
    """

    name: str = "scenario"
    knows: dict[str, Any] = Field(default_factory=dict[str, Any])
    expects: dict[str, Any] = Field(default_factory=dict[str, Any])
    believes: dict[str, Any] = Field(default_factory=dict[str, Any])


class ScriptedCustomer:
    """A cooperative, deterministic customer driven by a scenario and a seed."""

    def __init__(self, scenario: Scenario, *, seed: int = 0) -> None:
        """Start with the scenario's beliefs; the seed picks the phrasings."""
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.beliefs: dict[str, Any] = dict(scenario.believes)
        self.said: list[str] = []

    def respond(self, reply: Reply) -> CustomerTurn:
        """Answer what the reply asks, or the yes/no it offers; stop when nothing fits."""
        answers = [
            self._phrase(slot, self.scenario.knows[slot])
            for slot in reply.asks_slots
            if slot in self.scenario.knows
        ]
        if answers:
            text = ", and ".join(dict.fromkeys(answers))
        elif reply.offers:
            agree = all(
                same_value(reply.stated_facts[fact], value)
                for fact, value in self.scenario.expects.items()
                if fact in reply.stated_facts
            )
            if agree:
                self.beliefs.update(reply.stated_facts)
            text = self.rng.choice(YES if agree else NO)
        else:
            return CustomerTurn(text="", done=True)
        self.said.append(text)
        return CustomerTurn(text=text)

    def view(self) -> Mapping[str, Any]:
        """What the customer believes or agreed to, per shared fact."""
        return dict(self.beliefs)

    def truth(self) -> Mapping[str, Any]:
        """This customer holds no device: no customer-side truth."""
        return {}

    def _phrase(self, slot: str, value: object) -> str:
        templates = PHRASES.get(slot, PHRASES["*"])
        return self.rng.choice(templates).format(v=value)
