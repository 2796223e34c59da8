"""A support bot in LangGraph: a free-form model chats, and hands requests to cxflow flows.

```
START -> chat --(the model picks a flow)--> plan_upgrade | refuel_data --(flow ends)--> chat
           ^--(small talk: the model answers)--'            chat --(goodbye)--> END
```
The `chat` node is the free-form model. Offline it is `KeywordModel` (routes on each flow's
`keywords`); a real chat model goes behind the same `ChatModel` seam (see its docstring). The
flow nodes are `flow_subgraph`s: while a flow runs, each customer message is one cxflow turn
(slots, guards, the write tool after an explicit yes), and when it ends the conversation goes
back to the model with the flow's outcome in the state.

Every node waits for the customer with `interrupt({"reply": ...})`; the bot answers with
`Command(resume={interrupt.id: text})` (see `send`). Checkpoints (LangGraph) and sessions
(cxflow) are two SQLite files, so the conversation survives a restart.

Run it:  python examples/langgraph_bot.py
"""

from __future__ import annotations

import re
import sqlite3
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, interrupt

from cxflow import Engine
from cxflow.flow import Flow
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.flows.refuel_data import RefuelData
from cxflow.integrations.langgraph import ChatMessage, CxflowState, flow_subgraph
from cxflow.sql_store import SqlStore
from cxflow.store import Store

FLOWS: tuple[type[Flow[Any]], ...] = (PlanUpgrade, RefuelData)
GREETING = "Hi, this is the telecom help desk. I can change your plan or add data to your line."
ANYTHING_ELSE = "Is there anything else I can help with?"


class BotState(CxflowState, total=False):
    """The bot's state: the flow keys (messages, session, outcome, slots) and the route."""

    route: str | None
    """The flow the model handed the conversation to, "end", or None (keep chatting)."""


@dataclass(frozen=True)
class ModelTurn:
    """What the model decided for one customer message: say something, start a flow, or end."""

    reply: str = ""
    flow: str | None = None
    end: bool = False


class ChatModel(Protocol):
    """The free-form model: answers small talk, or picks the flow that serves a request.

    A real model fits here: give it one tool per flow (named for the flow id, described by the
    flow's title and docstring) plus the conversation, e.g. with LangChain
    `init_chat_model("...").bind_tools(tools).invoke(messages)`; a tool call becomes
    `ModelTurn(flow=tool_name)`, plain text becomes `ModelTurn(reply=text)`. The flows do the
    policy-bound work, so the model never calls the CRM itself.
    """

    def respond(self, messages: Sequence[ChatMessage], flows: Mapping[str, str]) -> ModelTurn:
        """Decide what to do with the last customer message.

        Args:
            messages: The conversation so far, the customer's new message last.
            flows: The flows on offer: id -> title.
        """
        ...


class KeywordModel:
    """An offline stand-in for a chat model: routes on each flow's keywords."""

    def __init__(self, flows: Sequence[type[Flow[Any]]]) -> None:
        self.keywords = {flow.flow_id: flow.keywords for flow in flows}

    def respond(self, messages: Sequence[ChatMessage], flows: Mapping[str, str]) -> ModelTurn:
        """Start the first flow whose keyword the message mentions; else chat or say goodbye."""
        text = messages[-1]["content"].lower()
        for flow_id, words in self.keywords.items():
            if flow_id in flows and any(word in text for word in words):
                return ModelTurn(flow=flow_id)
        if re.search(r"\b(bye|goodbye|that's all|nothing else|no thanks)\b", text):
            return ModelTurn(reply="Thanks for calling. Goodbye!", end=True)
        offers = " or ".join(f'"{title.lower()}"' for title in flows.values())
        return ModelTurn(reply=f"What can I do for you? You can say, for example, {offers}.")


