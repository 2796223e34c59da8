"""Replay tau2-bench's airline conformance vectors and probes against `AirlineTools`.

A vector (`tau2-vectors/airline/train/<task>.json`) is one task's gold actions as tau2 ran them;
a probe (`tau2-vectors/airline/probes.json`) is one tool call on a fresh DB, often an error case.
Both replays start from a copy of the pristine DB, apply the setup, make the calls and describe
every difference from what tau2 recorded: each output text and error flag, the tool type, the DB
hash after each call, and the final DB diff in the vectors' format. An empty list means an exact
match. Replays never raise: a crash is reported as a mismatch.

The copy is a workbench kept per pristine DB and reset between replays by restoring only the
records that changed (see `_workbench`), so a full run of the 80 airline replays takes seconds
rather than the minute that copying and re-fingerprinting 7 MB each time would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from cxflow.tools._loading import gc_paused
from cxflow.tools._tau2 import ToolResult, json_diff, to_tool_output
from cxflow.tools.airline._workbench import Workbench, workbench_for
from cxflow.tools.airline.db import TABLES, RecordTexts
from cxflow.tools.airline.models import AirlineDB
from cxflow.tools.airline.tools import TOOL_TYPES, AirlineTools

__all__ = ["changes", "replay_probe", "replay_vector"]

_USER_TOOLS_ERROR = ToolResult("Error: User tools not available", True)
_SHOWN_CHARS = 60


def replay_vector(vector: Mapping[str, Any], db: AirlineDB) -> list[str]:
    """Replay one task vector and describe every way the result differs from tau2's.

    Args:
        vector: A parsed `tau2-conformance-vector/1` file of the airline domain.
        db: The pristine DB (never modified; the replay works on a private copy).

    Returns:
        Human-readable mismatches, e.g. `action 2 (cancel_reservation): output differs at
        char 311: ...`; empty when every output, hash and the final diff match.
    """
    problems: list[str] = []
    try:
        with gc_paused(), _working_copy(db) as bench:
            _replay_vector(vector, bench, problems)
    except Exception as exc:  # a crash is one more mismatch to report, never a test error
        problems.append(f"replay crashed: {type(exc).__name__}: {exc}")
    return problems


def replay_probe(probe: Mapping[str, Any], db: AirlineDB) -> list[str]:
    """Replay one single-call probe and describe every way the result differs from tau2's.

    Args:
        probe: One entry of `probes` in an airline `tau2-conformance-probes/1` file.
        db: The pristine DB (never modified; the replay works on a private copy).

    Returns:
        Human-readable mismatches; empty when output, error flag, diff and hash match.
    """
    problems: list[str] = []
    try:
        with gc_paused(), _working_copy(db) as bench:
            _replay_probe(probe, bench, problems)
    except Exception as exc:  # a crash is one more mismatch to report, never a test error
        problems.append(f"replay crashed: {type(exc).__name__}: {exc}")
    return problems


def changes(before: RecordTexts, after: RecordTexts) -> list[dict[str, Any]]:
    """The vectors' diff (`json_diff` of the two JSON dumps) between two DB fingerprints.

    Only changed, added and removed records are parsed and diffed; the others cannot
    contribute operations, and dropping them keeps every remaining operation in the order
    `json_diff(db_json(before_db), db_json(after_db))` gives.

    Args:
        before: `record_texts` of the earlier state.
        after: `record_texts` of the later state.

    Returns:
        RFC 6902 operations with the previous value in `old`.
    """
    if before == after:
        return []
    old: dict[str, dict[str, Any]] = {}
    new: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        b, a = before[table], after[table]
        old[table] = {k: json.loads(text) for k, text in b.items() if a.get(k) != text}
        new[table] = {k: json.loads(text) for k, text in a.items() if b.get(k) != text}
    return json_diff(old, new)


# ---- replays ----------------------------------------------------------------------------------


@contextmanager
def _working_copy(pristine: AirlineDB) -> Iterator[Workbench]:
    """A pristine working copy for one replay: the shared workbench, or a new one if busy."""
    with workbench_for(pristine).borrowed() as bench:
        yield bench if bench is not None else Workbench(pristine)


def _replay_vector(vector: Mapping[str, Any], bench: Workbench, problems: list[str]) -> None:
    initial = vector["initial"]
    data = initial.get("initialization_data")
    if data is not None:
        _apply_initialization_data(bench.db, data, problems)
    tools = AirlineTools(bench.db)
    for i, step in enumerate(initial.get("initialization_actions") or []):
        result = _setup_call(tools, step, f"initialization action {i}", problems)
        if result is not None and "output" in step:
            _compare_text(
                f"initialization action {i} output", step["output"], result.output, problems
            )
    state = bench.state()
    _compare_diff(
        "initial agent_db_diff",
        initial.get("agent_db_diff", []),
        changes(bench.pristine.texts, state.texts),
        problems,
    )
    _compare_value("initial agent_db_hash", initial.get("agent_db_hash"), state.hash, problems)
    _expect_no_user_side(initial, ("user_db", "user_db_hash"), "initial", problems)

    after_setup = state
    for action in vector.get("actions", []):
        label = f"action {action['index']} ({action['name']})"
        result = _call(tools, action["requestor"], action["name"], action["arguments"])
        _compare_result(label, action, result, problems)
        state = bench.state()
        _compare_value(
            f"{label}: agent_db_hash_after", action["agent_db_hash_after"], state.hash, problems
        )
        _expect_no_user_side(action, ("user_db_hash_after",), label, problems)

    final = vector["final"]
    _compare_diff(
        "final agent_db_diff",
        final["agent_db_diff"],
        changes(after_setup.texts, state.texts),
        problems,
    )
    _compare_value("final agent_db_hash", final["agent_db_hash"], state.hash, problems)
    _expect_no_user_side(final, ("user_db_diff", "user_db_hash"), "final", problems)
    if final.get("env_assertions"):
        problems.append(
            f"final: {len(final['env_assertions'])} env_assertions, but the airline domain has "
            "no assertion functions"
        )


def _replay_probe(probe: Mapping[str, Any], bench: Workbench, problems: list[str]) -> None:
    tools = AirlineTools(bench.db)
    setup = probe.get("setup") or []
    for i, step in enumerate(setup):
        _setup_call(tools, step, f"setup step {i}", problems)
    before = bench.state() if setup else bench.pristine
    result = _call(tools, probe["requestor"], probe["tool"], probe["arguments"])
    if probe.get("nondeterministic"):
        problems.append("probe is marked nondeterministic, which no airline tool is")
    _compare_result("probe", probe, result, problems)
    after = bench.state()
    _compare_diff(
        "agent_db_diff", probe["agent_db_diff"], changes(before.texts, after.texts), problems
    )
    expected_hash = probe.get("agent_db_hash_after")
    if expected_hash is not None:
        _compare_value("agent_db_hash_after", expected_hash, after.hash, problems)
    _expect_no_user_side(probe, ("user_db_diff", "user_db_hash_after"), "probe", problems)


# ---- calls -----------------------------------------------------------------------------------


def _call(
    tools: AirlineTools, requestor: str, name: str, arguments: Mapping[str, Any]
) -> ToolResult:
    """tau2's `get_response`: assistant calls go to the tools; airline has no user tools."""
    if requestor == "assistant":
        return tools.call(name, arguments)
    return _USER_TOOLS_ERROR


