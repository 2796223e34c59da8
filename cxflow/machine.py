"""The machine: a flow compiled to a transition table, and the only code that changes flow state.

python-statemachine stays the source of truth for declaring, validating and drawing a flow; turns
run on the table compiled from it here (a differential test checks both agree on every state and
event). This keeps a turn in microseconds and a live session down to a small snapshot, with no
state machine instance per session.

Every operation is pure: it takes the current state id and slots and returns a decision
(a new state, new slot values, or a `Rejected` with its reason). Guards are pure predicates of
the slots.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from cxflow.tooling import Tool

if TYPE_CHECKING:
    from cxflow.flow import CustomerAction

__all__ = ["FlowSpec", "Refusal", "StateSpec", "TransitionSpec"]

Guard = Callable[[Any], bool]
_FORMATTER = string.Formatter()
MAX_VALUE_CHARS = 1_000
"""Longest text accepted as a slot value; longer values are refused (hostile or garbage input)."""


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    """One compiled transition."""

    event: str
    source: str
    target: str
    conds: tuple[Guard, ...]
    unless: tuple[Guard, ...]
    auto: bool
    description: str
    keywords: tuple[str, ...]
    confirms: tuple[str, ...]

    def refusing_guard(self, slots: BaseModel) -> Guard | None:
        """Return the first guard that blocks this transition for these slots, or None."""
        for g in self.conds:
            if not g(slots):
                return g
        for g in self.unless:
            if g(slots):
                return g
        return None


@dataclass(frozen=True, slots=True)
class StateSpec:
    """One compiled state."""

    id: str
    name: str
    final: bool
    outcome: str | None
    fills: tuple[str, ...]
    say: str
    purpose: str
    tools: tuple[Tool, ...]
    asks: tuple[CustomerAction, ...]
    choices: Mapping[str, Callable[[Any], Mapping[str, str]]]
    transitions: tuple[TransitionSpec, ...]
    starts: tuple[str, ...] = ()
    """Flows that `StartFlow` may start from this state (besides the flow's digressions)."""
    returns_to: str | None = None

    def states_fact(self, fact: Any) -> bool:
        """Whether this state's reply states a shared fact: its slot, or a slot showing it."""
        shown = self.stated_slots
        return fact.slot in shown or any(s in shown for s in fact.stated_by)

    @property
    def stated_slots(self) -> frozenset[str]:
        """Slots the state's reply template states."""
        return frozenset(placeholder_slots(self.say))

    @property
    def events(self) -> tuple[TransitionSpec, ...]:
        """Transitions the interpreter may pick (the non-automatic ones)."""
        return tuple(t for t in self.transitions if not t.auto)

    @property
    def autos(self) -> tuple[TransitionSpec, ...]:
        """Transitions the machine takes by itself, in declaration order."""
        return tuple(t for t in self.transitions if t.auto)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the machine refused a command (becomes `Rejected` on the turn record)."""

    reason: str
    guard: str | None = None


@cache
def placeholder_slots(template: str) -> tuple[str, ...]:
    """The slot names a reply template's `{placeholders}` use, in order (parsed once)."""
    names = (f.split(".")[0].split("[")[0] for _t, f, _s, _c in _FORMATTER.parse(template) if f)
    return tuple(dict.fromkeys(names))


def guard_name(guard: Guard) -> str:
    """Return a guard's name for records."""
    return getattr(guard, "__name__", repr(guard))


def guard_message(guard: Guard) -> str:
    """Return the customer-facing sentence of a guard: its docstring's first line."""
    doc = (guard.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


@dataclass(frozen=True)
class FlowSpec:
    """A flow compiled for running turns: states, transitions, slot validators, dependencies."""

    flow_id: str
    title: str
    description: str
    slots_model: type[BaseModel]
    initial: str
    states: Mapping[str, StateSpec]
    facts: tuple[Any, ...]
    max_attempts: int
    customer_slots: frozenset[str]
    """Slots some state lets the interpreter fill (the customer's; correctable later)."""
    dependents: Mapping[str, frozenset[str]]
    """Per slot, the slots computed from it by tools (transitively): cleared on a correction."""
    asked_in: Mapping[str, str]
    """Per customer slot, the first state (breadth-first from the initial) that asks for it;
    the slots come in that breadth-first order."""
    tools: Mapping[str, Tool]
    keywords: tuple[str, ...] = ()
    state_order: Mapping[str, int] = field(default_factory=dict[str, int])
    """Each state's position breadth-first from the initial one: how far into the flow it is
    (a correction goes back to an earlier state, never forward)."""
    repair_divergence: bool = True
    digressions: tuple[str, ...] = ()
    """Flows `StartFlow` may start from any state of this flow."""
    linked: Mapping[str, Any] = field(default_factory=dict[str, Any])
    """The flow classes this flow can start (by `starts=` or `digressions`), by id."""
    _adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict[str, "TypeAdapter[Any]"])
    _related: dict[str, frozenset[str]] = field(default_factory=dict[str, frozenset[str]])

    @classmethod
    def compile(cls, flow: Any) -> FlowSpec:
        """Compile a validated flow class."""
        # imported here: cxflow.flow imports this module at its top
        from cxflow.flow import State, guards_of, transition_meta

        states: dict[str, StateSpec] = {}
        tools: dict[str, Tool] = {}
        linked: dict[str, Any] = {f.flow_id: f for f in flow.digressions}
        for s in flow.states:
            assert isinstance(s, State)
            transitions: list[TransitionSpec] = []
            for tr in s.transitions:
                meta = transition_meta(tr)
                conds, unless = guards_of(tr)
                for target in tr.targets:
                    for event in tr.events:
                        transitions.append(
                            TransitionSpec(
                                event=str(event.id),
                                source=str(s.id),
                                target=str(target.id),
                                conds=tuple(conds),
                                unless=tuple(unless),
                                auto=meta.auto,
                                description=meta.description,
                                keywords=meta.keywords,
                                confirms=tuple(t.name for t in meta.confirms),
                            )
                        )
            for t in s.tools:
                tools[t.name] = t
            states[str(s.id)] = StateSpec(
                id=str(s.id),
                name=str(s.name),
                final=bool(s.final),
                outcome=s.outcome,
                fills=s.fills,
                say=s.say,
                purpose=s.purpose,
                tools=s.tools,
                asks=s.asks,
                choices=MappingProxyType(dict(s.choices)),
                transitions=tuple(transitions),
                starts=tuple(f.flow_id for f in s.starts),
                returns_to=s.returns_to,
            )
            for started in s.starts:
                linked[started.flow_id] = started
        initial = str(flow.initial_state.id)
        order = _breadth_first(initial, states)
        customer_slots = frozenset(slot for s in states.values() for slot in s.fills)
        asked_in: dict[str, str] = {}
        for sid in order:
            for slot in states[sid].fills:
                asked_in.setdefault(slot, sid)
        doc = (flow.__doc__ or "").strip()
        return cls(
            flow_id=flow.flow_id,
            title=flow.title or (doc.splitlines()[0] if doc else flow.flow_id),
            description=doc,
            slots_model=flow.slots_model,
            initial=initial,
            states=MappingProxyType(states),
            facts=tuple(flow.facts),
            max_attempts=int(flow.max_attempts),
            customer_slots=customer_slots,
            dependents=MappingProxyType(_dependents(tools.values())),
            asked_in=MappingProxyType(asked_in),
            state_order=MappingProxyType({sid: i for i, sid in enumerate(order)}),
            tools=MappingProxyType(tools),
            keywords=tuple(flow.keywords),
            repair_divergence=bool(flow.repair_divergence),
            digressions=tuple(f.flow_id for f in flow.digressions),
            linked=MappingProxyType(linked),
        )

    # -- slots ---------------------------------------------------------------------------------

    def new_slots(self) -> BaseModel:
        """Return an empty slots model."""
        return self.slots_model()

    def adapter(self, slot: str) -> TypeAdapter[Any]:
        """Return a validator for one slot's values (cached)."""
        found = self._adapters.get(slot)
        if found is None:
            info = self.slots_model.model_fields[slot]
            annotation: Any = info.annotation
            if info.metadata:
                from typing import Annotated

                annotation = Annotated[annotation, *info.metadata]
            found = self._adapters[slot] = TypeAdapter(annotation)
        return found

    def fillable(self, state: str, slots: BaseModel) -> tuple[str, ...]:
        """Slots a `SetSlot` may name in this state: its own, plus corrections of filled ones."""
        own = self.states[state].fills
        corrections = tuple(
            s for s in sorted(self.customer_slots) if s not in own and getattr(slots, s) is not None
        )
        return own + corrections

    def choices(self, state: str, slot: str, slots: BaseModel) -> Mapping[str, str] | None:
        """Return the allowed values (value -> label) of a slot in a state, if restricted.

        A correction (a slot the state does not fill itself) keeps the choices of the state
        that asks for it: correcting the plan while confirming still picks one of the plans.
        """
        fn = self.states[state].choices.get(slot)
        if fn is None and slot not in self.states[state].fills and slot in self.asked_in:
            fn = self.states[self.asked_in[slot]].choices.get(slot)
        return fn(slots) if fn is not None else None

    def check_value(
        self, state: str, slot: str, value: object, slots: BaseModel
    ) -> tuple[object, Refusal | None]:
        """Validate a value for a slot in a state; return (typed value, refusal or None)."""
        allowed = self.fillable(state, slots)
        if slot not in allowed:
            if slot in self.slots_model.model_fields:
                why = f"slot {slot!r} cannot be filled in state {state!r}"
            else:
                why = f"unknown slot {slot!r}"
            return None, Refusal(f"{why}; fillable here: {list(allowed)}")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            return None, Refusal(
                f"value for {slot!r} is {len(value)} characters long; the limit is "
                f"{MAX_VALUE_CHARS}"
            )
        if value is None:
            return None, Refusal(f"value for {slot!r} is empty; give a value")
        try:
            typed = self.adapter(slot).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            return None, Refusal(f"invalid value for {slot!r}: {first['msg']}")
        if typed is None:
            return None, Refusal(f"value for {slot!r} is empty; give a value")
        choices = self.choices(state, slot, slots)
        if choices is not None and str(typed) not in choices:
            return None, Refusal(
                f"{typed!r} is not one of the choices for {slot!r}: {sorted(choices)}"
            )
        return typed, None

    # -- events --------------------------------------------------------------------------------

    def enabled_events(self, state: str) -> tuple[str, ...]:
        """Names of the events the interpreter may take in a state (guards not evaluated)."""
        seen: dict[str, None] = {}
        for t in self.states[state].events:
            seen.setdefault(t.event, None)
        return tuple(seen)

    def take(self, state: str, event: str, slots: BaseModel) -> TransitionSpec | Refusal:
        """Decide an interpreter-picked event: the first transition whose guards pass."""
        candidates = [t for t in self.states[state].events if t.event == event]
        if not candidates:
            enabled = list(self.enabled_events(state))
            known = any(t.event == event for s in self.states.values() for t in s.transitions)
            what = "is not enabled" if known else "does not exist"
            return Refusal(f"event {event!r} {what} in state {state!r}; enabled: {enabled}")
        refusal: Refusal | None = None
        for t in candidates:
            blocking = t.refusing_guard(slots)
            if blocking is None:
                return t
            refusal = refusal or Refusal(
                f"guard {guard_name(blocking)} refused {event!r}"
                + (f": {guard_message(blocking)}" if guard_message(blocking) else ""),
                guard=guard_name(blocking),
            )
        assert refusal is not None
        return refusal

    def related_slots(self, tool: str) -> frozenset[str]:
        """Slots a tool's call depends on: what it reads, what those were computed from, and
        what was computed from them (the quoted price depends on the chosen plan)."""
        key = f"related:{tool}"
        found = self._related.get(key)
        if found is None:
            reads = set(self.tools[tool].reads)
            related = set(reads)
            for slot, derived in self.dependents.items():
                if slot in reads or derived & reads:
                    related.add(slot)
                    related |= derived
            found = self._related[key] = frozenset(related)
        return found

    def startable(self, state: str) -> tuple[str, ...]:
        """Flows that `StartFlow` may start in a state: its `starts` and the digressions."""
        found = self.states[state]
        if found.final:
            return ()
        return tuple(dict.fromkeys(found.starts + self.digressions))

    def next_auto(self, state: str, slots: BaseModel) -> TransitionSpec | None:
        """Return the first automatic transition of a state whose guards pass, if any."""
        for t in self.states[state].autos:
            if t.refusing_guard(slots) is None:
                return t
        return None


def _breadth_first(initial: str, states: Mapping[str, StateSpec]) -> list[str]:
    order = [initial]
    for sid in order:
        for t in states[sid].transitions:
            if t.target not in order:
                order.append(t.target)
    return order


def _dependents(tools: Any) -> dict[str, frozenset[str]]:
    direct: dict[str, set[str]] = {}
    for t in tools:
        for read in t.reads:
            direct.setdefault(read, set()).update(t.writes)
            if t.error_slot:
                direct[read].add(t.error_slot)
    closed: dict[str, frozenset[str]] = {}
    for slot in direct:
        seen: set[str] = set()
        frontier = [slot]
        while frontier:
            for nxt in direct.get(frontier.pop(), ()):
                if nxt not in seen and nxt != slot:
                    seen.add(nxt)
                    frontier.append(nxt)
        closed[slot] = frozenset(seen)
    return closed
