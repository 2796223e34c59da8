"""Returning items of a delivered order: offline conversations against the sample store."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.return_items import ReturnItems
from cxflow.tools.retail import RetailTools, db_hash

ADA = "my email is ada.park@example.com"


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(ReturnItems, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def writes(turns: list[Turn]) -> list[str]:
    """The write tools that ran (not refused) in these turns."""
    return [c.tool for t in turns for c in t.record.tool_calls if c.side_effect and not c.refused]


def test_items_are_collected_then_returned_in_one_call_after_a_yes() -> None:
    store = ReturnItems.make_env()
    session, turns = chat(
        ADA,
        "#W1000002",
        "the running shoes",
        "and the notebook",
        "done",
        "my credit card",
        store=store,
    )
    confirm = turns[-1].reply
    assert "Running Shoes" in confirm and "Notebook" in confirm and "$93.50" in confirm
    assert "visa credit card ending in 4242" in confirm
    assert "include every item" in confirm  # the reminder that a return happens once
    assert writes(turns) == []
    turn = session.turn_sync("yes")
    assert turn.done and turn.outcome == "completed"
    order = store.db.orders["#W1000002"]
    assert order.status == "return requested"
    assert order.return_items == ["2000000031", "2000000041"]
    assert order.return_payment_method_id == "credit_card_1100001"
    assert writes([turn]) == ["return_items"]


def test_the_same_item_twice_when_the_order_holds_it_twice() -> None:
    store = ReturnItems.make_env()
    session, _ = chat(
        "I'm Nina Ortiz, zip code 78701",
        "#W1000006",
        "the water bottle",
        "another water bottle",
        "that's all",
        "credit card",
        "yes",
        store=store,
    )
    assert session.outcome == "completed"
    assert store.db.orders["#W1000006"].return_items == ["2000000011", "2000000011"]


def test_a_refund_to_paypal_is_refused_then_the_gift_card_is_taken() -> None:
    store = ReturnItems.make_env()
    session, turns = chat(ADA, "#W1000002", "the notebook", "done", "to my paypal", store=store)
    assert session.state == "refund_refused"
    assert "only go to the original payment method of the order or to one of your gift cards" in (
        turns[-1].reply
    )
    assert session.slots["payment_method_id"] is None
    turn = session.turn_sync("the gift card then")
    assert turn.state == "awaiting_confirmation"
    session.turn_sync("yes")
    assert store.db.orders["#W1000002"].return_payment_method_id == "gift_card_1100002"


def test_an_order_that_is_not_delivered_is_refused() -> None:
    store = ReturnItems.make_env()
    before = db_hash(store.db)
    session, turns = chat(ADA, "#W1000003", store=store)
    assert session.outcome == "refused"
    assert "Only delivered orders can be returned, and order #W1000003 is cancelled" in (
        turns[-1].reply
    )
    assert db_hash(store.db) == before


def test_an_item_is_refused_once_listed_as_often_as_the_order_holds_it() -> None:
    session, turns = chat(ADA, "#W1000002", "the notebook", "the notebook")
    assert session.state == "item_refused"
    assert "holds item 2000000041 only 1 time(s)" in turns[-1].reply
    assert session.slots["item_ids"] == ["2000000041"]


def test_an_item_forgotten_until_the_confirmation_is_added_before_the_single_call() -> None:
    store = ReturnItems.make_env()
    session, turns = chat(
        ADA,
        "#W1000002",
        "the notebook",
        "done",
        "gift card",
        "wait, I forgot another item",
        "the running shoes",
        "done",
        store=store,
    )
    assert turns[-1].state == "awaiting_confirmation"
    assert "Notebook" in turns[-1].reply and "Running Shoes" in turns[-1].reply
    assert "$93.50" in turns[-1].reply
    assert writes(turns) == []
    session.turn_sync("yes")
    assert store.db.orders["#W1000002"].return_items == ["2000000031", "2000000041"]


def test_the_write_guard_refuses_when_the_order_was_returned_meanwhile() -> None:
    store = ReturnItems.make_env()
    session, _ = chat(ADA, "#W1000002", "the notebook", "done", "gift card", store=store)
    store.return_delivered_order_items("#W1000002", ["2000000031"], "credit_card_1100001")
    turn = session.turn_sync("yes")
    call = next(c for c in turn.record.tool_calls if c.tool == "return_items")
    assert call.refused and "may_return" in call.refused
    assert store.db.orders["#W1000002"].return_items == ["2000000031"]


def test_plain_words_for_done_and_the_original_payment_method() -> None:
    from cxflow import RuleInterpreter, Session
    from cxflow.flows.retail_support import RetailSupport

    session = Session.start(RetailSupport, interpreter=RuleInterpreter())
    for text in (
        "my email is ada.park@example.com",
        "I want to return something",
        "#W1000002",
        "the running shoes",
        "thats all",  # no apostrophe
        "original payment",
    ):
        turn = session.turn_sync(text)
    assert turn.reply.startswith("To confirm: return Running Shoes")
    assert "visa credit card ending in 4242" in turn.reply
