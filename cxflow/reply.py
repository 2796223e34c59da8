"""Rendering the agent's reply from a state's template and the slots.

Replies are templates by default (no model latency): `say="Your new plan costs ${new_price}."`.
The reply also carries its structured part, which scripted customers and the divergence detector
read: the slots it asks for, the customer actions it requests, and the shared facts it states.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any, cast

from pydantic import BaseModel

from cxflow.machine import FlowSpec, StateSpec, placeholder_slots
from cxflow.records import Reply
from cxflow.tooling import jsonable

__all__ = ["HANDOFF_TEXT", "render", "render_reply"]

HANDOFF_TEXT = "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON."
"""What the agent says when it hands off (tau2-bench's wording, so tau2 checks recognise it)."""

_FORMATTER = string.Formatter()


def _display(value: object) -> object:
    if value is None:
        return "(unknown)"
    if isinstance(value, list | tuple):
        items = cast(Iterable[object], value)
        return ", ".join(str(_display(v)) for v in items)
    return value


def render(template: str, slots: BaseModel) -> str:
    """Fill a template's `{slot}` placeholders; empty slots show as "(unknown)"."""
    if not template:
        return ""
    fields = slots.__dict__
    values = {name: _display(fields.get(name)) for name in placeholder_slots(template)}
    try:
        return template.format_map(values)
    except (ValueError, TypeError):  # a format spec that does not fit the value's type
        plain = {k: str(v) for k, v in values.items()}
        return _strip_specs(template).format_map(plain)


def _strip_specs(template: str) -> str:
    out: list[str] = []
    for text, field, _spec, conv in _FORMATTER.parse(template):
        out.append(text.replace("{", "{{").replace("}", "}}"))
        if field is not None:
            out.append("{" + field + (f"!{conv}" if conv else "") + "}")
    return "".join(out)


def stated_facts(spec: FlowSpec, state: StateSpec, slots: BaseModel) -> dict[str, Any]:
    """Return the shared facts the state's template states, with their values."""
    out: dict[str, Any] = {}
    for fact in spec.facts:
        value = getattr(slots, fact.slot, None)
        if state.states_fact(fact) and value is not None:
            out[fact.name] = jsonable(value)
    return out


def render_reply(
    spec: FlowSpec, state: StateSpec, slots: BaseModel, *, prefix: list[str] | None = None
) -> Reply:
    """Render the reply for entering or staying in a state, with its structured part."""
    parts = [p for p in (prefix or []) if p]
    body = render(state.say, slots)
    if body:
        parts.append(body)
    return Reply(
        text=" ".join(parts),
        asks_slots=[s for s in state.fills if getattr(slots, s) is None],
        asks_actions=[a.name for a in state.asks],
        offers=list(dict.fromkeys(t.event for t in state.events)),
        action_arguments=[a.kwargs for a in state.asks],
        starts=list(state.starts),
        stated_facts=stated_facts(spec, state, slots),
    )


def describe_slots(spec: FlowSpec, state: StateSpec) -> str:
    """Explain, in plain words, what the state needs from the customer (for clarifications)."""
    fields: Mapping[str, Any] = spec.slots_model.model_fields
    needs = [(fields[s].description or s.replace("_", " ")) for s in state.fills if s in fields]
    if not needs:
        return ""
    return "To go on I need: " + "; ".join(needs) + "."
