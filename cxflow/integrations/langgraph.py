"""A cxflow flow inside a LangGraph graph: a subgraph that waits for the customer with interrupt().

```python
engine = Engine([PlanUpgrade], store=SqlStore("cx.db"))
builder = StateGraph(CxflowState)
builder.add_node("plan_upgrade", flow_subgraph(engine, "plan_upgrade"))
builder.add_edge(START, "plan_upgrade")
graph = builder.compile(checkpointer=SqliteSaver(...))

out = graph.invoke({}, config)           # pauses: out["__interrupt__"][0].value is a FlowPrompt
(asked,) = out["__interrupt__"]
out = graph.invoke(Command(resume={asked.id: "my number is 555-014-3301"}), config)
```
The subgraph starts a cxflow session, then runs one node per customer message: the node pauses
with `interrupt(FlowPrompt)` and, resumed with the customer's text, runs one cxflow turn; when
the flow ends the subgraph returns the outcome and slots, and the parent graph routes on them.

The session lives in the engine's store; the graph state carries the session id, the flow's
messages, the count of turns it has seen and, at the end, outcome and slots (all JSON).

Resuming never repeats a turn or a write tool. LangGraph runs a resumed node again from its top,
and the process can die between cxflow's commit of a turn and LangGraph's checkpoint; so the node
compares the turns committed in the store with the turns the graph has seen, and a committed
turn is only reported, never run again (the message in hand answered the same prompt; the
committed one stays in the transcript). A turn that died after its write tool and before its
commit is completed by `Session.resume`, which reads the write from the effect journal.

Resume with the id of the interrupt you answer, `Command(resume={interrupt.id: text})`, as
above. A plain `Command(resume=text)` works too, with one gap in LangGraph: when a node raised
an exception after taking the text, the retried run hands the same text to the next interrupt
as well (stale null-task resume writes, langgraph issue #8837), and the customer's message then
also answers the next question (no committed turn runs twice, but a doubled "yes" could
confirm the next question too).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

from cxflow.errors import MissingExtraError, UsageError

try:
    from langchain_core.runnables import RunnableConfig, RunnableLambda
    from langgraph.graph import (  # pyright: ignore[reportMissingTypeStubs] (a namespace package)
        END,
        START,
        StateGraph,
    )
    from langgraph.types import interrupt
except ImportError as exc:
    raise MissingExtraError("the LangGraph integration", "langgraph", "langgraph") from exc

if TYPE_CHECKING:
    from langgraph.graph.state import (  # pyright: ignore[reportMissingTypeStubs]
        CompiledStateGraph,
    )

    from cxflow.engine import Engine
    from cxflow.session import Session, Turn

__all__ = ["ChatMessage", "CxflowState", "FlowPrompt", "flow_subgraph"]


class ChatMessage(TypedDict):
    """One line of the conversation, in the role/content shape chat models and add_messages take."""

    role: Literal["user", "assistant"]
    content: str


class FlowPrompt(TypedDict):
    """What a flow's `interrupt()` shows the bot: the agent's reply, awaiting the customer's answer.

    Resume the graph with the customer's answer: `Command(resume={interrupt.id: "yes"})`.
    """

    reply: str
    session_id: str
    flow: str
    """The flow that is talking (a digression's, while one runs)."""
    state: str


class CxflowState(TypedDict, total=False):
    """The keys a flow subgraph writes into the parent graph; extend it with your bot's own keys.

    The subgraph writes them once, when its flow ends (while it talks, its own state holds the
    conversation), and they keep the last flow's values until another flow ends. `messages` gets
    the flow's lines appended; declare it with LangGraph's `add_messages` in your own state if
    your chat model wants message objects (both append).
    """

    messages: Annotated[list[ChatMessage], operator.add]
    cxflow_session: str
    """The cxflow session id (`engine.session(id)` reads its turns and slots)."""
    cxflow_flow: str
    """The flow the subgraph ran."""
    cxflow_outcome: str | None
    """How the flow ended ("completed", "declined", "cancelled", "handed_off", ...)."""
    cxflow_slots: dict[str, object]
    """The flow's slot values when it ended, as JSON."""


class _FlowState(TypedDict):
    """The subgraph's own state: `CxflowState` with every key set, and where the talk stands."""

    messages: Annotated[list[ChatMessage], operator.add]
    cxflow_session: str
    cxflow_flow: str
    cxflow_outcome: str | None
    cxflow_slots: dict[str, object]
    cxflow_turns: int
    """Customer messages answered so far (committed cxflow turns, as far as the graph knows)."""
    cxflow_prompt: FlowPrompt
    """What the next `interrupt()` shows: the reply to turn `cxflow_turns`."""


class _FlowInput(TypedDict, total=False):
    """Nothing is read from the parent: each entry into the subgraph starts a new session."""


def flow_subgraph(
    engine: Engine, flow_id: str, *, name: str | None = None
) -> CompiledStateGraph[_FlowState, None, _FlowInput, CxflowState]:
    """Build a subgraph that runs one conversation with a flow, pausing for each customer message.

    Add it to your graph as a node; the parent graph needs a checkpointer (any LangGraph saver)
    and the engine a store that outlives the process when the checkpointer does (`SqlStore`).
    Invoke it with `graph.invoke(...)` or `await graph.ainvoke(...)`: the async path awaits the
    cxflow turn, so an async interpreter (a model client) runs on the graph's event loop.

    Args:
        engine: Starts and loads the flow's sessions (its store, interpreter and environment).
        flow_id: One of the engine's entry flows.
        name: The subgraph's name (defaults to the flow id).

    Raises:
        UnknownFlowError: The engine has no entry flow with that id.
    """
    engine.flow(flow_id)  # fail now, not at the first customer message
    runner = _FlowRunner(engine, flow_id)
    # LangGraph's builder generics are partly unknown to pyright strict; the result is typed below
    builder: Any = StateGraph(_FlowState, input_schema=_FlowInput, output_schema=CxflowState)
    builder.add_node("start", runner.start)
    # both bodies, so that invoke() runs turn_sync and ainvoke() awaits the turn
    builder.add_node("turn", RunnableLambda(runner.turn, afunc=runner.aturn, name="turn"))
    builder.add_edge(START, "start")
    builder.add_edge("start", "turn")
    builder.add_conditional_edges("turn", _route, ["turn", END])
    graph: CompiledStateGraph[_FlowState, None, _FlowInput, CxflowState] = builder.compile(
        name=name or flow_id
    )
    return graph


def _route(state: _FlowState) -> str:
    return END if state["cxflow_outcome"] is not None else "turn"


class _FlowRunner:
    """The subgraph's nodes for one flow of one engine."""

    def __init__(self, engine: Engine, flow_id: str) -> None:
        self.engine = engine
        self.flow_id = flow_id

    def start(self, state: _FlowInput, config: RunnableConfig) -> _FlowState:
        """Start the session, noting the graph's thread in its meta; the opening is the first line.

        If the process dies before LangGraph checkpoints this node, it runs again and the first
        session stays unused in the store (it has no turns and did nothing).
        """
        thread = config.get("configurable", {}).get("thread_id")
        meta = {"langgraph_thread_id": str(thread)} if thread is not None else None
        session = self.engine.start(self.flow_id, meta=meta)
        return {
            "messages": [ChatMessage(role="assistant", content=session.reply)],
            "cxflow_session": session.id,
            "cxflow_flow": self.flow_id,
            "cxflow_outcome": None,
            "cxflow_slots": {},
            "cxflow_turns": 0,
            "cxflow_prompt": _prompt(session),
        }

    def turn(self, state: _FlowState) -> _FlowState:
        """Wait for the customer's message, then run it as the next turn unless it already ran."""
        text = self._listen(state)
        session = self.engine.session(state["cxflow_session"])
        done: Turn | None = None
        if session.version == state["cxflow_turns"]:
            done = session.resume_sync() if session.pending is not None else session.turn_sync(text)
        return self._report(session, state, done)

    async def aturn(self, state: _FlowState) -> _FlowState:
        """`turn` for `ainvoke`: awaits the cxflow turn on the graph's event loop."""
        text = self._listen(state)
        session = self.engine.session(state["cxflow_session"])
        done: Turn | None = None
        if session.version == state["cxflow_turns"]:
            done = await (session.resume() if session.pending is not None else session.turn(text))
        return self._report(session, state, done)

    def _listen(self, state: _FlowState) -> str:
        """Pause for the customer's answer to the last reply the graph knows of.

        When the node runs again after a resume or a crash, LangGraph hands back the message it
        recorded instead of pausing.
        """
        text: object = interrupt(state["cxflow_prompt"])
        if not isinstance(text, str):
            raise UsageError(
                f"flow {self.flow_id!r} was resumed with {type(text).__name__} {text!r}; resume "
                "it with the customer's message as a string: "
                "Command(resume={interrupt.id: 'yes, go ahead'})."
            )
        return text

    def _report(self, session: Session, state: _FlowState, done: Turn | None) -> _FlowState:
        """The state update for the turn just run, or for the turns the graph has not seen.

        `done` is None when the turn was already committed (the process died between cxflow's
        commit and LangGraph's checkpoint): the message in hand answered the same prompt, and the
        committed turn stands, so the update reports the turns the store holds beyond the graph.
        """
        records = [done.record] if done is not None else session.turns()[state["cxflow_turns"] :]
        messages: list[ChatMessage] = []
        for record in records:
            messages.append(ChatMessage(role="user", content=record.customer_text))
            messages.append(ChatMessage(role="assistant", content=record.reply.text))
        return {
            "messages": messages,
            "cxflow_session": session.id,
            "cxflow_flow": self.flow_id,
            "cxflow_outcome": session.outcome,
            "cxflow_slots": dict(session.slots) if session.done else {},
            "cxflow_turns": session.version,
            "cxflow_prompt": _prompt(session),
        }


def _prompt(session: Session) -> FlowPrompt:
    return FlowPrompt(
        reply=session.reply, session_id=session.id, flow=session.flow, state=session.state
    )
