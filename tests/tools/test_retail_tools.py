"""Retail tools on the bundled sample store: tau2's quirks, dispatch, and `calculate` vs eval."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxflow.tools._tau2 import ToolResult
from cxflow.tools.retail import (
    TOOL_NAMES,
    TOOL_TYPES,
    GiftCard,
    RetailDB,
    RetailTools,
    load_retail_db,
    sample_db_path,
)
from cxflow.tools.retail._expression import ALLOWED_CHARACTERS


@pytest.fixture
def tools() -> RetailTools:
    return RetailTools(load_retail_db(sample_db_path()))


def _balance(db: RetailDB, user_id: str, card_id: str) -> float:
    card = db.users[user_id].payment_methods[card_id]
    assert isinstance(card, GiftCard)
    return card.balance


# ---- dispatch --------------------------------------------------------------------------------


def test_every_tool_is_a_method_with_a_type() -> None:
    assert sorted(TOOL_TYPES) == list(TOOL_NAMES)
    assert all(callable(getattr(RetailTools, name)) for name in TOOL_NAMES)


def test_call_reports_unknown_tools_and_argument_errors_like_tau2(tools: RetailTools) -> None:
    assert tools.call("refund_order", {}).output == "Error: Tool 'refund_order' not found."
    result = tools.call("get_user_details", {"user": "ada_park_1001"})
    assert result.error
    assert result.output == (
        "Error: RetailTools.get_user_details() got an unexpected keyword argument 'user'"
    )


def test_lookups_are_case_insensitive_on_names_and_email_but_not_zip(tools: RetailTools) -> None:
    assert tools.call("find_user_id_by_email", {"email": "Leo.Marsh@Example.com"}).output == (
        "leo_marsh_1002"
    )
    found = tools.call(
        "find_user_id_by_name_zip", {"first_name": "NINA", "last_name": "ortiz", "zip": "78701"}
    )
    assert found.output == "nina_ortiz_1003"
    missed = tools.call(
        "find_user_id_by_name_zip", {"first_name": "Nina", "last_name": "Ortiz", "zip": "7870"}
    )
    assert missed.output == "Error: User not found"


# ---- tau2's write semantics, kept on purpose -------------------------------------------------


def test_item_change_gives_every_item_the_last_new_variant(tools: RetailTools) -> None:
    order = tools.modify_pending_order_items(
        "#W1000001", ["2000000011", "2000000021"], ["2000000012", "2000000022"], "gift_card_1100002"
    )
    assert [i.item_id for i in order.items] == ["2000000012", "2000000022"]
    assert [i.price for i in order.items] == [54.25, 54.25]  # both get the desk lamp's price
    assert order.items[0].options == {
        "color": "black",
        "brightness": "high",
        "power source": "AC adapter",
    }
    assert order.payment_history[-1].amount == (29.0 - 24.5) + (54.25 - 39.99)  # unrounded
    assert _balance(tools.db, "ada_park_1001", "gift_card_1100002") == round(120.0 - 18.76, 2)
    assert order.status == "pending (item modified)"
    second = tools.call(
        "modify_pending_order_items",
        {
            "order_id": "#W1000001",
            "item_ids": ["2000000012"],
            "new_item_ids": ["2000000011"],
            "payment_method_id": "gift_card_1100002",
        },
    )
    assert second.output == "Error: Non-pending order cannot be modified"


def test_cancel_refunds_a_gift_card_at_once_and_records_the_reason(tools: RetailTools) -> None:
    order = tools.cancel_pending_order("#W1000001", "no longer needed")
    assert (order.status, order.cancel_reason) == ("cancelled", "no longer needed")
    assert [(p.transaction_type, p.amount) for p in order.payment_history] == [
        ("payment", 64.49),
        ("refund", 64.49),
    ]
    assert _balance(tools.db, "ada_park_1001", "gift_card_1100002") == 184.49


def test_exchange_records_a_rounded_difference_and_blocks_a_second_request(
    tools: RetailTools,
) -> None:
    order = tools.exchange_delivered_order_items(
        "#W1000006",
        ["2000000011", "2000000011"],
        ["2000000012", "2000000012"],
        "credit_card_1300001",
    )
    assert order.status == "exchange requested"
    assert order.exchange_price_difference == 9.0
    assert order.payment_history[-1].transaction_type == "payment"  # nothing charged yet
    again = tools.call(
        "return_delivered_order_items",
        {
            "order_id": "#W1000006",
            "item_ids": ["2000000011"],
            "payment_method_id": "credit_card_1300001",
        },
    )
    assert again.output == "Error: Non-delivered order cannot be returned"


def test_return_accepts_the_original_method_or_any_gift_card(tools: RetailTools) -> None:
    refused = tools.call(
        "return_delivered_order_items",
        {
            "order_id": "#W1000002",
            "item_ids": ["2000000031"],
            "payment_method_id": "paypal_1100003",
        },
    )
    assert refused.output == "Error: Payment method should be the original payment method"
    order = tools.return_delivered_order_items(
        "#W1000002", ["2000000041", "2000000031"], "gift_card_1100002"
    )
    assert order.status == "return requested"
    assert order.return_items == ["2000000031", "2000000041"]  # sorted, as tau2 stores them


def _items(order_id: str, old: str, new: str | None, method: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "item_ids": [old],
        "new_item_ids": [new] if new else [],
        "payment_method_id": method,
    }


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        (
            "modify_pending_order_items",
            _items("#W1000005", "2000000032", None, "paypal_1200001"),
            "The number of items to be exchanged should match",
        ),
        (
            "modify_pending_order_items",
            _items("#W1000005", "2000000011", "2000000013", "paypal_1200001"),
            "New item 2000000013 not found or available",
        ),
        (
            "modify_pending_order_items",
            _items("#W1000005", "2000000011", "2000000012", "gift_card_1200002"),
            "Insufficient gift card balance to pay for the new item",
        ),
        (
            "modify_pending_order_items",
            _items("#W1000001", "2000000021", "2000000022", "gift_card_9999999"),
            "Payment method not found",
        ),
        (
            "modify_pending_order_payment",
            {"order_id": "#W1000004", "payment_method_id": "gift_card_1200002"},
            "Non-pending order cannot be modified",
        ),
        (
            "modify_pending_order_payment",
            {"order_id": "#W1000005", "payment_method_id": "gift_card_1200002"},
            "Insufficient gift card balance to pay for the order",
        ),
        (
            "exchange_delivered_order_items",
            {
                "order_id": "#W1000002",
                "item_ids": ["2000000031", "2000000031"],
                "new_item_ids": ["2000000032", "2000000032"],
                "payment_method_id": "gift_card_1100002",
            },
            "Number of 2000000031 not found.",
        ),
    ],
)
def test_tool_errors_use_taus_texts(
    tools: RetailTools, tool: str, arguments: dict[str, object], message: str
) -> None:
    before = tools.db.model_dump()
    assert tools.call(tool, arguments) == ToolResult(f"Error: {message}", True)
    assert tools.db.model_dump() == before


def test_an_equal_price_swap_records_a_zero_refund(tools: RetailTools) -> None:
    order = tools.modify_pending_order_items(
        "#W1000005", ["2000000032"], ["2000000031"], "gift_card_1200002"
    )
    last = order.payment_history[-1]
    assert (last.transaction_type, last.amount, last.payment_method_id) == (
        "refund",
        0.0,
        "gift_card_1200002",
    )
    assert _balance(tools.db, "leo_marsh_1002", "gift_card_1200002") == 3.25


def test_payment_change_refunds_the_old_gift_card_and_works_once(tools: RetailTools) -> None:
    order = tools.modify_pending_order_payment("#W1000001", "credit_card_1100001")
    assert [(p.transaction_type, p.payment_method_id) for p in order.payment_history] == [
        ("payment", "gift_card_1100002"),
        ("payment", "credit_card_1100001"),
        ("refund", "gift_card_1100002"),
    ]
    assert _balance(tools.db, "ada_park_1001", "gift_card_1100002") == 184.49
    again = tools.call(
        "modify_pending_order_payment",
        {"order_id": "#W1000001", "payment_method_id": "paypal_1100003"},
    )
    assert again.output == "Error: There should be exactly one payment for a pending order"


def test_list_all_product_types_is_sorted_json(tools: RetailTools) -> None:
    listed = json.loads(tools.list_all_product_types())
    assert list(listed) == sorted(listed)
    assert listed["Notebook"] == "1000000004"


# ---- calculate -------------------------------------------------------------------------------


def _tau2_calculate(expression: str) -> str:
    """tau2-bench's own implementation, the oracle for cxflow's eval-free one."""
    if not all(char in "0123456789+-*/(). " for char in expression):
        raise ValueError("Invalid characters in expression")
    return str(round(float(eval(expression, {"__builtins__": None}, {})), 2))


def _outcome(function: Callable[[str], str], expression: str) -> tuple[str, str]:
    # Outside tests "2(3)" only warns while compiling ("perhaps you missed a comma?").
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            return ("ok", function(expression))
        except Exception as exc:
            return (type(exc).__name__, str(exc))


@pytest.mark.parametrize(
    "expression",
    [
        "652.61 + 473.43",
        " 2 * (3 + 4)",
        "10 / 4",
        "7 // 2",
        "-(-3) ** 2",
        "2 ** -1",
        "1/0",
        "1.0/0",
        "1//0",
        "0 ** -1",
        "(-8) ** (1/3)",
        "2 ** 2000",
        "2 ** 2000 / 2 ** 1999",
        "10.0 ** 400",
        "()",
        "...",
        "() * 3",
        "",
        "1 +",
        "((1)",
        "(*1)",
        "1.2.3",
        "00",
        "x + 1",
        "1e5",
        "2(3 + 4)",
        "()()",
        "...(1)",
        "1(2)(3)",
        "1(1/0)",
        "(1/0)(2)",
        "1(*())",
        "1(**())",
    ],
)
def test_calculate_matches_taus_eval(tools: RetailTools, expression: str) -> None:
    assert _outcome(tools.calculate, expression) == _outcome(_tau2_calculate, expression)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=ALLOWED_CHARACTERS, max_size=14).filter(
        # "**" could make eval run for minutes; "(*" unpacks into a call (wording differs)
        lambda text: "**" not in text and re.search(r"\(\s*\*", text) is None
    )
)
def test_calculate_matches_taus_eval_on_any_allowed_text(expression: str) -> None:
    tools = RetailTools(RetailDB(products={}, users={}, orders={}))
    assert _outcome(tools.calculate, expression) == _outcome(_tau2_calculate, expression)


def test_calculate_refuses_a_power_too_large_to_compute(tools: RetailTools) -> None:
    result = tools.call("calculate", {"expression": "9 ** 9 ** 9 ** 9"})
    assert result.output == "Error: Expression too large to calculate"
