"""Gate CI on reliability: play a scenario file k times and fail below a pass^k or a transition
coverage threshold, with a failure message a person can act on.

```python
from cxflow.testing import assert_reliable

def test_refunds_hold_under_mishearing():
    assert_reliable(MyRefundFlow, "tests/refund_scenarios.yaml", k=4, pass_hat_k=1.0,
                    personas="cooperative,mishears_number:1", coverage=0.6)
```

The message names every failing task (scenario and persona), which trials failed and why, the
first divergent turn, and the last turns of the first failing transcript. The runs are offline
and in this process, so any flow class works, registered or not.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxflow.errors import UsageError
from cxflow.flow import Flow

__all__ = ["Reliability", "ReliabilityError", "assert_reliable", "assert_replays"]


class ReliabilityError(AssertionError):
    """A flow's runs fell below a reliability threshold (the message says where and why)."""


@dataclass(frozen=True, slots=True)
class Reliability:
    """What `assert_reliable` measured.

    Attributes:
        pass_hat_k: pass^1..pass^k over the tasks (tau2's estimator).
        coverage: Share of the flow's transitions the runs took.
        uncovered: The transitions no run took, as (source, event, target).
        conversations: Every conversation, as the runner's JSON lists it.
    """

    pass_hat_k: Mapping[str, float]
    coverage: float
    uncovered: tuple[tuple[str, str, str], ...]
    conversations: tuple[Mapping[str, Any], ...]


