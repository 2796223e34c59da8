"""Whole conversations through `Session`: outcomes, corrections, endings, digressions, replay."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from cxflow import (
    Cancel,
    Clarify,
    Command,
    Flow,
    Handoff,
    NoOp,
    ReplayInterpreter,
    RuleInterpreter,
    ScriptedInterpreter,
    Session,
    SetSlot,
    StartFlow,
    State,
    Take,
    ToolCallContext,
    Turn,
    TurnRecord,
    auto,
    describe,
    tool,
)
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import TURN_RECORD_VERSION
from cxflow.session import ConversationEndedError
from cxflow.tools.telecom import TelecomTools, telecom_db_json
from cxflow.types import PhoneNumber

MAYA = "555-014-3301"
MAYA_SECOND_LINE = "555-014-3302"
PRIYA = "555-039-4412"
TOMAS = "555-027-8810"


def _crm(session: Session) -> dict[str, Any]:
    return telecom_db_json(session.env.db)  # pyright: ignore[reportAttributeAccessIssue]


def _line(crm: dict[str, Any], line_id: str) -> dict[str, Any]:
    return next(line for line in crm["lines"] if line["line_id"] == line_id)


def _scripted(*outputs: list[Command]) -> tuple[Session, ScriptedInterpreter]:
    interpreter = ScriptedInterpreter(list(outputs))
    return Session.start(PlanUpgrade, interpreter=interpreter), interpreter


def _turns(session: Session, n: int) -> list[Turn]:
    return [session.turn_sync("yes") for _ in range(n)]


def _write_calls(session: Session) -> list[Any]:
    return [c for r in session.turns() for c in r.tool_calls if c.side_effect]


TO_PLAN: list[list[Command]] = [
    [SetSlot(slot="phone_number", value=MAYA)],
    [SetSlot(slot="line_phone", value=MAYA)],
]
TO_CONFIRMATION: list[list[Command]] = [*TO_PLAN, [SetSlot(slot="target_plan_id", value="P1002")]]


# -- the happy path, offline ----------------------------------------------------------------------


def test_rule_interpreter_changes_the_plan_after_the_customer_confirms() -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
    before = _crm(session)

    states = [
        session.turn_sync(text).state
        for text in (f"my number is {MAYA}", MAYA, "Everyday 20", "yes")
    ]

    assert states == ["choose_line", "choose_plan", "awaiting_confirmation", "changed"]
    assert session.done and session.outcome == "completed"
    assert "now on Everyday 20 at $55.00 a month" in session.reply
    after = _crm(session)
    assert _line(before, "L2001")["plan_id"] == "P1001"
    assert _line(after, "L2001")["plan_id"] == "P1002"
    assert _line(after, "L2001")["last_plan_change_date"] == "2025-02-25"
    changed_lines = [
        old["line_id"]
        for old, new in zip(before["lines"], after["lines"], strict=True)
        if old != new
    ]
    assert changed_lines == ["L2001"]
    assert {k: v for k, v in after.items() if k != "lines"} == {
        k: v for k, v in before.items() if k != "lines"
    }
    writes = _write_calls(session)
    assert [(c.tool, c.refused, c.error) for c in writes] == [("change_plan", None, None)]
    assert writes[0].idempotency_key


def test_the_price_is_quoted_before_the_customer_confirms() -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())

    for text in (MAYA, MAYA):
        session.turn_sync(text)
    turn = session.turn_sync("Everyday 20")

    assert "$55.00 a month" in turn.reply
    assert "$20.00 more than your current $35.00" in turn.reply
    assert turn.record.reply.stated_facts["quoted_price"] == "55.00"


@pytest.mark.parametrize("birth", ["born 9 March 1988", "1988-03-09"])
def test_customer_is_identified_by_name_and_date_of_birth(birth: str) -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())

    first = session.turn_sync("Maya Okafor")
    second = session.turn_sync(birth)

    assert first.state == "identify"
    assert first.slots["full_name"] == "Maya Okafor"
    assert second.state == "choose_line"
    assert second.slots["date_of_birth"] == "1988-03-09"
    assert second.slots["customer_id"] == "C2001"
    assert "Thanks, Maya Okafor" in second.reply
    assert MAYA in second.reply and MAYA_SECOND_LINE in second.reply


def test_unknown_phone_number_asks_again_and_a_new_number_is_looked_up() -> None:
    session, _ = _scripted(
        [SetSlot(slot="phone_number", value="555-000-0000")],
        [SetSlot(slot="phone_number", value=MAYA)],
    )

    first, second = _turns(session, 2)

    assert first.state == "not_found"
    assert first.slots["lookup_error"]
    assert "couldn't find an account" in first.reply
    assert second.state == "choose_line"
    assert second.slots["customer_id"] == "C2001"
    assert second.slots["lookup_error"] is None


# -- corrections ----------------------------------------------------------------------------------


def test_correcting_the_phone_number_re_identifies_the_customer() -> None:
    session, _ = _scripted(*TO_PLAN, [SetSlot(slot="phone_number", value=PRIYA)])
    *_, at_plan = _turns(session, 2)
    assert at_plan.state == "choose_plan"
    assert at_plan.slots["customer_id"] == "C2001"
    crm_before = _crm(session)

    turn = session.turn_sync("sorry, my number is actually 555-039-4412")

    assert turn.slots["phone_number"] == PRIYA
    assert turn.slots["customer_id"] == "C2003"
    assert turn.slots["customer_name"] == "Priya Natarajan"
    assert PRIYA in turn.slots["lines"]
    assert MAYA not in turn.slots["lines"]
    # what was computed from Maya's line is gone
    for stale in ("line_id", "current_plan_id", "current_price", "plans", "target_plan_id"):
        assert turn.slots[stale] is None, stale
    # the flow went back to identification and forward again from there
    first = turn.record.transitions[0]
    assert (first.event, first.source, first.target) == (
        "correct_phone_number",
        "choose_plan",
        "identify",
    )
    assert [t.target for t in turn.record.transitions[1:3]] == ["lookup", "choose_line"]
    assert turn.record.tool_calls[0].tool == "find_customer"
    assert turn.state != "choose_plan"
    assert _crm(session) == crm_before


def test_correcting_the_phone_number_asks_for_a_line_of_the_new_customer() -> None:
    session, _ = _scripted(*TO_PLAN, [SetSlot(slot="phone_number", value=PRIYA)])
    _turns(session, 2)

    turn = session.turn_sync("actually it's 555-039-4412")

    assert turn.state == "choose_line"
    assert turn.slots["line_phone"] is None
    assert turn.slots["line_error"] is None
    assert "Priya Natarajan" in turn.reply


def test_correcting_the_line_to_another_line_of_the_same_customer_reloads_it() -> None:
    session, _ = _scripted(*TO_PLAN, [SetSlot(slot="line_phone", value=MAYA_SECOND_LINE)])
    _turns(session, 2)

    turn = session.turn_sync("I meant the tablet line")

    assert turn.state == "choose_plan"
    assert turn.slots["customer_id"] == "C2001"
    assert turn.slots["line_id"] == "L2002"
    assert turn.slots["current_plan_id"] == "P1005"


def test_correcting_the_plan_to_one_that_does_not_exist_is_rejected() -> None:
    session, _ = _scripted(*TO_CONFIRMATION, [SetSlot(slot="target_plan_id", value="P9999")])
    _turns(session, 3)

    turn = session.turn_sync("make it P9999")

    assert turn.rejected
    assert turn.state == "awaiting_confirmation"
    assert not turn.done


def test_correcting_the_plan_while_confirming_quotes_the_new_price() -> None:
    session, _ = _scripted(*TO_CONFIRMATION, [SetSlot(slot="target_plan_id", value="P1003")])
    _turns(session, 3)

    turn = session.turn_sync("actually Unlimited Max")

    assert turn.state == "awaiting_confirmation"
    assert turn.slots["target_plan_name"] == "Unlimited Max"
    assert "$90.00 a month" in turn.reply


# -- outcomes that write nothing ------------------------------------------------------------------


def test_suspended_line_ends_refused_without_writing() -> None:
    session, _ = _scripted(
        [SetSlot(slot="phone_number", value=TOMAS)], [SetSlot(slot="line_phone", value=TOMAS)]
    )
    crm_before = _crm(session)

    first, second = _turns(session, 2)

    assert first.state == "choose_line"
    assert second.state == "line_not_active"
    assert second.done and second.outcome == "refused"
    assert "Suspended" in second.reply
    assert _crm(session) == crm_before
    assert _write_calls(session) == []


def test_choosing_the_current_plan_asks_for_another_one() -> None:
    session, _ = _scripted(
        *TO_PLAN,
        [SetSlot(slot="target_plan_id", value="P1001")],
        [SetSlot(slot="target_plan_id", value="P1002")],
    )

    *_, same, other = _turns(session, 4)

    assert same.state == "same_plan"
    assert "already on Starter 5" in same.reply
    assert not same.done
    assert other.state == "awaiting_confirmation"


def test_declining_the_price_ends_declined_without_writing() -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
    crm_before = _crm(session)

    for text in (MAYA, MAYA, "Everyday 20"):
        session.turn_sync(text)
    turn = session.turn_sync("no")

    assert turn.state == "declined"
    assert turn.done and turn.outcome == "declined"
    assert "haven't changed anything" in turn.reply
    assert _crm(session) == crm_before
    assert _write_calls(session) == []


def test_confirming_in_the_turn_the_price_is_first_shown_is_rejected() -> None:
    session, _ = _scripted(
        *TO_PLAN,
        [SetSlot(slot="target_plan_id", value="P1002"), Take(event="confirm_price")],
    )
    crm_before = _crm(session)

    *_, turn = _turns(session, 3)

    assert turn.state == "awaiting_confirmation"
    refused = [r for r in turn.rejected if r.command == {"type": "take", "event": "confirm_price"}]
    assert len(refused) == 1
    assert "confirmation must come in a later turn" in refused[0].reason
    assert _crm(session) == crm_before
    assert _write_calls(session) == []


# a flow whose graph lets the write state be entered without a confirmation, to show that
# the write tool itself refuses to run


class QuickChangeSlots(BaseModel):
    phone_number: PhoneNumber | None = None
    customer_id: str | None = None
    line_id: str | None = None
    plan_changed: bool | None = None
    change_error: str | None = None


def has_phone(slots: QuickChangeSlots) -> bool:
    """A phone number is needed."""
    return slots.phone_number is not None


def has_line(slots: QuickChangeSlots) -> bool:
    """The line must be found."""
    return slots.line_id is not None


def changed_ok(slots: QuickChangeSlots) -> bool:
    """The CRM made the change."""
    return slots.plan_changed is True


def change_failed(slots: QuickChangeSlots) -> bool:
    """The CRM did not make the change."""
    return slots.change_error is not None


@tool(reads=("phone_number",), writes=("customer_id", "line_id"))
def find_line(slots: QuickChangeSlots, crm: TelecomTools, call: ToolCallContext) -> dict[str, Any]:
    """Find the customer and the line with this number."""
    assert slots.phone_number is not None
    customer = crm.get_customer_by_phone(slots.phone_number)
    line = next(
        crm.get_details_by_id(line_id)
        for line_id in customer.line_ids
        if getattr(crm.get_details_by_id(line_id), "phone_number", None) == slots.phone_number
    )
    return {"customer_id": customer.customer_id, "line_id": getattr(line, "line_id", None)}


@tool(
    reads=("customer_id", "line_id"),
    writes=("plan_changed",),
    side_effect=True,
    needs_confirmation=True,
    error_slot="change_error",
)
def move_to_everyday(
    slots: QuickChangeSlots, crm: TelecomTools, call: ToolCallContext
) -> dict[str, Any]:
    """Move the line to Everyday 20."""
    assert slots.customer_id is not None and slots.line_id is not None
    crm.change_plan(slots.customer_id, slots.line_id, "P1002")
    return {"plan_changed": True}


class QuickChange(Flow[QuickChangeSlots]):
    """Move a line to Everyday 20 (with a path that skips the confirmation)."""

    ask = State(initial=True, fills=("phone_number",), say="Which number?")
    lookup = State(tools=(find_line,))
    confirm = State(say="Move line {line_id} to Everyday 20 at $55.00?")
    applying = State(tools=(move_to_everyday,))
    changed = State(final=True, say="Done.")
    failed = State(final=True, outcome="failed", say="Not changed: {change_error}")

    got_phone = auto(ask.to(lookup, cond=has_phone))
    found = auto(lookup.to(confirm, cond=has_line))
    accept = describe(
        confirm.to(applying),
        "The customer accepts.",
        keywords=("<yes>",),
        confirms=move_to_everyday,
    )
    skip_ahead = describe(confirm.to(applying), "A path that forgets to ask.")
    applied = auto(applying.to(changed, cond=changed_ok) | applying.to(failed, cond=change_failed))

    @classmethod
    def make_env(cls) -> TelecomTools:
        return PlanUpgrade.make_env()


def test_write_tool_refuses_to_run_without_the_customers_confirmation() -> None:
    session = Session.start(
        QuickChange,
        interpreter=ScriptedInterpreter(
            [[SetSlot(slot="phone_number", value=MAYA)], [Take(event="skip_ahead")]]
        ),
    )
    crm_before = _crm(session)

    first, second = _turns(session, 2)

    assert first.state == "confirm"
    [call] = [c for c in second.record.tool_calls if c.tool == "move_to_everyday"]
    assert call.refused is not None and "confirmation" in call.refused
    assert call.updates == {}
    assert second.state == "failed" and second.outcome == "failed"
    assert _crm(session) == crm_before


def test_write_tool_runs_once_the_customer_confirmed_in_a_later_turn() -> None:
    session = Session.start(
        QuickChange,
        interpreter=ScriptedInterpreter(
            [[SetSlot(slot="phone_number", value=MAYA)], [Take(event="accept")]]
        ),
    )

    _, second = _turns(session, 2)

    [call] = [c for c in second.record.tool_calls if c.tool == "move_to_everyday"]
    assert call.refused is None and call.error is None
    assert second.state == "changed"
    assert _line(_crm(session), "L2001")["plan_id"] == "P1002"


# -- endings the customer asks for ----------------------------------------------------------------


def test_cancel_ends_the_conversation_cancelled() -> None:
    session, _ = _scripted(*TO_PLAN, [Cancel()])

    *_, turn = _turns(session, 3)

    assert turn.done and turn.outcome == "cancelled"
    assert session.outcome == "cancelled"
    assert "cancelled" in turn.reply
    assert _write_calls(session) == []


def test_cancel_by_rule_interpreter() -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())

    turn = session.turn_sync("never mind")

    assert turn.outcome == "cancelled"


def test_handoff_transfers_to_a_human() -> None:
    session, _ = _scripted([Handoff(reason="wants a person")])

    turn = session.turn_sync("I want a human")

    assert turn.done and turn.outcome == "handed_off"
    assert "TRANSFERRED" in turn.reply
    assert turn.record.handoff_reason == "wants a person"


def test_handoff_by_rule_interpreter() -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
    session.turn_sync(MAYA)

    turn = session.turn_sync("let me speak to a real person")

    assert turn.outcome == "handed_off"
    assert "TRANSFERRED" in turn.reply


def test_clarify_explains_the_slots_the_state_needs() -> None:
    session, _ = _scripted([Clarify(question="What do you need?")])

    turn = session.turn_sync("what do you need from me?")

    assert turn.state == "identify" and not turn.done
    assert "To go on I need: the phone number on the account" in turn.reply
    assert "the account holder's date of birth" in turn.reply


def test_three_turns_of_gibberish_in_one_state_hand_off() -> None:
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())

    turns = [session.turn_sync(text) for text in ("???", "hmm", "gibberish")]

    assert [t.state for t in turns] == ["identify"] * 3
    assert [t.done for t in turns] == [False, False, True]
    assert "Sorry, I didn't get that." in turns[0].reply
    assert "Sorry, I didn't get that." in turns[1].reply
    assert turns[2].outcome == "handed_off"
    assert "TRANSFERRED" in turns[2].reply
    assert turns[2].record.handoff_reason == "no progress after 3 attempts in 'identify'"


def test_progress_resets_the_re_prompt_ladder() -> None:
    session, _ = _scripted(
        [NoOp()], [NoOp()], [SetSlot(slot="phone_number", value=MAYA)], [NoOp()], [NoOp()]
    )

    turns = _turns(session, 5)

    assert [t.state for t in turns] == ["identify", "identify"] + ["choose_line"] * 3
    assert not any(t.done for t in turns)


def test_three_clarifications_in_one_state_hand_off() -> None:
    session, _ = _scripted([Clarify()], [Clarify()], [Clarify()])

    turns = _turns(session, 3)

    assert turns[-1].outcome == "handed_off"


# -- digressions ----------------------------------------------------------------------------------


class OrderSlots(BaseModel):
    order_id: str | None = None
    topic: str | None = None


class HoursSlots(BaseModel):
    store: str | None = None


def has_order(slots: OrderSlots) -> bool:
    """An order id is needed."""
    return slots.order_id is not None


def has_store(slots: HoursSlots) -> bool:
    """A store is needed."""
    return slots.store is not None


class StoreHours(Flow[HoursSlots]):
    """Tell the customer a store's opening hours."""

    ask_store = State(initial=True, fills=("store",), say="Which store?")
    told = State(final=True, say="The {store} store opens at 9.")

    got_store = auto(ask_store.to(told, cond=has_store))


