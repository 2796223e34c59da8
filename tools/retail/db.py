"""Load, copy, dump and hash the retail store database.

The file format is tau2-bench's retail `db.json`: one JSON object with the dict-shaped tables
`products` (by product id), `users` (by user id) and `orders` (by order id, e.g. `#W2378156`).
The hash is tau2's `get_db_hash` rule, so a DB loaded here hashes to the same value as inside
tau2-bench.

tau2's real DB is 2.8 MB (50 products with 591 variants, 500 users, 1000 orders). For many
fresh copies use `RetailDB.fork()` (under 0.1 ms, copy-on-write); `copy_db` is the fastest
full deep copy measured (15-50 ms, against 110-160 ms for `copy.deepcopy` or
`model_copy(deep=True)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxflow.tools._loading import gc_paused, load_json_db
from cxflow.tools._tau2 import db_hash as tau2_db_hash
from cxflow.tools.retail.models import RetailDB

__all__ = [
    "TABLES",
    "copy_db",
    "db_hash",
    "db_json",
    "load_retail_db",
    "retail_data_path",
    "sample_db_path",
]

TABLES = ("products", "users", "orders")
"""The DB's tables in declaration order (the order of `model_dump()` and of diffs)."""


def retail_data_path(tau2_data_dir: Path | str) -> Path:
    """Return where tau2's retail database lives inside a tau2 data folder.

    Args:
        tau2_data_dir: The folder holding tau2's per-domain data (`airline/`, `retail/`, ...).

    Returns:
        `<tau2_data_dir>/retail/db.json` (not checked for existence).
    """
    return Path(tau2_data_dir) / "retail" / "db.json"


def sample_db_path() -> Path:
    """Return the path of the small sample store bundled with cxflow (`sample_db.json`).

    Returns:
        The absolute path of the bundled sample database file.
    """
    return Path(__file__).resolve().with_name("sample_db.json")


def load_retail_db(path: Path | str) -> RetailDB:
    """Read a retail database from a JSON file in tau2-bench's `db.json` format.

    Args:
        path: The JSON file to read.

    Returns:
        The validated database.

    Raises:
        DataFileError: The file is missing or unreadable, is not valid JSON, is not a JSON
            object, or a record does not match the schema. The message names the file, the
            record (e.g. `orders['#W2378156']`), the field and what to do.
    """
    return load_json_db(path, RetailDB, tables=TABLES, what="a retail db.json", sample="store")


def copy_db(db: RetailDB) -> RetailDB:
    """Return an independent deep copy of a database, sharing no mutable object with it.

    Dump-and-validate with the cyclic garbage collector paused is the fastest full copy
    measured on tau2's DB; most of any method's cost is otherwise the collector scanning the
    many new objects, which hold no reference cycles. `RetailDB.fork()` is far cheaper when
    the copy is only changed through `RetailTools`.

    Args:
        db: The database to copy.
    """
    with gc_paused():
        return RetailDB.model_validate(db.model_dump())


def db_json(db: RetailDB) -> dict[str, Any]:
    """Dump the database in pydantic's JSON mode, the form the vectors' diffs address.

    Args:
        db: The database to dump.

    Returns:
        A JSON-compatible dict with every field, defaults and nulls included.
    """
    return db.model_dump(mode="json")


def db_hash(db: RetailDB) -> str:
    """Hash the database exactly like tau2-bench's `ToolKitBase.get_db_hash`.

    The rule is `sha256(json.dumps(db.model_dump(), sort_keys=True, default=str))`.

    Args:
        db: The database to hash.

    Returns:
        The hex SHA-256 digest.
    """
    with gc_paused():
        return tau2_db_hash(db.model_dump())