def assert_reliable(
    flow: type[Flow[Any]] | str,
    scenarios: str | Path | None = None,
    *,
    k: int = 4,
    pass_hat_k: float = 1.0,
    coverage: float | None = None,
    personas: str | None = None,
    seed: int = 0,
) -> Reliability:
    """Play every scenario k times (per persona mix) and check the thresholds.

    Args:
        flow: The flow class, or a reference flow's id.
        scenarios: A scenario file (YAML); default: the reference flow's own library.
        k: Trials per task.
        pass_hat_k: The lowest acceptable pass^k.
        coverage: The lowest acceptable share of transitions taken (None: not checked).
        personas: Persona mixes as in `cxflow simulate --personas` (default: each
            scenario's own).
        seed: The first trial's seed.

    Raises:
        ReliabilityError: Below a threshold; the message shows the failing tasks and a transcript.
        UsageError: Bad arguments (k < 1, an unknown persona, a file for another flow).
    """
    scenario_mod: Any = importlib.import_module("cxflow.simulators.scenario")
    runner: Any = importlib.import_module("cxflow.simulators.runner")
    results: Any = importlib.import_module("cxflow.simulators.results")
    run_mod: Any = importlib.import_module("cxflow.simulators.run")
    if isinstance(flow, str):
        from cxflow.registry import get_flow

        flow = get_flow(flow)
    if k < 1:
        raise UsageError("k must be at least 1")
    if scenarios is None:
        found = scenario_mod.library(flow.flow_id)
    else:
        found = scenario_mod.load_scenarios(scenarios)
        if found.flow != flow.flow_id:
            raise UsageError(f"{scenarios} is for flow {found.flow!r}, not {flow.flow_id!r}")
    try:
        mixes = runner.parse_personas(personas) if personas else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    trials = runner.plan({flow.flow_id: found.scenarios}, k=k, personas=mixes, seed=seed)
    conversations: list[dict[str, Any]] = []
    for trial in trials:
        played = run_mod.simulate(flow, trial.scenario, seed=trial.seed)
        conversations.append(
            results.conversation_json(
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
        )
    tasks: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for c in conversations:
        tasks.setdefault((c["scenario"], c["persona"]), []).append(c)
    curve: dict[str, float] = results.pass_hat_k(
        [[c["reward"] for c in items] for items in tasks.values()], k
    )
    covered: dict[str, Any] = results.coverage(flow, conversations)
    measured = Reliability(
        pass_hat_k=curve,
        coverage=covered["share"],
        uncovered=tuple(tuple(t) for t in covered["uncovered"]),
        conversations=tuple(conversations),
    )
    problems: list[str] = []
    if curve.get(str(k), 0.0) < pass_hat_k:
        problems.append(
            f"pass^{k} is {curve.get(str(k), 0.0):.3f}, below {pass_hat_k:.3f} "
            f"(pass^1 {curve['1']:.3f})"
        )
    if coverage is not None and covered["share"] < coverage:
        missing = ", ".join(f"{s} -{e}-> {t}" for s, e, t in covered["uncovered"][:8])
        problems.append(
            f"transition coverage is {covered['share']:.2f}, below {coverage:.2f}; "
            f"never taken: {missing}" + (" ..." if len(covered["uncovered"]) > 8 else "")
        )
    if problems:
        raise ReliabilityError(_message(flow.flow_id, problems, tasks))
    return measured


def assert_replays(
    records: Sequence[Mapping[str, Any]],
    *,
    flow: str,
    tau2_data: str | Path | None = None,
) -> None:
    """Replay a stored conversation with zero model calls and fail on the first difference.

    What `cxflow replay SESSION_ID --to-test FILE` writes a test around: the stored turn
    records (JSON), the flow, and the tau2 data it ran on, if any.

    Raises:
        ReliabilityError: A reply or a state differs from the recording (turn, stored, replayed).
    """
    from cxflow.interpreter import ReplayInterpreter
    from cxflow.records import TurnRecord
    from cxflow.registry import reference_flows
    from cxflow.session import Session
    from cxflow.store import MemoryStore

    stored = [TurnRecord.model_validate(r) for r in records]
    flows = reference_flows()
    root = flows[flow]
    env = root.make_env() if tau2_data is None else root.make_env(tau2_data=Path(tau2_data))
    session = Session.start(
        root, interpreter=ReplayInterpreter(stored), store=MemoryStore(), env=env, flows=flows
    )
    for record in stored:
        if session.done:
            raise ReliabilityError(
                f"turn {record.turn}: the replay had already ended ({session.outcome}); the "
                f"recording went on from state {record.state_before!r}"
            )
        turn = session.turn_sync(record.customer_text)
        for what, was, now in (
            ("reply", record.reply.text, turn.reply),
            ("state", record.state_after, turn.state),
        ):
            if was != now:
                raise ReliabilityError(
                    f"turn {record.turn} ({record.customer_text!r}): the {what} differs\n"
                    f"  recorded: {was!r}\n  replayed: {now!r}"
                )
        if turn.record.usage.model_calls:
            raise ReliabilityError(f"turn {record.turn}: the replay called a model")


def _message(
    flow: str, problems: Sequence[str], tasks: Mapping[tuple[str, str], list[Mapping[str, Any]]]
) -> str:
    lines = [f"{flow}: " + "; ".join(problems)]
    failing = [(key, items) for key, items in tasks.items() if any(c["reward"] < 1 for c in items)]
    for (scenario, persona), items in failing[:10]:
        bad = [c for c in items if c["reward"] < 1]
        first = bad[0]
        turn = first["first_divergent_turn"]
        lines.append(
            f"  task {scenario} [{persona}]: trials {[c['trial'] for c in bad]} of "
            f"{len(items)} failed; first divergent turn {turn if turn is not None else '-'}; "
            f"{first['failures'][0] if first['failures'] else 'no reason recorded'}"
        )
    if failing:
        (scenario, persona), items = failing[0]
        first = next(c for c in items if c["reward"] < 1)
        lines.append(f"  transcript of {scenario} [{persona}] trial {first['trial']}, last turns:")
        for turn in first["turns"][-4:]:
            lines.append(f"    {turn['turn']} customer: {turn['customer_text'][:100]}")
            lines.append(f"      agent ({turn['state_after']}): {turn['reply'][:100]}")
    return "\n".join(lines)
