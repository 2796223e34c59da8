"""Load, dump and hash the telecom CRM database.

The file format is tau2-bench's `db.toml`: top-level arrays of tables `plans`, `customers`,
`lines`, `bills` and `devices`. The hash is tau2's `get_db_hash` rule, so a DB loaded here hashes
to the same value as the same DB inside tau2-bench.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from cxflow.errors import DataFileError
from cxflow.tools.telecom.models import JSONValue, TelecomDB

__all__ = ["db_hash", "load_telecom_db", "sample_db_path", "telecom_db_json"]

_ID_FIELDS: dict[str, str] = {
    "plans": "plan_id",
    "customers": "customer_id",
    "lines": "line_id",
    "bills": "bill_id",
    "devices": "device_id",
}
_MORE_SHOWN = 5


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
    except FileNotFoundError:
        raise DataFileError(
            file,
            "file not found. Check the path, or pass sample_db_path() for the bundled sample CRM.",
        ) from None
    except OSError as exc:
        raise DataFileError(file, f"cannot read the file ({exc.strerror or exc}).") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(
            file, f"not valid UTF-8 TOML: {exc}. Fix the syntax there and load again."
        ) from None
    try:
        return TelecomDB.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(file, data, exc.errors()) from None


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
    text = json.dumps(db.model_dump(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _validation_error(
    file: Path, data: Mapping[str, object], errors: Sequence[ErrorDetails]
) -> DataFileError:
    """Turn pydantic's errors into one DataFileError located at the first bad record/field."""
    first = errors[0]
    record, field = _locate(data, first["loc"])
    problem = _describe(first) + f" Correct this value in {file.name} and load again."
    rest = errors[1:]
    if rest:
        shown = "; ".join(f"{_loc_text(e['loc'])}: {e['msg']}" for e in rest[:_MORE_SHOWN])
        more = f" (+{len(rest) - _MORE_SHOWN} more)" if len(rest) > _MORE_SHOWN else ""
        problem += f" Other problems ({len(rest)}): {shown}{more}."
    return DataFileError(file, problem, record=record, field=field)


def _describe(error: ErrorDetails) -> str:
    """One error as `<pydantic message> (got <value>).`."""
    if error["type"] == "missing":
        return f"{error['msg']}."
    got = repr(error["input"])
    if len(got) > 60:
        got = got[:57] + "..."
    return f"{error['msg']} (got {got})."


def _locate(
    data: Mapping[str, object], loc: tuple[int | str, ...]
) -> tuple[str | None, str | None]:
    """Split an error location into a record label and a field path.

    `("lines", 3, "data_used_gb")` becomes `("lines[3] (line_id L1004)", "data_used_gb")`.
    """
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        table, index = loc[0], loc[1]
        record = f"{table}[{index}]"
        ident = _record_id(data, table, index)
        if ident is not None:
            record += f" ({ident})"
        return record, (_loc_text(loc[2:]) or None)
    return None, (_loc_text(loc) or None)


def _record_id(data: Mapping[str, object], table: str, index: int) -> str | None:
    """`"line_id L1004"` for the record at `data[table][index]`, when it has its id field."""
    id_field = _ID_FIELDS.get(table)
    rows = data.get(table)
    if id_field is None or not isinstance(rows, list):
        return None
    records = cast("list[object]", rows)
    if not 0 <= index < len(records) or not isinstance(records[index], dict):
        return None
    value = cast("dict[str, object]", records[index]).get(id_field)
    return f"{id_field} {value}" if value is not None else None


def _loc_text(loc: Sequence[int | str]) -> str:
    """`("payment_methods", 1, "method_type")` as `payment_methods[1].method_type`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
