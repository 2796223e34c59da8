"""Slot value types that carry how to read them from free text.

Use them in a slots model; they validate like their base type and tell the offline
`RuleInterpreter` which parser to use:

```python
class UpgradeSlots(BaseModel):
    phone_number: PhoneNumber | None = None
    date_of_birth: date | None = None              # dates, ints, Decimal, bool, enums: by type
    line_id: Annotated[str, Parse("id", pattern=r"L\\d{4}")] | None = None
```
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

__all__ = ["Parse", "PersonName", "PhoneNumber", "parser_kind", "parser_of"]


@dataclass(frozen=True, slots=True)
class Parse:
    """Marks how the offline interpreter reads a slot's value from text.

    Attributes:
        kind: "phone", "name", "date", "int", "float", "money", "yes_no", "choice", "id" or
            "text" (the whole message).
        pattern: For "id": the regular expression of the id.
    """

    kind: str
    pattern: str | None = None


PhoneNumber = Annotated[
    str,
    StringConstraints(pattern=r"^\d{3}-\d{3}-\d{4}$"),
    Parse("phone"),
]
"""A North-American phone number written 555-123-2002."""

PersonName = Annotated[
    str,
    StringConstraints(min_length=2, max_length=80, pattern=r"^[^\d@<>{}]+$"),
    Parse("name"),
]
"""A person's full name."""


def parser_of(info: Any) -> Parse | None:
    """Return the `Parse` marker of a pydantic field, if any."""
    for meta in getattr(info, "metadata", ()):
        if isinstance(meta, Parse):
            return meta
    for arg in _union_args(getattr(info, "annotation", None)):
        if typing.get_origin(arg) is Annotated:
            for meta in typing.get_args(arg)[1:]:
                if isinstance(meta, Parse):
                    return meta
    return None


def _union_args(annotation: object) -> tuple[object, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,) if annotation is not None else ()


def _unannotated(arg: object) -> object:
    """`Annotated[X, ...]` -> `X`; anything else unchanged."""
    return typing.get_args(arg)[0] if typing.get_origin(arg) is Annotated else arg


def parser_kind(info: Any) -> str | None:
    """Return the parser kind for a pydantic field: its `Parse` marker, else from its type."""
    marker = parser_of(info)
    if marker is not None:
        return marker.kind
    for arg in _union_args(getattr(info, "annotation", None)):
        base = _unannotated(arg)
        if typing.get_origin(base) is Literal:
            return "choice"
        if isinstance(base, type):
            if issubclass(base, bool):
                return "yes_no"
            if issubclass(base, enum.Enum):
                return "choice"
            if issubclass(base, int):
                return "int"
            if issubclass(base, Decimal):
                return "money"
            if issubclass(base, float):
                return "float"
            if issubclass(base, date):
                return "date"
    return None


def literal_choices(info: Any) -> tuple[str, ...]:
    """Return the allowed values of a Literal or Enum field, as strings (empty otherwise)."""
    for arg in _union_args(getattr(info, "annotation", None)):
        base = _unannotated(arg)
        if typing.get_origin(base) is Literal:
            return tuple(str(v) for v in typing.get_args(base))
        if isinstance(base, type) and issubclass(base, enum.Enum):
            return tuple(str(m.value) for m in base)  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType, reportUnknownArgumentType]
    return ()
