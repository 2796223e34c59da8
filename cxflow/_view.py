"""What an interpreter sees in a state: fillable slots (typed, with choices), enabled events,
known facts. Never the whole policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from cxflow.interpreter import EventView, FactView, SlotView, TurnView
from cxflow.machine import FlowSpec
from cxflow.tooling import jsonable
from cxflow.types import literal_choices, parser_kind


def build_view(
    spec: FlowSpec,
    state: str,
    slots: BaseModel,
    *,
    flows: tuple[EventView, ...],
    prompt: str,
    history: Callable[[], tuple[tuple[str, str], ...]],
    feedback: tuple[str, ...] = (),
    attempt: int = 1,
) -> TurnView:
    """Build the interpreter's view of one state."""
    state_spec = spec.states[state]
    slot_views: list[SlotView] = []
    for name in spec.fillable(state, slots):
        static = _static(spec, name)
        choices = spec.choices(state, name, slots)
        if choices is None and static.literals:
            choices = {value: value for value in static.literals}
        slot_views.append(
            SlotView(
                name=name,
                description=static.description,
                json_schema=static.json_schema,
                parser=static.parser,
                choices=choices,
                value=getattr(slots, name),
                correction=name not in state_spec.fills,
                accepts=_acceptor(spec, state, name, slots),
            )
        )
    seen: set[str] = set()
    events: list[EventView] = []
    for t in state_spec.events:
        if t.event not in seen:
            seen.add(t.event)
            events.append(EventView(t.event, t.description, t.keywords))
    known = {k: jsonable(v) for k, v in slots.__dict__.items() if v is not None}
    stated: list[FactView] = []
    for fact in spec.facts:
        value = getattr(slots, fact.slot, None)
        if state_spec.states_fact(fact) and value is not None:
            static = _static(spec, fact.slot)
            view = SlotView(
                name=fact.slot,
                description=static.description,
                json_schema=static.json_schema,
                parser=static.parser,
                choices=None,
                value=jsonable(value),
                correction=False,
            )
            stated.append(FactView(fact.name, fact.description, view))
    return TurnView(
        flow=spec.flow_id,
        state=state,
        purpose=state_spec.purpose,
        prompt=prompt,
        slots=tuple(slot_views),
        events=tuple(events),
        known=known,
        facts=tuple(f.name for f in spec.facts),
        flows=flows,
        history=history,
        feedback=feedback,
        attempt=attempt,
        stated=tuple(stated),
    )


def _acceptor(spec: FlowSpec, state: str, slot: str, slots: BaseModel) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        return spec.check_value(state, slot, value, slots)[1] is None

    return accepts


@dataclass(frozen=True, slots=True)
class _SlotStatic:
    description: str
    json_schema: Mapping[str, Any]
    parser: str | None
    literals: tuple[str, ...]


_STATIC: dict[tuple[int, str], _SlotStatic] = {}


def _static(spec: FlowSpec, slot: str) -> _SlotStatic:
    """What never changes about a slot's view (schemas are costly to build: cache them)."""
    key = (id(spec.slots_model), slot)
    found = _STATIC.get(key)
    if found is None:
        info = spec.slots_model.model_fields[slot]
        found = _STATIC[key] = _SlotStatic(
            description=info.description or "",
            json_schema=MappingProxyType(value_schema(spec, slot)),
            parser=parser_kind(info),
            literals=literal_choices(info),
        )
    return found


def value_schema(spec: FlowSpec, slot: str) -> dict[str, Any]:
    """The JSON schema of one slot's values, without the "or null" of optional slots."""
    schema = spec.adapter(slot).json_schema()
    options = schema.get("anyOf")
    if isinstance(options, list):
        non_null = [o for o in options if o != {"type": "null"}]  # pyright: ignore[reportUnknownVariableType]
        if len(non_null) == 1:  # pyright: ignore[reportUnknownArgumentType]
            return dict(non_null[0])  # pyright: ignore[reportUnknownArgumentType]
    return schema
