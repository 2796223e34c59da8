"""Retail conformance with tau2-bench: every probe and every train vector replays exactly.

Each replay runs the recorded calls through cxflow's `RetailTools` on a fork of tau2's retail
DB and compares outputs, error flags, tool types, the DB hash after every call and the final DB
diff and hash with what tau2-bench's own environment recorded (see tau2-vectors/README.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow.tools.retail import (
    TOOL_NAMES,
    RetailDB,
    RetailTools,
    db_hash,
    load_retail_db,
    replay_probe,
    replay_vector,
    retail_data_path,
)

# Folder holding tau2's `retail/` data; the vectors live next to it in `tau2-vectors/`.
TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
PROBES_FILE = TAU2_VECTORS / "retail" / "probes.json"
TRAIN = TAU2_VECTORS / "retail" / "train"
PRISTINE_HASH = "b25c9cb211f5efcaee5dd646054a73c4a9f43f4f5acc32c10713cd9f9ac20e9c"

EXPECTED_PROBES = 50
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


def _probe(probe_id: str) -> dict[str, Any]:
    return next(p for p in PROBES if p["id"] == probe_id)


@pytest.fixture(scope="module")
def db() -> RetailDB:
    """tau2's retail DB, loaded once; every replay works on a fork and leaves it pristine."""
    return load_retail_db(retail_data_path(TAU2_DATA))


def test_every_probe_and_train_vector_is_replayed() -> None:
    hint = "set CXFLOW_TAU2_DATA / CXFLOW_TAU2_VECTORS to the folders holding tau2's retail data"
    assert len(PROBES) == EXPECTED_PROBES, f"{len(PROBES)} probes in {PROBES_FILE}; {hint}"
    assert len(VECTOR_FILES) == EXPECTED_VECTORS, f"{len(VECTOR_FILES)} vectors in {TRAIN}; {hint}"
    assert len({p["id"] for p in PROBES}) == EXPECTED_PROBES


def test_toolkit_exposes_exactly_tau2s_tools() -> None:
    assert sorted(TOOL_NAMES) == sorted(PROBE_FILE["agent_tools"])
    assert PROBE_FILE["user_tools"] == []


@pytest.mark.parametrize("probe", PROBES, ids=[p["id"] for p in PROBES])
def test_probe_matches_tau2(probe: dict[str, Any], db: RetailDB) -> None:
    assert replay_probe(probe, db) == []


@pytest.mark.parametrize("file", VECTOR_FILES, ids=[f.removesuffix(".json") for f in VECTOR_FILES])
def test_train_vector_matches_tau2(file: str, db: RetailDB) -> None:
    vector = json.loads((TRAIN / file).read_text(encoding="utf-8"))
    assert replay_vector(vector, db) == []


def test_pristine_db_hash_matches_tau2_and_survives_the_replays(db: RetailDB) -> None:
    for probe in PROBES[:3]:
        replay_probe(probe, db)
    assert db_hash(db) == PRISTINE_HASH


def test_plain_hash_of_a_fork_matches_tau2_after_a_write(db: RetailDB) -> None:
    # The replays hash incrementally; the plain definition must agree with tau2 as well.
    probe = _probe("modify_pending_order_items.two_items_last_variant_bug")
    fork = db.fork()
    result = RetailTools(fork).call(probe["tool"], probe["arguments"])
    assert result.output == probe["output"]
    assert db_hash(fork) == probe["agent_db_hash_after"]
    assert db_hash(db) == PRISTINE_HASH


def test_a_deviation_is_reported_not_raised(db: RetailDB) -> None:
    probe = dict(_probe("cancel_pending_order.credit_card"))
    probe["output"] = probe["output"].replace('"cancelled"', '"canceled"')
    probe["agent_db_hash_after"] = "0" * 64
    problems = replay_probe(probe, db)
    assert len(problems) == 2
    assert problems[0].startswith("probe cancel_pending_order.credit_card output: differs at")
    assert "agent_db_hash_after" in problems[1]


def test_a_wrong_diff_and_error_flag_are_described(db: RetailDB) -> None:
    vector = json.loads((TRAIN / VECTOR_FILES[0]).read_text(encoding="utf-8"))
    vector["actions"][0]["error"] = True
    vector["final"]["agent_db_diff"] = vector["final"]["agent_db_diff"][:-1]
    problems = replay_vector(vector, db)
    assert any("error flag False, tau2 True" in p for p in problems)
    assert any(p.startswith("final agent_db_diff:") for p in problems)


def test_user_requestor_gets_taus_no_user_tools_error(db: RetailDB) -> None:
    probe = {
        **_probe("get_order_details.ok"),
        "requestor": "user",
        "output": "Error: User tools not available",
        "error": True,
    }
    assert replay_probe(probe, db) == []


def test_a_write_that_bypasses_copy_on_write_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = load_retail_db(retail_data_path(TAU2_DATA))  # this test corrupts its DB on purpose
    monkeypatch.setattr(RetailDB, "writable_user", lambda self, user_id: self.users.get(user_id))
    problems = replay_probe(_probe("modify_user_address.ok"), own)
    assert any("changed in place" in p and "sofia_rossi_8776" in p for p in problems)
