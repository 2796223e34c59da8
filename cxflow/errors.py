"""Every exception cxflow raises, in one tree.

```
CxflowError
├── FlowDefinitionError      a flow class is wrong (raised at import, lists every problem)
├── FlowRuntimeError         a flow misbehaved at run time (an automatic state with no way out)
├── UnknownFlowError         a flow id that no registry knows
├── DataFileError            a data file is missing, unreadable or does not match its schema
├── ToolError                a tool failed; the flow routes on it, the turn records it
├── StoreError               the store cannot read or write
│   ├── SessionNotFoundError     no session with that id
│   └── ConcurrencyError         another writer committed this session's turn first
│       └── TurnClaimedError     (cxflow.store) another runner holds the session's pending turn
├── GraphvizNotFoundError    (cxflow.graph) Graphviz's `dot` is not on PATH
├── GraphvizRenderError      (cxflow.graph) `dot` failed or timed out
├── ConversationEndedError   (cxflow.session) a turn sent to a session that ended
└── MissingExtraError        an optional dependency is not installed
```

Model mistakes are never exceptions: they become `Rejected` entries on the turn record.
Every message says what happened, the names involved, and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ConcurrencyError",
    "CxflowError",
    "DataFileError",
    "FlowDefinitionError",
    "FlowRuntimeError",
    "MissingExtraError",
    "SessionNotFoundError",
    "StoreError",
    "ToolError",
    "UnknownFlowError",
    "UsageError",
]


class CxflowError(Exception):
    """Base class of every error cxflow raises on purpose."""


class FlowDefinitionError(CxflowError, TypeError):
    """A flow class is not a valid flow; `problems` lists every one found."""

    def __init__(self, flow: str, problems: Sequence[str]) -> None:
        self.flow = flow
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{flow} is not a valid flow ({len(self.problems)} problems):\n{lines}")


class FlowRuntimeError(CxflowError, RuntimeError):
    """A flow reached a situation its declaration does not cover (a programmer error)."""


class UsageError(CxflowError, ValueError):
    """A command or call asks for something that cannot be done as given (CLI exit code 2)."""


class UnknownFlowError(CxflowError, LookupError):
    """No flow with this id is registered."""

    def __init__(self, flow_id: str, known: Sequence[str]) -> None:
        self.flow_id = flow_id
        self.known = list(known)
        super().__init__(
            f"unknown flow {flow_id!r}. Known flows: {', '.join(self.known) or '(none)'}. "
            "Run `cxflow flows` to list them."
        )


class DataFileError(CxflowError, ValueError):
    """A data file is missing, unreadable, or a record in it does not match its schema."""

    def __init__(
        self, path: Path | str, problem: str, *, record: str | None = None, field: str | None = None
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.record = record
        self.field = field
        where = str(self.path)
        if record is not None:
            where += f", record {record}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


class ToolError(CxflowError):
    """A tool could not do its job; `message` is what the tool said (shown to the flow)."""

    def __init__(self, tool: str, message: str) -> None:
        self.tool = tool
        self.message = message
        super().__init__(f"tool {tool!r} failed: {message}")


class StoreError(CxflowError):
    """The store could not read or write; the turn was not applied."""


class SessionNotFoundError(StoreError, LookupError):
    """No session with this id exists in the store."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"no session {session_id!r} in the store. Check the id and the --db path "
            "(sessions are listed with their ids by `cxflow replay --list`)."
        )


class ConcurrencyError(StoreError):
    """Another writer committed a turn for this session first; reload and retry."""

    def __init__(self, session_id: str, expected_version: int, actual_version: int) -> None:
        self.session_id = session_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"session {session_id!r} is at version {actual_version}, not {expected_version}: "
            "another writer applied a turn first. Reload the session and retry the turn."
        )


class MissingExtraError(CxflowError, ImportError):
    """An optional dependency is not installed; the message has the install command."""

    def __init__(self, feature: str, extra: str, package: str) -> None:
        self.feature = feature
        self.extra = extra
        self.package = package
        super().__init__(
            f"{feature} needs {package}. Install it with: pip install 'cxflow[{extra}]'"
        )
