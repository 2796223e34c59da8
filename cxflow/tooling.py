"""Tools: typed functions a flow runs on entering a state, declaring the slots they read and write.

A tool is a plain function `fn(slots, env, call) -> updates`:

- `slots` is the flow's slots model (read-only by convention: return updates instead),
- `env` is the flow's environment (a CRM client, a database, ...), built by `Flow.make_env`,
- `call` is the `ToolCallContext` with the idempotency key of this call,
- `updates` is a mapping of slot name to new value (only declared `writes` are accepted), or None.

Write tools (`side_effect=True`) run only after their guard passes and, when
`needs_confirmation=True`, after the customer confirmed these exact arguments in a turn of their
own. Each write carries an idempotency key so a resumed turn never repeats the side effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import BaseModel

__all__ = ["Tool", "ToolCallContext", "idempotency_key", "jsonable", "tool"]

Updates = Mapping[str, object] | None
ToolFn = Callable[[Any, Any, "ToolCallContext"], Updates | Awaitable[Updates]]
GuardFn = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class ToolCallContext:
    """What a tool knows about the call it is serving.

    Attributes:
        session_id: The session the call belongs to.
        turn: The turn number (1-based) the call runs in.
        idempotency_key: Stable for (session, turn, tool, arguments); pass it to backends that
            deduplicate requests so a retried turn never repeats a side effect.
        arguments: The values of the slots the tool reads.
    """

    session_id: str
    turn: int
    idempotency_key: str
    arguments: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool as declared: the function plus what it reads, writes and requires."""

    fn: ToolFn
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    side_effect: bool = False
    needs_confirmation: bool = False
    guard: GuardFn | None = None
    error_slot: str | None = None
    timeout_s: float | None = None
    idempotent: bool = False
    description: str = field(default="", compare=False)

    def arguments(self, slots: Mapping[str, object]) -> dict[str, object]:
        """Return the values of the slots this tool reads, in declaration order."""
        return {name: slots.get(name) for name in self.reads}


def tool(
    *,
    reads: tuple[str, ...] = (),
    writes: tuple[str, ...] = (),
    side_effect: bool = False,
    needs_confirmation: bool = False,
    guard: GuardFn | None = None,
    error_slot: str | None = None,
    timeout_s: float | None = None,
    idempotent: bool = False,
    name: str | None = None,
) -> Callable[[ToolFn], Tool]:
    """Declare a function as a flow tool.

    Args:
        reads: Slots the tool reads; their values are its arguments (and part of its
            idempotency key).
        writes: Slots the tool may set; returning any other slot is an error.
        side_effect: True for tools that change something outside the session (write tools).
        needs_confirmation: The customer must have confirmed these arguments first (see
            `describe(..., confirms=...)`).
        guard: A pure predicate on the slots that must hold before the tool runs.
        error_slot: Slot that receives the failure message when the tool raises `ToolError`,
            so the flow can route on it; without one a failure hands the conversation off.
        timeout_s: Time limit for async tools.
        idempotent: The backend deduplicates on `ToolCallContext.idempotency_key`, so a write
            whose outcome was lost (the process died, or the store failed, after the call began
            and before its result was journaled) may simply be called again. Without it such a
            write is never repeated: the conversation is handed off to a person to check.
        name: Defaults to the function's name.
    """

    def wrap(fn: ToolFn) -> Tool:
        doc = (fn.__doc__ or "").strip().splitlines()
        return Tool(
            fn=fn,
            name=name or fn.__name__,
            reads=tuple(reads),
            writes=tuple(writes),
            side_effect=side_effect,
            needs_confirmation=needs_confirmation,
            guard=guard,
            error_slot=error_slot,
            timeout_s=timeout_s,
            idempotent=idempotent,
            description=doc[0] if doc else "",
        )

    return wrap


def jsonable(value: object) -> Any:
    """Return a JSON-friendly form of a slot value (models dumped, decimals and dates as text)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in cast(Iterable[object], value)]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in cast(Mapping[object, object], value).items()}
    return str(value)


def canonical_json(value: object) -> str:
    """Serialize a value the same way every time (sorted keys, no spaces, str fallback)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def idempotency_key(session_id: str, turn: int, tool_name: str, arguments: object) -> str:
    """Return the idempotency key of one tool call: a hash of session, turn, tool and arguments."""
    payload = canonical_json([session_id, turn, tool_name, arguments])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