class OrderQuestion(Flow[OrderSlots]):
    """Answer a question about an order."""

    digressions = (StoreHours,)

    ask_order = State(initial=True, fills=("order_id",), say="Which order?")
    ask_topic = State(fills=("topic",), say="What about order {order_id}?")
    answered = State(final=True, say="Done with {order_id}.")

    got_order = auto(ask_order.to(ask_topic, cond=has_order))
    finish = describe(ask_topic.to(answered), "The customer is done.", keywords=("done",))


def test_start_flow_digresses_and_the_parent_resumes_where_it_was() -> None:
    interpreter = ScriptedInterpreter(
        [
            [SetSlot(slot="order_id", value="A17")],
            [StartFlow(flow="store_hours")],
            [SetSlot(slot="store", value="Main Street")],
            [Take(event="finish")],
        ]
    )
    session = Session.start(OrderQuestion, interpreter=interpreter)

    in_parent, pushed, child_done, finished = _turns(session, 4)

    assert (in_parent.flow, in_parent.state) == ("order_question", "ask_topic")
    assert (pushed.flow, pushed.state) == ("store_hours", "ask_store")
    assert pushed.reply == "Which store?"
    assert [f.flow for f in session.turns()[1].transitions] == ["order_question"]
    assert pushed.record.transitions[0].target == "store_hours.ask_store"

    assert (child_done.flow, child_done.state) == ("order_question", "ask_topic")
    assert child_done.slots == {"order_id": "A17", "topic": None}
    assert "The Main Street store opens at 9." in child_done.reply
    assert child_done.reply.endswith("What about order A17?")
    assert not child_done.done

    assert finished.state == "answered"
    assert finished.done and finished.outcome == "completed"


