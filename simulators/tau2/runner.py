"""Run tau2 tasks k times each and score them with tau2's semantics (`cxflow tau2`).

The JSON (a contract, README "tau2 runs"): `{"domain", "split", "k", "tasks", "supported",
"pass_hat_k": {"1": float, ..., "K": float}, "results": [{"task_id", "rewards", "status",
"reason", "first_divergent_turn"}], "not_judged": [...]}`. An unsupported task counts as a
failure in pass^k (rewards of 0.0) and is listed with its reason; a task whose run raised is
`"error"` with the exception, and also a failure.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from cxflow.registry import get_flow
from cxflow.simulators.results import pass_hat_k
from cxflow.simulators.run import Conversation, simulate
from cxflow.simulators.tau2 import (
    DOMAINS,
    Derived,
    Unsupported,
    communicate_missing,
    env_hash,
    fresh_env,
    gold_hash,
    load_tasks,
)

__all__ = ["derive", "run_domain", "score_trial"]


def derive(domain: str, task: Mapping[str, Any], data_dir: Path) -> Derived | Unsupported:
    """The domain module's derivation of a task (`cxflow.simulators.tau2.<domain>.derive`)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown tau2 domain {domain!r}; known: {', '.join(DOMAINS)}")
    module = importlib.import_module(f"cxflow.simulators.tau2.{domain}")
    return module.derive(task, data_dir)


def score_trial(
    domain: str,
    task: Mapping[str, Any],
    derived: Derived,
    data_dir: Path,
    seed: int,
    interpreter: str = "rules",
    customer: str = "scripted",
) -> dict[str, Any]:
    """Play one trial of a task and score it: `{"reward", "reason", "first_divergent_turn",
    "session_id"}` (reason: why the reward is 0, "" when it is 1).

    `customer` is "scripted" (derived from the task) or a model spec (`anthropic:MODEL`,
    `openai:MODEL[@BASE_URL]`) for tau2's model-driven user simulator with the task's
    instructions (`cxflow.simulators.llm_customer`)."""
    from cxflow.llm.spec import interpreter_from_spec

    flow = get_flow(derived.flow)
    agent = interpreter_from_spec(interpreter)
    criteria = task.get("evaluation_criteria") or {}
    basis = set(criteria.get("reward_basis") or ["DB"])
    problems: list[str] = []
    if domain == "telecom":
        from cxflow.tools.telecom import TelecomTools

        crm = TelecomTools(_telecom_data(data_dir).crm.model_copy(deep=True))
        run = simulate(
            flow,
            derived.scenario,
            seed=seed,
            env=crm,
            max_turns=60,
            interpreter=agent,
            customer=_model_customer(customer, task, derived, crm, data_dir, seed),
        )
        problems += _telecom_problems(run, criteria, basis)
    else:
        env = fresh_env(domain, data_dir)
        run = simulate(
            flow,
            derived.scenario,
            seed=seed,
            env=env,
            max_turns=60,
            interpreter=agent,
            customer=_model_customer(customer, task, derived, env, data_dir, seed),
        )
        if "DB" in basis and env_hash(env) != gold_hash(domain, task, data_dir):
            problems.append("the database differs from the gold end state")
    if "COMMUNICATE" in basis:
        problems += [f"never said {m!r}" for m in communicate_missing(task, run.records)]
    if not run.session.done:
        problems.append(f"the conversation did not end (state {run.session.state!r})")
    return {
        "reward": 0.0 if problems else 1.0,
        "reason": "; ".join(problems),
        "first_divergent_turn": run.divergence.first_turn,
        "session_id": run.session.id,
    }


def _model_customer(
    spec: str, task: Mapping[str, Any], derived: Derived, env: Any, data_dir: Path, seed: int
) -> Any:
    """tau2's model-driven customer for `spec`, holding the task's phone in telecom; None for
    the scripted customer."""
    if spec == "scripted":
        return None
    from cxflow.llm import ModelSettings
    from cxflow.simulators.llm_customer import LLMCustomer
    from cxflow.simulators.run import customer_for
    from cxflow.tools.telecom import TelecomTools

    provider, _, model = spec.partition(":")
    base_url = None
    if "@" in model:
        model, base_url = model.split("@", 1)
    world = None
    if isinstance(env, TelecomTools):  # the task's phone, set up on both sides
        world = getattr(customer_for(derived.scenario, env, seed=seed), "world", None)
    client = None
    if base_url is not None:
        import openai

        client = openai.AsyncOpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
    return LLMCustomer.from_tau2_task(
        task,
        ModelSettings(model=model),
        provider=provider,  # pyright: ignore[reportArgumentType]
        client=client,
        world=world,
        tau2_data=data_dir,
        openai_api="chat" if base_url else "responses",
    )


