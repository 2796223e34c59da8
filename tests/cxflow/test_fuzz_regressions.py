"""Bugs the fuzzer (tests/reliability/test_fuzz.py) found in the engine, each pinned here.

1. A correction emptied an earlier answer but went back only to where the corrected slot is
   asked: book_flight's search tool forgets the departure date, so correcting the cabin at the
   bags question went on to search flights with no date, and the search tool crashed.
2. The same when the answer was already empty because the current state asks for it again
   (no flights that day: "Another departure date?") and the customer corrected the cabin.
3. A correction of an answer asked later in the flow jumped forward to it, past questions whose
   answers the correction had emptied: the pricing tool ran without the chosen flights.
4. A hand-off whose reason was blank (or huge) was recorded as such.
5. A claim of NaN or infinity was kept as the customer's view: JSON stores it as null, so the
   stored record and snapshot differed from the returned ones (and a repeated NaN claim was
   not recognised as the same one).
"""

from __future__ import annotations

from typing import Any

from cxflow import MemoryStore, RuleInterpreter, Session
from cxflow.commands import Claim, Command, Handoff, SetSlot
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.interpreter import Interpretation, ScriptedInterpreter, TurnView
from cxflow.registry import get_flow


def _booking_at(state: str) -> Session:
    """A book_flight session played with its example lines until it reaches `state`."""
    flow = get_flow("book_flight")
    session = Session.start(flow, interpreter=RuleInterpreter())
    for line in flow.example:
        if session.state == state:
            return session
        session.turn_sync(line)
    raise AssertionError(f"the example never reached {state!r}")


def _say(session: Session, *commands: Command) -> Any:
    session.interpreter = ScriptedInterpreter([list(commands)])
    return session.turn_sync("...")


def test_a_correction_that_empties_an_earlier_answer_goes_back_to_ask_it() -> None:
    session = _booking_at("ask_bags")

    turn = _say(session, SetSlot(slot="cabin", value="basic_economy"))

    assert turn.state == "ask_depart"
    assert turn.slots["cabin"] == "basic_economy"
    assert turn.slots["depart_date"] is None  # the search tool forgets it on a new search
    assert [c.tool for c in turn.record.tool_calls] == []
    assert turn.record.transitions[0].event == "correct_cabin"
    assert not turn.done


def test_leaving_a_state_for_a_correction_goes_back_to_ask_what_it_was_asking() -> None:
    flow = get_flow("book_flight")
    session = Session.start(flow, interpreter=RuleInterpreter())
    for line in ("my user id is ava_moreno_1024", "one way", "from Boston", "to San Francisco"):
        session.turn_sync(line)
    for line in ("2024-05-18", "economy", "one passenger"):
        session.turn_sync(line)
    assert session.state == "no_out"  # no flights that day: "Another departure date?"

    turn = _say(session, SetSlot(slot="cabin", value="basic_economy"))

    assert turn.state == "ask_depart"
    assert turn.slots["depart_date"] is None
    assert [c.tool for c in turn.record.tool_calls] == []  # no search without a date


def test_a_correction_of_a_later_answer_is_kept_without_jumping_ahead() -> None:
    session = _booking_at("ask_payment")
    _say(session, SetSlot(slot="cabin", value="basic_economy"))
    assert session.state == "ask_depart"

    turn = _say(session, SetSlot(slot="insurance", value=True))

    assert turn.state == "ask_depart"  # not on to pricing without flights or passengers
    assert turn.slots["insurance"] is True
    assert all(c.error is None for c in turn.record.tool_calls)
    assert not turn.done


def test_a_blank_or_huge_hand_off_reason_is_not_recorded_as_given() -> None:
    blank = Session.start(PlanUpgrade, interpreter=_Typed([Handoff(reason=" \n")]))
    huge = Session.start(PlanUpgrade, interpreter=_Typed([Handoff(reason="x" * 5000)]))

    blank_reason = blank.turn_sync("...").record.handoff_reason
    huge_reason = huge.turn_sync("...").record.handoff_reason

    assert blank_reason == "the customer asked for a human"
    assert huge_reason is not None and len(huge_reason) < 600


def test_a_claim_of_nan_is_refused_and_the_stored_record_matches_the_returned_one() -> None:
    store = MemoryStore()
    nan = Claim(fact="line", value=float("nan"))
    session = Session.start(PlanUpgrade, store=store, interpreter=_Typed([nan]))

    turn = session.turn_sync("...")

    assert turn.rejected  # on both attempts: the same output comes back
    assert {r.reason for r in turn.rejected} == {
        "claimed 'line' is not a JSON value (NaN or infinity)"
    }
    assert turn.record.claims == []
    assert store.turns(session.id)[-1] == turn.record
    assert store.load_session(session.id).beliefs == session.snapshot.beliefs == {}


class _Typed:
    """Returns typed commands as they are (a model SDK's parsed output), NaN included;
    `ScriptedInterpreter` would round-trip them through JSON first."""

    name = "typed"
    synchronous = True

    def __init__(self, commands: list[Command]) -> None:
        self._commands = commands

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the commands, untouched."""
        return Interpretation(commands=list(self._commands))
