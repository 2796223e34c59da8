"""Flows: customer-service workflows declared as python-statemachine classes with cxflow's extras.

A flow is a `StateMachine` (python-statemachine's strict flavour: errors in callbacks are raised,
unknown or disallowed events are refused) plus:

- one pydantic slots model, given as the type argument: `class PlanUpgrade(Flow[UpgradeSlots])`;
- per state: the slots the interpreter may fill there (`fills=`), the reply template (`say=`),
  the tools run on entering it (`tools=`), the customer actions it asks for (`asks=`, dual
  control), and dynamic choices for a slot (`choices=`);
- guards as pure callables of the slots (`cond=`/`unless=` on transitions);
- the shared facts both parties must agree on (`facts = (...)`).

`auto(...)` marks transitions the machine takes by itself as soon as their guards pass;
`describe(...)` gives an event a description and keywords for interpreters, and marks the
transitions by which the customer confirms a write tool.

Everything is checked when the class is created; the error lists every problem at once.
"""

# python-statemachine is typed, but its metaclass internals (transition specs, state lists) are
# not fully annotated; this module is the one bridge to them.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportUnknownParameterType=false
# pyright: reportMissingTypeArgument=false, reportAttributeAccessIssue=false
# pyright: reportIncompatibleMethodOverride=false

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel
from statemachine import State as _PsmState
from statemachine import StateMachine
from statemachine.callbacks import CallbackGroup
from statemachine.factory import StateMachineMetaclass
from statemachine.transition import Transition
from statemachine.transition_list import TransitionList

from cxflow.errors import FlowDefinitionError
from cxflow.machine import FlowSpec, placeholder_slots
from cxflow.tooling import Tool

__all__ = [
    "CustomerAction",
    "Flow",
    "SharedFact",
    "State",
    "TransitionMeta",
    "auto",
    "describe",
]

