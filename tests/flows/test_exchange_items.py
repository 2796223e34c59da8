"""Exchanging items of a delivered order: offline conversations against the sample store."""

from __future__ import annotations

import pytest

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows._retail_items import pick_variant
from cxflow.flows.exchange_items import ExchangeItems
from cxflow.tools.retail import RetailTools, db_hash

ADA = "my email is ada.park@example.com"
LEO = "I'm Leo Marsh, zip 53703"


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(ExchangeItems, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def writes(turns: list[Turn]) -> list[str]:
    """The write tools that ran (not refused) in these turns."""
    return [c.tool for t in turns for c in t.record.tool_calls if c.side_effect and not c.refused]


def test_two_items_are_exchanged_in_one_request_after_a_yes() -> None:
    store = ExchangeItems.make_env()
    session, turns = chat(
        ADA,
        "#W1000002",
        "the running shoes",
        "size 10",
        "the notebook",
        "200 pages dotted",
        "done",
        "paypal",
        store=store,
    )
    confirm = turns[-1].reply
    assert "size 10, color red, material mesh" in confirm and "pages 200, ruling dotted" in confirm
    assert "$2.75 more" in confirm and "paypal account" in confirm
    assert "make sure these are all the items" in confirm
    turn = session.turn_sync("yes, go ahead")
    assert turn.outcome == "completed"
    order = store.db.orders["#W1000002"]
    assert order.status == "exchange requested"
    assert order.exchange_items == ["2000000031", "2000000041"]
    assert order.exchange_new_items == ["2000000032", "2000000042"]
    assert (order.exchange_payment_method_id, order.exchange_price_difference) == (
        "paypal_1100003",
        2.75,
    )
    assert writes([*turns, turn]) == ["exchange_items"]


def test_an_unavailable_option_is_refused_and_another_is_asked_for() -> None:
    session, turns = chat(ADA, "#W1000002", "the running shoes", "black leather")
    assert session.state == "swap_refused"
    assert "That Running Shoes option is not available." in turns[-1].reply
    assert session.slots["new_item_id"] is None and not session.slots["item_ids"]
    turn = session.turn_sync("size 10 in red then")
    assert turn.state == "more_items"
    assert session.slots["new_item_ids"] == ["2000000032"]


def test_a_pending_order_is_refused() -> None:
    store = ExchangeItems.make_env()
    before = db_hash(store.db)
    session, turns = chat(ADA, "#W1000001", store=store)
    assert session.outcome == "refused"
    assert "Only delivered orders can be exchanged, and order #W1000001 is pending" in (
        turns[-1].reply
    )
    assert db_hash(store.db) == before


def test_a_gift_card_that_cannot_cover_the_difference_is_refused() -> None:
    store = ExchangeItems.make_env()
    before = db_hash(store.db)
    session, turns = chat(
        LEO, "#W1000007", "the water bottle", "750ml", "done", "my gift card", store=store
    )
    assert session.state == "payment_refused"
    assert "gift card's balance ($3.25) doesn't cover $4.50" in turns[-1].reply
    assert db_hash(store.db) == before
    session.turn_sync("paypal")
    session.turn_sync("yes")
    assert store.db.orders["#W1000007"].exchange_payment_method_id == "paypal_1200001"


def test_another_product_is_refused() -> None:
    session, turns = chat(ADA, "#W1000002", "the notebook", "2000000021")  # a desk lamp
    assert session.state == "swap_refused"
    assert "only be changed to another option of the same product (Notebook)" in turns[-1].reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("size 10 please", "2000000032"),
        ("it's size 10", "2000000032"),  # "it's" is a word, not "it" and a size "s"
        ("black instead of red", "2000000033"),  # unavailable: the guard refuses it, not this
        ("2000000032", "2000000032"),
    ],
)
def test_pick_variant_reads_the_options_the_customer_names(text: str, expected: str) -> None:
    store = ExchangeItems.make_env()
    order = store.db.orders["#W1000002"]
    product = store.db.products["1000000003"]
    assert pick_variant(text, product, order.items[0]) == expected


def test_pick_variant_says_what_it_could_not_match() -> None:
    store = ExchangeItems.make_env()
    product = store.db.products["1000000003"]
    with pytest.raises(ValueError, match="no other Running Shoes has 9"):
        pick_variant("size 9", product, store.db.orders["#W1000002"].items[0])
    with pytest.raises(ValueError, match="didn't catch"):
        pick_variant("something nicer", product, store.db.orders["#W1000002"].items[0])
