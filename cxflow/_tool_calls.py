"""Calling one tool: the checks before it runs, the call itself, and what it may write back."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ValidationError

from cxflow.errors import FlowRuntimeError, ToolError
from cxflow.machine import FlowSpec, guard_message, guard_name
from cxflow.records import Confirmation
from cxflow.tooling import Tool, ToolCallContext, canonical_json


def hash_arguments(arguments: Mapping[str, object]) -> str:
    """A stable digest of a tool's arguments (what a customer confirmation is bound to)."""
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()[:32]


def tool_refusal(
    tool: Tool,
    slots: BaseModel,
    arguments: Mapping[str, object],
    confirmations: Sequence[Confirmation],
) -> str | None:
    """Why a tool may not run now (its guard, or a missing confirmation), or None."""
    if tool.guard is not None and not tool.guard(slots):
        message = guard_message(tool.guard)
        return f"guard {guard_name(tool.guard)} refused {tool.name}" + (
            f": {message}" if message else ""
        )
    if tool.needs_confirmation:
        digest = hash_arguments(arguments)
        if not any(c.tool == tool.name and c.arguments_hash == digest for c in confirmations):
            return (
                f"{tool.name} needs the customer's confirmation of these arguments "
                "in an earlier turn; none was given"
            )
    return None


async def call_tool(
    tool: Tool, slots: BaseModel, env: object, ctx: ToolCallContext
) -> Mapping[str, object] | None:
    """Run a sync or async tool; an async one is held to its `timeout_s`."""
    result = tool.fn(slots, env, ctx)
    if inspect.isawaitable(result):
        try:
            result = await asyncio.wait_for(result, tool.timeout_s)
        except TimeoutError as exc:
            raise ToolError(tool.name, f"timed out after {tool.timeout_s} s") from exc
    return result


def checked_updates(spec: FlowSpec, tool: Tool, updates: Mapping[str, object]) -> dict[str, object]:
    """The tool's updates, typed; writing an undeclared slot or a wrong type is a bug."""
    unknown = [k for k in updates if k not in tool.writes]
    if unknown:
        raise FlowRuntimeError(
            f"tool {tool.name!r} wrote {unknown}, which it does not declare; add them to "
            f"writes= (declared: {list(tool.writes)})."
        )
    typed: dict[str, object] = {}
    for name, value in updates.items():
        try:
            typed[name] = spec.adapter(name).validate_python(value)
        except ValidationError as exc:
            raise FlowRuntimeError(
                f"tool {tool.name!r} wrote an invalid value to {name!r}: {exc.errors()[0]['msg']}"
            ) from exc
    return typed
