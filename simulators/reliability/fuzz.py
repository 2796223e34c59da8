"""Fuzzed model output: every reference flow driven by a "model" that says anything.

Hypothesis generates whole conversations per flow (derandomized: the same code plays the same
conversations). Each starts with a few valid turns, so deep states such as an awaiting
confirmation are reached: a scripted customer of one of the flow's shipped scenarios (or the
flow's own example lines) speaks and the offline `RuleInterpreter` reads it. Generated turns
follow, mixed with more of the customer's own answers. A generated turn's interpreter output
is one of:

- commands guided by what the interpreter sees: take the i-th enabled event, fill the i-th
  fillable slot with one of its choices or a value from the flow's examples and scenario
  library, start a startable flow, claim a stated fact with another value;
- hostile commands: slots that do not exist or are not fillable here, values of the wrong type
  (huge and negative numbers, NaN, lists, 5,000-character strings, unicode, JSON and
  prompt-injection text), events disabled here or unknown, flows unknown or already running,
  cancel, hand-off, clarify, no-op, duplicates and empty lists;
- malformed raw model output through `cxflow.llm.parse_model_output` (broken JSON, wrong
  shapes, unknown command types);
- hostile customer text read by the `RuleInterpreter`.

(The strategies are in `_fuzz_strategies`; the checks in `invariants`.)

After every turn `invariants.SessionWatch` checks the record, the snapshot, the path taken
through the declared graph and every tool call seen at the call seam. `run(budget)` returns one
`CategoryResult` ("fuzzed_model_output") whose `cases` counts the turns played;
`fuzz_flows(budget)` also gives per flow the examples tried and the states reached.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from cxflow.commands import Claim, Command, NoOp, SetSlot, StartFlow, Take
from cxflow.errors import DataFileError
from cxflow.flow import Flow
from cxflow.interpreter import Interpretation, SlotView, TurnView
from cxflow.llm import parse_model_output
from cxflow.records import Reply, Usage
from cxflow.registry import reference_flows
from cxflow.rule_interpreter import RuleInterpreter
from cxflow.session import Session, linked_flows
from cxflow.simulators.reliability import Budget, CategoryResult
from cxflow.simulators.reliability import _fuzz_strategies as strategies
from cxflow.simulators.reliability._fuzz_strategies import (
    CUSTOMER_SPEAKS,
    Abstract,
    Attempt,
    Conversation,
    Guided,
    PlannedTurn,
)
from cxflow.simulators.reliability.invariants import (
    Break,
    CallSeen,
    FlowGraph,
    SessionWatch,
    watch_tool_calls,
)
from cxflow.simulators.run import customer_for
from cxflow.simulators.scenario import Scenario, library
from cxflow.store import MemoryStore
from cxflow.tools.telecom import TelecomTools

__all__ = [
    "CATEGORY",
    "PLANS",
    "FlowReport",
    "FuzzPlan",
    "baseline",
    "category",
    "fuzz_flow",
    "fuzz_flows",
    "run",
]

CATEGORY = "fuzzed_model_output"


@dataclass(frozen=True, slots=True)
class FuzzPlan:
    """How much to generate per flow."""

    examples: int
    """Conversations Hypothesis generates per flow."""
    max_turns: int
    """Generated turns after the customer's first ones, at most."""
    max_prefix: int = 12
    """Turns the scripted customer plays first, at most (or the length of the flow's example
    conversation, when longer, so a whole happy path can be played)."""
    scenarios: bool = False
    """Also play every scenario of the flow's library to its end first (see `baseline`)."""


PLANS: dict[str, FuzzPlan] = {
    "ci": FuzzPlan(examples=24, max_turns=8),
    "full": FuzzPlan(examples=400, max_turns=12, scenarios=True),
}
"""The fixed budget per flow of each `Budget`."""

MAX_EXAMPLES_SHOWN = 8
MAX_SCENARIO_TURNS = 40
"""Turns a baseline conversation may take beyond the example's length (a scripted customer
stops by itself when the conversation ends)."""


# -- the "model" ---------------------------------------------------------------------------------