SlotsT = TypeVar("SlotsT", bound=BaseModel)
ChoicesFn = Callable[[Any], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class CustomerAction:
    """Something the agent asks the customer to do on their side (dual control).

    Attributes:
        name: The customer-side tool or act, e.g. "toggle_airplane_mode".
        instruction: What the agent says, e.g. "Turn airplane mode off".
        reports: Slot the customer's report of the outcome fills, if any.
        arguments: The customer-side tool's arguments, as (name, value) pairs, so a simulated
            customer (or a person reading the instruction) does exactly what was asked.
    """

    name: str
    instruction: str
    reports: str | None = None
    arguments: tuple[tuple[str, str], ...] = ()

    @property
    def kwargs(self) -> dict[str, str]:
        """The customer-side tool's keyword arguments."""
        return dict(self.arguments)


@dataclass(frozen=True, slots=True)
class SharedFact:
    """A fact agent and customer must agree on; the agent's view of it is a slot.

    Attributes:
        name: The fact's name in divergence reports ("line", "quoted_price").
        slot: The slot holding the agent's view.
        description: What the fact means, for reports and model prompts.
        truth: Reads the fact's true value from the environment, when the agent's
            environment holds it (a CRM); device facts come from the customer simulator.
        stated_by: Other slots whose text states the fact (a price shown through a
            `cost_text` slot): a reply showing any of them states the fact too.
    """

    name: str
    slot: str
    description: str = ""
    truth: Callable[[Any, Any], Any] | None = None
    """`truth(env, slots)`: the environment's value of the fact (simulation and tests)."""
    stated_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TransitionMeta:
    """cxflow's annotations of one transition (set by `auto` and `describe`)."""

    auto: bool = False
    description: str = ""
    keywords: tuple[str, ...] = ()
    confirms: tuple[Tool, ...] = ()


_META_ATTR = "_cxflow_meta"


def _annotate(transitions: TransitionList, **changes: Any) -> TransitionList:
    for t in transitions:
        meta: TransitionMeta = getattr(t, _META_ATTR, TransitionMeta())
        setattr(t, _META_ATTR, _replace(meta, **changes))
    return transitions


def _replace(meta: TransitionMeta, **changes: Any) -> TransitionMeta:
    return dataclasses.replace(meta, **changes)


def transition_meta(transition: Transition) -> TransitionMeta:
    """Return cxflow's annotations of a python-statemachine transition."""
    return getattr(transition, _META_ATTR, TransitionMeta())


def auto(transitions: TransitionList) -> TransitionList:
    """Mark transitions the machine takes by itself, in order, as soon as their guards pass."""
    return _annotate(transitions, auto=True)


def describe(
    transitions: TransitionList,
    description: str,
    *,
    keywords: tuple[str, ...] = (),
    confirms: Tool | tuple[Tool, ...] = (),
) -> TransitionList:
    """Describe an event for interpreters, and mark customer confirmations.

    Args:
        transitions: The transitions of the event (`a.to(b)`).
        description: What the customer means by it, shown to model interpreters.
        keywords: Words the offline `RuleInterpreter` matches; `<yes>` and `<no>` match a yes or
            no answer.
        confirms: Write tools whose current arguments the customer confirms by taking it.
    """
    confirmed = (confirms,) if isinstance(confirms, Tool) else tuple(confirms)
    return _annotate(
        transitions, description=description, keywords=tuple(keywords), confirms=confirmed
    )


class State(_PsmState):
    """A situation in a flow, with what may be filled, said, run and asked there."""

    def __init__(
        self,
        name: str = "",
        *,
        initial: bool = False,
        final: bool = False,
        fills: tuple[str, ...] = (),
        say: str = "",
        tools: tuple[Tool, ...] = (),
        asks: tuple[CustomerAction, ...] = (),
        choices: Mapping[str, ChoicesFn] | None = None,
        purpose: str = "",
        outcome: str | None = None,
        starts: tuple[type[Flow[Any]], ...] = (),
        returns_to: str | None = None,
    ) -> None:
        """Declare a state.

        Args:
            name: Human-readable name (defaults from the attribute name).
            initial: The flow starts here (exactly one state).
            final: The flow ends here.
            fills: Slots the interpreter may fill in this state.
            say: Reply template; `{slot}` placeholders name slots.
            tools: Tools run, in order, each time the state is entered.
            asks: Customer actions the agent asks for here (dual control).
            choices: Per slot, a function of the slots giving the allowed values and labels.
            purpose: One sentence on what the state is for (model prompts, docs).
            outcome: For final states: "completed" (default), "refused", "cancelled", ...
            starts: Flows the customer may start from here (`StartFlow`), e.g. a router's.
            returns_to: The state this flow continues in after a flow started here ends
                (default: this state).
        """
        super().__init__(name=name, initial=initial, final=final)
        self.fills = tuple(fills)
        self.say = say
        self.tools = tuple(tools)
        self.asks = tuple(asks)
        self.choices: dict[str, ChoicesFn] = dict(choices or {})
        self.purpose = purpose
        self.outcome = outcome if outcome is not None else ("completed" if final else None)
        self.starts = tuple(starts)
        self.returns_to = returns_to


def guards_of(transition: Transition) -> tuple[list[Any], list[Any]]:
    """Return the (cond, unless) guards declared on a transition."""
    conds: list[Any] = []
    unless: list[Any] = []
    for spec in transition._specs:  # pyright: ignore[reportPrivateUsage]
        if spec.group is CallbackGroup.COND:
            (conds if spec.expected_value is not False else unless).append(spec.func)
    return conds, unless


def _slots_model(attrs: Mapping[str, Any]) -> type[BaseModel] | None:
    for base in attrs.get("__orig_bases__", ()):
        for arg in typing.get_args(base):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def _check_guard(where: str, guard: object, problems: list[str]) -> None:
    if isinstance(guard, str) or not callable(guard):
        problems.append(
            f"{where}: guard {guard!r} is not a callable. Pass the function itself "
            "(cond=line_is_active), not its name."
        )
        return
    params = list(inspect.signature(guard).parameters)
    if params != ["slots"]:
        problems.append(
            f"{where}: guard {getattr(guard, '__name__', guard)!r} takes {params}; a guard takes "
            "exactly one parameter named 'slots' and returns a bool."
        )


class FlowMeta(StateMachineMetaclass):
    """Builds a flow class and checks it, listing every problem at once."""

    def __init__(cls, name: str, bases: tuple[type], attrs: dict[str, Any]) -> None:
        declared = [v for v in attrs.values() if isinstance(v, State)]
        problems: list[str] = []
        if declared:
            initials = {k: v for k, v in attrs.items() if isinstance(v, State) and v.initial}
            if not initials:
                problems.append(
                    "no initial state. Mark the state the conversation starts in with initial=True."
                )
            elif len(initials) > 1:
                problems.append(
                    f"{len(initials)} initial states {list(initials)}; exactly one state takes "
                    "initial=True. Keep it on the state the conversation starts in."
                )
                for extra in list(initials.values())[1:]:  # let python-statemachine build
                    extra._initial = False  # pyright: ignore[reportPrivateUsage]
            bad_guards = _uncallable_guards(attrs)
            if bad_guards:  # python-statemachine cannot even build the class with these
                raise FlowDefinitionError(name, problems + bad_guards)
        super().__init__(name, bases, attrs)
        if not list(cls.states):
            return  # an abstract base such as Flow itself
        model = _slots_model(attrs) or getattr(cls, "slots_model", None)
        if model is None:
            problems.append(
                f"no slots model. Declare it as the type argument: class {name}(Flow[MySlots])."
            )
            fields: set[str] = set()
        else:
            cls.slots_model = model
            fields = set(model.model_fields)
        problems += _check_flow(cls, fields, model)
        if problems:
            raise FlowDefinitionError(name, problems)
        cls.flow_id = attrs.get("flow_id") or _snake(name)
        cls.spec = FlowSpec.compile(cls)

    def _check(cls) -> None:
        """Replaced by `_check_flow`, which reports every problem instead of the first."""
        cls._abstract = not cls.states  # python-statemachine instantiates non-abstract classes only


def _uncallable_guards(attrs: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for event, value in attrs.items():
        if isinstance(value, TransitionList):
            for tr in value:
                conds, unless = guards_of(tr)
                for g in conds + unless:
                    if not callable(g) and not isinstance(g, str):
                        problems.append(
                            f"event {event!r}: guard {g!r} is not a callable. Pass the function "
                            "itself (cond=line_is_active)."
                        )
    return problems


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("_")


def _check_flow(cls: Any, fields: set[str], model: type[BaseModel] | None) -> list[str]:
    problems: list[str] = []
    states: list[_PsmState] = list(cls.states)
    model_name = model.__name__ if model else "the slots model"

    def unknown(where: str, slot: str) -> None:
        if model is not None and slot not in fields:
            problems.append(
                f"{where}: unknown slot {slot!r}; {model_name} has {sorted(fields)}. "
                "Add the field to the slots model or fix the name."
            )

    confirmed_tools: set[str] = set()
    for s in states:
        if not isinstance(s, State):
            problems.append(f"state {s.id!r}: use cxflow.State, not python-statemachine's State.")
            continue
        for slot in s.fills:
            unknown(f"state {s.id!r} fills=", slot)
        for slot in s.choices:
            unknown(f"state {s.id!r} choices=", slot)
        if s.returns_to is not None and s.returns_to not in {x.id for x in states}:
            problems.append(
                f"state {s.id!r}: returns_to={s.returns_to!r} is not a state of this flow."
            )
        for started in cast(tuple[object, ...], s.starts):
            if not (isinstance(started, type) and issubclass(started, Flow)):
                problems.append(f"state {s.id!r}: starts= takes flow classes, not {started!r}.")
        try:
            placeholders = placeholder_slots(s.say)
        except ValueError as exc:
            placeholders = ()
            problems.append(
                f"state {s.id!r}: say= template is malformed ({exc}). Write placeholders as "
                "{slot_name} and double literal braces ({{ and }})."
            )
        for placeholder in placeholders:
            if model is not None and placeholder not in fields:
                problems.append(
                    f"state {s.id!r}: say= template uses {{{placeholder}}}, which is not a "
                    f"slot of {model_name}. Use one of {sorted(fields)}."
                )
        for t in s.tools:
            for slot in t.reads:
                unknown(f"tool {t.name!r} reads=", slot)
            for slot in t.writes:
                if model is not None and slot not in fields:
                    problems.append(
                        f"tool {t.name!r} writes {slot!r}, which is not a slot of "
                        f"{model_name}. Declare it in the model or remove it from writes=."
                    )
            if t.error_slot is not None:
                unknown(f"tool {t.name!r} error_slot=", t.error_slot)
            if t.guard is not None:
                _check_guard(f"tool {t.name!r}", t.guard, problems)
        for tr in s.transitions:
            where = f"transition {s.id}->{tr.target.id if tr.target else '?'} ({tr.event})"
            conds, unless = guards_of(tr)
            for g in conds + unless:
                _check_guard(where, g, problems)
            meta = transition_meta(tr)
            confirmed_tools.update(t.name for t in meta.confirms)
    for s in states:
        if isinstance(s, State):
            for t in s.tools:
                if t.needs_confirmation and t.name not in confirmed_tools:
                    problems.append(
                        f"tool {t.name!r} needs confirmation but no transition confirms it. "
                        f"Add describe(..., confirms={t.name}) to the customer's 'yes' event."
                    )
    for fact in getattr(cls, "facts", ()):
        unknown(f"shared fact {fact.name!r}", fact.slot)
        for shown in fact.stated_by:
            unknown(f"shared fact {fact.name!r} stated_by", shown)
    problems += _check_graph(states)
    return problems


def _successors(states: list[_PsmState]) -> dict[str, set[str]]:
    """Where each state can lead: its transitions' targets, and after a flow it starts ends,
    its `returns_to` state (itself by default)."""
    ids = {s.id for s in states}
    out: dict[str, set[str]] = {}
    for s in states:
        nxt = {t.id for tr in s.transitions for t in tr.targets}
        if isinstance(s, State) and s.starts:
            nxt.add(s.returns_to if s.returns_to in ids else s.id)
        out[s.id] = nxt
    return out


def _check_graph(states: list[_PsmState]) -> list[str]:
    problems: list[str] = []
    successors = _successors(states)
    initial = next((s for s in states if s.initial), None)
    if initial is not None:
        seen = {initial.id}
        frontier = [initial.id]
        while frontier:
            for target in successors[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        unreachable = [s.id for s in states if s.id not in seen]
        if unreachable:
            problems.append(
                f"unreachable states {unreachable}: no path leads to them from "
                f"{initial.id!r}. Add a transition into them or delete them."
            )
    dead_ends = [s.id for s in states if not s.final and not successors[s.id]]
    if dead_ends:
        problems.append(
            f"states with no outgoing transition: {dead_ends}. Add a transition from them or "
            "mark them final=True."
        )
    finals = {s.id for s in states if s.final}
    if finals:
        reach_final = set(finals)
        grew = True
        while grew:
            grew = False
            for s in states:
                if s.id not in reach_final and successors[s.id] & reach_final:
                    reach_final.add(s.id)
                    grew = True
        trapped = [s.id for s in states if s.id not in reach_final and successors[s.id]]
        if trapped:
            problems.append(
                f"states with no path to a final state: {trapped}. Give them a transition that "
                "leads, directly or not, to a final state."
            )
    finals_out = [s.id for s in states if s.final and s.transitions]
    if finals_out:
        problems.append(f"final states with outgoing transitions: {finals_out}; remove those.")
    return problems


class Flow(StateMachine, Generic[SlotsT], metaclass=FlowMeta):
    """Base class of every flow; subclass it as `class MyFlow(Flow[MySlots])`.

    Class attributes set when a subclass is created:
        flow_id: snake_case id (the file name in `flows/`), overridable.
        slots_model: The pydantic slots model.
        spec: The compiled `FlowSpec` the runtime uses (no state machine instance per session).
    """

    flow_id: ClassVar[str] = ""
    slots_model: ClassVar[type[BaseModel]]
    facts: ClassVar[tuple[SharedFact, ...]] = ()
    max_attempts: ClassVar[int] = 3
    """Customer turns without progress in one state before the flow hands off."""
    title: ClassVar[str] = ""
    """What the customer wants, in a few words ("Change my plan"); used by routers and lists."""
    keywords: ClassVar[tuple[str, ...]] = ()
    """Words by which the offline interpreter recognises a request for this flow."""
    example: ClassVar[tuple[str, ...]] = ()
    """A happy path: the customer's lines against the flow's sample data, offline."""
    digressions: ClassVar[tuple[type[Flow[Any]], ...]] = ()
    """Flows the customer may start from any state of this one; it resumes when they end."""
    repair_divergence: ClassVar[bool] = True
    """Refuse a confirmation while the customer disagrees with a fact it confirms; restate."""
    first_token_budget_ms: ClassVar[float | None] = None
    """A latency budget for the model's first token on a turn (voice channels: e.g. 800);
    simulation reports list the turns over it."""
    spec: ClassVar[Any]

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> object:
        """Build the environment tools act on (a CRM client, a database); override per flow.

        Args:
            tau2_data: A folder laid out like tau2-bench's `data/tau2/domains`; flows over a
                tau2 domain then act on its real database instead of their bundled sample.
        """
        return None
