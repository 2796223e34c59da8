"""A telecom world: the carrier's CRM, the customer's phone, and the sync that couples them.

`TelecomEnvironment` plays tau2-bench's `TelecomEnvironment`: the agent calls CRM tools, the
customer calls phone tools, and after every successful call the CRM's view of the line is synced
to the phone (and a payment made on the phone to the CRM). Task set-up functions and end-state
checks run through it by name, as tau2 task files name them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias, cast

from cxflow.simulators.telecom.assertions import CRM_ASSERTIONS, PHONE_ASSERTIONS
from cxflow.simulators.telecom.coupling import sync
from cxflow.simulators.telecom.phone_tools import USER_TOOL_NAMES, TelecomUserTools
from cxflow.simulators.telecom.scenario import CRM_SETUP, PHONE_SETUP
from cxflow.simulators.telecom.state import PhoneState
from cxflow.tools._tau2 import ToolResult, invoke
from cxflow.tools.telecom.models import TelecomDB
from cxflow.tools.telecom.tools import TOOL_NAMES, TelecomTools

__all__ = ["Requestor", "TelecomEnvironment"]

Requestor: TypeAlias = Literal["assistant", "user"]
"""Who acts: the agent (`"assistant"`, CRM tools) or the customer (`"user"`, phone tools)."""


class TelecomEnvironment:
    """The CRM and the phone of one telecom conversation, kept in sync after every call.

    Attributes:
        crm: The agent's CRM tools (their `db` is the CRM database).
        phone: The customer's phone tools (their `state` is the phone and its surroundings).
    """

    def __init__(
        self,
        crm: TelecomDB | TelecomTools,
        phone: PhoneState | TelecomUserTools,
    ) -> None:
        """Couple a CRM and a phone (both used in place, not copied) and sync them once.

        Raises:
            ValueError: The phone's number matches no line in the CRM.
        """
        self.crm = crm if isinstance(crm, TelecomTools) else TelecomTools(crm)
        self.phone = phone if isinstance(phone, TelecomUserTools) else TelecomUserTools(phone)
        self.sync()

    def sync(self) -> None:
        """Copy the CRM's view of the customer's line to the phone, and book payments made there.

        Raises:
            ValueError: The phone's number matches no line in the CRM.
        """
        sync(self.crm, self.phone.state)

    def call(self, requestor: Requestor, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one tool call as tau2's `get_response` does: call, sync, then render the result.

        Errors (unknown tool for this requestor, bad arguments, a tool or the sync raising)
        become `"Error: …"` results with `error=True` and skip the sync; the conversation goes on.
        """
        if requestor == "user":
            return invoke(_SyncedTools(self.phone, self.sync), USER_TOOL_NAMES, name, arguments)
        if requestor == "assistant":
            return invoke(_SyncedTools(self.crm, self.sync), TOOL_NAMES, name, arguments)
        return ToolResult(f"Error: Invalid requestor: {requestor}", True)

    def set_up(self, env_type: Requestor, func_name: str, arguments: Mapping[str, Any]) -> object:
        """Run one task initialization action by name, then sync; return what it returned.

        Set-up functions (`unseat_sim_card`, `set_data_usage`, ...) and the side's own tools
        (`set_network_mode_preference`, `enable_roaming`, ...) can be named.

        Raises:
            ValueError: No such function on that side.
            Exception: Whatever the function raises (a broken task, not a model mistake).
        """
        result = self._function(env_type, func_name, _SETUP)(**arguments)
        self.sync()
        return result

    def check(self, env_type: Requestor, func_name: str, arguments: Mapping[str, Any]) -> bool:
        """Evaluate one end-state check by name (e.g. `assert_service_status`), then sync.

        Raises:
            ValueError: No such check on that side, or it did not return a bool.
        """
        result = self._function(env_type, func_name, _ASSERTIONS)(**arguments)
        self.sync()
        if not isinstance(result, bool):
            raise ValueError(f"Function {func_name} returned {type(result)} instead of bool")
        return result

    def _function(
        self,
        env_type: Requestor,
        func_name: str,
        registries: Mapping[Requestor, Mapping[str, Callable[..., object]]],
    ) -> Callable[..., object]:
        """The named function, bound to this side's toolkit (CRM tools) or state (phone)."""
        target: object = self.phone.state if env_type == "user" else self.crm
        function = registries[env_type].get(func_name)
        if function is not None:
            return functools.partial(function, target)
        tools = USER_TOOL_NAMES if env_type == "user" else TOOL_NAMES
        if func_name in tools:
            toolkit = self.phone if env_type == "user" else self.crm
            return getattr(toolkit, func_name)
        raise ValueError(f"Function {func_name} not found in {env_type} tools")


class _SyncedTools:
    """A toolkit whose every tool call is followed by the sync, before its result is rendered.

    tau2 renders a result only after syncing, so a model in the result shows the synced state;
    a failing sync turns the call into an error. Argument errors still name the real toolkit.
    """

    def __init__(self, toolkit: object, sync: Callable[[], None]) -> None:
        self._toolkit = toolkit
        self._sync = sync

    def __getattr__(self, name: str) -> Callable[..., object]:
        tool = cast(Callable[..., object], getattr(self._toolkit, name))

        def call_then_sync(**arguments: Any) -> object:
            result = tool(**arguments)
            self._sync()
            return result

        return call_then_sync


_SETUP: Mapping[Requestor, Mapping[str, Callable[..., object]]] = {
    "user": PHONE_SETUP,
    "assistant": CRM_SETUP,
}
_ASSERTIONS: Mapping[Requestor, Mapping[str, Callable[..., object]]] = {
    "user": PHONE_ASSERTIONS,
    "assistant": CRM_ASSERTIONS,
}
