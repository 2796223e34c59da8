"""A router starts the flow the customer asks for and continues when it ends."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel

from cxflow import Flow, ScriptedInterpreter, Session, StartFlow, State, auto, describe
from cxflow.errors import FlowDefinitionError
from cxflow.types import Parse


class DeskSlots(BaseModel):
    name: str | None = None
    store: Annotated[str, Parse("text")] | None = None


def has_store(slots: DeskSlots) -> bool:
    return slots.store is not None


class Hours(Flow[DeskSlots]):
    """Tell the customer a store's opening hours."""

    title = "Opening hours"
    keywords = ("hours", "open", "opening")
    ask = State(initial=True, fills=("store",), say="Which store?")
    told = State(final=True, say="The {store} store opens at 9.")
    got = auto(ask.to(told, cond=has_store))


class Returns(Flow[DeskSlots]):
    """Explain returns."""

    title = "Returns"
    keywords = ("return", "refund")
    explain = State(initial=True, say="Returns are free within 30 days. OK?")
    done = State(final=True, say="Glad to help.")
    ok = describe(explain.to(done), "understood", keywords=("<yes>",))


class Desk(Flow[DeskSlots]):
    """Route the customer to what they need."""

    greet = State(initial=True, starts=(Hours, Returns), returns_to="more", say="How can I help?")
    more = State(starts=(Hours, Returns), say="Anything else?")
    bye = State(final=True, say="Bye, {name}.")
    finish = describe(more.to(bye), "nothing else", keywords=("<no>", "nothing"))


def test_the_router_starts_the_requested_flow_and_asks_for_more_after_it() -> None:
    session = Session.start(Desk)
    turn = session.turn_sync("what are your opening hours?")
    assert (turn.flow, turn.state) == ("hours", "ask")
    turn = session.turn_sync("Main")
    assert (turn.flow, turn.state) == ("desk", "more")
    assert turn.reply == "The Main store opens at 9. Anything else?"


def test_after_the_child_ends_the_parent_continues_in_returns_to() -> None:
    script = [
        [StartFlow(flow="returns")],
        [{"type": "take", "event": "ok"}],
        [StartFlow(flow="hours")],
        [{"type": "set_slot", "slot": "store", "value": "Elm"}],
        [{"type": "take", "event": "finish"}],
    ]
    session = Session.start(Desk, interpreter=ScriptedInterpreter(script))
    session.turn_sync("I want to return something")
    turn = session.turn_sync("ok")
    assert (turn.flow, turn.state) == ("desk", "more")
    assert turn.reply == "Glad to help. Anything else?"
    session.turn_sync("hours?")
    turn = session.turn_sync("Elm")
    assert (turn.flow, turn.state) == ("desk", "more")
    assert turn.reply == "The Elm store opens at 9. Anything else?"
    assert turn.slots["store"] == "Elm"  # what the child learned comes back
    turn = session.turn_sync("no, that's all")
    assert turn.done and turn.outcome == "completed"


def test_rule_interpreter_starts_flows_by_their_keywords() -> None:
    session = Session.start(Desk)
    assert session.turn_sync("I'd like a refund").flow == "returns"
    assert session.turn_sync("yes").state == "more"


def test_a_flow_that_is_not_startable_here_is_rejected() -> None:
    session = Session.start(
        Hours,
        interpreter=ScriptedInterpreter([[StartFlow(flow="returns")]]),
        flows={"returns": Returns},
    )
    turn = session.turn_sync("refund")
    assert turn.flow == "hours"
    assert any("cannot be started in state 'ask'" in r.reason for r in turn.rejected)


def test_returns_to_must_name_a_state() -> None:
    with pytest.raises(FlowDefinitionError, match="returns_to='nowhere'"):

        class Broken(Flow[DeskSlots]):
            greet = State(initial=True, starts=(Hours,), returns_to="nowhere", say="Hi")
            bye = State(final=True)
            leave = describe(greet.to(bye), "leave", keywords=("bye",))


def test_graphs_show_where_a_router_continues_after_a_started_flow() -> None:
    from cxflow.graph import to_dot, to_mermaid

    assert "greet --> more : after hours | returns" in to_mermaid(Desk)
    assert '"greet" -> "more" [label="after hours | returns", style=dotted];' in to_dot(Desk)
