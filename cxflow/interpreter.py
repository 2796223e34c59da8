"""Interpreters turn a customer message into commands; the machine decides what they do.

`Interpreter` is the plug point (a Protocol). This module has the view an interpreter gets, the
per-turn JSON schema built from it, and the two test/replay doubles:
`ScriptedInterpreter` (a queue of command lists, raw or typed) and `ReplayInterpreter` (the
commands of a stored conversation, fed back with zero model calls). The offline default,
`RuleInterpreter`, lives in `cxflow.rule_interpreter`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ValidationError

from cxflow.commands import Command, parse_commands
from cxflow.records import TurnRecord, Usage

__all__ = [
    "EventView",
    "FactView",
    "Interpretation",
    "Interpreter",
    "ReplayInterpreter",
    "ScriptedInterpreter",
    "SlotView",
    "TurnView",
    "turn_schema",
]


@dataclass(frozen=True, slots=True)
class SlotView:
    """A slot the interpreter may fill this turn."""

    name: str
    description: str
    json_schema: Mapping[str, Any]
    parser: str | None
    """Value kind for offline parsing ("phone", "date", "int", "money", "choice", ...)."""
    choices: Mapping[str, str] | None
    """Allowed values and their labels, when the state restricts them."""
    value: Any
    """Current value (None when empty); a filled slot offered again is a correction."""
    correction: bool
    accepts: Callable[[Any], bool] | None = field(default=None, repr=False, compare=False)
    """Whether the session would take a value here (types, validators, choices), when known:
    offline interpreters use it to leave out a reading of the message that cannot be right."""


@dataclass(frozen=True, slots=True)
class EventView:
    """An event the interpreter may take this turn (or a flow it may start)."""

    name: str
    description: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FactView:
    """A shared fact the agent's last reply stated: the customer may claim another value."""

    name: str
    description: str
    slot: SlotView
    """The slot holding the agent's view (its kind, schema and current value)."""


@dataclass(frozen=True, slots=True)
class TurnView:
    """What an interpreter sees: the situation, never the whole policy."""

    flow: str
    state: str
    purpose: str
    prompt: str
    """What the agent last said (the question the customer is answering)."""
    slots: tuple[SlotView, ...]
    events: tuple[EventView, ...]
    known: Mapping[str, Any]
    """Slots already filled (facts known)."""
    facts: tuple[str, ...]
    """Names of the flow's shared facts (for `Claim`)."""
    flows: tuple[EventView, ...]
    """Flows that `StartFlow` may start here: id, title and keywords."""
    history: Callable[[], tuple[tuple[str, str], ...]] = field(default=lambda: (), repr=False)
    """Reads recent (customer text, agent reply) pairs from the store, only when asked."""
    feedback: tuple[str, ...] = ()
    """Why commands of the previous attempt were refused (empty on the first attempt)."""
    attempt: int = 1
    stated: tuple[FactView, ...] = ()
    """The shared facts the agent just stated, with their values: a customer message giving
    another value of one is a `Claim` (a divergence the flow repairs before any write)."""

    def recent(self) -> tuple[tuple[str, str], ...]:
        """Recent (customer text, agent reply) pairs, oldest first (read on demand)."""
        return self.history()


@dataclass(frozen=True, slots=True)
class Interpretation:
    """An interpreter's answer: commands, plus what went wrong producing them and what it cost."""

    commands: list[Command]
    raw: Any = None
    error: str | None = None
    """Set when the output could not be parsed; `commands` is then empty."""
    usage: Usage = field(default_factory=Usage)
    unavailable: bool = False
    """The interpreter could not answer at all (the API kept failing after its retries): a
    `FallbackInterpreter` then asks the next one. A model's bad answer is not this."""


