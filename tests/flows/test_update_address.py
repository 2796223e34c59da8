"""Updating the default address: offline conversations against the sample store."""

from __future__ import annotations

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.update_address import UpdateAddress
from cxflow.tools.retail import RetailTools, db_hash


def chat(*lines: str, store: RetailTools | None = None) -> tuple[Session, list[Turn]]:
    session = Session.start(UpdateAddress, interpreter=RuleInterpreter(), env=store)
    return session, [session.turn_sync(line) for line in lines]


def test_the_default_address_changes_after_a_yes() -> None:
    store = UpdateAddress.make_env()
    session, turns = chat(*UpdateAddress.example, store=store)
    assert session.outcome == "completed"
    assert "from 12 Harbor Lane, Suite 3, Portland, OR 97201, USA to 55 Pine Road" in (
        turns[-2].reply
    )
    address = store.db.users["ada_park_1001"].address
    assert (address.address1, address.address2, address.city, address.zip) == (
        "55 Pine Road",
        "",
        "Seattle",
        "98101",
    )
    assert store.db.orders["#W1000001"].address.city == "Portland"  # orders keep theirs


def test_an_unknown_email_is_not_authenticated_and_asked_again() -> None:
    store = UpdateAddress.make_env()
    before = db_hash(store.db)
    session, turns = chat("my email is nobody@example.com", store=store)
    assert session.state == "not_found"
    assert "couldn't find your account" in turns[-1].reply
    turn = session.turn_sync("sorry, it's leo.marsh@example.com")
    assert turn.state == "ask_address" and "7 Quarry Road" in turn.reply
    assert db_hash(store.db) == before


def test_a_user_id_is_not_enough_to_authenticate() -> None:
    session, turns = chat("I'm user nina_ortiz_1003")
    assert session.state == "identify" and session.slots["user_id"] is None
    assert "a user id alone is not enough" in turns[-1].reply


def test_an_incomplete_address_is_asked_again_and_nothing_changes() -> None:
    store = UpdateAddress.make_env()
    before = db_hash(store.db)
    session, turns = chat("my email is nina.ortiz@example.com", "Austin, TX", store=store)
    assert session.state == "address_unclear"
    assert "five-digit zip code" in turns[-1].reply
    assert db_hash(store.db) == before


def test_no_keeps_the_address() -> None:
    store = UpdateAddress.make_env()
    before = db_hash(store.db)
    session, _ = chat(
        "my email is nina.ortiz@example.com", "3 Bay St, Austin, TX, 78703", "no", store=store
    )
    assert session.outcome == "declined"
    assert db_hash(store.db) == before