def _setup_call(
    tools: AirlineTools, step: Mapping[str, Any], label: str, problems: list[str]
) -> ToolResult | None:
    """Run one initialization/setup function on the agent toolkit, as tau2's environment does."""
    name = step["func_name"]
    if step.get("env_type") != "assistant":
        problems.append(
            f"{label}: {step.get('env_type')!r} function {name!r}, but airline has no user side"
        )
        return None
    if name not in TOOL_TYPES:
        problems.append(f"{label}: {name!r} is not an airline function")
        return None
    try:
        output = to_tool_output(getattr(tools, name)(**step["arguments"]))
    except Exception as exc:  # tau2 would abort building the environment
        problems.append(f"{label}: {name} raised {type(exc).__name__}: {exc}")
        return None
    return ToolResult(output, False)


def _apply_initialization_data(db: AirlineDB, data: Mapping[str, Any], problems: list[str]) -> None:
    """Deep-merge `agent_data` into the DB, as tau2's `update_db` does (no base task has any)."""
    if data.get("user_data") is not None:
        problems.append("initialization_data.user_data given, but airline has no user DB")
    agent_data = data.get("agent_data")
    if agent_data is not None:
        merged = AirlineDB.model_validate(_deep_merge(db.model_dump(), agent_data))
        for table in TABLES:
            setattr(db, table, getattr(merged, table))


