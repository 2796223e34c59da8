"""Replay tau2-bench's retail conformance vectors and probes against `RetailTools`.

A vector (`tau2-vectors/retail/train/<task>.json`) is one task's gold actions replayed through
tau2's own environment; a probe (`retail/probes.json`) is one tool call after optional setup.
`replay_vector` and `replay_probe` rebuild the same situation from a pristine DB, run the same
calls, and describe every difference: each call's output text and error flag, tau2's tool type,
the DB hash after each call, and the DB diff and hash at the end. An empty list is an exact
match. They never raise on a mismatch.

Replays run on `RetailDB.fork()`s of the pristine DB, so a record the tools did not copy before
writing is still the pristine object: hashes and diffs re-serialize only the copied records
(per-record texts of the pristine DB are cached). A final check confirms that no pristine
record was changed in place.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import is_, is_not
from typing import Any

from pydantic import BaseModel, TypeAdapter

from cxflow.tools._tau2 import ToolResult, json_diff, to_tool_output
from cxflow.tools.retail.db import TABLES
from cxflow.tools.retail.models import Order, Product, RetailDB, User
from cxflow.tools.retail.tools import TOOL_NAMES, TOOL_TYPES, RetailTools

__all__ = ["replay_probe", "replay_vector"]

_SORTED_TABLES = tuple(sorted(TABLES))
_CONTEXT = 40  # characters shown either side of the first difference in a text
_MAX_BASELINES = 4
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "products": TypeAdapter(list[Product]),
    "users": TypeAdapter(list[User]),
    "orders": TypeAdapter(list[Order]),
}


def replay_vector(vector: Mapping[str, Any], db: RetailDB) -> list[str]:
    """Replay one task vector on a fork of `db` and list every difference from tau2.

    Args:
        vector: A parsed `tau2-conformance-vector/1` file of the retail domain.
        db: The pristine database (tau2's retail `db.json`); it is not changed.

    Returns:
        Human-readable mismatch descriptions; empty when everything matches exactly.
    """
    replay = _Replay(db)
    initial = vector["initial"]
    for i, action in enumerate(initial.get("initialization_actions") or []):
        replay.setup(f"initialization action {i}", action, expected_output=action.get("output"))
    replay.start_actions()
    replay.compare_diff("initial agent_db_diff", replay.setup_diff(), initial["agent_db_diff"])
    replay.compare_text("initial agent_db_hash", initial["agent_db_hash"], replay.hash(replay.base))
    for action in vector["actions"]:
        replay.act(f"action {action['index']} ({action['name']})", action)
    final = vector["final"]
    replay.compare_diff("final agent_db_diff", replay.action_diff(), final["agent_db_diff"])
    replay.compare_text("final agent_db_hash", final["agent_db_hash"], replay.hash(replay.db))
    return replay.finish()


def replay_probe(probe: Mapping[str, Any], db: RetailDB) -> list[str]:
    """Replay one probe (setup calls, then one tool call) on a fork of `db`.

    Args:
        probe: One entry of `probes` in a `tau2-conformance-probes/1` file of the retail domain.
        db: The pristine database (tau2's retail `db.json`); it is not changed.

    Returns:
        Human-readable mismatch descriptions; empty when everything matches exactly.
    """
    replay = _Replay(db)
    for i, step in enumerate(probe.get("setup") or []):
        replay.setup(f"setup {i}", step, expected_output=None)
    replay.start_actions()
    replay.act(f"probe {probe['id']}", {**probe, "name": probe["tool"]})
    replay.compare_diff("agent_db_diff", replay.action_diff(), probe["agent_db_diff"])
    return replay.finish()


class _Baseline:
    """Per-table caches of one pristine DB, valid while its record objects stay unchanged.

    For each table: the keys and record objects in dict order, each record's piece of tau2's
    hash text in sorted-key order, and the compact JSON of the whole table (to detect a record
    changed in place).
    """

    def __init__(self, db: RetailDB) -> None:
        self.db = weakref.ref(db)
        self.keys: dict[str, list[str]] = {}
        self.records: dict[str, list[BaseModel]] = {}
        self.pieces: dict[str, list[str]] = {}  # in sorted key order
        self.position: dict[str, dict[str, int]] = {}  # key -> index in pieces
        self.fingerprint: dict[str, bytes] = {}
        for table in TABLES:
            records = _table(db, table)
            self.keys[table] = list(records)
            self.records[table] = list(records.values())
            ordered = sorted(records)
            self.pieces[table] = [_piece(key, records[key]) for key in ordered]
            self.position[table] = {key: i for i, key in enumerate(ordered)}
            self.fingerprint[table] = _ADAPTERS[table].dump_json(self.records[table])
        self.tables = [self.pieces[table] for table in _SORTED_TABLES]
        self.digest = _digest(self.tables)

    def copies_in(self, db: RetailDB) -> dict[str, dict[str, BaseModel]]:
        """Per table, the records of `db` that are not the pristine objects (copied or new)."""
        copies: dict[str, dict[str, BaseModel]] = {}
        for table in TABLES:
            current = _table(db, table)
            if list(current) == self.keys[table]:
                values = list(current.values())
                changed = compress(range(len(values)), map(is_not, values, self.records[table]))
                copies[table] = {self.keys[table][i]: values[i] for i in changed}
            else:  # tools never add or remove records; handled for completeness
                pristine = dict(zip(self.keys[table], self.records[table], strict=True))
                copies[table] = {k: r for k, r in current.items() if pristine.get(k) is not r}
        return copies

    def pieces_of(self, db: RetailDB) -> list[list[str]]:
        """The hash pieces of `db`, table by table, re-serializing only non-pristine records."""
        copies = self.copies_in(db)
        tables: list[list[str]] = []
        for table in _SORTED_TABLES:
            current, changed, cached = _table(db, table), copies[table], self.pieces[table]
            if not changed:
                tables.append(cached)
            elif list(current) == self.keys[table]:
                pieces = list(cached)
                for key, record in changed.items():
                    pieces[self.position[table][key]] = _piece(key, record)
                tables.append(pieces)
            else:
                tables.append(
                    [
                        _piece(key, changed[key])
                        if key in changed
                        else cached[self.position[table][key]]
                        for key in sorted(current)
                    ]
                )
        return tables

    def changed_in_place(self) -> list[str]:
        """The pristine records whose content no longer matches the snapshot."""
        changed: list[str] = []
        for table in TABLES:
            records = self.records[table]
            if _ADAPTERS[table].dump_json(records) != self.fingerprint[table]:
                snapshot = _ADAPTERS[table].validate_json(self.fingerprint[table])
                changed += [
                    f"{table}[{key!r}]"
                    for key, now, then in zip(self.keys[table], records, snapshot, strict=True)
                    if now.model_dump_json() != then.model_dump_json()
                ]
        return changed


_baselines: dict[int, _Baseline] = {}


def _baseline(db: RetailDB) -> _Baseline:
    """The cached baseline of `db`, built on first use."""
    cached = _baselines.get(id(db))
    if cached is not None and cached.db() is db:
        return cached
    if len(_baselines) >= _MAX_BASELINES:
        _baselines.clear()
    baseline = _baselines[id(db)] = _Baseline(db)
    return baseline


@dataclass
class _Replay:
    """One replay: the setup state (`base`), the state the actions change (`db`), problems."""

    pristine: RetailDB
    baseline: _Baseline = field(init=False)
    base: RetailDB = field(init=False)
    db: RetailDB = field(init=False)
    problems: list[str] = field(default_factory=list[str])
    # records copied during setup, shared by `base` and `db`, with their fingerprints
    setup_copies: list[tuple[str, BaseModel, str]] = field(default_factory=list[Any])
    last_hash: tuple[list[list[str]], str] | None = None

    def __post_init__(self) -> None:
        self.baseline = _baseline(self.pristine)
        self.base = self.db = self.pristine.fork()

    def setup(self, label: str, step: Mapping[str, Any], expected_output: str | None) -> None:
        """Run one setup function on the agent toolkit, as tau2 builds an environment."""
        name: str = step["func_name"]
        arguments: Mapping[str, Any] = step.get("arguments") or {}
        if step.get("env_type", "assistant") != "assistant":
            self.problems.append(f"{label}: retail has no {step['env_type']!r} toolkit")
            return
        if name not in TOOL_NAMES:
            self.problems.append(f"{label}: unknown setup function {name!r}")
            return
        try:
            output = to_tool_output(getattr(RetailTools(self.db), name)(**arguments))
        except Exception as exc:  # tau2 would have failed to build the environment
            self.problems.append(f"{label} {name}: raised {type(exc).__name__}: {exc}")
            return
        if expected_output is not None:
            self.compare_text(f"{label} {name} output", expected_output, output)

    def start_actions(self) -> None:
        """Freeze the setup state as `base`; the actions run on a fork of it."""
        self.base = self.db
        self.db = self.base.fork()
        self.setup_copies = [
            (f"{table}[{key!r}]", record, record.model_dump_json())
            for table, records in self.baseline.copies_in(self.base).items()
            for key, record in records.items()
        ]

    def act(self, label: str, action: Mapping[str, Any]) -> None:
        """Run one call as its requestor and compare output, flag, tool type and hash."""
        name: str = action["name"]
        if action.get("requestor", "assistant") == "assistant":
            result = RetailTools(self.db).call(name, action.get("arguments") or {})
        else:  # tau2's retail environment has no user toolkit
            result = ToolResult("Error: User tools not available", True)
        self.compare_text(f"{label} output", action["output"], result.output)
        if result.error != action["error"]:
            self.problems.append(f"{label}: error flag {result.error}, tau2 {action['error']}")
        tool_type = TOOL_TYPES.get(name)
        mutates = None if tool_type is None else tool_type == "write"
        if "tool_type" in action and (tool_type, mutates) != (
            action["tool_type"],
            action.get("mutates_state"),
        ):
            self.problems.append(
                f"{label}: tool type {tool_type!r} (mutates_state {mutates}), "
                f"tau2 {action['tool_type']!r} ({action.get('mutates_state')})"
            )
        if action.get("agent_db_hash_after") is not None:
            self.compare_text(
                f"{label} agent_db_hash_after", action["agent_db_hash_after"], self.hash(self.db)
            )

    def setup_diff(self) -> list[dict[str, Any]]:
        """The DB change made by setup (pristine -> base), in the vectors' diff format."""
        return _diff(self.pristine, self.base)

    def action_diff(self) -> list[dict[str, Any]]:
        """The DB change made by the actions (base -> db), in the vectors' diff format."""
        return _diff(self.base, self.db)

    def hash(self, db: RetailDB) -> str:
        """tau2's DB hash of `db`, re-serializing only records that are not pristine objects."""
        tables = self.baseline.pieces_of(db)
        if all(map(is_, tables, self.baseline.tables)):  # no record copied yet
            return self.baseline.digest
        if self.last_hash is None or self.last_hash[0] != tables:
            self.last_hash = (tables, _digest(tables))
        return self.last_hash[1]

    def compare_text(self, label: str, expected: str, actual: str) -> None:
        """Record a mismatch of two texts, showing where they first differ."""
        if expected != actual:
            self.problems.append(f"{label}: {_text_difference(expected, actual)}")

    def compare_diff(
        self, label: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]]
    ) -> None:
        """Record a mismatch of two diffs (ints and floats told apart, op key order ignored)."""
        mine = [json.dumps(op, sort_keys=True) for op in actual]
        theirs = [json.dumps(op, sort_keys=True) for op in expected]
        if mine == theirs:
            return
        first = next(
            (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
            min(len(mine), len(theirs)),
        )
        got = mine[first] if first < len(mine) else "nothing"
        want = theirs[first] if first < len(theirs) else "nothing"
        self.problems.append(
            f"{label}: {len(mine)} ops, tau2 {len(theirs)}; first difference at op {first}: "
            f"got {got[:300]}, tau2 {want[:300]}"
        )

    def finish(self) -> list[str]:
        """Check that no shared record was changed in place, and return the problems."""
        changed = self.baseline.changed_in_place()
        if changed:
            _baselines.pop(id(self.pristine), None)
        changed += [
            label for label, record, text in self.setup_copies if record.model_dump_json() != text
        ]
        if changed:
            self.problems.append(
                f"shared records changed in place (a write bypassed RetailDB.writable_*): "
                f"{', '.join(changed[:5])}"
            )
        return self.problems


def _table(db: RetailDB, table: str) -> Mapping[str, BaseModel]:
    return getattr(db, table)


def _piece(key: str, record: BaseModel) -> str:
    """One record's piece of tau2's hash text: `"<key>": <sorted-key JSON of model_dump()>`."""
    return f"{json.dumps(key)}: {json.dumps(record.model_dump(), sort_keys=True, default=str)}"


def _digest(tables: Sequence[Sequence[str]]) -> str:
    """sha256 of `{"orders": {...}, "products": {...}, "users": {...}}` from per-record pieces.

    `json.dumps(dump, sort_keys=True)` writes each table as `{`, its records' pieces in key
    order joined by `", "`, and `}`; assembling the pieces the same way gives the very same text.
    """
    parts = (
        f'"{name}": {{{", ".join(pieces)}}}'
        for name, pieces in zip(_SORTED_TABLES, tables, strict=True)
    )
    return hashlib.sha256(("{" + ", ".join(parts) + "}").encode("utf-8")).hexdigest()


def _diff(before: RetailDB, after: RetailDB) -> list[dict[str, Any]]:
    """`json_diff(db_json(before), db_json(after))`, computed only for records not shared.

    A record that is the same object in both DBs is unchanged (forks copy before writing), so
    only the other records are dumped and diffed, in the same order as the whole-DB diff.
    """
    ops: list[dict[str, Any]] = []
    for table in TABLES:
        old, new = _table(before, table), _table(after, table)
        if old.keys() != new.keys():
            ops += json_diff(_dump_table(old), _dump_table(new), f"/{table}")
            continue
        for key, record in old.items():
            if new[key] is not record:
                ops += json_diff(
                    {key: record.model_dump(mode="json")},
                    {key: new[key].model_dump(mode="json")},
                    f"/{table}",
                )
    return ops


def _dump_table(table: Mapping[str, BaseModel]) -> dict[str, Any]:
    return {key: record.model_dump(mode="json") for key, record in table.items()}


def _text_difference(expected: str, actual: str) -> str:
    """Where two texts first differ, with a little context from each."""
    at = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    lo = max(0, at - _CONTEXT)
    return (
        f"differs at character {at} (lengths {len(actual)} vs tau2 {len(expected)}): "
        f"got {actual[lo : at + _CONTEXT]!r}, tau2 {expected[lo : at + _CONTEXT]!r}"
    )
