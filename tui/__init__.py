"""The terminal TUI (the `tui` extra): step through a conversation and see both sides.

`cxflow tui FLOW | --session ID | --run ID` calls `cxflow.tui.app.run_tui`.
"""

from __future__ import annotations

from cxflow.errors import MissingExtraError

try:
    import textual  # noqa: F401  # pyright: ignore[reportUnusedImport]
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise MissingExtraError("the TUI", "tui", "textual") from exc
