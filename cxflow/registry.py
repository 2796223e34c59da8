"""Finding flows by id: the reference flows in `cxflow.flows`, plus any a user registers."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from cxflow.errors import UnknownFlowError

if TYPE_CHECKING:
    from cxflow.flow import Flow

__all__ = ["flow_ids", "get_flow", "reference_flows"]


_FOUND: dict[str, type[Flow[Any]]] = {}
"""The reference flows, found once per process (the package does not change while it runs)."""


def reference_flows() -> dict[str, type[Flow[Any]]]:
    """Import every module of `cxflow.flows` and return its flows by id (sorted)."""
    if not _FOUND:
        _FOUND.update(_scan())
    return dict(_FOUND)


def _scan() -> dict[str, type[Flow[Any]]]:
    from cxflow.flow import Flow

    package = importlib.import_module("cxflow.flows")
    found: dict[str, type[Flow[Any]]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"cxflow.flows.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Flow)
                and value is not Flow
                and value.__module__ == module.__name__
                and value.flow_id == info.name
            ):
                found[value.flow_id] = value
    return dict(sorted(found.items()))


def flow_ids() -> list[str]:
    """Ids of the reference flows."""
    return list(reference_flows())


def get_flow(flow_id: str) -> type[Flow[Any]]:
    """Return a reference flow by id, or raise `UnknownFlowError` listing the known ones."""
    flows = reference_flows()
    if flow_id not in flows:
        raise UnknownFlowError(flow_id, list(flows))
    return flows[flow_id]
