"""Airline tools against tau2-bench's conformance vectors: every probe, every train task, hashes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow.tools._tau2 import db_hash as tau2_hash
from cxflow.tools._tau2 import json_diff
from cxflow.tools.airline import (
    TOOL_NAMES,
    AirlineDB,
    AirlineTools,
    airline_data_path,
    copy_db,
    db_hash,
    db_json,
    load_airline_db,
    replay_probe,
    replay_vector,
)
from cxflow.tools.airline.conformance import changes
from cxflow.tools.airline.db import record_texts

# Folder holding tau2's `airline/` data; the vectors live next to it in `tau2-vectors/`.
TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
REAL_DB = airline_data_path(TAU2_DATA)
PROBES_FILE = TAU2_VECTORS / "airline" / "probes.json"
TRAIN_DIR = TAU2_VECTORS / "airline" / "train"

EXPECTED_PROBES = 50
EXPECTED_VECTORS = 30


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


PROBES_DOC: dict[str, Any] = _load_json(PROBES_FILE) or {"agent_tools": [], "probes": []}
PROBES: list[dict[str, Any]] = PROBES_DOC["probes"]
INDEX: list[dict[str, str]] = _load_json(TRAIN_DIR / "index.json") or []


@pytest.fixture(scope="module")
def real_db() -> AirlineDB:
    """tau2's real airline DB, loaded once; replays copy it and must never change it."""
    return load_airline_db(REAL_DB)


@pytest.fixture(scope="module")
def vectors() -> dict[str, dict[str, Any]]:
    return {
        entry["task_id"]: json.loads((TRAIN_DIR / entry["file"]).read_text()) for entry in INDEX
    }


# ---- nothing may be skipped silently ---------------------------------------------------------


def test_every_probe_and_vector_is_collected() -> None:
    hint = "set CXFLOW_TAU2_VECTORS to the tau2-vectors folder (and CXFLOW_TAU2_DATA to tau2-data)"
    assert len(PROBES) == EXPECTED_PROBES, f"{len(PROBES)} probes in {PROBES_FILE}; {hint}"
    assert len(INDEX) == EXPECTED_VECTORS, f"{len(INDEX)} train vectors in {TRAIN_DIR}; {hint}"
    assert len({p["id"] for p in PROBES}) == EXPECTED_PROBES
    assert REAL_DB.exists(), f"{REAL_DB} is missing; {hint}"


def test_tool_names_are_taus_agent_tools() -> None:
    assert list(TOOL_NAMES) == sorted(PROBES_DOC["agent_tools"])
    assert PROBES_DOC["user_tools"] == []


def test_every_tool_is_probed() -> None:
    probed = {p["tool"] for p in PROBES if p["requestor"] == "assistant"}
    assert set(TOOL_NAMES) <= probed


# ---- conformance -----------------------------------------------------------------------------


@pytest.mark.parametrize("probe", PROBES, ids=[p["id"] for p in PROBES])
def test_probe_matches_tau2(probe: dict[str, Any], real_db: AirlineDB) -> None:
    assert replay_probe(probe, real_db) == []


@pytest.mark.parametrize("task_id", [entry["task_id"] for entry in INDEX])
def test_train_vector_matches_tau2(
    task_id: str, vectors: dict[str, dict[str, Any]], real_db: AirlineDB
) -> None:
    assert replay_vector(vectors[task_id], real_db) == []


def test_replays_leave_the_pristine_db_untouched(real_db: AirlineDB) -> None:
    before = db_hash(real_db)
    assert replay_probe(_probe("book_reservation.ok"), real_db) == []
    assert db_hash(real_db) == before


# ---- hash, copy and diff helpers -------------------------------------------------------------


def test_pristine_hash_is_taus(real_db: AirlineDB, vectors: dict[str, dict[str, Any]]) -> None:
    expected = {v["initial"]["agent_db_hash"] for v in vectors.values()}
    assert expected == {db_hash(real_db)}
    assert db_hash(real_db) == tau2_hash(real_db.model_dump())


def test_fast_hash_follows_taus_rule_after_writes(real_db: AirlineDB) -> None:
    db = copy_db(real_db)
    tools = AirlineTools(db)
    tools.cancel_reservation("34XLFT")
    tools.send_certificate("mason_kim_9621", 150)
    tools.update_reservation_flights(
        "34XLFT",
        "basic_economy",
        [{"flight_number": "HAT076", "date": "2024-05-17"}],
        "gift_card_9306076",
    )
    assert db_hash(db) == tau2_hash(db.model_dump())
    assert db_hash(db) != db_hash(real_db)


def test_copy_shares_nothing_mutable(real_db: AirlineDB) -> None:
    db = copy_db(real_db)
    assert db == real_db
    user = db.users["mason_kim_9621"]
    user.reservations.append("HATHAT")
    user.name.first_name = "Changed"
    seats = db.flights["HAT001"].dates["2024-05-20"]
    assert seats.status == "available"
    seats.available_seats["economy"] = 0
    original = real_db.users["mason_kim_9621"]
    assert "HATHAT" not in original.reservations
    assert original.name.first_name == "Mason"
    assert real_db.flights["HAT001"].dates["2024-05-20"] != seats


def test_record_texts_parse_to_the_json_dump(real_db: AirlineDB) -> None:
    texts = record_texts(real_db)
    parsed = {table: {k: json.loads(t) for k, t in rows.items()} for table, rows in texts.items()}
    assert json.dumps(parsed) == json.dumps(db_json(real_db))  # same values, types and order


def test_changes_equal_a_full_json_diff(real_db: AirlineDB) -> None:
    db = copy_db(real_db)
    before_json, before_texts = db_json(db), record_texts(db)
    tools = AirlineTools(db)
    tools.cancel_reservation("K1NW8N")
    booking = tools.book_reservation(
        "mohamed_silva_9265",
        "JFK",
        "SFO",
        "round_trip",
        "business",
        [{"flight_number": "HAT023", "date": "2024-05-26"}],
        [{"first_name": "Raj", "last_name": "Sanchez", "dob": "1986-09-12"}],
        [
            {"payment_id": "certificate_9984806", "amount": 250},
            {"payment_id": "credit_card_2198526", "amount": 114},
        ],
        0,
        0,
        "no",
    )
    assert booking.reservation_id == "HATHAT"
    full = json_diff(before_json, db_json(db))
    assert len(full) > 3
    assert changes(before_texts, record_texts(db)) == full


# ---- mismatches are reported, never raised ---------------------------------------------------


def test_wrong_output_is_reported(real_db: AirlineDB) -> None:
    probe = dict(_probe("get_flight_status.landed"), output="cancelled")
    problems = replay_probe(probe, real_db)
    assert len(problems) == 1
    assert problems[0].startswith("probe: output differs at char 0")


def test_wrong_hash_and_diff_are_reported(real_db: AirlineDB) -> None:
    probe = dict(_probe("send_certificate.ok"), agent_db_hash_after="0" * 64, agent_db_diff=[])
    problems = replay_probe(probe, real_db)
    assert any(p.startswith("agent_db_diff: 0 ops expected, 1 produced") for p in problems)
    assert any(p.startswith("agent_db_hash_after: expected '000") for p in problems)


def test_broken_vector_is_reported_not_raised(real_db: AirlineDB) -> None:
    problems = replay_vector({"initial": {}, "actions": [{"index": 0}]}, real_db)
    assert problems[-1] == "replay crashed: KeyError: 'name'"


def _probe(probe_id: str) -> dict[str, Any]:
    return next(p for p in PROBES if p["id"] == probe_id)