@cache
def known_values(flow: type[Flow[Any]]) -> dict[str, tuple[object, ...]]:
    """Per slot, values that can be right: what the happy path filled, and what the flow's
    scenario library says customers know (their identity, answers and second thoughts)."""
    found: dict[str, list[object]] = {}

    def add(slot: str, value: object) -> None:
        items: Iterable[object] = value if isinstance(value, list) else (value,)  # pyright: ignore[reportUnknownVariableType]
        for item in items:
            if item not in found.setdefault(slot, []):
                found[slot].append(item)

    session = Session.start(flow, interpreter=RuleInterpreter())
    for line in flow.example:
        if session.done:
            break
        for command in session.turn_sync(line).record.commands:
            if command.get("type") == "set_slot":
                add(str(command["slot"]), command["value"])
    for linked in linked_flows(flow).values():
        for scenario in scenarios(linked):
            for slot, value in {**scenario.answers(), **scenario.alternatives}.items():
                add(slot, value)
    return {slot: tuple(values) for slot, values in found.items()}


class FuzzInterpreter:
    """Answers each attempt as the planned turn says (a test double standing for a model)."""

    name = "fuzz"
    synchronous = True

    def __init__(self, values: dict[str, tuple[object, ...]]) -> None:
        self._values = values
        self._rules = RuleInterpreter()
        self._queue: list[Attempt] = []
        self.emitted: list[list[dict[str, Any]]] = []
        """The commands returned per attempt of the current turn, as JSON."""
        self.errors: list[str | None] = []

    def plan(self, turn: PlannedTurn) -> None:
        """Answer the next turn's attempts from this plan."""
        self._queue = list(turn.attempts)
        self.emitted, self.errors = [], []

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the planned answer, resolving guided commands against the view."""
        kind, payload = self._queue.pop(0) if self._queue else ("commands", [])
        if kind == "rules":
            found = await self._rules.interpret(view, str(payload))
        elif kind == "raw":
            found = parse_model_output(payload, Usage())
        else:
            found = Interpretation(commands=[self._resolve(c, view) for c in payload])
        self.emitted.append([c.model_dump(mode="json") for c in found.commands])
        self.errors.append(found.error)
        return found

    def _resolve(self, planned: Abstract, view: TurnView) -> Command:
        if not isinstance(planned, Guided):
            return planned
        for kind in (planned.kind, "fill", "take"):  # what the state offers, if not that
            found = self._guided(kind, planned, view)
            if found is not None:
                return found
        return NoOp()

    def _guided(self, kind: str, planned: Guided, view: TurnView) -> Command | None:
        if kind == "take" and view.events:
            return Take(event=view.events[planned.i % len(view.events)].name)
        if kind == "start" and view.flows:
            return StartFlow(flow=view.flows[planned.i % len(view.flows)].name)
        if kind == "claim" and view.stated:
            return Claim(fact=view.stated[planned.i % len(view.stated)].name, value=planned.value)
        if kind == "fill" and view.slots:
            slot = view.slots[planned.i % len(view.slots)]
            options = [*self._options(slot), planned.value]  # the last one: any value at all
            return SetSlot(slot=slot.name, value=options[planned.j % len(options)])
        return None

    def _options(self, slot: SlotView) -> list[object]:
        """Values that can be right for a slot: its choices, else both booleans for a yes/no
        slot, the values the flow's examples and scenarios give it, and near misses of them."""
        if slot.choices:
            return list(slot.choices)
        found: list[object] = [True, False] if slot.json_schema.get("type") == "boolean" else []
        known = list(self._values.get(slot.name, ()))
        return found + known + [_near_miss(v) for v in known[:2] if isinstance(v, str) and v]


def _near_miss(value: str) -> str:
    """A value of the same shape that names nothing (another digit or letter at the end): an
    unknown phone number, user id or order id, so the flows' not-found paths are reached."""
    last = value[-1]
    other = "7" if last.isdigit() and last != "7" else "8" if last.isdigit() else "q"
    return value[:-1] + (other if last != other else "z")


# -- playing and counting ------------------------------------------------------------------------


