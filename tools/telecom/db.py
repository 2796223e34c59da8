"""Load, dump and hash the telecom CRM database.

The file format is tau2-bench's `db.toml`: top-level arrays of tables `plans`, `customers`,
`lines`, `bills` and `devices`. The hash is tau2's `get_db_hash` rule, so a DB loaded here hashes
to the same value as the same DB inside tau2-bench.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from cxflow.errors import DataFileError
from cxflow.tools._loading import NESTED_TOO_DEEPLY, validation_error
from cxflow.tools._tau2 import db_hash as tau2_hash
from cxflow.tools.telecom.models import JSONValue, TelecomDB

__all__ = ["db_hash", "load_telecom_db", "sample_db_path", "telecom_db_json"]

_ID_FIELDS: dict[str, str] = {
    "plans": "plan_id",
    "customers": "customer_id",
    "lines": "line_id",
    "bills": "bill_id",
    "devices": "device_id",
}


def sample_db_path() -> Path:
    """Return the path of the sample CRM bundled with cxflow (`sample_db.toml`).

    Returns:
        The absolute path of the bundled sample database file.
    """
    return Path(__file__).resolve().with_name("sample_db.toml")


def load_telecom_db(path: Path | str) -> TelecomDB:
    """Read a telecom CRM from a TOML file in tau2-bench's `db.toml` format.

    Args:
        path: The TOML file to read.

    Returns:
        The validated database.

    Raises:
        DataFileError: The file is missing or unreadable, is not valid TOML, lacks one of the
            five tables, a record does not match the schema, or a record names an id the file
            does not have (what a file cut short between records looks like). The message names
            the file, the record (e.g. `lines[3] (line_id L1004)`), the field and what to do.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
        stat = file.stat()
    except FileNotFoundError:
        raise DataFileError(
            file,
            "file not found. Check the path, or pass sample_db_path() for the bundled sample CRM.",
        ) from None
    except OSError as exc:
        raise DataFileError(file, f"cannot read the file ({exc.strerror or exc}).") from exc
    key = (str(file.resolve()), stat.st_mtime_ns, stat.st_size, hash(raw))
    cached = _PARSED.get(key)
    if cached is not None:  # parsing TOML costs far more than validating its JSON again
        return TelecomDB.model_validate_json(cached)
    db = _parse(file, raw)
    if len(_PARSED) >= 8:  # a few files at a time is the common case; keep the cache small
        _PARSED.clear()
    _PARSED[key] = db.model_dump_json()
    return db


_PARSED: dict[tuple[str, int, int, int], str] = {}
"""Files read lately, as validated JSON: each call still returns a fresh, independent database."""


def _parse(file: Path, raw: bytes) -> TelecomDB:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(
            file, f"not valid UTF-8 TOML: {exc}. Fix the syntax there and load again."
        ) from None
    except RecursionError:
        raise DataFileError(file, NESTED_TOO_DEEPLY) from None
    missing = [table for table in _ID_FIELDS if table not in data]
    if missing:
        raise DataFileError(
            file,
            f"no {', '.join(missing)} table: the file is cut short, or it is not a telecom "
            "db.toml. A table with no records is written `devices = []`.",
        )
    try:
        db = TelecomDB.model_validate(data)
    except ValidationError as exc:
        raise validation_error(file, data, exc.errors(), _ID_FIELDS) from None
    _check_references(file, db)
    return db


def _check_references(file: Path, db: TelecomDB) -> None:
    """Every id a record names exists: a file cut short between records loses the records
    named last, and this is where that shows."""
    ids = {
        "plans": {p.plan_id for p in db.plans},
        "customers": {c.customer_id for c in db.customers},
        "lines": {line.line_id for line in db.lines},
        "bills": {b.bill_id for b in db.bills},
        "devices": {d.device_id for d in db.devices},
    }
    # (table, index, the record's own id, field, the id it names, the table that must have it)
    named: list[tuple[str, int, str, str, str, str]] = []
    for i, customer in enumerate(db.customers):
        named += [
            ("customers", i, customer.customer_id, "line_ids", x, "lines")
            for x in customer.line_ids
        ]
        named += [
            ("customers", i, customer.customer_id, "bill_ids", x, "bills")
            for x in customer.bill_ids
        ]
    for i, line in enumerate(db.lines):
        named.append(("lines", i, line.line_id, "plan_id", line.plan_id, "plans"))
        if line.device_id is not None:
            named.append(("lines", i, line.line_id, "device_id", line.device_id, "devices"))
    for i, bill in enumerate(db.bills):
        named.append(("bills", i, bill.bill_id, "customer_id", bill.customer_id, "customers"))
    for table, index, own, field, target, where in named:
        if target not in ids[where]:
            raise DataFileError(
                file,
                f"names {where} record {target!r}, which the file does not have: the file is "
                f"cut short, or the id is mistyped. Add the record or correct the id in "
                f"{file.name} and load again.",
                record=f"{table}[{index}] ({_ID_FIELDS[table]} {own})",
                field=field,
            )


def telecom_db_json(db: TelecomDB) -> dict[str, JSONValue]:
    """Dump the database in pydantic's JSON mode (enums as values, dates as ISO strings).

    Args:
        db: The database to dump.

    Returns:
        A JSON-compatible dict with every field, defaults and nulls included.
    """
    return db.model_dump(mode="json")


def db_hash(db: TelecomDB) -> str:
    """Hash the database exactly like tau2-bench's `ToolKitBase.get_db_hash`.

    The rule is `sha256(json.dumps(db.model_dump(), sort_keys=True, default=str))`, so datetimes
    are written as `YYYY-MM-DD HH:MM:SS` (with a space).

    Args:
        db: The database to hash.

    Returns:
        The hex SHA-256 digest.
    """
    return tau2_hash(db.model_dump())
