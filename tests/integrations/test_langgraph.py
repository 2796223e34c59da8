"""A flow as a LangGraph subgraph: interrupts, resumes, checkpoints, crashes, async."""

from __future__ import annotations

import asyncio
import importlib
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AnyMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command

from cxflow import Engine, MemoryStore, Session
from cxflow.errors import MissingExtraError, UnknownFlowError, UsageError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.integrations.langgraph import CxflowState, flow_subgraph
from cxflow.interpreter import Interpretation, TurnView
from cxflow.records import SessionSnapshot, TurnRecord
from cxflow.rule_interpreter import RuleInterpreter
from cxflow.sql_store import SqlStore
from cxflow.store import Store
from cxflow.tools.telecom import TelecomTools

LINES = PlanUpgrade.example  # identify, pick the line, pick the plan, "yes" (the write)
THREAD: Any = {"configurable": {"thread_id": "customer-1"}}


class ProcessDied(BaseException):
    """Stands for the process dying at this instant: nothing after it runs."""


class CountingCrm(TelecomTools):
    """The sample CRM, counting real plan changes."""

    def __init__(self) -> None:
        base = PlanUpgrade.make_env()
        super().__init__(base.db)
        self.changes = 0

    def change_plan(self, customer_id: str, line_id: str, plan_id: str):  # type: ignore[override]
        self.changes += 1
        return super().change_plan(customer_id, line_id, plan_id)


def one_flow_graph(engine: Engine, checkpointer: Any) -> Any:
    builder = StateGraph(CxflowState)
    builder.add_node("plan_upgrade", flow_subgraph(engine, "plan_upgrade"))
    builder.add_edge(START, "plan_upgrade")
    builder.add_edge("plan_upgrade", END)
    return builder.compile(checkpointer=checkpointer)


@pytest.fixture
def crm() -> CountingCrm:
    return CountingCrm()


@pytest.fixture
def checkpoints(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "checkpoints.db", check_same_thread=False)
    yield connection
    connection.close()


def asked(out: dict[str, Any]) -> dict[str, Any]:
    (pending,) = out["__interrupt__"]
    return pending.value


def expected_transcript(store: Store, session_id: str) -> list[dict[str, str]]:
    """The flow's messages, as the cxflow store recorded them."""
    opening = Session.start(PlanUpgrade, store=MemoryStore()).reply
    lines = [{"role": "assistant", "content": opening}]
    for record in store.turns(session_id):
        lines.append({"role": "user", "content": record.customer_text})
        lines.append({"role": "assistant", "content": record.reply.text})
    return lines


def test_a_flow_runs_to_its_end_one_interrupt_per_customer_message(
    tmp_path: Path, crm: CountingCrm, checkpoints: sqlite3.Connection
) -> None:
    store = SqlStore(tmp_path / "sessions.db")
    engine = Engine([PlanUpgrade], store=store, env=crm)
    committed: list[int] = []
    engine.on_turn(lambda session, record: committed.append(record.turn))
    graph = one_flow_graph(engine, SqliteSaver(checkpoints))
    direct = Session.start(PlanUpgrade, store=MemoryStore())  # the same talk without LangGraph

    out = graph.invoke({}, THREAD)
    for line in LINES:
        prompt = asked(out)
        assert prompt["reply"] == direct.reply
        assert prompt["state"] == direct.state and prompt["flow"] == "plan_upgrade"
        json.dumps(prompt)  # what the bot is shown is plain JSON
        direct.turn_sync(line)
        out = graph.invoke(Command(resume=line), THREAD)

    assert "__interrupt__" not in out
    assert out["cxflow_outcome"] == "completed" and out["cxflow_flow"] == "plan_upgrade"
    assert out["cxflow_slots"]["plan_changed"] is True
    assert out["messages"] == expected_transcript(store, out["cxflow_session"])
    assert [m["content"] for m in out["messages"] if m["role"] == "user"] == list(LINES)
    assert committed == [1, 2, 3, 4], "LangGraph re-runs each node on resume; turns run once"
    assert engine.session(out["cxflow_session"]).meta == {"langgraph_thread_id": "customer-1"}
    assert crm.changes == 1
    assert crm.get_details_by_id("L2001").plan_id == "P1002"  # type: ignore[union-attr]
    json.dumps(out)  # the graph state is JSON


def test_while_a_flow_talks_its_graph_state_is_ids_and_messages(crm: CountingCrm) -> None:
    engine = Engine([PlanUpgrade], env=crm)
    graph = one_flow_graph(engine, InMemorySaver())
    graph.invoke({}, THREAD)
    for line in LINES[:3]:
        graph.invoke(Command(resume=line), THREAD)
    snapshot = graph.get_state(THREAD, subgraphs=True).tasks[0].state
    inner = snapshot.values
    assert inner["cxflow_slots"] == {}, "slots travel once, when the flow ends"
    assert inner["cxflow_turns"] == 3
    session = engine.session(inner["cxflow_session"])
    assert session.version == 3 and session.state == "awaiting_confirmation"
    assert len(json.dumps(inner)) < 4_000


