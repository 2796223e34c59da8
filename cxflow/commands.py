"""The closed command grammar an interpreter speaks, and the JSON schema of one turn.

An interpreter (a model or the offline rules) turns the customer's message into a short list of
commands. Nothing else can change a conversation: the machine validates each command against
the current state and refuses the rest as `Rejected(command, reason)`.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "Cancel",
    "Claim",
    "Clarify",
    "Command",
    "Handoff",
    "NoOp",
    "SetSlot",
    "StartFlow",
    "Take",
    "parse_commands",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class SetSlot(BaseModel):
    """Fill a slot (or correct one filled earlier) with a value the customer gave."""

    model_config = _FROZEN
    type: Literal["set_slot"] = "set_slot"
    slot: str
    value: Any


class Take(BaseModel):
    """Take one of the events enabled in the current state."""

    model_config = _FROZEN
    type: Literal["take"] = "take"
    event: str


class Clarify(BaseModel):
    """The customer's message is unclear: ask again, explaining what is needed."""

    model_config = _FROZEN
    type: Literal["clarify"] = "clarify"
    question: str = ""


class Cancel(BaseModel):
    """The customer abandons the current request."""

    model_config = _FROZEN
    type: Literal["cancel"] = "cancel"


class Handoff(BaseModel):
    """Transfer the customer to a human agent."""

    model_config = _FROZEN
    type: Literal["handoff"] = "handoff"
    reason: str = ""


class StartFlow(BaseModel):
    """Start another flow as a digression; the current one resumes when it ends."""

    model_config = _FROZEN
    type: Literal["start_flow"] = "start_flow"
    flow: str


class Claim(BaseModel):
    """The customer asserted a shared fact ("I'm on the Basic plan")."""

    model_config = _FROZEN
    type: Literal["claim"] = "claim"
    fact: str
    value: Any


class NoOp(BaseModel):
    """Small talk or nothing actionable."""

    model_config = _FROZEN
    type: Literal["noop"] = "noop"


Command = Annotated[
    SetSlot | Take | Clarify | Cancel | Handoff | StartFlow | Claim | NoOp,
    Field(discriminator="type"),
]


@cache
def _commands_adapter() -> TypeAdapter[list[Command]]:
    return TypeAdapter(list[Command])


def parse_commands(data: object) -> list[Command]:
    """Validate raw interpreter output (a list of command objects) into commands.

    Raises:
        pydantic.ValidationError: The output is not a list of known commands.
    """
    return _commands_adapter().validate_python(data)
