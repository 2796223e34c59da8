"""Changing a pending order's shipping address: offline conversations against the sample store."""

from __future__ import annotations

import pytest

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows._retail import retail_store
from cxflow.flows._retail_address import read_address
from cxflow.flows.change_order_address import ChangeOrderAddress
from cxflow.tools.retail import RetailTools, UserAddress, db_hash

ADA = "my email is ada.park@example.com"


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(ChangeOrderAddress, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def test_the_address_changes_after_the_customer_confirms_it() -> None:
    store = ChangeOrderAddress.make_env()
    session, turns = chat(
        ADA, "#W1000001", "The new address is 1234 Elm St, Springfield, IL 62701", store=store
    )
    assert "ship order #W1000001 to 1234 Elm St, Springfield, IL 62701, USA" in turns[-1].reply
    assert store.db.orders["#W1000001"].address.city == "Portland"  # nothing before the yes
    session.turn_sync("yes")
    assert session.outcome == "completed"
    assert store.db.orders["#W1000001"].address == UserAddress(
        address1="1234 Elm St",
        address2="",
        city="Springfield",
        state="IL",
        country="USA",
        zip="62701",
    )


def test_a_delivered_order_is_refused() -> None:
    store = ChangeOrderAddress.make_env()
    before = db_hash(store.db)
    session, turns = chat(ADA, "#W1000002", store=store)
    assert session.outcome == "refused"
    assert "Only pending orders can have their shipping address changed" in turns[-1].reply
    assert db_hash(store.db) == before


def test_an_order_whose_items_were_modified_is_refused_though_the_tool_would_allow_it() -> None:
    store = ChangeOrderAddress.make_env()
    store.modify_pending_order_items("#W1000001", ["2000000011"], ["2000000012"], "paypal_1100003")
    before = db_hash(store.db)
    session, turns = chat(ADA, "#W1000001", store=store)
    assert session.outcome == "refused"
    assert "can't be modified or cancelled anymore" in turns[-1].reply
    assert db_hash(store.db) == before


def test_another_customers_order_address_is_not_copied() -> None:
    session, turns = chat(ADA, "#W1000001", "the same address as order #W1000005")
    assert session.state == "address_unclear"
    assert "order #W1000005 is not one of your orders" in turns[-1].reply


def test_an_address_without_zip_code_is_asked_again() -> None:
    session, turns = chat(ADA, "#W1000001", "somewhere in Austin")
    assert session.state == "address_unclear"
    assert "five-digit zip code" in turns[-1].reply
    turn = session.turn_sync("9 Lake Rd, Austin, TX, 78702")
    assert turn.state == "awaiting_confirmation"


def test_the_write_guard_refuses_when_the_items_were_modified_before_the_yes() -> None:
    store = ChangeOrderAddress.make_env()
    session, _ = chat(ADA, "#W1000001", "9 Lake Rd, Austin, TX, 78702", store=store)
    store.modify_pending_order_items("#W1000001", ["2000000011"], ["2000000012"], "paypal_1100003")
    turn = session.turn_sync("yes")
    call = next(c for c in turn.record.tool_calls if c.tool == "change_order_address")
    assert call.refused and "may_change_address" in call.refused
    assert store.db.orders["#W1000001"].address.city == "Portland"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 Elm St, Apt 2, Austin, TX, 78701", ("1 Elm St", "Apt 2", "Austin", "TX", "78701")),
        (
            "it's 5 Oak Ave, Suite 9, Denver, CO 80202, USA",
            ("5 Oak Ave", "Suite 9", "Denver", "CO", "80202"),
        ),
        ("my default address", ("12 Harbor Lane", "Suite 3", "Portland", "OR", "97201")),
        (
            "1 Elm St, Apt 2, Austin, TX, 78701, please",
            ("1 Elm St", "Apt 2", "Austin", "TX", "78701"),
        ),
    ],
)
def test_read_address(text: str, expected: tuple[str, ...]) -> None:
    store = retail_store()
    address = read_address(text, store.db.users["ada_park_1001"], store)
    assert (address.address1, address.address2, address.city, address.state, address.zip) == (
        expected
    )
    assert address.country == "USA"
