"""cxflow: customer-service dialogue as explicit state graphs.

A language model (or the offline `RuleInterpreter`) only fills slots and picks one of the
transitions enabled in the current state; guards in Python enforce the policy; typed tools do
the side effects.

The public names load lazily on first use (PEP 562), so `import cxflow` stays cheap and a
process pays for pydantic and python-statemachine only when it uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxflow.commands import (
        Cancel,
        Claim,
        Clarify,
        Command,
        Handoff,
        NoOp,
        SetSlot,
        StartFlow,
        Take,
    )
    from cxflow.customer import CustomerSimulator, CustomerTurn, converse
    from cxflow.engine import Engine
    from cxflow.errors import CxflowError
    from cxflow.flow import CustomerAction, Flow, SharedFact, State, auto, describe
    from cxflow.interpreter import (
        Interpretation,
        Interpreter,
        ReplayInterpreter,
        ScriptedInterpreter,
        TurnView,
        turn_schema,
    )
    from cxflow.records import Rejected, TurnRecord
    from cxflow.rule_interpreter import RuleInterpreter
    from cxflow.session import Session, Turn
    from cxflow.store import MemoryStore, Store
    from cxflow.tooling import Tool, ToolCallContext, tool

_LAZY: dict[str, str] = {
    "CustomerSimulator": "cxflow.customer",
    "CustomerTurn": "cxflow.customer",
    "converse": "cxflow.customer",
    "Cancel": "cxflow.commands",
    "Claim": "cxflow.commands",
    "Clarify": "cxflow.commands",
    "Command": "cxflow.commands",
    "CustomerAction": "cxflow.flow",
    "CxflowError": "cxflow.errors",
    "Engine": "cxflow.engine",
    "Flow": "cxflow.flow",
    "Handoff": "cxflow.commands",
    "Interpretation": "cxflow.interpreter",
    "Interpreter": "cxflow.interpreter",
    "MemoryStore": "cxflow.store",
    "NoOp": "cxflow.commands",
    "Rejected": "cxflow.records",
    "ReplayInterpreter": "cxflow.interpreter",
    "RuleInterpreter": "cxflow.rule_interpreter",
    "ScriptedInterpreter": "cxflow.interpreter",
    "Session": "cxflow.session",
    "SetSlot": "cxflow.commands",
    "SharedFact": "cxflow.flow",
    "StartFlow": "cxflow.commands",
    "State": "cxflow.flow",
    "Store": "cxflow.store",
    "Take": "cxflow.commands",
    "Tool": "cxflow.tooling",
    "ToolCallContext": "cxflow.tooling",
    "Turn": "cxflow.session",
    "TurnRecord": "cxflow.records",
    "TurnView": "cxflow.interpreter",
    "auto": "cxflow.flow",
    "describe": "cxflow.flow",
    "tool": "cxflow.tooling",
    "turn_schema": "cxflow.interpreter",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cxflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "Cancel",
    "Claim",
    "Clarify",
    "Command",
    "CustomerAction",
    "CustomerSimulator",
    "CustomerTurn",
    "CxflowError",
    "Engine",
    "Flow",
    "Handoff",
    "Interpretation",
    "Interpreter",
    "MemoryStore",
    "NoOp",
    "Rejected",
    "ReplayInterpreter",
    "RuleInterpreter",
    "ScriptedInterpreter",
    "Session",
    "SetSlot",
    "SharedFact",
    "StartFlow",
    "State",
    "Store",
    "Take",
    "Tool",
    "ToolCallContext",
    "Turn",
    "TurnRecord",
    "TurnView",
    "__version__",
    "auto",
    "converse",
    "describe",
    "tool",
    "turn_schema",
]