@dataclass
class FlowReport:
    """What fuzzing one flow found."""

    flow: str
    states: tuple[str, ...]
    """The states of the flow's declared graph."""
    examples: int = 0
    """Conversations played: the baseline ones and those Hypothesis generated."""
    turns: int = 0
    writes: int = 0
    """Write tools that really ran (each checked for guard, confirmation, journal, doubling)."""
    reached: set[str] = field(default_factory=set[str])
    """States of this flow some conversation was in, or passed through."""
    invariant_breaks: int = 0
    """Turns after which some invariant failed."""
    policy_violations: int = 0
    lost_writes: int = 0
    doubled_writes: int = 0
    found: list[str] = field(default_factory=list[str])
    """The first few failures, each with the conversation that produced it."""

    def add(self, breaks: Sequence[Break], replay: str) -> None:
        """Count one conversation's breaks (invariant breaks per turn)."""
        self.invariant_breaks += len({b.turn for b in breaks if b.kind == "invariant"})
        self.policy_violations += sum(b.kind == "policy" for b in breaks)
        self.lost_writes += sum(b.kind == "lost" for b in breaks)
        self.doubled_writes += sum(b.kind == "doubled" for b in breaks)
        for b in breaks[: max(0, MAX_EXAMPLES_SHOWN - len(self.found))]:
            self.found.append(f"{self.flow} turn {b.turn} [{b.kind}] {b.message} -- {replay}")

    def broken(self) -> int:
        """Every count that must be zero, summed."""
        return (
            self.invariant_breaks + self.policy_violations + self.lost_writes + self.doubled_writes
        )

    def to_json(self) -> dict[str, Any]:
        """The flow's figures, JSON-ready."""
        return {
            "examples": self.examples,
            "turns": self.turns,
            "writes": self.writes,
            "states": len(self.states),
            "states_reached": len(self.reached),
            "unreached": sorted(set(self.states) - self.reached),
            "invariant_breaks": self.invariant_breaks,
            "policy_violations": self.policy_violations,
            "lost_writes": self.lost_writes,
            "doubled_writes": self.doubled_writes,
        }


class Speaker:
    """Who says the valid lines: a scenario's scripted customer, or the happy-path lines."""

    def __init__(self, flow: type[Flow[Any]], plan: Conversation, env: object) -> None:
        played = scenarios(flow)
        self.scenario = played[plan.scenario] if 0 <= plan.scenario < len(played) else None
        self.customer = (
            None if self.scenario is None else customer_for(self.scenario, env, seed=plan.seed)
        )
        self._lines = list(flow.example)

    def name(self) -> str:
        """The scenario's name, for reports."""
        return "example lines" if self.scenario is None else self.scenario.name

    def say(self, reply: Reply) -> str | None:
        """The customer's answer to the agent's reply (None: they have nothing more to say)."""
        if self.customer is None:
            return self._lines.pop(0) if self._lines else None
        answer = self.customer.respond(reply)
        assert not inspect.isawaitable(answer)  # scripted customers answer at once
        return None if answer.done else answer.text


def play(
    flow: type[Flow[Any]], plan: Conversation, calls: list[CallSeen], report: FlowReport
) -> None:
    """Play one generated conversation, checking every turn; add what it found to `report`."""
    env = _env(flow)
    speaker = Speaker(flow, plan, env)
    interpreter = FuzzInterpreter(known_values(flow))
    store = MemoryStore()
    session = Session.start(flow, interpreter=interpreter, store=store, env=env)
    watch = SessionWatch(flows=session.flows, opening=store.load_session(session.id), store=store)
    reply = session.prompt()
    report.reached.add(session.state)
    breaks: list[Break] = []
    for planned in [CUSTOMER_SPEAKS] * plan.prefix + list(plan.turns):
        if session.done:
            break
        turn = planned
        if not planned.attempts:
            said = speaker.say(reply)
            if said is None:
                continue
            turn = PlannedTurn(said, (("rules", said), ("rules", said)))
        interpreter.plan(turn)
        mark = len(calls)
        report.turns += 1
        number = len(watch.records) + 1
        try:
            result = session.turn_sync(turn.text)
        except Exception as exc:  # a model's output must never make a turn raise
            breaks.append(Break("invariant", number, f"turn raised {type(exc).__name__}: {exc}"))
            break
        record = result.record
        reply = record.reply
        breaks += watch.after_turn(
            text=turn.text,
            interpreter=interpreter.name,
            emitted=interpreter.emitted,
            errors=interpreter.errors,
            record=record,
            snapshot=store.load_session(session.id),
            calls=calls[mark:],
        )
        report.writes += sum(c.tool.side_effect and c.raised is None for c in calls[mark:])
        for t in record.transitions:
            target_flow, _, target = t.target.rpartition(".")
            if (target_flow or t.flow) == flow.flow_id:
                report.reached.add(target)
        if session.flow == flow.flow_id:
            report.reached.add(session.state)
    del calls[:]
    report.add(breaks, f"scenario {speaker.name()!r} seed {plan.seed}: {_replay(plan)}")


