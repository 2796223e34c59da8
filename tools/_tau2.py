"""What every tau2-bench domain shares: tool output text, tool dispatch, DB hashes and diffs.

These reproduce tau2-bench's own behaviour (commit a2c0247, package tau2 1.0.1) so our tools can be
compared with the conformance vectors byte for byte:

- `to_tool_output`: `Environment.to_json_str`, the text the agent sees;
- `invoke`: `Environment.get_response` for one call: unknown tools, argument errors and tool
  exceptions become `"Error: " + str(exc)` with `error=True`;
- `db_hash`: `ToolKitBase.get_db_hash`;
- `json_diff`: the vectors' diff format (RFC 6902 ops with the previous value in `old`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

__all__ = ["ToolResult", "db_hash", "invoke", "json_diff", "to_tool_output"]

JSON = Any


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One tool call's outcome as tau2 reports it: the message text and whether it raised."""

    output: str
    error: bool


def to_tool_output(result: object) -> str:
    """Render a tool result as the text tau2 shows the agent (`Environment.to_json_str`).

    A `str` is returned unchanged. Anything else goes through `json.dumps(..., default=str)`
    after this processing: a pydantic model becomes its `model_dump()` (numbers stay numbers,
    dates become `YYYY-MM-DD`, datetimes `YYYY-MM-DD HH:MM:SS`); lists and tuples are processed
    item by item; dict values are processed recursively, with `int`/`float`/`bool` turned into
    strings and dates into ISO strings.

    Raises:
        ValueError: The result contains a type tau2 cannot render.
    """
    if isinstance(result, str):
        return result
    return json.dumps(_process(result), default=str)


def _process(value: object) -> object:
    """tau2's `_process`: the JSON-ready form of one value."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, int | float):  # bool is an int
        return str(value)
    if isinstance(value, list | tuple):
        items = cast(Sequence[object], value)
        processed = [_process(item) for item in items]
        return processed if isinstance(value, list) else tuple(processed)
    if isinstance(value, dict):
        mapping = cast(Mapping[object, object], value)
        return {k: _process(v) for k, v in mapping.items()}
    if isinstance(value, dt.date):  # datetime is a date
        return value.isoformat()
    raise ValueError(f"Unsupported type: {type(value)}")


def invoke(
    toolkit: object, tools: Sequence[str], name: str, arguments: Mapping[str, Any]
) -> ToolResult:
    """Call one tool the way tau2's environment does and render its result.

    Args:
        toolkit: The object whose methods are the tools (its class name appears in argument
            errors, e.g. "AirlineTools.list_all_airports() got an unexpected keyword ...").
        tools: The names callable through this dispatcher.
        name: The tool to call.
        arguments: Keyword arguments, exactly as the model gave them.
    """
    if name not in tools:
        return ToolResult(f"Error: Tool '{name}' not found.", True)
    method = cast(Callable[..., object], getattr(toolkit, name))
    try:
        return ToolResult(to_tool_output(method(**arguments)), False)
    except Exception as exc:  # tau2 turns every tool exception into an error message
        return ToolResult(f"Error: {exc}", True)


def db_hash(dump: JSON) -> str:
    """Hash a database dump like `ToolKitBase.get_db_hash`: sha256 of sorted-key JSON."""
    text = json.dumps(dump, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_diff(before: JSON, after: JSON, path: str = "") -> list[dict[str, JSON]]:
    """Diff two JSON documents in the vectors' format.

    Dicts are compared key by key; lists index by index, new tail items are `add`s in ascending
    order and dropped tail items `remove`s in descending order; `replace` and `remove` carry the
    previous value in `old`.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        b = cast(dict[str, JSON], before)
        a = cast(dict[str, JSON], after)
        ops: list[dict[str, JSON]] = []
        for key in b:
            child = f"{path}/{_escape(key)}"
            if key in a:
                ops += json_diff(b[key], a[key], child)
            else:
                ops.append({"op": "remove", "path": child, "old": b[key]})
        for key in a:
            if key not in b:
                ops.append({"op": "add", "path": f"{path}/{_escape(key)}", "value": a[key]})
        return ops
    if isinstance(before, list) and isinstance(after, list):
        bl = cast(list[JSON], before)
        al = cast(list[JSON], after)
        ops = []
        for i in range(min(len(bl), len(al))):
            ops += json_diff(bl[i], al[i], f"{path}/{i}")
        for i in range(len(bl), len(al)):
            ops.append({"op": "add", "path": f"{path}/{i}", "value": al[i]})
        for i in reversed(range(len(al), len(bl))):
            ops.append({"op": "remove", "path": f"{path}/{i}", "old": bl[i]})
        return ops
    if before == after and type(before) is type(after):
        return []
    return [{"op": "replace", "path": path, "value": after, "old": before}]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
