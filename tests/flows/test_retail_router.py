"""The retail desk: one authentication, several requests in one conversation."""

from __future__ import annotations

import pytest

from cxflow import RuleInterpreter, Session, Turn
from cxflow.flows.retail_support import RetailSupport
from cxflow.tools.retail import RetailTools


def chat(*lines: str) -> tuple[Session, list[Turn], RetailTools]:
    session = Session.start(RetailSupport, interpreter=RuleInterpreter())
    assert isinstance(session.env, RetailTools)
    return session, [session.turn_sync(line) for line in lines], session.env


def calls(turns: list[Turn], tool: str) -> int:
    return sum(c.tool == tool for t in turns for c in t.record.tool_calls)


def test_two_requests_in_one_conversation_reuse_the_identification() -> None:
    session, turns, store = chat(*RetailSupport.example)
    assert session.done and session.outcome == "completed"
    assert calls(turns, "find_customer") == 1  # identified once, at the start
    second = turns[5]  # "I also want to update my default address"
    assert (second.flow, second.state) == ("update_address", "ask_address")
    assert "Your default address is 12 Harbor Lane" in second.reply
    assert turns[4].state == "anything_else"  # back at the desk after the cancellation
    assert store.db.orders["#W1000001"].status == "cancelled"
    assert store.db.users["ada_park_1001"].address.address1 == "200 Oak Avenue"


def test_a_request_before_identification_authenticates_in_its_flow_then_the_desk_keeps_it() -> None:
    session, turns, store = chat(
        "Hi, I want to return something",
        "I'm Leo Marsh, zip code 53703",
        "#W1000007",
        "the water bottle",
        "done",
        "my gift card",
        "yes",
        "can I also cancel an order?",
        "#W1000004",
        "I'd like to change the payment method of my pending order",
        "#W1000005",
        "paypal",
    )
    assert turns[0].flow == "return_items" and turns[0].state == "identify"
    assert turns[6].state == "anything_else"
    assert store.db.orders["#W1000007"].status == "return requested"
    assert turns[7].state == "choose_order"  # no second identification
    assert "Only pending orders can be cancelled" in turns[8].reply  # refused, back at the desk
    assert turns[8].state == "anything_else"
    assert turns[-1].state == "payment_refused"  # it was paid with paypal already
    assert calls(turns, "find_customer") == 1
    session.turn_sync("never mind")
    assert session.state == "anything_else"
    turn = session.turn_sync("no, that's all, bye")
    assert turn.done and turn.outcome == "completed"


@pytest.mark.parametrize(
    ("request_text", "flow"),
    [
        ("I want to return the shoes I got", "return_items"),
        ("I'd like to exchange an item", "exchange_items"),
        ("please cancel my order", "cancel_order"),
        ("I want to modify my pending order", "modify_order_items"),
        ("can you change the shipping address of my order?", "change_order_address"),
        ("I'd like to pay with a different payment method", "change_order_payment"),
        ("I moved, please update my address", "update_address"),
    ],
)
def test_the_desk_starts_the_request_the_customer_names(request_text: str, flow: str) -> None:
    _, turns, _ = chat("my email is nina.ortiz@example.com", request_text)
    assert turns[-1].flow == flow, turns[-1].reply
