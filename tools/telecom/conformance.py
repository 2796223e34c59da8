"""Replay tau2-bench's telecom conformance vectors and probes against cxflow's telecom world.

The vectors (`tau2-vectors/telecom/train/*.json`) and probes (`tau2-vectors/telecom/probes.json`)
record what tau2-bench's own environment did: every tool output, every state change and both
DB hashes. `replay_vector` and `replay_probe` run the same calls through `TelecomEnvironment`
(CRM tools, phone tools and the sync between them) and describe every difference in words. They
never raise: a crash is reported as one more difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cxflow.simulators.telecom import (
    USER_TOOL_TYPES,
    PhoneState,
    TelecomEnvironment,
    load_phone_state,
    phone_state_hash,
    phone_state_json,
)
from cxflow.tools._tau2 import ToolResult, json_diff, to_tool_output
from cxflow.tools.telecom.db import db_hash, load_telecom_db, telecom_db_json
from cxflow.tools.telecom.models import TelecomDB
from cxflow.tools.telecom.tools import TOOL_TYPES

__all__ = ["RANDOM_BILL_ID", "TelecomData", "replay_probe", "replay_vector"]

RANDOM_BILL_ID = "<RANDOM_BILL_ID>"
"""Stands in the probes for a bill id tau2 drew at random; matches any `B` + 8 hex digits."""

_RANDOM_BILL_ID = re.compile(r"B[0-9a-f]{8}")
_CLIP = 240


@dataclass(frozen=True)
class TelecomData:
    """The pristine telecom data a replay starts from: tau2's CRM and the customer's phone.

    Replays work on deep copies, so one `TelecomData` serves any number of them.

    Attributes:
        crm: tau2's agent DB (`db.toml`).
        phone: tau2's user DB (`user_db.toml`, defaults filled in).
    """

    crm: TelecomDB
    phone: PhoneState

    @classmethod
    def load(cls, folder: Path | str) -> TelecomData:
        """Read `db.toml` and `user_db.toml` from tau2's `telecom/` data folder.

        Raises:
            DataFileError: A file is missing or does not match the schema.
        """
        folder = Path(folder)
        return cls(load_telecom_db(folder / "db.toml"), load_phone_state(folder / "user_db.toml"))

    def environment(self) -> TelecomEnvironment:
        """A fresh world on copies of the pristine data (synced once, like tau2's constructor)."""
        return TelecomEnvironment(self.crm.model_copy(deep=True), self.phone.model_copy(deep=True))


def replay_vector(vector: Mapping[str, Any], data: TelecomData) -> list[str]:
    """Replay one task vector: initialization, every gold action, the final state and checks.

    Args:
        vector: A parsed `tau2-conformance-vector/1` file of the telecom domain.
        data: The pristine data to start from (not modified).

    Returns:
        One description per difference from tau2 (empty when everything matches).
    """
    problems: list[str] = []
    try:
        _replay_vector(vector, data, problems)
    except Exception as exc:  # a replay reports, it never raises
        problems.append(f"replay crashed: {type(exc).__name__}: {exc}")
    return problems


def replay_probe(probe: Mapping[str, Any], data: TelecomData) -> list[str]:
    """Replay one single-tool probe: fresh world, its set-up, then the one call.

    Args:
        probe: One entry of `probes` in a `tau2-conformance-probes/1` file.
        data: The pristine data to start from (not modified).

    Returns:
        One description per difference from tau2 (empty when everything matches).
    """
    problems: list[str] = []
    try:
        _replay_probe(probe, data, problems)
    except Exception as exc:  # a replay reports, it never raises
        problems.append(f"replay crashed: {type(exc).__name__}: {exc}")
    return problems


# ---- replays ------------------------------------------------------------------------------------


def _replay_vector(vector: Mapping[str, Any], data: TelecomData, problems: list[str]) -> None:
    env = data.environment()
    initial, final = vector["initial"], vector["final"]
    crm_start = telecom_db_json(env.crm.db)
    if not _initialize(env, initial, problems):
        return
    crm_initial = telecom_db_json(env.crm.db)
    phone_initial = phone_state_json(env.phone.state)
    _compare_diff("initial agent DB", crm_start, crm_initial, initial["agent_db_diff"], problems)
    if initial.get("user_db") is not None:
        _compare_diff("initial user DB", initial["user_db"], phone_initial, [], problems)
    _compare_hashes("initial", env, initial["agent_db_hash"], initial["user_db_hash"], problems)

    for action in vector["actions"]:
        where = f"action {action['index']} ({action['requestor']} {action['name']})"
        result = env.call(action["requestor"], action["name"], action["arguments"])
        _compare_call(where, action, result, problems)
        _compare_hashes(
            where, env, action["agent_db_hash_after"], action["user_db_hash_after"], problems
        )

    _compare_diff(
        "final agent DB",
        crm_initial,
        telecom_db_json(env.crm.db),
        final["agent_db_diff"],
        problems,
    )
    if final.get("user_db_diff") is not None:
        _compare_diff(
            "final user DB",
            phone_initial,
            phone_state_json(env.phone.state),
            final["user_db_diff"],
            problems,
        )
    _compare_hashes("final", env, final["agent_db_hash"], final["user_db_hash"], problems)
    for i, assertion in enumerate(final["env_assertions"]):
        _check_assertion(f"env assertion {i}", env, assertion, problems)


def _replay_probe(probe: Mapping[str, Any], data: TelecomData, problems: list[str]) -> None:
    env = data.environment()
    if not _initialize(env, {"initialization_actions": probe["setup"]}, problems):
        return
    crm_before = telecom_db_json(env.crm.db)
    phone_before = phone_state_json(env.phone.state)
    result = env.call(probe["requestor"], probe["tool"], probe["arguments"])
    _compare_call("probe call", probe, result, problems)
    crm_after = telecom_db_json(env.crm.db)
    expected_agent = _bind_random_ids(probe["agent_db_diff"], json_diff(crm_before, crm_after))
    _compare_diff("agent DB", crm_before, crm_after, expected_agent, problems)
    if probe.get("user_db_diff") is not None:
        phone_after = phone_state_json(env.phone.state)
        _compare_diff("user DB", phone_before, phone_after, probe["user_db_diff"], problems)
    agent_hash = None if probe.get("nondeterministic") else probe["agent_db_hash_after"]
    _compare_hashes("after the call", env, agent_hash, probe["user_db_hash_after"], problems)


def _initialize(env: TelecomEnvironment, initial: Mapping[str, Any], problems: list[str]) -> bool:
    """Apply initialization data and actions (each synced, then one more sync); False on a crash."""
    init_data = initial.get("initialization_data")
    if init_data:
        _merge_initialization_data(env, init_data)
    for i, action in enumerate(initial["initialization_actions"]):
        where = f"initialization action {i} ({action['func_name']})"
        try:
            returned = env.set_up(action["env_type"], action["func_name"], action["arguments"])
        except Exception as exc:
            problems.append(f"{where} raised {type(exc).__name__}: {exc}")
            return False
        output = to_tool_output(returned)
        if "output" in action and output != action["output"]:
            problems.append(_differs(f"{where} output", action["output"], output))
    env.sync()
    return True


def _merge_initialization_data(env: TelecomEnvironment, init_data: Mapping[str, Any]) -> None:
    """tau2's `update_db`: deep-merge the given fields into each DB and validate the result."""
    if init_data.get("agent_data"):
        merged = _deep_merge(telecom_db_json(env.crm.db), init_data["agent_data"])
        env.crm.db = TelecomDB.model_validate(merged)
    if init_data.get("user_data"):
        merged = _deep_merge(phone_state_json(env.phone.state), init_data["user_data"])
        env.phone.state = PhoneState.model_validate(merged)


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(base[key], cast(Mapping[str, Any], value))
        else:
            base[key] = value
    return base


# ---- comparisons --------------------------------------------------------------------------------


def _compare_call(
    where: str,
    expected: Mapping[str, Any],
    result: ToolResult,
    problems: list[str],
) -> None:
    """Output text, error flag and tau2's tool classification of one call."""
    want = expected["output"]
    if RANDOM_BILL_ID in want:
        want = _bind_random_ids(want, result.output)
    if result.output != want:
        problems.append(_differs(f"{where} output", want, result.output))
    if result.error != expected["error"]:
        problems.append(f"{where}: error flag is {result.error}, tau2 says {expected['error']}")
    name = expected.get("name", expected.get("tool"))
    types = USER_TOOL_TYPES if expected["requestor"] == "user" else TOOL_TYPES
    tool_type = types.get(name)
    if "tool_type" in expected and tool_type != expected["tool_type"]:
        problems.append(f"{where}: tool type is {tool_type!r}, tau2 says {expected['tool_type']!r}")
    mutates = None if tool_type is None else tool_type == "write"
    if "mutates_state" in expected and mutates != expected["mutates_state"]:
        problems.append(
            f"{where}: mutates_state is {mutates}, tau2 says {expected['mutates_state']}"
        )


def _compare_diff(
    where: str, before: Any, after: Any, expected: Sequence[Any], problems: list[str]
) -> None:
    """The change `before` -> `after` must be exactly the expected diff ops."""
    actual = json_diff(before, after)
    if _canonical(actual) == _canonical(expected):
        return
    missing = [op for op in expected if op not in actual]
    extra = [op for op in actual if op not in expected]
    if not missing and not extra:
        problems.append(f"{where}: same changes as tau2 but in another order or number type")
        return
    problems.append(
        f"{where}: changes differ from tau2; "
        f"missing {_clip(json.dumps(missing, ensure_ascii=False))}, "
        f"unexpected {_clip(json.dumps(extra, ensure_ascii=False))}"
    )


def _compare_hashes(
    where: str,
    env: TelecomEnvironment,
    agent_hash: str | None,
    user_hash: str | None,
    problems: list[str],
) -> None:
    if agent_hash is not None and db_hash(env.crm.db) != agent_hash:
        problems.append(f"{where}: agent DB hash differs from tau2's")
    if user_hash is not None and phone_state_hash(env.phone.state) != user_hash:
        problems.append(f"{where}: user DB hash differs from tau2's")


def _check_assertion(
    where: str, env: TelecomEnvironment, assertion: Mapping[str, Any], problems: list[str]
) -> None:
    name = assertion["func_name"]
    try:
        value = env.check(assertion["env_type"], name, assertion["arguments"])
    except Exception as exc:
        problems.append(f"{where} ({name}) raised {type(exc).__name__}: {exc}")
        return
    met = value == assertion["assert_value"]
    if met != assertion["met"]:
        problems.append(
            f"{where} ({name} {assertion['arguments']}): met={met}, tau2 says {assertion['met']}"
        )


def _bind_random_ids(expected: Any, actual: Any) -> Any:
    """`expected` with each `<RANDOM_BILL_ID>` replaced by the id found at the same place in
    `actual` (also inside strings), when that is a `B` + 8 hex digit id; one id per replay."""
    found: set[str] = set()

    def bind(want: object, got: object) -> object:
        if isinstance(want, str) and RANDOM_BILL_ID in want:
            placeholder = re.escape(RANDOM_BILL_ID)
            pattern = re.escape(want).replace(placeholder, f"({_RANDOM_BILL_ID.pattern})")
            match = re.fullmatch(pattern, got) if isinstance(got, str) else None
            if match is None or len(found | set(match.groups())) > 1:
                return want
            found.update(match.groups())
            return got
        if isinstance(want, dict) and isinstance(got, dict):
            want_map, got_map = cast(dict[str, Any], want), cast(dict[str, Any], got)
            return {key: bind(value, got_map.get(key)) for key, value in want_map.items()}
        if isinstance(want, list) and isinstance(got, list):
            want_list, got_list = cast(list[Any], want), cast(list[Any], got)
            padded = got_list + [None] * (len(want_list) - len(got_list))
            return [bind(w, g) for w, g in zip(want_list, padded, strict=False)]
        return cast(object, want)

    return bind(expected, actual)


def _canonical(ops: Any) -> str:
    """Diff ops as sorted-key JSON, so `4.0` and `4` (and key order) are told apart or not
    exactly as tau2's JSON would be."""
    return json.dumps(ops, sort_keys=True, ensure_ascii=False)


def _differs(where: str, expected: str, actual: str) -> str:
    """Name the first differing character and show both texts from a little before it."""
    at = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    start = max(0, at - 40)
    lead = "..." if start else ""
    return (
        f"{where} differs from character {at}: tau2 {lead}{_clip(repr(expected[start:]))}, "
        f"cxflow {lead}{_clip(repr(actual[start:]))}"
    )


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."
