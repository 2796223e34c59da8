"""Changing a pending order's payment method: offline conversations against the sample store."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.change_order_payment import ChangeOrderPayment
from cxflow.tools.retail import GiftCard, RetailTools, db_hash

ADA = "my email is ada.park@example.com"
LEO = "I'm Leo Marsh, my zip code is 53703"


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(ChangeOrderPayment, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def test_the_payment_moves_to_paypal_after_a_yes_and_the_gift_card_is_refunded() -> None:
    store = ChangeOrderPayment.make_env()
    session, turns = chat(ADA, "#W1000001", "paypal", store=store)
    assert "with your paypal account instead of your gift card" in turns[-1].reply
    assert "refunded right away" in turns[-1].reply
    session.turn_sync("yes")
    assert session.outcome == "completed"
    history = store.db.orders["#W1000001"].payment_history
    assert [(p.transaction_type, p.payment_method_id) for p in history][1:] == [
        ("payment", "paypal_1100003"),
        ("refund", "gift_card_1100002"),
    ]
    card = store.db.users["ada_park_1001"].payment_methods["gift_card_1100002"]
    assert isinstance(card, GiftCard) and card.balance == 184.49


def test_the_method_the_order_was_paid_with_is_refused() -> None:
    session, turns = chat(ADA, "#W1000001", "the gift card")
    assert session.state == "payment_refused"
    assert "must be different from the one the order was paid with" in turns[-1].reply
    assert session.slots["payment_method_id"] is None


def test_a_gift_card_short_of_the_total_is_refused() -> None:
    store = ChangeOrderPayment.make_env()
    before = db_hash(store.db)
    session, turns = chat(LEO, "#W1000005", "my gift card", store=store)
    assert session.state == "payment_refused"
    assert "balance ($3.25) doesn't cover $113.50" in turns[-1].reply
    assert db_hash(store.db) == before


def test_a_processed_order_is_refused() -> None:
    session, turns = chat(LEO, "#W1000004")
    assert session.outcome == "refused"
    assert "Only pending orders can have their payment method changed" in turns[-1].reply


def test_no_keeps_the_payment_method() -> None:
    store = ChangeOrderPayment.make_env()
    before = db_hash(store.db)
    session, _ = chat(ADA, "#W1000001", "credit card", "no", store=store)
    assert session.outcome == "declined"
    assert db_hash(store.db) == before
