"""What a simulation run measures, as plain JSON: pass^k, conversations, coverage, latency, cost.

pass^k is tau2-bench's estimator: for a task tried n times with c successes, the chance that k
trials drawn without replacement all succeed, C(c, k) / C(n, k), averaged over tasks. Rewards
of 1.0 count as successes (tau2: a reward of 1 within float tolerance).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from math import comb
from typing import Any

from cxflow.divergence import ConversationDivergence
from cxflow.flow import Flow
from cxflow.records import TurnRecord

__all__ = [
    "DEFAULT_PRICES",
    "TURN_KINDS",
    "conversation_json",
    "coverage",
    "pass_hat_k",
    "percentile",
    "turn_kind",
]

TURN_KINDS = ("tool", "policy", "small_talk")
"""Kinds of turn for latency: a tool ran; a transition or refusal decided something; neither."""

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    # USD per million tokens; override with `cxflow simulate --prices FILE` (same shape)
    "claude-sonnet-4-5": {"input": 3.0, "cached_input": 0.3, "output": 15.0},
    "claude-haiku-4-5": {"input": 1.0, "cached_input": 0.1, "output": 5.0},
    "gpt-5": {"input": 1.25, "cached_input": 0.125, "output": 10.0},
    "gpt-5-mini": {"input": 0.25, "cached_input": 0.025, "output": 2.0},
}
"""Public list prices used when a run's interpreter reports tokens but no cost."""


def pass_hat_k(rewards_per_task: Iterable[Sequence[float]], k_max: int) -> dict[str, float]:
    """pass^1..pass^k_max averaged over tasks (tasks with fewer than k trials are left out of
    pass^k).

    Raises:
        ValueError: No task, or `k_max` < 1.
    """
    tasks = [list(r) for r in rewards_per_task]
    if not tasks or k_max < 1:
        raise ValueError("pass^k needs at least one task and k >= 1")
    out: dict[str, float] = {}
    for k in range(1, k_max + 1):
        values = [
            comb(sum(1 for r in rewards if r >= 1.0 - 1e-6), k) / comb(len(rewards), k)
            for rewards in tasks
            if len(rewards) >= k
        ]
        if values:
            out[str(k)] = round(sum(values) / len(values), 6)
    return out


def turn_kind(record: TurnRecord) -> str:
    """The turn's kind for latency: `tool` when a tool ran, `policy` when a transition fired
    or a command or tool was refused, else `small_talk`."""
    if any(c.refused is None for c in record.tool_calls):
        return "tool"
    if record.transitions or record.rejected or record.tool_calls:
        return "policy"
    return "small_talk"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    index = min(max(round(q) - 1, 0), len(cuts) - 1)
    return float(cuts[index])


def conversation_json(
    *,
    scenario: str,
    trial: int,
    persona: str,
    seed: int,
    reward: float,
    failures: Sequence[str],
    session_id: str,
    outcome: str | None,
    records: Sequence[TurnRecord],
    divergence: ConversationDivergence,
) -> dict[str, Any]:
    """One conversation as the runner's JSON lists it (see the README, "Simulation runs")."""
    return {
        "scenario": scenario,
        "trial": trial,
        "persona": persona,
        "seed": seed,
        "reward": reward,
        "failures": list(failures),
        "session_id": session_id,
        "outcome": outcome,
        "first_divergent_turn": divergence.first_turn,
        "divergences": [
            {
                "turn": d.turn,
                "fact": d.fact,
                "kind": d.kind,
                "agent": d.agent,
                "customer": d.customer,
                "truth": d.truth,
                "repaired": d.repaired,
            }
            for d in divergence.divergences
        ],
        "turns": [_turn_json(r) for r in records],
    }


def _turn_json(record: TurnRecord) -> dict[str, Any]:
    timings = record.timings
    latency = timings.total_ms or (
        timings.interpret_ms + timings.machine_ms + timings.tools_ms + timings.store_ms
    )
    return {
        "turn": record.turn,
        "flow": record.flow,
        "state_before": record.state_before,
        "state_after": record.state_after,
        "kind": turn_kind(record),
        "latency_ms": round(latency, 3),
        "input_tokens": record.usage.input_tokens,
        "cached_input_tokens": record.usage.cached_input_tokens,
        "output_tokens": record.usage.output_tokens,
        "cost_usd": record.usage.cost_usd,
        "model_calls": record.usage.model_calls,
        "first_token_ms": record.usage.first_token_ms,
        "model_ms": record.usage.model_ms,
        "model": record.usage.model,
        "customer_text": record.customer_text,
        "reply": record.reply.text,
        "transitions": [[t.source, t.event, t.target] for t in record.transitions],
        "tool_calls": [
            {"tool": c.tool, "arguments": c.arguments, "refused": c.refused}
            for c in record.tool_calls
        ],
    }


def coverage(flow: type[Flow[Any]], conversations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Which of the flow's own transitions (source, event, target) the conversations took."""
    spec = flow.spec
    every = sorted(
        {(t.source, t.event, t.target) for s in spec.states.values() for t in s.transitions}
    )
    taken = {
        (source, event, target)
        for c in conversations
        for turn in c["turns"]
        if turn["flow"] == spec.flow_id
        for source, event, target in turn["transitions"]
    }
    covered = [t for t in every if t in taken]
    return {
        "transitions": len(every),
        "covered": len(covered),
        "share": round(len(covered) / len(every), 4) if every else 1.0,
        "uncovered": [list(t) for t in every if t not in taken],
    }
