"""What every model interpreter shares: the prompt, output parsing, retries, prices, fallback
chains, per-state routing and the `--interpreter` spec."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cxflow import RuleInterpreter, Session
from cxflow.cli import main
from cxflow.errors import UsageError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.interpreter import Interpretation, TurnView
from cxflow.llm import (
    STATIC,
    FallbackInterpreter,
    ModelSettings,
    RoutedInterpreter,
    build_prompt,
    call_with_retries,
    cost_usd,
    parse_model_output,
)
from cxflow.llm.spec import interpreter_from_spec
from cxflow.records import Usage


class Capture:
    """Records the view of each turn and answers like the rules."""

    name = "capture"
    synchronous = True

    def __init__(self) -> None:
        self.views: list[TurnView] = []

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        self.views.append(view)
        return await RuleInterpreter().interpret(view, text)


class Down:
    """An interpreter whose API never answers."""

    name = "down"

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        return Interpretation(
            commands=[], error="api down", usage=Usage(model_calls=3), unavailable=True
        )


def _view_at_confirmation() -> TurnView:
    capture = Capture()
    session = Session.start(PlanUpgrade, interpreter=capture)
    for text in ("555-014-3301", "555-014-3301", "Everyday 20", "yes"):
        session.turn_sync(text)
    return capture.views[-1]


def test_the_prompt_holds_the_state_and_never_the_policy() -> None:
    view = _view_at_confirmation()
    prompt = build_prompt(view, "yes")
    assert prompt.static == STATIC  # the cached prefix is the same for every turn
    assert "State: awaiting_confirmation" in prompt.turn
    assert "confirm_price" in prompt.turn and "decline_price" in prompt.turn
    assert "Everyday 20 costs $55.00" in prompt.turn  # what the agent just said
    assert 'quoted_price = "55.00"' in prompt.turn  # facts just stated
    assert "Customer's message: 'yes'" in prompt.turn
    assert len(prompt.static) + len(prompt.turn) < 6000
    events = [v for v in prompt.schema["properties"]["commands"]["items"]["anyOf"]]
    take = next(v for v in events if v["properties"]["type"].get("const") == "take")
    assert take["properties"]["event"]["enum"] == ["confirm_price", "decline_price"]


def test_model_output_garbage_is_an_error_on_the_record_not_an_exception() -> None:
    usage = Usage(model_calls=1)
    good = parse_model_output('{"commands": [{"type": "noop"}]}', usage)
    assert good.error is None and len(good.commands) == 1
    assert parse_model_output("{not json", usage).error is not None
    assert "malformed JSON" in str(parse_model_output("{not json", usage).error)
    assert parse_model_output({"commands": [{"type": "fly"}]}, usage).error is not None


def test_cost_counts_uncached_cached_and_output_tokens_at_the_models_prices() -> None:
    cost = cost_usd(
        "claude-haiku-4-5-20251001",
        input_tokens=1_000_000,
        cached_input_tokens=500_000,
        output_tokens=100_000,
    )
    assert cost == pytest.approx(0.5 * 1.0 + 0.5 * 0.1 + 0.1 * 5.0)
    assert cost_usd("my-local-llama", input_tokens=10, cached_input_tokens=0, output_tokens=5) == 0


def test_retries_back_off_on_retryable_failures_and_give_up_after_max_retries() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = {"n": 0}

    async def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise TimeoutError("slow")
        return "ok"

    settings = ModelSettings("m", max_retries=3, backoff_s=1.0)
    result = asyncio.run(
        call_with_retries(flaky, settings, is_retryable=lambda e: True, sleep=sleep)
    )
    assert result == ("ok", 3)
    assert len(waits) == 2 and 1.0 <= waits[0] <= 1.25 and 2.0 <= waits[1] <= 2.5

    async def broken() -> str:
        raise ValueError("bad request")

    with pytest.raises(ValueError):
        asyncio.run(call_with_retries(broken, settings, is_retryable=lambda e: False, sleep=sleep))


def test_a_fallback_chain_answers_when_the_first_api_is_down() -> None:
    chain = FallbackInterpreter([Down(), RuleInterpreter()])
    session = Session.start(PlanUpgrade, interpreter=chain)
    turn = session.turn_sync("555-014-3301")
    assert turn.state == "choose_line"
    record = session.turns()[-1]
    assert record.interpreter == "down > rules"
    assert record.usage.model_calls == 3  # the failed calls are counted


def test_routing_sends_each_state_to_its_interpreter() -> None:
    seen: list[str] = []

    class Named(RuleInterpreter):
        def __init__(self, label: str) -> None:
            self.label = label

        async def interpret(self, view: TurnView, text: str) -> Interpretation:
            seen.append(f"{self.label}@{view.state}")
            return await super().interpret(view, text)

    routed = RoutedInterpreter(
        {"awaiting_confirmation": Named("strong"), "plan_upgrade.choose_plan": Named("mid")},
        Named("cheap"),
    )
    session = Session.start(PlanUpgrade, interpreter=routed)
    for text in ("555-014-3301", "555-014-3301", "Everyday 20", "yes"):
        session.turn_sync(text)
    assert seen == [
        "cheap@identify",
        "cheap@choose_line",
        "mid@choose_plan",
        "strong@awaiting_confirmation",
    ]
    assert session.state == "changed"


def test_interpreter_specs() -> None:
    assert isinstance(interpreter_from_spec("rules"), RuleInterpreter)
    chain = interpreter_from_spec("rules>rules")
    assert isinstance(chain, FallbackInterpreter) and chain.name == "rules > rules"
    routed = interpreter_from_spec("awaiting_confirmation=rules,*=rules>rules")
    assert isinstance(routed, RoutedInterpreter)
    assert set(routed.routes) == {"awaiting_confirmation"}
    with pytest.raises(UsageError, match="needs a default"):
        interpreter_from_spec("awaiting_confirmation=rules")
    with pytest.raises(UsageError, match="unknown provider 'mistral'"):
        interpreter_from_spec("mistral:large")
    with pytest.raises(UsageError, match="unknown interpreter 'gpt'"):
        interpreter_from_spec("gpt")


def test_simulate_compares_interpreter_configurations_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    argv = ["simulate", "refuel_data", "-k", "1", "--interpreter", "rules"]
    argv += ["--interpreter", "rules>rules", "--db", str(tmp_path / "c.db"), "--json", str(out)]
    assert main([*argv, "--quiet", "--workers", "1"]) == 0
    result = json.loads(out.read_text())
    rows = {row["interpreter"]: row for row in result["comparison"]}
    assert set(rows) == {"rules", "rules>rules"}
    for row in rows.values():
        assert row["pass_hat_k"]["1"] > 0
        assert set(row["latency_ms"]) == {"all", "tool", "policy", "small_talk"}
        assert row["monthly_cost_usd"] == 0.0  # offline: no tokens


def test_the_schema_sent_to_models_is_strict_mode_compatible_in_every_state() -> None:
    from cxflow.llm.openai_interpreter import strict_schema_ok

    capture = Capture()
    session = Session.start(PlanUpgrade, interpreter=capture)
    for text in ("555-014-3301", "555-014-3301", "Everyday 20", "yes"):
        session.turn_sync(text)
    for view in capture.views:
        assert strict_schema_ok(build_prompt(view, "x").schema), view.state
