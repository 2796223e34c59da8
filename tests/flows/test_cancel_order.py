"""Cancelling a pending order: offline conversations against the sample store."""

from __future__ import annotations

from cxflow import RuleInterpreter, ScriptedInterpreter, Session, SetSlot, Turn
from cxflow.flows.cancel_order import CancelOrder
from cxflow.tools.retail import GiftCard, RetailTools, db_hash

ADA = "my email is ada.park@example.com"


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(CancelOrder, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def writes(turns: list[Turn]) -> list[str]:
    """The write tools that ran (not refused) in these turns."""
    return [c.tool for t in turns for c in t.record.tool_calls if c.side_effect and not c.refused]


def test_a_pending_order_is_cancelled_after_reason_and_an_explicit_yes() -> None:
    session, turns = chat(ADA, "#W1000001", "I ordered it by mistake", "yes")
    store = session.env
    assert isinstance(store, RetailTools)
    assert "ordered by mistake" in turns[2].reply and "$64.49" in turns[2].reply
    assert "gift card right away" in turns[2].reply
    assert session.outcome == "completed"
    order = store.db.orders["#W1000001"]
    assert (order.status, order.cancel_reason) == ("cancelled", "ordered by mistake")
    card = store.db.users["ada_park_1001"].payment_methods["gift_card_1100002"]
    assert isinstance(card, GiftCard) and card.balance == 184.49
    assert writes(turns) == ["cancel_order"]


def test_the_customer_can_ask_for_the_list_of_their_orders() -> None:
    session, turns = chat(ADA, "I don't remember the order id")
    assert session.state == "orders_listed"
    assert "#W1000001 (pending: Water Bottle, Desk Lamp)" in turns[-1].reply


def test_a_processed_order_is_refused_and_nothing_changes() -> None:
    store = CancelOrder.make_env()
    before = db_hash(store.db)
    session, turns = chat("I'm Leo Marsh and my zip code is 53703", "it's #W1000004", store=store)
    assert session.outcome == "refused"
    assert "Only pending orders can be cancelled, and order #W1000004 is processed" in (
        turns[-1].reply
    )
    assert db_hash(store.db) == before and writes(turns) == []


def test_a_reason_other_than_the_two_accepted_is_not_taken() -> None:
    session, turns = chat(ADA, "#W1000001", "I found it cheaper somewhere else")
    assert session.state == "ask_reason"  # still asking: no accepted reason was given
    session.interpreter = ScriptedInterpreter(
        [[SetSlot(slot="cancel_reason", value="found it cheaper")]]
    )
    turn = session.turn_sync("(a model proposing another reason)")
    assert turn.state == "ask_reason"
    assert "should be 'no longer needed' or 'ordered by mistake'" in turn.rejected[0].reason
    assert writes([*turns, turn]) == []


def test_another_customers_order_is_refused() -> None:
    store = CancelOrder.make_env()
    before = db_hash(store.db)
    session, turns = chat(ADA, "#W1000005", store=store)  # Leo's order
    assert session.outcome == "refused"
    assert "only help with orders on your own account" in turns[-1].reply
    assert db_hash(store.db) == before


def test_a_user_id_alone_does_not_authenticate() -> None:
    session, turns = chat("my user id is ada_park_1001")
    assert session.state == "identify"
    assert not any(c.tool == "find_customer" for t in turns for c in t.record.tool_calls)


def test_no_keeps_the_order() -> None:
    store = CancelOrder.make_env()
    before = db_hash(store.db)
    session, _ = chat(ADA, "#W1000001", "no longer needed", "no, keep it", store=store)
    assert session.outcome == "declined"
    assert db_hash(store.db) == before


def test_the_write_guard_refuses_when_the_order_ships_before_the_yes() -> None:
    store = CancelOrder.make_env()
    session, _ = chat(ADA, "#W1000001", "no longer needed", store=store)
    order = store.db.writable_order("#W1000001")
    assert order is not None
    order.status = "processed"  # it shipped meanwhile
    turn = session.turn_sync("yes")
    call = next(c for c in turn.record.tool_calls if c.tool == "cancel_order")
    assert call.refused and "may_cancel" in call.refused
    assert session.outcome == "failed"
    assert store.db.orders["#W1000001"].cancel_reason is None