def test_start_flow_of_an_unknown_flow_is_rejected() -> None:
    session = Session.start(
        OrderQuestion, interpreter=ScriptedInterpreter([[StartFlow(flow="refunds")]])
    )

    turn = session.turn_sync("...")

    assert turn.flow == "order_question" and turn.state == "ask_order"
    assert any("unknown flow 'refunds'" in r.reason for r in turn.rejected)


# -- records, replay, sync and async --------------------------------------------------------------


def _conversation() -> tuple[Session, list[Turn]]:
    """Six turns to `changed`, with a rejected-then-retried turn and a garbage turn."""
    script: list[object] = [
        [SetSlot(slot="phone_number", value=MAYA)],  # turn 1
        [{"type": "take", "event": "launch"}],  # turn 2, attempt 1: rejected
        [NoOp()],  # turn 2, attempt 2 (the retry)
        [SetSlot(slot="line_phone", value=MAYA)],  # turn 3
        "garbage",  # turn 4: rejected; an offline interpreter is not asked again
        [SetSlot(slot="target_plan_id", value="P1002")],  # turn 5
        [Take(event="confirm_price")],  # turn 6
    ]
    session = Session.start(PlanUpgrade, interpreter=ScriptedInterpreter(script))
    texts = [MAYA, "??", "my line", "hm", "Everyday 20", "yes"]
    return session, [session.turn_sync(text) for text in texts]


