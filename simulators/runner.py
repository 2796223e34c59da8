"""Run many simulated conversations: k trials per task, in parallel processes, stored, summarized.

A task is a scenario played with one persona mix. `plan` lists the trials (k per task, seeds
`seed + trial`), `run` plays them (a process pool for offline runs; each worker stores its
conversations when given a database), and `report` turns the conversations into the run's JSON:
per flow pass^1..pass^k, every conversation with its divergences and turns, and transition
coverage. The JSON is the contract of `cxflow simulate --json` (README, "Simulation runs").
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from cxflow.registry import get_flow
from cxflow.simulators.results import conversation_json, coverage, pass_hat_k
from cxflow.simulators.run import simulate
from cxflow.simulators.scenario import PERSONAS, Scenario

__all__ = ["Trial", "parse_personas", "plan", "report", "run", "run_async", "run_trial"]


@dataclass(frozen=True, slots=True)
class Trial:
    """One conversation to play.

    Attributes:
        flow: The flow id.
        scenario: The scenario, with the persona mix of this task applied.
        persona: The task's persona label ("cooperative", "terse", "terse+impatient", ...).
        trial: Index of the trial within its task (0..k-1).
        seed: The customer's seed.
    """

    flow: str
    scenario: Scenario
    persona: str
    trial: int
    seed: int

    @property
    def task(self) -> tuple[str, str, str]:
        """(flow, scenario, persona): trials of one task are compared for pass^k."""
        return (self.flow, self.scenario.name, self.persona)


def parse_personas(text: str) -> list[dict[str, float]]:
    """Read `--personas`: comma-separated names, each optionally `name:probability`
    (default 0.5; `cooperative` means no persona). Each entry is one persona mix.

    Raises:
        ValueError: An unknown persona or a probability outside 0..1, with the known names.
    """
    mixes: list[dict[str, float]] = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        name, _, chance = item.partition(":")
        if name not in PERSONAS:
            raise ValueError(f"unknown persona {name!r}; known: {', '.join(PERSONAS)}")
        try:
            probability = float(chance) if chance else 0.5
        except ValueError:
            raise ValueError(f"persona {name!r}: {chance!r} is not a probability") from None
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"persona {name!r}: probability must be between 0 and 1")
        mixes.append({} if name == "cooperative" else {name: probability})
    if not mixes:
        raise ValueError(f"no persona given; known: {', '.join(PERSONAS)}")
    return mixes


def _label(personas: Mapping[str, float]) -> str:
    return "+".join(sorted(personas)) or "cooperative"


def plan(
    scenarios: Mapping[str, Sequence[Scenario]],
    *,
    k: int,
    personas: Sequence[Mapping[str, float]] | None = None,
    seed: int = 0,
) -> list[Trial]:
    """The trials of a run: for every flow, scenario and persona mix, k trials.

    Args:
        scenarios: Flow id -> its scenarios.
        k: Trials per task.
        personas: Persona mixes to play every scenario with, on top of the scenario's own
            personas (None: each scenario's own only).
        seed: The first trial's seed (trial i uses `seed + i`).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    trials: list[Trial] = []
    for flow, items in scenarios.items():
        for scenario in items:
            mixes: list[Mapping[str, float]] = [{}] if personas is None else list(personas)
            for mix in mixes:
                # a scenario's own personas stay (an adversarial scenario is adversarial)
                merged = {**scenario.personas, **mix}
                played = scenario.model_copy(update={"personas": merged})
                trials += [Trial(flow, played, _label(merged), i, seed + i) for i in range(k)]
    return trials


def run_trial(trial: Trial, db: str | None = None, run_id: str = "") -> dict[str, Any]:
    """Play one trial (in this process) and return its conversation JSON with `"flow"`."""
    store = None
    if db is not None:
        from cxflow.sql_store import SqlStore

        store = SqlStore(db)
    try:
        played = simulate(
            get_flow(trial.flow),
            trial.scenario,
            seed=trial.seed,
            store=store,
            meta={"run_id": run_id, "persona": trial.persona, "trial": str(trial.trial)},
        )
    finally:
        if store is not None:
            store.close()
    return {"flow": trial.flow, **_conversation(trial, played)}


def _conversation(trial: Trial, played: Any) -> dict[str, Any]:
    return conversation_json(
        scenario=trial.scenario.name,
        trial=trial.trial,
        persona=trial.persona,
        seed=trial.seed,
        reward=played.reward,
        failures=played.failures,
        session_id=played.session.id,
        outcome=played.session.outcome,
        records=played.records,
        divergence=played.divergence,
    )


def _run_chunk(trials: Sequence[Trial], db: str | None, run_id: str) -> list[dict[str, Any]]:
    return [run_trial(t, db, run_id) for t in trials]


def run(
    trials: Sequence[Trial],
    *,
    workers: int = 1,
    db: str | None = None,
    run_id: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Play every trial; return the conversations in the order of `trials`.

    With `workers` > 1 the trials run in a process pool (offline runs are CPU-bound), in chunks
    so each process pays its start-up once. `progress(done, total)` is called as trials end.
    """
    total = len(trials)
    if workers <= 1 or total < 2:
        out: list[dict[str, Any]] = []
        for index, trial in enumerate(trials):
            out.append(run_trial(trial, db, run_id))
            if progress is not None:
                progress(index + 1, total)
        return out
    size = max(1, min(50, total // (workers * 4) or 1))
    chunks = [list(trials[i : i + size]) for i in range(0, total, size)]
    results: dict[int, list[dict[str, Any]]] = {}
    done = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_chunk, c, db, run_id): i for i, c in enumerate(chunks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done += len(results[futures[future]])
            if progress is not None:
                progress(done, total)
    return [item for i in range(len(chunks)) for item in results[i]]


async def run_async(
    trials: Sequence[Trial],
    *,
    concurrency: int = 8,
    interpreter: Callable[[], Any] | None = None,
    db: str | None = None,
    run_id: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Play every trial in this process's event loop, at most `concurrency` at a time.

    For model-backed interpreters, whose turns wait on the network: processes would only add
    overhead. `interpreter()` makes one interpreter per conversation (default: the offline
    rules). Conversations come back in the order of `trials`.
    """
    import asyncio

    from cxflow.simulators.run import simulate_async

    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0
    store = None
    if db is not None:
        from cxflow.sql_store import SqlStore

        store = SqlStore(db)

    async def one(trial: Trial) -> dict[str, Any]:
        nonlocal done
        async with gate:
            played = await simulate_async(
                get_flow(trial.flow),
                trial.scenario,
                seed=trial.seed,
                interpreter=interpreter() if interpreter is not None else None,
                store=store,
                meta={"run_id": run_id, "persona": trial.persona, "trial": str(trial.trial)},
            )
        done += 1
        if progress is not None:
            progress(done, len(trials))
        return {"flow": trial.flow, **_conversation(trial, played)}

    try:
        return list(await asyncio.gather(*(one(t) for t in trials)))
    finally:
        if store is not None:
            store.close()


def report(
    conversations: Iterable[Mapping[str, Any]],
    *,
    k: int,
    run_id: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's JSON: per flow, pass^1..pass^k, its conversations and transition coverage."""
    by_flow: dict[str, list[dict[str, Any]]] = {}
    for item in conversations:
        flow = item["flow"]
        entry = {key: value for key, value in item.items() if key != "flow"}
        by_flow.setdefault(flow, []).append(entry)
    flows: dict[str, Any] = {}
    for flow, items in by_flow.items():
        tasks: dict[tuple[str, str], list[float]] = {}
        for c in items:
            tasks.setdefault((c["scenario"], c["persona"]), []).append(c["reward"])
        budget = get_flow(flow).first_token_budget_ms
        flows[flow] = {
            "pass_hat_k": pass_hat_k(tasks.values(), k),
            "tasks": len(tasks),
            "conversations": items,
            "coverage": coverage(get_flow(flow), items),
            "first_token_budget_ms": budget,
            "budget_breaches": [
                {
                    "scenario": c["scenario"],
                    "trial": c["trial"],
                    "turn": t["turn"],
                    "first_token_ms": t["first_token_ms"],
                }
                for c in items
                for t in c["turns"]
                if budget is not None and t["first_token_ms"] > budget
            ],
        }
    return {
        "run_id": run_id or uuid.uuid4().hex[:12],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "k": k,
        **dict(settings or {}),
        "flows": flows,
    }


def compare(
    interpreter: str, result: Mapping[str, Any], *, sessions_per_day: int = 10_000
) -> dict[str, Any]:
    """One row of a side-by-side comparison of interpreter configurations on the same
    scenarios: pass^k over every flow, latency p50/p99 per turn kind, tokens and cost."""
    from cxflow.simulators.results import TURN_KINDS, percentile

    conversations = [c for f in result["flows"].values() for c in f["conversations"]]
    turns = [t for c in conversations for t in c["turns"]]
    tasks: dict[tuple[str, str, str], list[float]] = {}
    for flow, data in result["flows"].items():
        for c in data["conversations"]:
            tasks.setdefault((flow, c["scenario"], c["persona"]), []).append(c["reward"])
    latency: dict[str, dict[str, float]] = {}
    for kind in ("all", *TURN_KINDS):
        values = [t["latency_ms"] for t in turns if kind == "all" or t["kind"] == kind]
        latency[kind] = {
            "p50": round(percentile(values, 50), 3),
            "p99": round(percentile(values, 99), 3),
            "turns": len(values),
        }
    cost = sum(t["cost_usd"] for t in turns)
    per_conversation = cost / len(conversations) if conversations else 0.0
    return {
        "interpreter": interpreter,
        "pass_hat_k": pass_hat_k(tasks.values(), result["k"]) if tasks else {},
        "latency_ms": latency,
        "tokens_per_turn": (
            sum(t["input_tokens"] + t["output_tokens"] for t in turns) / len(turns)
            if turns
            else 0.0
        ),
        "model_calls_per_turn": (
            sum(t["model_calls"] for t in turns) / len(turns) if turns else 0.0
        ),
        "cost_per_conversation_usd": round(per_conversation, 8),
        "monthly_cost_usd": round(per_conversation * sessions_per_day * 30, 2),
        "sessions_per_day": sessions_per_day,
    }


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def progress_bar(stream: TextIO = sys.stderr) -> Callable[[int, int], None]:
    """A one-line progress bar on a terminal; a line every 10% otherwise (logs, CI)."""
    tty = stream.isatty()
    shown = {"tenth": -1}

    def show(done: int, total: int) -> None:
        if tty:
            filled = int(30 * done / total)
            bar = "#" * filled + "." * (30 - filled)
            stream.write(f"\r[{bar}] {done}/{total} conversations")
            if done == total:
                stream.write("\n")
            stream.flush()
            return
        tenth = 10 * done // total
        if tenth != shown["tenth"]:
            shown["tenth"] = tenth
            stream.write(f"{done}/{total} conversations\n")
            stream.flush()

    return show