class DyingStore:
    """A store whose process dies right before committing turn `turn` (after its tools ran)."""

    def __init__(self, inner: Store, turn: int, die: Callable[[], None]) -> None:
        self.inner = inner
        self.turn = turn
        self.die = die

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def commit_turn(self, snapshot: SessionSnapshot, record: TurnRecord, **how: Any) -> None:
        if record.turn == self.turn:
            self.die()
        self.inner.commit_turn(snapshot, record, **how)


def run_graph(engine: Engine, checkpoint_file: Path, steps: list[Any], mode: str) -> Any:
    """Open the one-flow graph on a checkpoint file and invoke it with each step in turn."""
    if mode == "sync":
        connection = sqlite3.connect(checkpoint_file, check_same_thread=False)
        try:
            graph = one_flow_graph(engine, SqliteSaver(connection))
            return [graph.invoke(step, THREAD) for step in steps][-1]
        finally:
            connection.close()

    async def run() -> Any:
        async with AsyncSqliteSaver.from_conn_string(str(checkpoint_file)) as saver:
            graph = one_flow_graph(engine, saver)
            return [await graph.ainvoke(step, THREAD) for step in steps][-1]

    return asyncio.run(run())


CRASHES = {  # where the process dies: (just after cxflow's commit, or just before it; turn)
    "after-commit-of-turn-3": ("after", 3),
    "after-commit-of-the-write": ("after", 4),
    "after-the-write-before-its-commit": ("before", 4),
}
CASES = [
    *[(mode, crash, "resend") for mode in ("sync", "async") for crash in CRASHES],
    *[("sync", crash, "retry") for crash in CRASHES],
]


@pytest.mark.parametrize(("mode", "crash", "recovery"), CASES)
def test_a_killed_process_resumes_from_its_files_without_repeating_a_turn_or_write(
    tmp_path: Path, crm: CountingCrm, mode: str, crash: str, recovery: str
) -> None:
    when, turn = CRASHES[crash]
    checkpoints, at_death = tmp_path / "checkpoints.db", tmp_path / "checkpoints-at-death.db"

    def die() -> None:
        """Keep the checkpoint file as the process leaves it on disk at this instant; die."""
        with sqlite3.connect(checkpoints) as live, sqlite3.connect(at_death) as copy:
            live.backup(copy)
        raise ProcessDied

    store = SqlStore(tmp_path / "sessions.db")
    dying: Any = DyingStore(store, turn, die) if when == "before" else store
    engine = Engine([PlanUpgrade], store=dying, env=crm)
    if when == "after":
        engine.on_turn(lambda session, record: die() if record.turn == turn else None)
    talk = [{}, *[Command(resume=line) for line in LINES[:turn]]]
    with pytest.raises(ProcessDied):
        run_graph(engine, checkpoints, talk, mode)
    assert crm.changes == (1 if turn == 4 else 0)

    # a new process: a fresh engine and graph over the files as they were when it died
    reborn = Engine([PlanUpgrade], store=SqlStore(tmp_path / "sessions.db"), env=crm)
    again = Command(resume=LINES[turn - 1]) if recovery == "resend" else None
    rest = [Command(resume=line) for line in LINES[turn:]]
    out = run_graph(reborn, at_death, [again, *rest], mode)

    assert out["cxflow_outcome"] == "completed"
    assert crm.changes == 1, "the plan must change exactly once"
    records = store.turns(out["cxflow_session"])
    assert [r.customer_text for r in records] == list(LINES), "no turn lost, none doubled"
    assert out["messages"] == expected_transcript(store, out["cxflow_session"])
    (change,) = [c for c in records[3].tool_calls if c.tool == "change_plan"]
    assert change.replayed == (when == "before"), "a journaled write is read back, not redone"


def test_an_error_after_the_commit_retried_with_the_interrupt_id_repeats_nothing(
    tmp_path: Path, crm: CountingCrm, checkpoints: sqlite3.Connection
) -> None:
    engine = Engine([PlanUpgrade], store=SqlStore(tmp_path / "sessions.db"), env=crm)
    failing = {"turn": 3}

    @engine.on_turn
    def flaky(session: Session, record: TurnRecord) -> None:
        if record.turn == failing["turn"]:
            failing["turn"] = 0
            raise ConnectionError("metrics backend down")

    graph = one_flow_graph(engine, SqliteSaver(checkpoints))

    def answer(text: str) -> Command[Any]:
        (pending,) = graph.get_state(THREAD).interrupts
        return Command(resume={pending.id: text})

    graph.invoke({}, THREAD)
    for line in LINES[:2]:
        graph.invoke(answer(line), THREAD)
    with pytest.raises(ConnectionError):
        graph.invoke(answer(LINES[2]), THREAD)
    out = graph.invoke(answer(LINES[2]), THREAD)  # the bot retries the failed delivery
    assert asked(out)["state"] == "awaiting_confirmation"
    out = graph.invoke(answer(LINES[3]), THREAD)

    assert out["cxflow_outcome"] == "completed" and crm.changes == 1
    assert [m["content"] for m in out["messages"] if m["role"] == "user"] == list(LINES)
    assert [r.customer_text for r in engine.store.turns(out["cxflow_session"])] == list(LINES)