def test_every_turn_leaves_exactly_one_versioned_record_with_timings() -> None:
    session, turns = _conversation()

    records = session.turns()

    assert len(records) == len(turns) == session.version == 6
    assert [r.turn for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r.state_after for r in records] == [t.state for t in turns]
    assert all(r.session_id == session.id for r in records)
    for record, turn in zip(records, turns, strict=True):
        assert isinstance(record, TurnRecord)
        assert record.version == TURN_RECORD_VERSION
        assert record.reply.text == turn.reply
        timings = record.timings
        assert timings.total_ms > 0
        assert (
            min(timings.interpret_ms, timings.machine_ms, timings.tools_ms, timings.store_ms) >= 0
        )
        assert timings.total_ms >= timings.interpret_ms
    assert records[1].attempts == [[{"type": "take", "event": "launch"}], [{"type": "noop"}]]
    assert [r.attempt for r in records[1].rejected] == [1]
    assert records[3].attempts == [[]] and records[3].rejected
    assert records[-1].done and records[-1].outcome == "completed"


def test_stored_records_keep_the_turn_timings() -> None:
    from cxflow.sql_store import SqlStore

    store = SqlStore("sqlite:///:memory:")
    session = Session.start(PlanUpgrade, interpreter=RuleInterpreter(), store=store)

    live = session.turn_sync(MAYA).record.timings
    [stored] = store.turns(session.id)

    assert stored.timings.total_ms > 0
    assert stored.timings.total_ms >= stored.timings.interpret_ms
    assert live.total_ms > 0


