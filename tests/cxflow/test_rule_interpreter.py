"""The offline interpreter reads each slot kind with its parser and picks events by keywords."""

from __future__ import annotations

import asyncio
import enum
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from cxflow import (
    Cancel,
    Flow,
    Handoff,
    NoOp,
    RuleInterpreter,
    Session,
    SetSlot,
    State,
    Take,
    auto,
    describe,
)
from cxflow.interpreter import EventView, TurnView
from cxflow.types import Parse, PersonName, PhoneNumber, literal_choices, parser_kind


class Cabin(enum.Enum):
    ECONOMY = "economy"
    BUSINESS = "business"


class KindSlots(BaseModel):
    phone: PhoneNumber | None = None
    name: PersonName | None = None
    born: date | None = None
    bags: int | None = None
    gigabytes: float | None = None
    amount: Decimal | None = None
    insured: bool | None = None
    size: Literal["small", "large"] | None = None
    cabin: Cabin | None = None
    order_id: Annotated[str, Field(pattern=r"^#W\d{7}$"), Parse("id")] | None = None
    note: Annotated[str, Parse("text")] | None = None
    plain: str | None = None


def _ready(slots: KindSlots) -> bool:
    return slots.note is not None


class Kinds(Flow[KindSlots]):
    """Every slot kind in one state."""

    ask = State(initial=True, fills=tuple(KindSlots.model_fields), say="Tell me everything.")
    confirm = State(say="Confirm?")
    done = State(final=True, say="Done.")
    dropped = State(final=True, outcome="declined", say="Dropped.")

    ready = auto(ask.to(confirm, cond=_ready))
    accept = describe(confirm.to(done), "yes", keywords=("<yes>", "confirm"))
    refuse = describe(confirm.to(dropped), "no", keywords=("<no>", "drop it"))


def _view(**changes: object) -> TurnView:
    session = Session.start(Kinds)
    from cxflow._turn import TurnRun
    from cxflow.records import PendingTurn

    run = TurnRun(
        snapshot=session.snapshot,
        pending=PendingTurn(session_id=session.id, turn=1, customer_text=""),
        flows=session.flows,
        store=session.store,
        interpreter=session.interpreter,
        env=None,
    )
    view = run.view()
    return TurnView(**{**{f: getattr(view, f) for f in view.__dataclass_fields__}, **changes})


def _values(text: str) -> dict[str, object]:
    commands = RuleInterpreter().commands(_view(), text)
    return {c.slot: c.value for c in commands if isinstance(c, SetSlot)}


@pytest.mark.parametrize(
    ("text", "slot", "value"),
    [
        ("call 555 014 3301", "phone", "555-014-3301"),
        ("my name is Maya Okafor", "name", "Maya Okafor"),
        ("born 1988-03-09", "born", date(1988, 3, 9)),
        ("I have 2 bags", "bags", 2),
        ("add 1.5 GB", "gigabytes", 1.5),
        ("it cost $45.50", "amount", "45.50"),
        ("yes, insured", "insured", True),
        ("the large one", "size", "large"),
        ("business please", "cabin", "business"),
        ("order #W1234567 please", "order_id", "#W1234567"),
    ],
)
def test_each_slot_kind_is_read_by_its_parser(text: str, slot: str, value: object) -> None:
    assert _values(text)[slot] == value


def test_text_slots_take_the_whole_message_and_untyped_strings_take_nothing() -> None:
    values = _values("  something about my order  ")
    assert values["note"] == "something about my order"
    assert "plain" not in values


def test_parser_kind_and_literal_choices_come_from_the_type() -> None:
    fields = KindSlots.model_fields
    assert parser_kind(fields["phone"]) == "phone"
    assert parser_kind(fields["size"]) == "choice"
    assert parser_kind(fields["cabin"]) == "choice"
    assert parser_kind(fields["amount"]) == "money"
    assert parser_kind(fields["plain"]) is None
    assert literal_choices(fields["size"]) == ("small", "large")
    assert literal_choices(fields["cabin"]) == ("economy", "business")
    assert literal_choices(fields["bags"]) == ()


def test_human_request_is_a_handoff_and_bare_cancel_is_a_cancel() -> None:
    rules = RuleInterpreter()
    assert isinstance(rules.commands(_view(), "let me talk to a human")[0], Handoff)
    assert isinstance(rules.commands(_view(), "never mind")[0], Cancel)
    assert isinstance(rules.commands(_view(), "   ")[0], NoOp)


def test_events_by_keywords_and_yes_no() -> None:
    events = (
        EventView("accept", "yes", ("<yes>", "confirm")),
        EventView("refuse", "no", ("<no>", "drop it")),
    )
    view = _view(events=events, slots=())
    rules = RuleInterpreter()
    assert rules.commands(view, "yes please") == [Take(event="accept")]
    assert rules.commands(view, "no thanks") == [Take(event="refuse")]
    assert rules.commands(view, "please drop it") == [Take(event="refuse")]
    assert rules.commands(view, "the weather is nice") == [NoOp()]


def test_equally_good_events_are_not_guessed() -> None:
    events = (EventView("a", "", ("refund",)), EventView("b", "", ("refund",)))
    assert RuleInterpreter().commands(_view(events=events, slots=()), "refund") == [NoOp()]


def test_a_refused_command_is_not_repeated_on_the_retry() -> None:
    events = (EventView("accept", "yes", ("<yes>",)),)
    view = _view(events=events, slots=(), attempt=2, feedback=("event 'accept' refused",))
    assert RuleInterpreter().commands(view, "yes") == [NoOp()]


def test_filled_slots_are_reread_only_on_a_correction_cue() -> None:
    session = Session.start(Kinds)
    session.turn_sync("bags: 2")
    view_slots = {s.name: s for s in _view().slots}
    assert "bags" in view_slots
    out = asyncio.run(RuleInterpreter().interpret(_view(), "3"))
    assert SetSlot(slot="bags", value=3) in out.commands  # empty in the fresh view
    session.turn_sync("actually, 4 bags")
    assert session.slots["bags"] == 4
    session.turn_sync("5 bags")  # no correction cue: the filled slot stays
    assert session.slots["bags"] == 4


def test_full_conversation_through_the_rule_interpreter() -> None:
    session = Session.start(Kinds)
    session.turn_sync("here is a note")
    assert session.state == "confirm"
    turn = session.turn_sync("yes, confirm")
    assert turn.done and turn.outcome == "completed"


def test_free_text_slots_are_not_reread_on_a_correction_cue() -> None:
    view = _view()
    filled = tuple(
        s.__class__(**{**{f: getattr(s, f) for f in s.__dataclass_fields__}, "value": "x"})
        if s.name in ("name", "note", "bags")
        else s
        for s in view.slots
    )
    out = RuleInterpreter().commands(
        TurnView(**{**{f: getattr(view, f) for f in view.__dataclass_fields__}, "slots": filled}),
        "sorry, I meant 3 bags, it's Desk Lamp",
    )
    names = {c.slot for c in out if isinstance(c, SetSlot)}
    assert "bags" in names
    assert "name" not in names and "note" not in names
