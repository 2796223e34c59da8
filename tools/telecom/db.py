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
from cxflow.tools._loading import validation_error
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
        DataFileError: The file is missing or unreadable, is not valid TOML, or a record does not
            match the schema. The message names the file, the record (e.g.
            `lines[3] (line_id L1004)`), the field and what to do.
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
    try:
        return TelecomDB.model_validate(data)
    except ValidationError as exc:
        raise validation_error(file, data, exc.errors(), _ID_FIELDS) from None


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
