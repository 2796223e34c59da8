"""tau2-bench tasks as cxflow runs: derive a flow and a scripted customer from each task, score
the end state with tau2's semantics.

Each domain module (`airline`, `retail`, `telecom`) has `derive(task, data_dir)`, which returns
`Derived(flow, scenario)` (the flow to run and the scripted customer's scenario, from the task's
user scenario and gold actions) or `Unsupported(reason)` when the task's requests cannot be
expressed offline. Scoring (`score`) follows tau2's reward basis:

- DB: the database after the conversation equals a fresh database with the task's
  initialization and its gold actions replayed (airline, retail; compared by hash).
- ENV_ASSERTION (telecom): tau2's assertions on the final phone and CRM.
- ACTION (telecom transfers): the conversation handed off exactly when a gold action transfers.
- COMMUNICATE: every `communicate_info` text appears in an agent reply (tau2's comparison:
  case-insensitive, commas removed).
- NL_ASSERTION needs a model judge: offline it is not judged and left out of the reward, and the
  results say so (`not_judged`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxflow.errors import DataFileError
from cxflow.records import TurnRecord
from cxflow.simulators.scenario import Scenario

__all__ = [
    "DOMAINS",
    "Derived",
    "Unsupported",
    "communicate_missing",
    "load_tasks",
]

DOMAINS = ("airline", "retail", "telecom")


@dataclass(frozen=True, slots=True)
class Derived:
    """A task as a cxflow run: the flow to start and the scripted customer's scenario."""

    flow: str
    scenario: Scenario


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A task whose requests cannot be expressed offline, and why (counted as a failure)."""

    reason: str


def load_tasks(data_dir: Path | str, domain: str, split: str) -> list[dict[str, Any]]:
    """The tasks of a split, in the order of `split_tasks.json` (split "base": every task).

    Raises:
        DataFileError: A file is missing or not JSON, or the split is not in `split_tasks.json`
            (the error lists the splits there are).
    """
    folder = Path(data_dir) / domain
    tasks = _read_json(folder / "tasks.json")
    if not isinstance(tasks, list):
        raise DataFileError(folder / "tasks.json", "expected a JSON list of tasks")
    by_id = {str(t["id"]): t for t in tasks}  # pyright: ignore[reportUnknownVariableType]
    if split == "base":
        return list(by_id.values())  # pyright: ignore[reportUnknownArgumentType]
    splits = _read_json(folder / "split_tasks.json")
    if not isinstance(splits, dict) or split not in splits:
        known = sorted(splits) if isinstance(splits, dict) else []  # pyright: ignore[reportUnknownArgumentType]
        raise DataFileError(
            folder / "split_tasks.json",
            f"no split {split!r}; this data has {[*known, 'base']}",
        )
    missing = [i for i in splits[split] if str(i) not in by_id]
    if missing:
        raise DataFileError(
            folder / "split_tasks.json", f"split {split!r} names unknown tasks {missing[:5]}"
        )
    return [by_id[str(i)] for i in splits[split]]  # pyright: ignore[reportUnknownVariableType]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFileError(path, f"cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(path, f"not valid JSON: {exc}") from exc


def communicate_missing(task: Mapping[str, Any], records: Sequence[TurnRecord]) -> list[str]:
    """The task's `communicate_info` texts no agent reply contains (tau2's comparison)."""
    wanted = task.get("evaluation_criteria", {}).get("communicate_info") or []
    said = [r.reply.text.lower().replace(",", "") for r in records]
    return [
        str(info)
        for info in wanted
        if not any(str(info).lower().replace(",", "") in text for text in said)
    ]


def fresh_env(domain: str, data_dir: Path | str) -> Any:
    """A fresh copy of the domain's tau2 database behind its agent tools (airline, retail)."""
    from cxflow.registry import get_flow

    flow = {"airline": "airline_support", "retail": "retail_support"}[domain]
    return get_flow(flow).make_env(Path(data_dir))


def env_hash(env: Any) -> str:
    """tau2's database hash of an environment's database."""
    from cxflow.tools._tau2 import db_hash

    return db_hash(env.db.model_dump(mode="json"))


def gold_hash(domain: str, task: Mapping[str, Any], data_dir: Path | str) -> str:
    """The hash of a fresh database with the task's gold actions replayed (tau2's DB check).

    As in tau2, a gold action that errors (a product id that does not exist) is an error
    message, not a failure of the replay.
    """
    env = fresh_env(domain, data_dir)
    for action in task["evaluation_criteria"]["actions"]:
        if action.get("requestor", "assistant") == "assistant":
            env.call(action["name"], action["arguments"])
    return env_hash(env)
