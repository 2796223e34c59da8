"""Fuzzed model output: every reference flow keeps its invariants whatever the model says.

Each flow gets the fixed "ci" budget of Hypothesis examples (derandomized: every run plays the
same conversations); the summary at the end of the run lists the examples tried and the states
reached per flow. The checker itself is tested against engines and stores broken on purpose,
since a check that cannot fail would prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from pydantic import BaseModel

import cxflow._turn as turn_module
from cxflow import Flow, MemoryStore, RuleInterpreter, Session
from cxflow.commands import Command, SetSlot, Take
from cxflow.flow import State, auto, describe
from cxflow.interpreter import ScriptedInterpreter
from cxflow.records import Reply, TransitionTaken
from cxflow.registry import reference_flows
from cxflow.simulators.reliability import fuzz
from cxflow.simulators.reliability.fuzz import PLANS, FlowReport, fuzz_flow
from cxflow.simulators.reliability.invariants import Break, SessionWatch, watch_tool_calls
from cxflow.tooling import ToolCallContext, tool

FLOWS = reference_flows()
PLAN = PLANS["ci"]


@pytest.fixture(scope="module")
def tried(request: pytest.FixtureRequest) -> Iterator[dict[str, FlowReport]]:
    """Collects each flow's report; prints the examples tried and states reached at the end."""
    reports: dict[str, FlowReport] = {}
    yield reports
    reporter: Any = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not reports:
        return
    lines = [
        "",
        f"fuzzed model output: {len(reports)} flows, "
        f"{sum(r.examples for r in reports.values())} examples, "
        f"{sum(r.turns for r in reports.values())} turns, "
        f"{sum(r.writes for r in reports.values())} writes checked",
        *(
            f"  {flow_id}: {r.examples} examples, {r.turns} turns, "
            f"{len(r.reached)}/{len(r.states)} states reached"
            for flow_id, r in reports.items()
        ),
    ]
    capture: Any = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)


def happy_path(flow: type[Flow[Any]]) -> set[str]:
    """The states of a flow its example conversation passes through."""
    session = Session.start(flow, interpreter=RuleInterpreter())
    seen = {session.state}
    for line in flow.example:
        for t in session.turn_sync(line).record.transitions:
            if t.flow == flow.flow_id and "." not in t.target:
                seen.add(t.target)
    return seen


@pytest.mark.parametrize("flow_id", list(FLOWS))
def test_fuzzed_model_output_breaks_no_invariant(
    flow_id: str, tried: dict[str, FlowReport]
) -> None:
    flow = FLOWS[flow_id]

    report = fuzz_flow(flow, PLAN)
    tried[flow_id] = report

    assert report.examples == PLAN.examples + len(fuzz.baseline(flow, PLAN))  # all played
    assert report.turns > report.examples
    assert report.broken() == 0, "\n".join(report.found)
    assert report.found == []
    missed = happy_path(flow) - report.reached
    assert not missed, f"the fuzzer never reached {sorted(missed)} of the happy path"


def test_the_category_counts_every_turn_played_as_a_case() -> None:
    report = fuzz_flow(FLOWS["plan_upgrade"], fuzz.FuzzPlan(examples=3, max_turns=2))

    result = fuzz.category([report, report])

    assert result.category == "fuzzed_model_output"
    assert result.cases == 2 * report.turns
    assert result.broken() == 0


# -- the checker catches what it should: a small payment flow and broken engines -----------------


class PaySlots(BaseModel):
    """What the toy payment flow knows."""

    amount: int | None = None
    paid: bool | None = None
    error: str | None = None


def amount_given(slots: PaySlots) -> bool:
    """An amount is needed."""
    return slots.amount is not None


def small_amount(slots: PaySlots) -> bool:
    """Only amounts up to 100 can be paid."""
    return slots.amount is not None and slots.amount <= 100


def was_paid(slots: PaySlots) -> bool:
    """The payment went through."""
    return slots.paid is True


def payment_failed(slots: PaySlots) -> bool:
    """The payment was refused."""
    return slots.error is not None


@tool(
    reads=("amount",),
    writes=("paid",),
    side_effect=True,
    needs_confirmation=True,
    guard=small_amount,
    error_slot="error",
)
def pay(slots: PaySlots, env: list[int], call: ToolCallContext) -> dict[str, object]:
    """Pay the amount."""
    assert slots.amount is not None
    env.append(slots.amount)
    return {"paid": True}


class Pay(Flow[PaySlots]):
    """Pay an amount after the customer confirms it (or, wrongly, skips the confirmation)."""

    ask = State(initial=True, fills=("amount",), say="How much?")
    confirm = State(say="Pay ${amount}?")
    paying = State(tools=(pay,))
    done = State(final=True, say="Paid.")
    failed = State(final=True, outcome="failed", say="Not paid: {error}.")

    given = auto(ask.to(confirm, cond=amount_given))
    yes = describe(confirm.to(paying), "The customer agrees.", confirms=pay)
    skip = describe(confirm.to(paying), "Pay without asking (only the engine stops it).")
    went = auto(paying.to(done, cond=was_paid) | paying.to(failed, cond=payment_failed))


