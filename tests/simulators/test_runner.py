"""The simulation runner: tau2's pass^k estimator, trials in processes, stored runs, the CLI's
JSON contracts (`cxflow simulate`, `cxflow tau2`)."""

from __future__ import annotations

import json
import os
from math import comb
from pathlib import Path

import pytest

from cxflow.cli import main
from cxflow.simulators.results import pass_hat_k, percentile
from cxflow.simulators.runner import parse_personas, plan, report, run
from cxflow.simulators.scenario import library
from cxflow.sql_store import SqlStore
from cxflow.store import MemoryStore

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)


def test_pass_hat_k_is_taus_estimator_averaged_over_tasks() -> None:
    curve = pass_hat_k([[1, 1, 0, 0], [1, 1, 1, 1]], 4)
    assert curve["1"] == pytest.approx((2 / 4 + 1) / 2)
    assert curve["2"] == pytest.approx((comb(2, 2) / comb(4, 2) + 1) / 2)
    assert curve["3"] == pytest.approx((0 + 1) / 2)
    assert curve["4"] == pytest.approx(0.5)


def test_pass_hat_k_leaves_out_tasks_with_fewer_trials_and_refuses_nonsense() -> None:
    assert pass_hat_k([[1.0], [1.0, 0.0]], 2) == {"1": 0.75, "2": 0.0}
    with pytest.raises(ValueError, match="at least one task"):
        pass_hat_k([], 2)


def test_percentiles_interpolate() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)  # 1 + 0.99 * (100 - 1)
    assert percentile([], 95) == 0.0


def test_personas_are_read_with_probabilities_and_unknown_ones_refused() -> None:
    assert parse_personas("cooperative,terse,mishears_number:1") == [
        {},
        {"terse": 0.5},
        {"mishears_number": 1.0},
    ]
    with pytest.raises(ValueError, match="unknown persona 'grumpy'; known: cooperative"):
        parse_personas("grumpy")
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_personas("terse:2")


def test_trials_in_processes_give_the_same_conversations_as_in_one() -> None:
    trials = plan(
        {"plan_upgrade": library("plan_upgrade").scenarios},
        k=2,
        personas=parse_personas("cooperative,mishears_number:1"),
    )
    assert len(trials) == len(library("plan_upgrade").scenarios) * 2 * 2
    alone = run(trials, workers=1)
    pooled = run(trials, workers=2)
    strip = [{k: v for k, v in c.items() if k not in ("session_id", "turns")} for c in alone]
    assert strip == [
        {k: v for k, v in c.items() if k not in ("session_id", "turns")} for c in pooled
    ]
    result = report(pooled, k=2)
    flow = result["flows"]["plan_upgrade"]
    assert flow["tasks"] == len(library("plan_upgrade").scenarios) * 2
    assert set(flow["pass_hat_k"]) == {"1", "2"}
    assert 0 < flow["coverage"]["covered"] <= flow["coverage"]["transitions"]


@pytest.mark.parametrize("store", [MemoryStore(), None])
def test_stores_keep_runs(store: MemoryStore | None, tmp_path: Path) -> None:
    kept = store if store is not None else SqlStore(tmp_path / "runs.db")
    kept.save_run("r1", "simulate", "first", {"k": 1})
    kept.save_run("r2", "tau2", "second", {"k": 2})
    assert kept.load_run("r2") == {"k": 2}
    assert [r.run_id for r in kept.list_runs()] == ["r2", "r1"]
    with pytest.raises(KeyError):
        kept.load_run("nope")


def test_cxflow_simulate_writes_the_json_contract_and_stores_every_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, db = tmp_path / "run.json", tmp_path / "sim.db"
    argv = ["simulate", "refuel_data", "--personas", "cooperative,mishears_number:1", "-k", "2"]
    code = main([*argv, "--db", str(db), "--json", str(out), "--workers", "1", "--quiet"])
    assert code == 0
    result = json.loads(out.read_text())
    flow = result["flows"]["refuel_data"]
    assert set(flow["pass_hat_k"]) == {"1", "2"}
    conversation = flow["conversations"][0]
    assert {"scenario", "trial", "persona", "reward", "divergences"} <= set(conversation)
    misheard = [c for c in flow["conversations"] if c["divergences"]]
    assert misheard, "the mishearing persona must diverge somewhere"
    assert set(misheard[0]["divergences"][0]) == {
        "turn",
        "fact",
        "kind",
        "agent",
        "customer",
        "truth",
        "repaired",
    }
    store = SqlStore(db)
    assert store.load_run(result["run_id"])["flows"].keys() == {"refuel_data"}
    stored = store.turns(conversation["session_id"])
    assert [r.customer_text for r in stored] == [t["customer_text"] for t in conversation["turns"]]
    store.close()
    assert "refuel_data" in capsys.readouterr().out


