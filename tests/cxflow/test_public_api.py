"""The public API is small, listed once in `cxflow.__all__`, and every name resolves."""

from __future__ import annotations

import subprocess
import sys

import cxflow


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert cxflow.__all__ == sorted(cxflow.__all__)
    for name in cxflow.__all__:
        assert getattr(cxflow, name) is not None, name


def test_all_matches_the_lazy_table_exactly() -> None:
    lazy = set(cxflow._LAZY)  # pyright: ignore[reportPrivateUsage]
    assert lazy | {"__version__"} == set(cxflow.__all__)


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        cxflow.Nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "Nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_cxflow_does_not_import_pydantic_or_statemachine() -> None:
    code = (
        "import sys, cxflow; "
        "print(sorted(m for m in ('pydantic', 'statemachine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