def checked(
    script: Sequence[Sequence[Command]], *, store: MemoryStore | None = None
) -> tuple[list[Break], list[int]]:
    """Play a script on the payment flow with the watch on; the breaks and the payments."""
    store = store or MemoryStore()
    payments: list[int] = []
    session = Session.start(Pay, interpreter=ScriptedInterpreter(script), store=store, env=payments)
    watch = SessionWatch(flows=session.flows, opening=store.load_session(session.id), store=store)
    breaks: list[Break] = []
    with watch_tool_calls() as calls:
        for _ in script:
            if session.done:
                break
            mark = len(calls)
            record = session.turn_sync("yes").record  # only the customer's yes confirms
            breaks += watch.after_turn(
                text="yes",
                interpreter="scripted",
                emitted=record.attempts,
                errors=[None] * len(record.attempts),
                record=record,
                snapshot=store.load_session(session.id),
                calls=calls[mark:],
            )
    return breaks, payments


AMOUNT = [SetSlot(slot="amount", value=50)]
TOO_MUCH = [SetSlot(slot="amount", value=500)]


def test_a_confirmed_payment_passes_every_check() -> None:
    breaks, payments = checked([AMOUNT, [Take(event="yes")]])

    assert payments == [50]
    assert breaks == []


def test_the_engine_refuses_an_unconfirmed_or_unguarded_write_and_the_checker_agrees() -> None:
    skipped, none = checked([AMOUNT, [Take(event="skip")]])
    too_much, nothing = checked([TOO_MUCH, [Take(event="yes")]])

    assert (none, nothing) == ([], [])
    assert skipped == too_much == []


def test_the_checker_catches_a_write_run_without_confirmation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turn_module, "tool_refusal", lambda *args: None)  # type: ignore[misc]

    breaks, payments = checked([AMOUNT, [Take(event="skip")]])

    assert payments == [50]
    assert [b.kind for b in breaks] == ["policy"]
    assert "without the customer confirming" in breaks[0].message


def test_the_checker_catches_a_write_run_with_its_guard_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turn_module, "tool_refusal", lambda *args: None)  # type: ignore[misc]

    breaks, payments = checked([TOO_MUCH, [Take(event="yes")]])

    assert payments == [500]
    assert [b.kind for b in breaks] == ["policy"]
    assert "guard false" in breaks[0].message


def test_the_checker_catches_a_write_missing_from_the_journal() -> None:
    class ForgetfulStore(MemoryStore):
        def record_effect(
            self, key: str, *, session_id: str, turn: int, tool: str, updates: Any
        ) -> None:
            pass

    breaks, payments = checked([AMOUNT, [Take(event="yes")]], store=ForgetfulStore())

    assert payments == [50]
    assert [b.kind for b in breaks] == ["lost"]


def test_the_checker_catches_a_write_run_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    once = turn_module.TurnRun._run_tool  # pyright: ignore[reportPrivateUsage]
    keys = iter(range(100))

    async def twice(self: turn_module.TurnRun, tool: Any) -> bool:
        await once(self, tool)
        return await once(self, tool)

    # an engine that retries a write under a new idempotency key: the journal cannot help
    monkeypatch.setattr(turn_module.TurnRun, "_run_tool", twice)
    monkeypatch.setattr(turn_module, "idempotency_key", lambda *args: f"key-{next(keys)}")

    breaks, payments = checked([AMOUNT, [Take(event="yes")]])

    assert payments == [50, 50]
    assert "doubled" in [b.kind for b in breaks]


def test_the_checker_catches_an_empty_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turn_module.TurnRun, "_reply", lambda self: Reply(text=" "))

    breaks, _ = checked([AMOUNT])

    assert [(b.kind, b.message) for b in breaks] == [("invariant", "the reply text is empty")]


def test_the_checker_catches_a_path_the_graph_does_not_have() -> None:
    store = MemoryStore()
    session = Session.start(Pay, interpreter=ScriptedInterpreter([AMOUNT]), store=store, env=[])
    watch = SessionWatch(flows=session.flows, opening=store.load_session(session.id), store=store)
    record = session.turn_sync("50").record
    teleport = TransitionTaken(flow="pay", event="given", source="ask", target="done", auto=True)
    forged = record.model_copy(update={"transitions": [teleport]})

    breaks = watch.after_turn(
        text="50",
        interpreter="scripted",
        emitted=record.attempts,
        errors=[None],
        record=forged,
        snapshot=store.load_session(session.id),
        calls=[],
    )

    messages = [b.message for b in breaks]
    assert "pay: ask -given-> done is not a transition of the flow" in messages


def test_the_checker_catches_slots_that_do_not_validate() -> None:
    store = MemoryStore()
    session = Session.start(Pay, interpreter=ScriptedInterpreter([AMOUNT]), store=store, env=[])
    watch = SessionWatch(flows=session.flows, opening=store.load_session(session.id), store=store)
    record = session.turn_sync("50").record
    snapshot = store.load_session(session.id)
    garbled = snapshot.model_copy(update={"slots": {**snapshot.slots, "amount": "lots"}})

    breaks = watch.after_turn(
        text="50",
        interpreter="scripted",
        emitted=record.attempts,
        errors=[None],
        record=record,
        snapshot=garbled,
        calls=[],
    )

    assert any("slots do not validate: amount" in b.message for b in breaks)
