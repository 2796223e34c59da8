"""Telecom conformance with tau2-bench: every probe and every train vector replays exactly.

Each replay runs the recorded calls through cxflow's CRM tools, phone tools and sync, and
compares outputs, error flags, DB diffs, both DB hashes and the env assertions with what
tau2-bench's own environment recorded (see tau2-vectors/README.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow.simulators.telecom import USER_TOOL_NAMES
from cxflow.tools.telecom import TOOL_NAMES
from cxflow.tools.telecom.conformance import TelecomData, replay_probe, replay_vector

# Folder holding tau2's `telecom/` data; the vectors live next to it in `tau2-vectors/`.
TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
PROBES_FILE = TAU2_VECTORS / "telecom" / "probes.json"
TRAIN = TAU2_VECTORS / "telecom" / "train"

EXPECTED_PROBES = 110
EXPECTED_VECTORS = 74


def _probe_file() -> dict[str, Any]:
    if not PROBES_FILE.exists():
        return {"agent_tools": [], "user_tools": [], "probes": []}
    return json.loads(PROBES_FILE.read_text(encoding="utf-8"))


def _vector_files() -> list[str]:
    index = TRAIN / "index.json"
    if not index.exists():
        return []
    return [entry["file"] for entry in json.loads(index.read_text(encoding="utf-8"))]


PROBE_FILE = _probe_file()
PROBES: list[dict[str, Any]] = PROBE_FILE["probes"]
VECTOR_FILES = _vector_files()


@pytest.fixture(scope="module")
def data() -> TelecomData:
    return TelecomData.load(TAU2_DATA / "telecom")


def test_every_probe_and_train_vector_is_replayed() -> None:
    hint = "set CXFLOW_TAU2_DATA to the folder that holds tau2's telecom/ data"
    assert len(PROBES) == EXPECTED_PROBES, f"{len(PROBES)} probes in {PROBES_FILE}; {hint}"
    assert len(VECTOR_FILES) == EXPECTED_VECTORS, f"{len(VECTOR_FILES)} vectors in {TRAIN}; {hint}"
    assert len({p["id"] for p in PROBES}) == EXPECTED_PROBES


def test_toolkits_expose_exactly_tau2s_tools() -> None:
    assert sorted(TOOL_NAMES) == sorted(PROBE_FILE["agent_tools"])
    assert sorted(USER_TOOL_NAMES) == sorted(PROBE_FILE["user_tools"])


@pytest.mark.parametrize("probe", PROBES, ids=[p["id"] for p in PROBES])
def test_probe_matches_tau2(probe: dict[str, Any], data: TelecomData) -> None:
    assert replay_probe(probe, data) == []


@pytest.mark.parametrize("file", VECTOR_FILES, ids=[f.removesuffix(".json") for f in VECTOR_FILES])
def test_train_vector_matches_tau2(file: str, data: TelecomData) -> None:
    vector = json.loads((TRAIN / file).read_text(encoding="utf-8"))
    assert replay_vector(vector, data) == []


def test_a_deviation_is_reported_not_raised(data: TelecomData) -> None:
    probe = next(p for p in PROBES if p["id"] == "check_status_bar.default")
    wrong = {**probe, "output": "Status Bar: 📵 No Signal | 🔋 80%", "error": True}
    problems = replay_probe(wrong, data)
    assert len(problems) == 2
    assert problems[0].startswith("probe call output differs from character 12")
    assert "error flag is False, tau2 says True" in problems[1]


def test_a_broken_vector_is_reported_not_raised(data: TelecomData) -> None:
    vector = json.loads((TRAIN / VECTOR_FILES[0]).read_text(encoding="utf-8"))
    vector["initial"]["initialization_actions"][0]["func_name"] = "no_such_setup"
    assert replay_vector(vector, data) == [
        "initialization action 0 (no_such_setup) raised ValueError: "
        "Function no_such_setup not found in user tools"
    ]
    assert replay_vector({"initial": {}}, data) == ["replay crashed: KeyError: 'final'"]


def test_replays_leave_the_pristine_data_alone(data: TelecomData) -> None:
    before = (data.crm.model_dump(mode="json"), data.phone.model_dump(mode="json"))
    for probe in PROBES[:20]:
        replay_probe(probe, data)
    assert (data.crm.model_dump(mode="json"), data.phone.model_dump(mode="json")) == before


def test_every_kind_of_difference_is_described(data: TelecomData) -> None:
    file = next(f for f in VECTOR_FILES if f.startswith("service_issue") and "overdue" in f)
    vector = json.loads((TRAIN / file).read_text(encoding="utf-8"))
    vector["initial"]["user_db"]["device"]["battery_level"] = 81
    vector["actions"][0]["agent_db_hash_after"] = "0" * 64
    vector["actions"][0]["tool_type"] = "read"
    vector["final"]["agent_db_diff"] = [{"op": "remove", "path": "/bills/0", "old": {}}]
    vector["final"]["env_assertions"][0]["met"] = False
    vector["final"]["env_assertions"].append(
        {**vector["final"]["env_assertions"][0], "func_name": "assert_nothing"}
    )
    problems = replay_vector(vector, data)
    assert [p.split(":")[0] for p in problems] == [
        "initial user DB",
        f"action 0 ({vector['actions'][0]['requestor']} {vector['actions'][0]['name']})",
        f"action 0 ({vector['actions'][0]['requestor']} {vector['actions'][0]['name']})",
        "final agent DB",
        "env assertion 0 (assert_service_status {'expected_status'",
        "env assertion 1 (assert_nothing) raised ValueError",
    ]
    assert '"path": "/device/battery_level", "value": 80, "old": 81' in problems[0]
    assert problems[1].endswith("tool type is 'generic', tau2 says 'read'")
    assert problems[2].endswith("agent DB hash differs from tau2's")


def test_initialization_data_is_merged_into_the_dbs(data: TelecomData) -> None:
    vector = json.loads((TRAIN / VECTOR_FILES[0]).read_text(encoding="utf-8"))
    vector["initial"]["initialization_data"] = {
        "agent_data": {"plans": data.crm.model_dump(mode="json")["plans"]},  # unchanged values
        "user_data": {"device": {"battery_level": 80}},
    }
    assert replay_vector(vector, data) == []
    vector["initial"]["initialization_data"]["user_data"]["device"]["battery_level"] = 50
    assert "initial: user DB hash differs from tau2's" in replay_vector(vector, data)