@runtime_checkable
class Interpreter(Protocol):
    """Turns a customer message into commands for the current state."""

    name: str

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the commands for this message (never raise for a model's mistake)."""
        ...


def interpretation_from_raw(raw: object, usage: Usage | None = None) -> Interpretation:
    """Parse raw interpreter output into an `Interpretation`, turning garbage into an error."""
    if raw is None or raw == [] or raw == "":
        return Interpretation(
            commands=[], raw=raw, error="empty output: no commands", usage=usage or Usage()
        )
    try:
        commands = parse_commands(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Interpretation(
            commands=[],
            raw=raw,
            error=f"output is not a list of commands ({where}: {first['msg']})",
            usage=usage or Usage(),
        )
    return Interpretation(commands=commands, raw=raw, usage=usage or Usage())


class ScriptedInterpreter:
    """Plays back a fixed script of outputs, one per interpreter call (a test double).

    Each entry is either a list of commands (typed or raw dicts, validated like model output) or
    any garbage a model might produce (it then becomes an `error`, as it would from a model).
    When the script runs out, the interpreter returns no commands.
    """

    name = "scripted"
    synchronous = True
    """Answers without awaiting I/O, so `turn_sync` needs no event loop."""

    def __init__(self, script: Iterable[object]) -> None:
        self._script = list(script)
        self.calls: list[tuple[TurnView, str]] = []

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the next scripted output."""
        self.calls.append((view, text))
        if not self._script:
            return Interpretation(commands=[], error="script exhausted")
        raw: object = self._script.pop(0)
        if isinstance(raw, list) and raw:
            items = cast(list[object], raw)
            if all(isinstance(c, BaseModel) for c in items):
                raw = [_dump(c) for c in items]
        return interpretation_from_raw(cast(object, raw))


def _dump(command: object) -> object:
    return command.model_dump(mode="json") if isinstance(command, BaseModel) else command


class ReplayInterpreter:
    """Feeds a stored conversation's commands back, attempt by attempt: zero model calls."""

    name = "replay"
    synchronous = True
    """Answers without awaiting I/O, so `turn_sync` needs no event loop."""

    def __init__(self, records: Sequence[TurnRecord]) -> None:
        self._queue: list[list[dict[str, Any]]] = [a for r in records for a in r.attempts]

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the next recorded attempt's commands."""
        if not self._queue:
            return Interpretation(commands=[], error="replay exhausted: no recorded commands")
        recorded = self._queue.pop(0)
        return Interpretation(commands=parse_commands(recorded), raw=recorded)


def turn_schema(view: TurnView) -> dict[str, Any]:
    """Build the JSON schema of one turn's output: only this state's slots and events.

    `slot` is restricted to the fillable slots (each with its value type), `event` to the
    enabled events; a model given this schema cannot name a slot or event that does not exist.
    """
    variants: list[dict[str, Any]] = []
    for slot in view.slots:
        value_schema = dict(slot.json_schema)
        if slot.choices is not None:
            value_schema = {"enum": list(slot.choices)}
        variants.append(
            {
                "type": "object",
                "properties": {
                    "type": {"const": "set_slot"},
                    "slot": {"const": slot.name},
                    "value": value_schema,
                },
                "required": ["type", "slot", "value"],
                "additionalProperties": False,
                "description": slot.description or f"Fill {slot.name}",
            }
        )
    if view.events:
        variants.append(
            {
                "type": "object",
                "properties": {
                    "type": {"const": "take"},
                    "event": {"enum": [e.name for e in view.events]},
                },
                "required": ["type", "event"],
                "additionalProperties": False,
                "description": "; ".join(
                    f"{e.name}: {e.description}" for e in view.events if e.description
                ),
            }
        )
    if view.facts:
        variants.append(
            {
                "type": "object",
                "properties": {
                    "type": {"const": "claim"},
                    "fact": {"enum": list(view.facts)},
                    "value": {"type": ["string", "number", "boolean"]},
                },
                "required": ["type", "fact", "value"],
                "additionalProperties": False,
            }
        )
    if view.flows:
        variants.append(
            _simple("start_flow", flow={"enum": [f.name for f in view.flows]})
            | {"description": "; ".join(f"{f.name}: {f.description}" for f in view.flows)}
        )
    variants += [
        _simple("clarify", question={"type": "string", "maxLength": 500}),
        _simple("cancel"),
        _simple("handoff", reason={"type": "string", "maxLength": 500}),
        _simple("noop"),
    ]
    return {
        "type": "object",
        "properties": {"commands": {"type": "array", "items": {"anyOf": variants}}},
        "required": ["commands"],
        "additionalProperties": False,
    }


def _simple(kind: str, **props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **props},
        "required": ["type", *props],
        "additionalProperties": False,
    }