def test_replaying_the_records_reproduces_replies_and_states() -> None:
    original, turns = _conversation()
    records = original.turns()

    replay = Session.start(PlanUpgrade, interpreter=ReplayInterpreter(records))
    replayed = [replay.turn_sync(r.customer_text) for r in records]

    assert [t.reply for t in replayed] == [t.reply for t in turns]
    assert [t.state for t in replayed] == [t.state for t in turns]
    assert [t.slots for t in replayed] == [t.slots for t in turns]
    assert replay.outcome == original.outcome == "completed"
    assert _crm(replay) == _crm(original)


def test_replaying_a_rule_interpreter_conversation_needs_no_interpreter() -> None:
    original = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
    texts = ["Maya Okafor", "born 9 March 1988", MAYA, "Everyday 20", "no"]
    replies = [original.turn_sync(text).reply for text in texts]

    replay = Session.start(PlanUpgrade, interpreter=ReplayInterpreter(original.turns()))

    assert [replay.turn_sync(text).reply for text in texts] == replies
    assert replay.state == original.state == "declined"


def test_turn_can_be_awaited() -> None:
    async def converse() -> list[Turn]:
        session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
        return [await session.turn(text) for text in (MAYA, MAYA, "Everyday 20", "yes")]

    turns = asyncio.run(converse())

    assert [t.state for t in turns][-1] == "changed"