def test_cxflow_simulate_refuses_a_scenario_file_of_another_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("flow: refuel_data\nscenarios:\n  - name: a\n")
    code = main(["simulate", "plan_upgrade", "--scenarios", str(mine), "--db", str(tmp_path / "x")])
    assert code == 2
    assert "is for flow 'refuel_data', not 'plan_upgrade'" in capsys.readouterr().err


def test_cxflow_tau2_writes_the_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    tasks = ["[service_issue]airplane_mode_on|unseat_sim_card[PERSONA:None]"]
    argv = ["tau2", "telecom", "--tau2-data", str(TAU2_DATA), "-k", "2", "--json", str(out)]
    assert main([*argv, "--task", tasks[0], "--workers", "1", "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert {"domain", "split", "k", "tasks", "supported", "pass_hat_k", "results"} <= set(result)
    assert (result["domain"], result["split"], result["k"], result["tasks"]) == (
        "telecom",
        "train",
        2,
        1,
    )
    (only,) = result["results"]
    assert set(only) >= {"task_id", "rewards", "status", "reason", "first_divergent_turn"}
    assert only["task_id"] == tasks[0] and only["status"] == "ok"
    assert only["rewards"] == [1.0, 1.0] and result["pass_hat_k"] == {"1": 1.0, "2": 1.0}


def test_cxflow_tau2_names_a_missing_split_and_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tau2", "telecom", "--tau2-data", str(tmp_path), "--quiet"]) == 2
    assert "has no telecom/ folder" in capsys.readouterr().err
    code = main(["tau2", "telecom", "--tau2-data", str(TAU2_DATA), "--split", "dev", "--quiet"])
    assert code == 1
    assert "no split 'dev'; this data has ['train', 'base']" in capsys.readouterr().err


@pytest.mark.slow
def test_telecom_train_split_meets_the_reliability_targets_under_taus_persona_mix() -> None:
    from cxflow.simulators.tau2.runner import run_domain

    result = run_domain("telecom", TAU2_DATA, split="train", k=4, workers=2)
    assert result["tasks"] == result["supported"] == 74
    assert result["pass_hat_k"]["1"] >= 0.95, result["pass_hat_k"]
    assert result["pass_hat_k"]["4"] >= 0.90, result["pass_hat_k"]


def test_the_event_loop_runner_limits_concurrency_and_matches_the_process_runner() -> None:
    import asyncio

    from cxflow import RuleInterpreter
    from cxflow.simulators.runner import run_async

    live = {"now": 0, "most": 0}

    class Counting(RuleInterpreter):
        """The rules, yielding to the loop like a model call would, counting overlap."""

        synchronous = False

        async def interpret(self, view, text):  # type: ignore[no-untyped-def]
            live["now"] += 1
            live["most"] = max(live["most"], live["now"])
            await asyncio.sleep(0)
            try:
                return await super().interpret(view, text)
            finally:
                live["now"] -= 1

    trials = plan({"refuel_data": library("refuel_data").scenarios}, k=3)
    loop = asyncio.run(run_async(trials, concurrency=2, interpreter=Counting))
    alone = run(trials, workers=1)
    keys = ("scenario", "trial", "persona", "reward", "divergences")
    assert [{k: c[k] for k in keys} for c in loop] == [{k: c[k] for k in keys} for c in alone]
    assert live["most"] == 2


def test_cxflow_tau2_can_put_taus_model_driven_customer_in_front_of_the_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anthropic
    import httpx2

    from cxflow.simulators import llm_customer
    from cxflow.simulators.tau2.runner import run_domain

    requests: list[dict[str, object]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(json.loads(request.content))
        return httpx2.Response(
            200,
            json={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-haiku-4-5",
                "content": [{"type": "text", "text": "###STOP###"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 900, "output_tokens": 3},
            },
        )

    client = anthropic.AsyncAnthropic(
        api_key="test", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    )
    original = llm_customer.LLMCustomer.from_tau2_task

    def with_mock(task: object, settings: object, **kwargs: object) -> object:
        assert kwargs["world"] is not None  # the telecom customer holds the task's phone
        return original(task, settings, **{**kwargs, "client": client})  # type: ignore[arg-type]

    monkeypatch.setattr(llm_customer.LLMCustomer, "from_tau2_task", with_mock)
    task = "[service_issue]airplane_mode_on|unseat_sim_card[PERSONA:None]"
    result = run_domain(
        "telecom", TAU2_DATA, k=1, task_ids=[task], customer="anthropic:claude-haiku-4-5"
    )
    (only,) = result["results"]
    assert result["customer"] == "anthropic:claude-haiku-4-5"
    assert only["status"] == "ok" and only["rewards"] == [0.0]  # the customer left at once
    assert "did not end" in only["reason"] or "env assertion" in only["reason"]
    system = json.dumps(requests[0]["system"])
    assert "555-123-2002" in system  # the task's own user scenario reached the model
