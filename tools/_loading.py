"""Loading tau2-bench data files with errors that name the file, the record and the field."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cxflow.errors import DataFileError

__all__ = ["NESTED_TOO_DEEPLY", "gc_paused", "load_json_db", "validation_error"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_MORE_SHOWN = 5

NESTED_TOO_DEEPLY = (
    "nested too deeply to parse (arrays or tables inside each other thousands of levels "
    "deep): this is not a database file, or it is corrupt. Replace it with a good copy."
)
"""The problem reported when a parser runs out of stack on a data file."""


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects (a large DB)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_json_db(
    path: Path | str, model: type[ModelT], *, tables: Sequence[str], what: str, sample: str
) -> ModelT:
    """Read a tau2 `db.json` into its pydantic model, with errors that say where and what to do.

    Args:
        path: The JSON file.
        model: The database model.
        tables: The top-level tables it holds (named in the error for a non-object file).
        what: The domain's file, for messages ("a retail db.json").
        sample: What `sample_db_path()` gives, for the file-not-found hint ("store").

    Raises:
        DataFileError: The file is missing or unreadable, is not valid JSON (or nested too
            deeply to parse), is not a JSON object, or a record does not match the schema
            (file, record, field named).
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise DataFileError(
            file,
            f"file not found. Check the path, or pass sample_db_path() for the bundled sample "
            f"{sample}.",
        ) from None
    except OSError as exc:
        raise DataFileError(file, f"cannot read the file ({exc.strerror or exc}).") from exc
    try:
        data: object = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(
            file, f"not valid UTF-8 JSON: {exc}. Fix the syntax there and load again."
        ) from None
    except RecursionError:
        raise DataFileError(file, NESTED_TOO_DEEPLY) from None
    if not isinstance(data, dict):
        raise DataFileError(
            file,
            f"expected a JSON object with the tables {', '.join(tables)}, "
            f"got a JSON {type(data).__name__}. Check that this is {what}.",
        )
    try:
        with gc_paused():
            return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(file, cast(dict[str, object], data), exc.errors(), {}) from None


def validation_error(
    file: Path,
    data: Mapping[str, object],
    errors: Sequence[ErrorDetails],
    id_fields: Mapping[str, str],
) -> DataFileError:
    """Turn pydantic's errors into one DataFileError located at the first bad record/field.

    Args:
        file: The data file.
        data: The parsed file (to name the record by its id).
        errors: pydantic's `ValidationError.errors()`.
        id_fields: Per list-shaped table, the field that names a record ("lines": "line_id").
    """
    first = errors[0]
    record, field = _locate(data, first["loc"], id_fields)
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
    data: Mapping[str, object], loc: tuple[int | str, ...], id_fields: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """Split an error location into a record label and a field path.

    `("lines", 3, "data_used_gb")` becomes `("lines[3] (line_id L1004)", "data_used_gb")`;
    in dict-shaped tables `("users", "mia_li_3668", "dob")` becomes
    `("users['mia_li_3668']", "dob")`.
    """
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        table, index = loc[0], loc[1]
        record = f"{table}[{index}]"
        ident = _record_id(data, table, index, id_fields)
        if ident is not None:
            record += f" ({ident})"
        return record, (_loc_text(loc[2:]) or None)
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(data.get(loc[0]), dict):
        return f"{loc[0]}[{loc[1]!r}]", (_loc_text(loc[2:]) or None)
    return None, (_loc_text(loc) or None)


def _record_id(
    data: Mapping[str, object], table: str, index: int, id_fields: Mapping[str, str]
) -> str | None:
    """`"line_id L1004"` for the record at `data[table][index]`, when it has its id field."""
    id_field = id_fields.get(table)
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
