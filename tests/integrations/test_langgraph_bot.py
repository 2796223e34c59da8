"""The example bot (examples/langgraph_bot.py): a model chats, cxflow flows do the requests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.flows.refuel_data import RefuelData
from cxflow.integrations.langgraph import ChatMessage
from cxflow.tools.telecom import Line, TelecomTools

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langgraph_bot.py"
PLAN_TALK = ["I'd like to change my plan", *PlanUpgrade.example]
DATA_TALK = ["I'm out of data, can I get more data?", *RefuelData.example]


@pytest.fixture(scope="module")
def bot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("langgraph_bot", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["langgraph_bot"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def line(crm: TelecomTools) -> Line:
    found = crm.get_details_by_id("L2001")
    assert isinstance(found, Line)
    return found


def test_the_model_hands_requests_to_flows_and_takes_the_conversation_back(
    bot: ModuleType, tmp_path: Path
) -> None:
    engine, graph = bot.open_bot(tmp_path)
    crm = engine.env_for(PlanUpgrade)
    refueled_before = line(crm).data_refueling_gb
    config = bot.config_for("c1")

    replies = [bot.greet(graph, config)]
    replies += [bot.send(graph, config, text) for text in ["hello", *PLAN_TALK, *DATA_TALK]]
    goodbye = bot.send(graph, config, "no thanks, bye")

    assert replies[0] == bot.GREETING
    assert "change my plan" in replies[1]  # small talk: the model offers what it can do
    assert replies[2] == PlanUpgrade.spec.states["identify"].say  # the flow took over
    assert replies[len(PLAN_TALK) + 1].endswith(bot.ANYTHING_ELSE)  # back with the model
    assert replies[len(PLAN_TALK) + 2] == RefuelData.spec.states["identify"].say
    assert replies[-1].endswith(bot.ANYTHING_ELSE)
    assert goodbye == "Thanks for calling. Goodbye!"
    assert not graph.get_state(config).interrupts, "the conversation ended"

    assert line(crm).plan_id == "P1002", "the plan changed"
    assert line(crm).data_refueling_gb == refueled_before + 2.0, "2 GB added once"
    state = graph.get_state(config).values
    said = [m["content"] for m in state["messages"] if m["role"] == "user"]
    assert said == ["hello", *PLAN_TALK, *DATA_TALK, "no thanks, bye"]
    assert state["cxflow_flow"] == "refuel_data" and state["cxflow_outcome"] == "completed"
    sessions = engine.store.list_sessions()
    assert sorted((s.flow, s.outcome) for s in sessions) == [
        ("plan_upgrade", "completed"),
        ("refuel_data", "completed"),
    ]


def test_a_restarted_bot_continues_the_conversation_mid_flow(
    bot: ModuleType, tmp_path: Path
) -> None:
    _, graph = bot.open_bot(tmp_path)
    config = bot.config_for("c2")
    bot.greet(graph, config)
    for text in PLAN_TALK[:3]:
        asked = bot.send(graph, config, text)
    del graph

    engine, reopened = bot.open_bot(tmp_path)  # a new process on the same two files
    assert bot.greet(reopened, config) == asked, "it waits on the same question"
    for text in PLAN_TALK[3:]:
        answer = bot.send(reopened, config, text)
    assert answer.startswith("Done: line 555-014-3301 is now on Everyday 20")
    assert line(engine.env_for(PlanUpgrade)).plan_id == "P1002"


class RecordingModel:
    """A stand-in chat model that notes what it was shown and always answers small talk."""

    def __init__(self, bot: ModuleType) -> None:
        self.inner = bot.KeywordModel(bot.FLOWS)
        self.seen: list[list[ChatMessage]] = []

    def respond(self, messages: Sequence[ChatMessage], flows: Mapping[str, str]) -> Any:
        self.seen.append(list(messages))
        return self.inner.respond(messages, flows)


def test_after_a_flow_the_model_sees_what_was_said_in_it(bot: ModuleType, tmp_path: Path) -> None:
    model = RecordingModel(bot)
    _, graph = bot.open_bot(tmp_path, model=model)
    config = bot.config_for("c3")
    bot.greet(graph, config)
    for text in [*PLAN_TALK, "thanks"]:
        bot.send(graph, config, text)

    assert len(model.seen) == 2, "the model is asked only outside the flow"
    shown = model.seen[-1]
    assert [m["content"] for m in shown if m["role"] == "user"] == [*PLAN_TALK, "thanks"]
    assert shown[-2]["content"].startswith("Done: line 555-014-3301 is now on Everyday 20")
