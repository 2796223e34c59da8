"""Run one scenario against one flow: the world, the customer, the conversation, the verdict.

`simulate(FlowCls, scenario, seed=...)` builds the flow's sample environment (or takes one),
applies the scenario's device set-up, puts a scripted customer (a `TelecomCustomer` holding a
phone when the environment is the telecom CRM) in front of a session, lets them talk through
`converse`, and checks the scenario's expectations. The result carries the turn records, the
divergence summary, and the failures (empty: reward 1.0).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cxflow.customer import CustomerSimulator, converse
from cxflow.divergence import ConversationDivergence, summarize
from cxflow.flow import Flow
from cxflow.interpreter import Interpreter
from cxflow.records import TurnRecord
from cxflow.session import Session, _run_sync, linked_flows  # pyright: ignore[reportPrivateUsage]
from cxflow.simulators.scenario import Scenario
from cxflow.simulators.scripted import ScriptedCustomer
from cxflow.store import Store
from cxflow.tools.telecom import TelecomTools

__all__ = ["Conversation", "check", "customer_for", "simulate", "simulate_async"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """One simulated conversation and its verdict.

    Attributes:
        scenario: The scenario played.
        seed: The seed of the customer's phrasings and persona draws.
        session: The agent's session (its store holds every turn).
        records: The turn records, in order.
        customer: The simulated customer, with its final state.
        divergence: Where the views parted, and whether that was repaired.
        failures: Expectations that did not hold (empty: the conversation passed).
    """

    scenario: Scenario
    seed: int
    session: Session
    records: list[TurnRecord]
    customer: CustomerSimulator
    divergence: ConversationDivergence
    failures: list[str]

    @property
    def reward(self) -> float:
        """1.0 when every expectation held, else 0.0."""
        return 0.0 if self.failures else 1.0


def customer_for(scenario: Scenario, env: object, *, seed: int) -> ScriptedCustomer:
    """The scripted customer for a scenario: with a phone when `env` is the telecom CRM.

    Raises:
        ValueError: A device set-up names an unknown function, or the phone's number matches
            no line in the CRM.
    """
    if not isinstance(env, TelecomTools):
        if scenario.device:
            raise ValueError(
                f"scenario {scenario.name!r} sets up a device, but this flow's environment "
                f"({type(env).__name__}) has no customer device"
            )
        return ScriptedCustomer(scenario, seed=seed)
    from cxflow.simulators.telecom import PhoneState, TelecomEnvironment
    from cxflow.simulators.telecom.customer import TelecomCustomer

    phone = PhoneState()
    number = scenario.identity.get("phone_number") or scenario.knows.get("line_phone")
    if number is not None:
        phone.surroundings.phone_number = str(number)
        phone.surroundings.name = str(scenario.identity.get("full_name", "Customer"))
    world = TelecomEnvironment(env, phone)
    for step in scenario.device:
        world.set_up(step.env_type, step.func_name, step.arguments)
    return TelecomCustomer(scenario, world, seed=seed)


def simulate(
    flow: type[Flow[Any]],
    scenario: Scenario,
    *,
    seed: int = 0,
    interpreter: Interpreter | None = None,
    store: Store | None = None,
    env: object = None,
    max_turns: int = 40,
    meta: Mapping[str, str] | None = None,
    customer: CustomerSimulator | None = None,
) -> Conversation:
    """Play a scenario against a flow and check its expectations (offline by default).

    Offline (a synchronous interpreter and tools) no event loop is made: the conversation is
    driven directly, as `Session.turn_sync` does.
    """
    return _run_sync(
        simulate_async(
            flow,
            scenario,
            seed=seed,
            interpreter=interpreter,
            store=store,
            env=env,
            max_turns=max_turns,
            meta=meta,
            customer=customer,
        ),
        never_suspends=_offline(flow, interpreter) and customer is None,
    )


def _offline(flow: type[Flow[Any]], interpreter: Interpreter | None) -> bool:
    """True when nothing in the conversation awaits real I/O (see `Session.turn_sync`)."""
    if interpreter is not None and getattr(interpreter, "synchronous", False) is not True:
        return False
    flows = {flow.flow_id: flow, **linked_flows(flow)}
    return not any(
        inspect.iscoroutinefunction(t.fn) for f in flows.values() for t in f.spec.tools.values()
    )


async def simulate_async(
    flow: type[Flow[Any]],
    scenario: Scenario,
    *,
    seed: int = 0,
    interpreter: Interpreter | None = None,
    store: Store | None = None,
    env: object = None,
    max_turns: int = 40,
    meta: Mapping[str, str] | None = None,
    customer: CustomerSimulator | None = None,
) -> Conversation:
    """`simulate` inside a running event loop (model-backed interpreters await their calls).

    `customer` replaces the scripted customer of the scenario (a model-driven one, say); the
    scenario's expectations still judge the conversation.
    """
    env = flow.make_env() if env is None else env
    if isinstance(env, TelecomTools) and type(env) is not TelecomTools:
        # the telecom flows' sample CRM pays a payment request itself because offline nobody
        # holds a phone; here the customer holds one and pays on it
        env = TelecomTools(env.db)
    if customer is None:
        customer = customer_for(scenario, env, seed=seed)
    session = Session.start(
        flow,
        interpreter=interpreter,
        store=store,
        env=env,
        meta={"scenario": scenario.name, "seed": str(seed), **(meta or {})},
    )
    records = await converse(session, customer, max_turns=max_turns)
    divergence = summarize(records)
    return Conversation(
        scenario=scenario,
        seed=seed,
        session=session,
        records=records,
        customer=customer,
        divergence=divergence,
        failures=check(scenario, session, records, divergence),
    )


def check(
    scenario: Scenario,
    session: Session,
    records: Sequence[TurnRecord],
    divergence: ConversationDivergence,
) -> list[str]:
    """The scenario's expectations that the conversation did not meet, in words.

    A divergence the flow repaired is not a failure (noticing and repairing is the job); one it
    never repaired is, unless the scenario allows it, and a commit under divergence always is.
    """
    expect = scenario.expect
    failures: list[str] = []
    if not session.done:
        failures.append(f"the conversation did not end (still in {session.state!r})")
    if expect.outcome is not None and session.outcome != expect.outcome:
        failures.append(f"outcome {session.outcome!r}, expected {expect.outcome!r}")
    if expect.state is not None and session.state != expect.state:
        failures.append(f"final state {session.state!r}, expected {expect.state!r}")
    if expect.writes is not None:
        writes = sorted(
            c.tool
            for r in records
            for c in r.tool_calls
            if c.side_effect and c.refused is None and c.error is None and not c.replayed
        )
        if writes != sorted(expect.writes):
            failures.append(f"writes {writes}, expected {sorted(expect.writes)}")
    said = " ".join(r.reply.text for r in records).casefold()
    failures += [
        f"the agent never said {text!r}"
        for text in expect.communicates
        if text.casefold() not in said
    ]
    allowed = set(expect.divergences)
    failures += [
        f"turn {d.turn}: {d.kind} on {d.fact!r} (agent {d.agent!r}, customer {d.customer!r}, "
        f"truth {d.truth!r}){'' if d.repaired else ', never repaired'}"
        for d in divergence.divergences
        if f"{d.fact}:{d.kind}" not in allowed
        and (d.kind == "commit_under_divergence" or not d.repaired)
    ]
    return failures
