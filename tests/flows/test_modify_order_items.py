"""Changing items of a pending order: offline conversations against the sample store."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.modify_order_items import ModifyOrderItems
from cxflow.tools.retail import GiftCard, RetailTools, db_hash

ADA = "my email is ada.park@example.com"
LEO = "my email is leo.marsh@example.com"


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(ModifyOrderItems, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def writes(turns: list[Turn]) -> list[str]:
    """The write tools that ran (not refused) in these turns."""
    return [c.tool for t in turns for c in t.record.tool_calls if c.side_effect and not c.refused]


def test_all_items_change_in_one_call_paid_by_gift_card_after_a_yes() -> None:
    store = ModifyOrderItems.make_env()
    session, turns = chat(*ModifyOrderItems.example, store=store)
    assert session.outcome == "completed"
    confirm = turns[-2].reply
    assert "$18.76 more" in confirm and "can't be modified or cancelled afterwards" in confirm
    order = store.db.orders["#W1000001"]
    assert order.status == "pending (item modified)"
    assert [i.item_id for i in order.items] == ["2000000012", "2000000022"]
    card = store.db.users["ada_park_1001"].payment_methods["gift_card_1100002"]
    assert isinstance(card, GiftCard) and card.balance == 101.24
    assert writes(turns) == ["modify_items"]


def test_items_can_be_changed_only_once() -> None:
    store = ModifyOrderItems.make_env()
    chat(*ModifyOrderItems.example, store=store)
    before = db_hash(store.db)
    session, turns = chat(ADA, "#W1000001", store=store)
    assert session.outcome == "refused"
    assert "were already modified, so it can't be modified or cancelled anymore" in (
        turns[-1].reply
    )
    assert db_hash(store.db) == before


def test_a_delivered_order_is_refused() -> None:
    session, turns = chat(ADA, "#W1000002")
    assert session.outcome == "refused"
    assert "Only pending orders can have their items changed" in turns[-1].reply


def test_a_gift_card_short_of_the_difference_is_refused() -> None:
    store = ModifyOrderItems.make_env()
    before = db_hash(store.db)
    session, turns = chat(
        LEO, "#W1000005", "the water bottle", "750ml", "done", "gift card", store=store
    )
    assert session.state == "payment_refused"
    assert "doesn't cover $4.50" in turns[-1].reply
    assert db_hash(store.db) == before and writes(turns) == []


def test_an_unavailable_option_is_refused() -> None:
    session, turns = chat(ADA, "#W1000001", "the water bottle", "green plastic")
    assert session.state == "swap_refused"
    assert "That Water Bottle option is not available." in turns[-1].reply


def test_a_description_matching_nothing_is_asked_again() -> None:
    session, turns = chat(ADA, "#W1000001", "the desk lamp", "a purple one")
    assert session.state == "options_unclear"
    assert "didn't catch which options" in turns[-1].reply
    turn = session.turn_sync("the black one")
    assert turn.state == "more_items"