def _deep_merge(base: Any, update: Any) -> Any:
    if isinstance(base, dict) and isinstance(update, dict):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = _deep_merge(merged[key], value) if key in merged else value
        return merged
    return update


# ---- comparisons -----------------------------------------------------------------------------


def _compare_result(
    label: str, expected: Mapping[str, Any], result: ToolResult, problems: list[str]
) -> None:
    _compare_text(f"{label}: output", expected["output"], result.output, problems)
    _compare_value(f"{label}: error flag", expected["error"], result.error, problems)
    # tau2 classifies a tool of the requestor's toolkit; airline has no user toolkit.
    name = expected.get("name") or expected.get("tool")
    tool_type = TOOL_TYPES.get(name) if expected.get("requestor") == "assistant" else None
    mutates = None if tool_type is None else tool_type == "write"
    if "tool_type" in expected:
        _compare_value(f"{label}: tool_type", expected["tool_type"], tool_type, problems)
    if "mutates_state" in expected:
        _compare_value(f"{label}: mutates_state", expected["mutates_state"], mutates, problems)


def _compare_value(label: str, expected: object, actual: object, problems: list[str]) -> None:
    if expected != actual or type(expected) is not type(actual):
        problems.append(f"{label}: expected {expected!r}, got {actual!r}")


def _compare_text(label: str, expected: str, actual: str, problems: list[str]) -> None:
    if expected == actual:
        return
    at = next(
        (i for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if e != a),
        min(len(expected), len(actual)),
    )
    start = max(0, at - 20)
    problems.append(
        f"{label} differs at char {at} (lengths {len(expected)} vs {len(actual)}): "
        f"expected ...{expected[start : at + _SHOWN_CHARS]!r}, "
        f"got ...{actual[start : at + _SHOWN_CHARS]!r}"
    )


def _compare_diff(
    label: str,
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
    problems: list[str],
) -> None:
    """Compare diff ops in order; canonical JSON so `0` and `0.0` count as different."""
    want = [json.dumps(op, sort_keys=True) for op in expected]
    got = [json.dumps(op, sort_keys=True) for op in actual]
    if want == got:
        return
    first = next(
        (i for i, (w, g) in enumerate(zip(want, got, strict=False)) if w != g),
        min(len(want), len(got)),
    )
    expected_op = want[first][:200] if first < len(want) else "(none)"
    actual_op = got[first][:200] if first < len(got) else "(none)"
    problems.append(
        f"{label}: {len(want)} ops expected, {len(got)} produced; first difference at op "
        f"{first}: expected {expected_op}, got {actual_op}"
    )


def _expect_no_user_side(
    record: Mapping[str, Any], keys: Sequence[str], label: str, problems: list[str]
) -> None:
    for key in keys:
        if record.get(key) is not None:
            problems.append(f"{label}: {key} is set, but airline has no user DB")
