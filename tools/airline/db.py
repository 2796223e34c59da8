"""Load, copy, dump and hash the airline booking database.

The file format is tau2-bench's airline `db.json`: one JSON object with the dict-shaped tables
`flights` (by flight number), `users` (by user id) and `reservations` (by reservation id). The hash
is tau2's `get_db_hash` rule, so a DB loaded here hashes to the same value as inside tau2-bench.

tau2's real DB is 7 MB (300 flights with 30 dates each, 500 users, 2000 reservations), and a
conformance run needs a fresh copy and several hashes per task, so `copy_db` and `db_hash` are
built for speed; both are checked against the plain definitions in the tests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeAlias

from cxflow.tools._loading import gc_paused, load_json_db
from cxflow.tools.airline.models import AirlineDB

__all__ = [
    "TABLES",
    "RecordTexts",
    "airline_data_path",
    "copy_db",
    "db_hash",
    "db_json",
    "hash_record_texts",
    "load_airline_db",
    "record_texts",
    "sample_db_path",
]

RecordTexts: TypeAlias = dict[str, dict[str, str]]
"""Per table, record key -> the record's compact JSON (see `record_texts`)."""

TABLES = ("flights", "users", "reservations")
"""The DB's tables in declaration order (the order of `model_dump()` and of diffs)."""

_SORTED_TABLES = tuple(sorted(TABLES))
_MAX_CACHED_RECORDS = 50_000


def airline_data_path(tau2_data_dir: Path | str) -> Path:
    """Return where tau2's airline database lives inside a tau2 data folder.

    Args:
        tau2_data_dir: The folder holding tau2's per-domain data (`airline/`, `retail/`, ...).

    Returns:
        `<tau2_data_dir>/airline/db.json` (not checked for existence).
    """
    return Path(tau2_data_dir) / "airline" / "db.json"


def sample_db_path() -> Path:
    """Return the path of the small sample airline DB bundled with cxflow (`sample_db.json`).

    Returns:
        The absolute path of the bundled sample database file.
    """
    return Path(__file__).resolve().with_name("sample_db.json")


def load_airline_db(path: Path | str) -> AirlineDB:
    """Read an airline database from a JSON file in tau2-bench's `db.json` format.

    Args:
        path: The JSON file to read.

    Returns:
        The validated database.

    Raises:
        DataFileError: The file is missing or unreadable, is not valid JSON, is not a JSON object,
            or a record does not match the schema. The message names the file, the record (e.g.
            `users['mia_li_3668']`), the field and what to do.
    """
    return load_json_db(path, AirlineDB, tables=TABLES, what="an airline db.json", sample="DB")


def copy_db(db: AirlineDB) -> AirlineDB:
    """Return an independent deep copy of a database (tools mutate their DB in place).

    Dump-and-validate with the cyclic garbage collector paused is the fastest way measured on
    tau2's 7 MB DB (about 0.07 s, against 0.3 s for `copy.deepcopy` and 0.45 s for
    `model_copy(deep=True)`); most of the cost of any method is otherwise the collector
    scanning the many new objects, which hold no reference cycles.

    Args:
        db: The database to copy.

    Returns:
        A copy sharing no mutable object with `db`.
    """
    with gc_paused():
        return AirlineDB.model_validate(db.model_dump())


def db_json(db: AirlineDB) -> dict[str, Any]:
    """Dump the database in pydantic's JSON mode, the form the vectors' diffs address.

    Args:
        db: The database to dump.

    Returns:
        A JSON-compatible dict with every field, defaults and nulls included.
    """
    return db.model_dump(mode="json")


def record_texts(db: AirlineDB) -> RecordTexts:
    """Fingerprint every record: per table, record key -> the record's compact JSON.

    Two fingerprints of the same table and key are equal exactly when the record's content is
    (an int and a float count as different), so comparing two snapshots finds the changed
    records without walking the whole DB, and `json.loads` of a fingerprint equals the
    record's part of `db_json` (airline records hold only JSON-native values).

    Args:
        db: The database to fingerprint.

    Returns:
        `{"flights": {"HAT001": '{"flight_number":"HAT001",...}', ...}, "users": ..., ...}`.
    """
    return {
        "flights": {key: record.model_dump_json() for key, record in db.flights.items()},
        "users": {key: record.model_dump_json() for key, record in db.users.items()},
        "reservations": {key: record.model_dump_json() for key, record in db.reservations.items()},
    }


def db_hash(db: AirlineDB) -> str:
    """Hash the database exactly like tau2-bench's `ToolKitBase.get_db_hash`.

    The result equals `cxflow.tools._tau2.db_hash(db.model_dump())`, the sha256 of
    `json.dumps(db.model_dump(), sort_keys=True, default=str)`; see `hash_record_texts`.

    Args:
        db: The database to hash.

    Returns:
        The hex SHA-256 digest.
    """
    return hash_record_texts(record_texts(db))


def hash_record_texts(texts: RecordTexts) -> str:
    """tau2's DB hash of the database that `record_texts` fingerprinted.

    tau2 hashes one sorted-key JSON text of the whole DB. That text is assembled here from
    per-record pieces cached by fingerprint, so re-hashing after a tool changed a few records
    costs a fraction of a full dump and sort (a few ms instead of 0.1 s on tau2's DB). A
    piece is `json.dumps(json.loads(fingerprint), sort_keys=True)`, the same text as tau2's
    `json.dumps(record.model_dump(), sort_keys=True, default=str)` because airline records hold
    only JSON-native values.

    Args:
        texts: The fingerprints from `record_texts`.

    Returns:
        The hex SHA-256 digest.
    """
    tables = ", ".join(_table_text(name, texts[name]) for name in _SORTED_TABLES)
    return hashlib.sha256(f"{{{tables}}}".encode()).hexdigest()


def _table_text(name: str, fingerprints: dict[str, str]) -> str:
    """`"<name>": {<sorted records>}`, tau2's hash text of one table, reusing cached pieces."""
    cached = _table_cache.get(name)
    if cached is not None and cached[0] == fingerprints:
        return cached[1]
    if len(_item_cache) > _MAX_CACHED_RECORDS:
        _item_cache.clear()
    items: list[str] = []
    for key in sorted(fingerprints):
        fingerprint = fingerprints[key]
        item = _item_cache.get((key, fingerprint))
        if item is None:
            text = json.dumps(json.loads(fingerprint), sort_keys=True)
            item = _item_cache[(key, fingerprint)] = f"{json.dumps(key)}: {text}"
        items.append(item)
    text = f'"{name}": {{{", ".join(items)}}}'
    _table_cache[name] = (dict(fingerprints), text)  # a copy: the caller may change theirs
    return text


# Caches of hash text pieces, keyed by content so they can never go stale: per (record key,
# fingerprint) the record's `"key": {...}` piece, and per table the last fingerprints and text.
_item_cache: dict[tuple[str, str], str] = {}
_table_cache: dict[str, tuple[dict[str, str], str]] = {}
