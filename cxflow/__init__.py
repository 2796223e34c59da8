"""cxflow: customer-service dialogue as explicit state graphs.

A language model (or the offline `RuleInterpreter`) only fills slots and picks one of the
transitions enabled in the current state; guards in Python enforce the policy; typed tools do
the side effects.
"""

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
from cxflow.tool import Tool, ToolCallContext, tool

__version__ = "0.1.0"

__all__ = [
    "Cancel",
    "Claim",
    "Clarify",
    "Command",
    "CustomerAction",
    "CxflowError",
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
    "describe",
    "tool",
    "turn_schema",
]