def test_sync_and_async_turns_give_the_same_conversation() -> None:
    texts = (MAYA, MAYA, "Unlimited Max", "yes")
    sync_session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
    sync_replies = [sync_session.turn_sync(text).reply for text in texts]

    async def converse() -> list[str]:
        session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
        return [(await session.turn(text)).reply for text in texts]

    assert asyncio.run(converse()) == sync_replies


def test_turn_sync_inside_a_running_event_loop_says_to_await() -> None:
    async def misuse() -> None:
        session = Session.start(PlanUpgrade, interpreter=RuleInterpreter())
        session.turn_sync(MAYA)

    with pytest.raises(RuntimeError, match=r"await session\.turn"):
        asyncio.run(misuse())


def test_a_turn_after_the_end_raises_conversation_ended() -> None:
    session, _ = _scripted([Cancel()])
    session.turn_sync("cancel")

    with pytest.raises(ConversationEndedError) as info:
        session.turn_sync("hello again")

    assert info.value.outcome == "cancelled"
    assert info.value.session_id == session.id
    assert "start a new session" in str(info.value)
    assert len(session.turns()) == 1


def test_a_turn_after_the_end_raises_conversation_ended_when_awaited() -> None:
    session, _ = _scripted([Handoff()])
    session.turn_sync("human please")

    with pytest.raises(ConversationEndedError):
        asyncio.run(session.turn("hello?"))


# -- only the customer's own words confirm a write ------------------------------------------------


@pytest.mark.parametrize(
    "text", ["The agent already approved this yesterday", "no", "I'm not sure", "..."]
)
def test_a_model_confirming_on_a_message_that_is_not_a_yes_is_refused(text: str) -> None:
    session = Session.start(
        QuickChange,
        interpreter=ScriptedInterpreter(
            [[SetSlot(slot="phone_number", value=MAYA)], [Take(event="accept")]]
        ),
    )
    session.turn_sync("my number")

    turn = session.turn_sync(text)

    assert turn.state == "confirm"
    assert any("is not a yes to it" in r.reason for r in turn.rejected), turn.rejected
    assert not [c for c in turn.record.tool_calls if c.tool == "move_to_everyday"]
    assert _line(_crm(session), "L2001")["plan_id"] != "P1002"


@pytest.mark.parametrize("text", ["yes please", "sounds good, go ahead", "Confirm it."])
def test_a_yes_or_the_events_own_keyword_confirms(text: str) -> None:
    session, _ = _scripted(*TO_CONFIRMATION, [Take(event="confirm_price")])
    _turns(session, len(TO_CONFIRMATION))

    turn = session.turn_sync(text)

    assert turn.state == "changed", turn.rejected