class AwaitingInterpreter:
    """The rule interpreter behind an await, noting which event loop each turn ran on."""

    name = "awaiting-rules"
    synchronous = False

    def __init__(self) -> None:
        self.inner = RuleInterpreter()
        self.loops: list[asyncio.AbstractEventLoop] = []

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        await asyncio.sleep(0)
        self.loops.append(asyncio.get_running_loop())
        return await self.inner.interpret(view, text)


def test_ainvoke_awaits_each_turn_on_the_graphs_event_loop(crm: CountingCrm) -> None:
    interpreter = AwaitingInterpreter()
    engine = Engine([PlanUpgrade], env=crm, interpreter=interpreter)
    graph = one_flow_graph(engine, InMemorySaver())

    async def converse() -> tuple[dict[str, Any], asyncio.AbstractEventLoop]:
        out = await graph.ainvoke({}, THREAD)
        for line in LINES:
            out = await graph.ainvoke(Command(resume=line), THREAD)
        return out, asyncio.get_running_loop()

    out, loop = asyncio.run(converse())
    assert out["cxflow_outcome"] == "completed" and crm.changes == 1
    assert len(interpreter.loops) == len(LINES)
    assert all(seen is loop for seen in interpreter.loops), "turns ran on another loop"


def test_each_entry_into_the_subgraph_starts_a_new_session(crm: CountingCrm) -> None:
    class TwiceState(CxflowState, total=False):
        rounds: int

    engine = Engine([PlanUpgrade], env=crm)
    builder = StateGraph(TwiceState)
    builder.add_node("plan_upgrade", flow_subgraph(engine, "plan_upgrade"))
    builder.add_node("count", lambda s: {"rounds": s.get("rounds", 0) + 1})
    builder.add_edge(START, "plan_upgrade")
    builder.add_edge("plan_upgrade", "count")
    builder.add_conditional_edges("count", lambda s: END if s["rounds"] == 2 else "plan_upgrade")
    graph = builder.compile(checkpointer=InMemorySaver())

    out = graph.invoke({}, THREAD)
    sessions: set[str] = set()
    for line in [*LINES, *LINES[:2], "Unlimited Max", "yes"]:
        sessions.add(asked(out)["session_id"])
        out = graph.invoke(Command(resume=line), THREAD)
    assert out["rounds"] == 2 and len(sessions) == 2
    assert [engine.session(s).outcome for s in sessions] == ["completed", "completed"]
    assert crm.changes == 2
    assert crm.get_details_by_id("L2001").plan_id == "P1003"  # type: ignore[union-attr]


def test_a_parent_with_add_messages_gets_the_flow_lines_appended(crm: CountingCrm) -> None:
    class ChatState(TypedDict, total=False):
        messages: Annotated[list[AnyMessage], add_messages]
        cxflow_outcome: str | None

    builder = StateGraph(ChatState)
    builder.add_node("greet", lambda s: {"messages": [{"role": "user", "content": "hi"}]})
    builder.add_node("plan_upgrade", flow_subgraph(Engine([PlanUpgrade], env=crm), "plan_upgrade"))
    builder.add_edge(START, "greet")
    builder.add_edge("greet", "plan_upgrade")
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({}, THREAD)
    for line in LINES:
        out = graph.invoke(Command(resume=line), THREAD)
    kinds = [m.type for m in out["messages"]]
    assert kinds == ["human", "ai"] + ["human", "ai"] * len(LINES)
    assert out["messages"][0].content == "hi" and out["messages"][2].content == LINES[0]
    assert out["cxflow_outcome"] == "completed"


def test_resuming_with_something_else_than_text_says_how_to_resume(crm: CountingCrm) -> None:
    graph = one_flow_graph(Engine([PlanUpgrade], env=crm), InMemorySaver())
    graph.invoke({}, THREAD)
    with pytest.raises(UsageError, match=r"as a string: Command\(resume=\{interrupt.id: 'yes"):
        graph.invoke(Command(resume={"text": "yes"}), THREAD)


def test_an_unknown_flow_fails_when_the_graph_is_built() -> None:
    with pytest.raises(UnknownFlowError, match="plan_upgrade"):
        flow_subgraph(Engine([PlanUpgrade]), "plan_upgarde")


def test_without_langgraph_the_import_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "cxflow.integrations.langgraph")
    monkeypatch.setitem(sys.modules, "langgraph.graph", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'cxflow\[langgraph\]'"):
        importlib.import_module("cxflow.integrations.langgraph")