def _env(flow: type[Flow[Any]]) -> object:
    env = flow.make_env()
    if isinstance(env, TelecomTools) and type(env) is not TelecomTools:
        # as in `simulate`: the sample CRM pays payment requests itself because offline nobody
        # holds a phone; here a scripted customer holds one and pays on it
        env = TelecomTools(env.db)
    return env


@cache
def scenarios(flow: type[Flow[Any]]) -> tuple[Scenario, ...]:
    """The flow's shipped scenario library (empty when it has none)."""
    try:
        return tuple(library(flow.flow_id).scenarios)
    except DataFileError:
        return ()


def _replay(plan: Conversation) -> str:
    turns = "; ".join(
        f"{t.text[:40]!r} -> {[_brief(a) for a in t.attempts]}" if t.attempts else "customer"
        for t in plan.turns
    )
    return f"prefix={plan.prefix} turns: {turns}"[:1_500]


def _brief(attempt: Attempt) -> str:
    kind, payload = attempt
    if kind == "commands":
        return repr([repr(c)[:80] for c in payload])
    return f"{kind}:{str(payload)[:60]!r}"


def conversation(flow: type[Flow[Any]], plan: FuzzPlan) -> st.SearchStrategy[Conversation]:
    """The generated conversations of one flow under a plan."""
    return strategies.conversation(
        flow, scenarios=len(scenarios(flow)), max_prefix=plan.max_prefix, max_turns=plan.max_turns
    )


def baseline(flow: type[Flow[Any]], plan: FuzzPlan) -> list[Conversation]:
    """Conversations played before the generated ones, whatever the seed: the flow's example
    lines to the end (and, with `plan.scenarios`, every scenario of its library played by its
    customer), so the happy path and the library's branches are always covered and checked."""
    whole = len(flow.example) + MAX_SCENARIO_TURNS
    played = range(len(scenarios(flow))) if plan.scenarios else range(0)
    return [Conversation(s, 0, whole, (CUSTOMER_SPEAKS,)) for s in (-1, *played)]


def fuzz_flow(flow: type[Flow[Any]], plan: FuzzPlan) -> FlowReport:
    """Play the baseline conversations and `plan.examples` generated ones for one flow, and
    check every turn.

    Derandomized: the same code generates the same conversations on every run (the seed is
    derived from the test function's source, so editing it changes which are generated).
    """
    report = FlowReport(flow=flow.flow_id, states=tuple(FlowGraph.of(flow).states))
    known_values(flow)  # built once, outside the examples

    def one(generated: Conversation) -> None:
        report.examples += 1
        play(flow, generated, calls, report)

    test = given(conversation(flow, plan))(one)
    for explicit in reversed(baseline(flow, plan)):
        test = example(explicit)(test)
    test = settings(
        max_examples=plan.examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=(
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ),
        print_blob=False,
    )(test)
    with watch_tool_calls() as calls:
        test()
    return report


def fuzz_flows(budget: Budget, flows: Iterable[type[Flow[Any]]] | None = None) -> list[FlowReport]:
    """Fuzz every reference flow (or the given ones) with the budget's fixed plan."""
    plan = PLANS[budget]
    chosen = list(reference_flows().values()) if flows is None else list(flows)
    return [fuzz_flow(flow, plan) for flow in chosen]


def category(reports: Sequence[FlowReport]) -> CategoryResult:
    """Sum flow reports into the category result."""
    return CategoryResult(
        category=CATEGORY,
        cases=sum(r.turns for r in reports),
        invariant_breaks=sum(r.invariant_breaks for r in reports),
        policy_violations=sum(r.policy_violations for r in reports),
        lost_writes=sum(r.lost_writes for r in reports),
        doubled_writes=sum(r.doubled_writes for r in reports),
        examples=[f for r in reports for f in r.found][:MAX_EXAMPLES_SHOWN],
    )


def run(budget: Budget) -> list[CategoryResult]:
    """Fuzz every reference flow; `cases` counts turns played (examples x their turns)."""
    return [category(fuzz_flows(budget))]