def build_bot(
    engine: Engine, model: ChatModel, checkpointer: BaseCheckpointSaver[Any]
) -> CompiledStateGraph[BotState, None, BotState, BotState]:
    """The bot's graph: the model's chat node and one cxflow subgraph per entry flow."""
    titles = {flow_id: flow.title for flow_id, flow in engine.entry.items()}

    def chat(state: BotState) -> BotState:
        text = interrupt({"reply": _chat_prompt(state)})
        said = ChatMessage(role="user", content=str(text))
        decision = model.respond([*state.get("messages", []), said], titles)
        if decision.flow is not None:
            return {"messages": [said], "route": decision.flow}
        answer = ChatMessage(role="assistant", content=decision.reply)
        return {"messages": [said, answer], "route": "end" if decision.end else None}

    def after_chat(state: BotState) -> str:
        route = state.get("route")
        return END if route == "end" else route or "chat"

    builder = StateGraph(BotState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_conditional_edges("chat", after_chat, [*titles, "chat", END])
    for flow_id in titles:
        builder.add_node(flow_id, flow_subgraph(engine, flow_id))
        builder.add_edge(flow_id, "chat")
    return builder.compile(checkpointer=checkpointer)


def _chat_prompt(state: BotState) -> str:
    """What the chat node says while waiting: a greeting, its last answer, or a flow's last."""
    messages = state.get("messages", [])
    if not messages:
        return GREETING
    last = messages[-1]["content"]
    came_back = state.get("route") not in (None, "end")  # a flow just ended
    return f"{last} {ANYTHING_ELSE}" if came_back else last


Bot = CompiledStateGraph[BotState, None, BotState, BotState]


def open_bot(folder: Path, model: ChatModel | None = None) -> tuple[Engine, Bot]:
    """The bot over two SQLite files in `folder` (cxflow sessions, LangGraph checkpoints).

    Opening it again on the same folder (a restart) continues every conversation.
    """
    store: Store = SqlStore(folder / "sessions.db")
    engine = Engine(FLOWS, store=store, env=PlanUpgrade.make_env())  # one CRM for both flows
    connection = sqlite3.connect(folder / "checkpoints.db", check_same_thread=False)
    graph = build_bot(engine, model or KeywordModel(FLOWS), SqliteSaver(connection))
    return engine, graph


def config_for(conversation: str) -> RunnableConfig:
    """The LangGraph config of one conversation (its thread)."""
    return {"configurable": {"thread_id": conversation}}


def greet(graph: Bot, config: RunnableConfig) -> str:
    """Start the conversation, or rejoin it: what the bot waits on an answer to."""
    pending = graph.get_state(config).interrupts
    if pending:
        return str(pending[0].value["reply"])
    return _reply_in(graph.invoke({}, config))


def send(graph: Bot, config: RunnableConfig, text: str) -> str:
    """Deliver one customer message and return the bot's answer (its goodbye at the end).

    The resume names the interrupt it answers, so a message retried after a failure is never
    also taken as the answer to the next question.
    """
    pending = graph.get_state(config).interrupts
    if not pending:
        raise RuntimeError("this conversation is not waiting for a message; call greet() first")
    return _reply_in(graph.invoke(Command(resume={pending[0].id: text}), config))


def _reply_in(out: Mapping[str, Any]) -> str:
    if "__interrupt__" in out:
        return str(out["__interrupt__"][0].value["reply"])
    return str(out["messages"][-1]["content"])  # the graph ended: the model's goodbye


def main() -> None:
    """Chat with the bot in the terminal (offline); an empty line or Ctrl-D quits."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="cxbot-"))
    _, graph = open_bot(folder)
    config = config_for("terminal")
    print(f"(conversation kept in {folder})")
    print("bot:", greet(graph, config))
    while graph.get_state(config).interrupts:
        try:
            text = input("you: ").strip()
        except EOFError:
            break
        if not text:
            break
        print("bot:", send(graph, config, text))


if __name__ == "__main__":
    main()
