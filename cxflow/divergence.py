"""Divergence: where the agent's view, the customer's view and the truth of a shared fact part.

Three views exist per shared fact (`SharedFact`, declared by each flow):

- the agent view: the slot the fact names (what the session believes);
- the customer view: what the customer believes or agreed to (the simulator's own state in
  simulation; `Claim` commands in production);
- the truth: the environment (the CRM, the customer's phone), known in simulation.

After every turn `detect` compares them and returns `Divergence` entries of four kinds:
`belief_error` (agent differs from truth), `disagreement` (agent differs from customer),
`customer_misbelief` (customer differs from truth) and, the most severe,
`commit_under_divergence` (a write tool ran while a fact it reads diverged). A view that does not
know a fact (None) is not compared: not knowing is not disagreeing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, cast

from cxflow.records import Divergence, ToolCallRecord, TurnRecord

__all__ = [
    "ConversationDivergence",
    "DivergenceKind",
    "detect",
    "same_value",
    "summarize",
]


class DivergenceKind(StrEnum):
    """The four ways views of a shared fact can part."""

    BELIEF_ERROR = "belief_error"
    DISAGREEMENT = "disagreement"
    CUSTOMER_MISBELIEF = "customer_misbelief"
    COMMIT_UNDER_DIVERGENCE = "commit_under_divergence"


def _normal(value: object) -> object:
    """A comparable form: numbers by value, text without case or padding, lists as sets."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, str):
        text = value.strip().casefold()
        try:
            return Decimal(text.lstrip("$")).normalize()
        except InvalidOperation:
            return text
    if isinstance(value, list | tuple | set | frozenset):
        items = cast(Sequence[object], value)
        return tuple(sorted(repr(_normal(v)) for v in items))
    if isinstance(value, dict):
        pairs = cast(Mapping[object, object], value)
        return tuple(sorted((str(k), repr(_normal(v))) for k, v in pairs.items()))
    return repr(value)


def same_value(a: object, b: object) -> bool:
    """True when two views hold the same value ("55.00" equals 55, "Basic" equals "basic")."""
    return _normal(a) == _normal(b)


def detect(
    turn: int,
    facts: Mapping[str, str],
    agent_view: Mapping[str, Any],
    customer_view: Mapping[str, Any] | None,
    truth: Mapping[str, Any] | None,
    *,
    tool_calls: Sequence[ToolCallRecord] = (),
    reads: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Divergence]:
    """Compare the three views of every shared fact after a turn.

    Args:
        turn: The turn number the views belong to.
        facts: Fact name -> the slot holding the agent's view.
        agent_view: The session's slots (JSON).
        customer_view: Fact name -> what the customer believes (None: no customer side known).
        truth: Fact name -> the environment's value (None: no ground truth known).
        tool_calls: The turn's tool calls; write calls that ran are checked for commits.
        reads: Tool name -> the slots it reads (to know which facts a write depends on).
    """
    found: list[Divergence] = []
    customer = customer_view or {}
    real = truth or {}
    for fact, slot in facts.items():
        agent = agent_view.get(slot)
        said = customer.get(fact)
        true = real.get(fact)
        kinds: list[DivergenceKind] = []
        if agent is not None and true is not None and not same_value(agent, true):
            kinds.append(DivergenceKind.BELIEF_ERROR)
        if agent is not None and said is not None and not same_value(agent, said):
            kinds.append(DivergenceKind.DISAGREEMENT)
        if said is not None and true is not None and not same_value(said, true):
            kinds.append(DivergenceKind.CUSTOMER_MISBELIEF)
        found += [
            Divergence(turn=turn, fact=fact, agent=agent, customer=said, truth=true, kind=k.value)
            for k in kinds
        ]
    diverged = {d.fact for d in found}
    for call in tool_calls:
        if not call.side_effect or call.refused or call.error or call.replayed:
            continue
        read = set((reads or {}).get(call.tool, ()))
        for fact, slot in facts.items():
            if fact in diverged and slot in read:
                first = next(d for d in found if d.fact == fact)
                found.append(
                    Divergence(
                        turn=turn,
                        fact=fact,
                        agent=first.agent,
                        customer=first.customer,
                        truth=first.truth,
                        kind=DivergenceKind.COMMIT_UNDER_DIVERGENCE.value,
                    )
                )
    return found


@dataclass(frozen=True, slots=True)
class ConversationDivergence:
    """A conversation's divergences: where they started, which facts, whether they were repaired.

    Attributes:
        first_turn: The first turn with any divergence (None: none).
        facts: The facts that diverged, in order of first divergence.
        repaired: True when every divergence was later resolved (the views agreed again).
        divergences: Every divergence, each marked `repaired` when a later turn resolved it.
    """

    first_turn: int | None
    facts: tuple[str, ...]
    repaired: bool
    divergences: tuple[Divergence, ...]


def summarize(records: Sequence[TurnRecord]) -> ConversationDivergence:
    """Summarize a conversation's divergences and mark the ones later turns repaired.

    A divergence of a fact and kind at turn t is repaired when a later turn compared the same
    fact (all views it needs were known) and found no divergence of that kind. A commit under
    divergence is never repaired: the write happened.
    """
    items: list[Divergence] = []
    for index, record in enumerate(records):
        for d in record.divergences:
            repaired = d.kind != DivergenceKind.COMMIT_UNDER_DIVERGENCE and any(
                not any(x.fact == d.fact and x.kind == d.kind for x in later.divergences)
                and _compared(later, d)
                for later in records[index + 1 :]
            )
            items.append(d.model_copy(update={"repaired": repaired}))
    facts = tuple(dict.fromkeys(d.fact for d in items))
    return ConversationDivergence(
        first_turn=min((d.turn for d in items), default=None),
        facts=facts,
        repaired=all(d.repaired for d in items),
        divergences=tuple(items),
    )


def _compared(record: TurnRecord, d: Divergence) -> bool:
    """Whether a later turn had the views needed to see divergence `d` again."""
    customer = record.customer_view or {}
    truth = record.truth or {}
    if d.kind == DivergenceKind.CUSTOMER_MISBELIEF:
        return customer.get(d.fact) is not None and truth.get(d.fact) is not None
    if d.kind == DivergenceKind.BELIEF_ERROR:
        return truth.get(d.fact) is not None
    return customer.get(d.fact) is not None