_TELECOM: dict[str, Any] = {}


def _telecom_data(data_dir: Path) -> Any:
    """tau2's telecom data, read once per process."""
    from cxflow.tools.telecom.conformance import TelecomData

    key = str(Path(data_dir).resolve())
    if key not in _TELECOM:
        _TELECOM[key] = TelecomData.load(Path(data_dir) / "telecom")
    return _TELECOM[key]


def _telecom_problems(run: Conversation, criteria: Mapping[str, Any], basis: set[str]) -> list[str]:
    world = getattr(run.customer, "world", None)
    if world is None:
        return ["the customer holds no phone"]
    world.sync()
    problems = [
        f"env assertion {a['func_name']}({a['arguments']}) is not {a['assert_value']}"
        for a in criteria.get("env_assertions") or []
        if world.check(a["env_type"], a["func_name"], a["arguments"]) != a["assert_value"]
    ]
    if "ACTION" in basis:
        transfers = any(a["name"] == "transfer_to_human_agents" for a in criteria["actions"])
        handed_off = run.session.outcome == "handed_off"
        if transfers != handed_off:
            problems.append(
                "transferred to a human, which the gold actions do not"
                if handed_off
                else "the gold actions transfer to a human; the conversation did not"
            )
    return problems


def _task_trials(
    domain: str,
    task: Mapping[str, Any],
    data_dir: Path,
    k: int,
    seed: int,
    interpreter: str = "rules",
    customer: str = "scripted",
) -> dict[str, Any]:
    """Every trial of one task (in one process: the gold end state is computed once)."""
    task_id = str(task["id"])
    try:
        derived = derive(domain, task, data_dir)
        if isinstance(derived, Unsupported):
            return {
                "task_id": task_id,
                "rewards": [0.0] * k,
                "status": "unsupported",
                "reason": derived.reason,
                "first_divergent_turn": None,
            }
        trials = [
            score_trial(domain, task, derived, data_dir, seed + i, interpreter, customer)
            for i in range(k)
        ]
    except Exception as exc:  # a broken task or a bug: reported, never silently dropped
        return {
            "task_id": task_id,
            "rewards": [0.0] * k,
            "status": "error",
            "reason": f"{type(exc).__name__}: {exc}",
            "first_divergent_turn": None,
        }
    turns = [t["first_divergent_turn"] for t in trials if t["first_divergent_turn"] is not None]
    return {
        "task_id": task_id,
        "flow": derived.flow,
        "rewards": [t["reward"] for t in trials],
        "status": "ok",
        "reason": "; ".join(dict.fromkeys(t["reason"] for t in trials if t["reason"])),
        "first_divergent_turn": min(turns) if turns else None,
    }


def run_domain(
    domain: str,
    data_dir: Path | str,
    *,
    split: str = "train",
    k: int = 4,
    seed: int = 0,
    workers: int = 1,
    task_ids: Sequence[str] | None = None,
    interpreter: str = "rules",
    customer: str = "scripted",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run every task of a split k times and return the run's JSON (see the module doc)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    data_dir = Path(data_dir)
    tasks = load_tasks(data_dir, domain, split)
    if task_ids is not None:
        wanted = set(task_ids)
        tasks = [t for t in tasks if str(t["id"]) in wanted]
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    if workers <= 1:
        for index, task in enumerate(tasks):
            results[index] = _task_trials(domain, task, data_dir, k, seed, interpreter, customer)
            if progress is not None:
                progress(index + 1, len(tasks))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(
                    _task_trials, domain, task, data_dir, k, seed, interpreter, customer
                ): index
                for index, task in enumerate(tasks)
            }
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(tasks))
    final = [r for r in results if r is not None]
    nl = [
        str(t["id"])
        for t in tasks
        if "NL_ASSERTION" in ((t.get("evaluation_criteria") or {}).get("reward_basis") or [])
    ]
    return {
        "domain": domain,
        "split": split,
        "k": k,
        "interpreter": interpreter,
        "customer": customer,
        "tasks": len(final),
        "supported": sum(1 for r in final if r["status"] != "unsupported"),
        "pass_hat_k": pass_hat_k([r["rewards"] for r in final], k) if final else {},
        "results": final,
        "not_judged": {
            "nl_assertions": nl,
            "note": "natural-language assertions need a model judge: offline they are not "
            "judged and are left out of the reward",
        },
    }
