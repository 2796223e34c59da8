"""The customer side of a simulated conversation: the `CustomerSimulator` protocol and `converse`.

A simulator reads the agent's reply, text and structured part (the slots it asks for, the
customer actions it requests, the events it offers, the facts it states), acts on its own state
(a phone, what it believes, what it agreed to) and answers. `converse` alternates the two sides
and hands the simulator's view and truth of the shared facts to every turn, so the divergence
detector can compare them with the agent's.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cxflow.records import Reply, TurnRecord
from cxflow.session import Session

__all__ = ["CustomerSimulator", "CustomerTurn", "converse"]


@dataclass(frozen=True, slots=True)
class CustomerTurn:
    """What the customer does in one turn: what they say, and what they did on their side.

    Attributes:
        text: The message to the agent ("" with `done`: the customer says nothing more).
        actions: Customer-side tools used before answering (e.g. "toggle_airplane_mode").
        done: The customer ends the conversation (satisfied, or giving up).
    """

    text: str
    actions: tuple[str, ...] = ()
    done: bool = False


@runtime_checkable
class CustomerSimulator(Protocol):
    """A simulated customer with its own state."""

    def respond(self, reply: Reply) -> CustomerTurn | Awaitable[CustomerTurn]:
        """Read the agent's reply, act on the customer's own state, and answer (a model-driven
        customer returns an awaitable)."""
        ...

    def view(self) -> Mapping[str, Any]:
        """What the customer believes or agreed to, per shared fact."""
        ...

    def truth(self) -> Mapping[str, Any]:
        """The customer side's ground truth per shared fact (their phone), where it has one."""
        ...


async def converse(
    session: Session, customer: CustomerSimulator, *, max_turns: int = 40
) -> list[TurnRecord]:
    """Let a simulated customer talk to a session until it ends, the customer stops, or
    `max_turns` customer turns have passed; return the turn records."""
    reply = session.prompt()
    records: list[TurnRecord] = []
    for _ in range(max_turns):
        if session.done:
            break
        answered = customer.respond(reply)
        answer = await answered if inspect.isawaitable(answered) else answered
        if answer.done:
            break
        turn = await session.turn(
            answer.text, customer_view=customer.view(), truth=customer.truth() or None
        )
        records.append(turn.record)
        reply = turn.record.reply
    return records
