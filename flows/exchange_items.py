"""Exchange items of a delivered order, following tau2-bench's retail policy ("Exchange
delivered order").

Authenticate the customer, pick one of their orders, check that it is delivered, collect every
item to exchange with its new option (an available variant of the same product) into one list,
reminding the customer that an order can be exchanged only once, take a payment method for the
price difference (a gift card must cover it), list the details and request the exchange only
after an explicit yes in a later turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.errors import ToolError
from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._retail import (
    CONFIRM_WORDS,
    DECLINE_WORDS,
    describe_payment,
    identity_events,
    identity_states,
    order_events,
    order_is_theirs,
    order_payment_choices,
    order_states,
    payment_chosen,
    refresh_order,
    retail_store,
)
from cxflow.flows._retail_items import (
    ADD_MORE_WORDS,
    SwapSlots,
    drop_payment,
    payment_covers,
    price_swaps,
    swap_events,
    swap_states,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import RetailTools
from cxflow.tools.retail.policy import exchange_allowed, status_allows

ONCE = "An order can be exchanged only once, so please include every item you want to exchange."


class ExchangeSlots(SwapSlots):
    """What the exchange conversation knows."""

    exchanged: bool | None = None
    exchange_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def order_exchangeable(slots: ExchangeSlots) -> bool:
    """Only delivered orders can be exchanged."""
    return slots.order is not None and status_allows(slots.order, "exchange").allowed


def may_exchange(slots: ExchangeSlots) -> bool:
    """Only a delivered order's items can be exchanged, once, for available options of the same
    products, with a payment method that covers the difference."""
    if not order_is_theirs(slots) or slots.order is None or slots.user is None:
        return False
    decision = exchange_allowed(
        slots.order,
        slots.user,
        slots.products or {},
        slots.item_ids or [],
        slots.new_item_ids or [],
        slots.payment_method_id,
    )
    return decision.allowed


def items_exchanged(slots: ExchangeSlots) -> bool:
    """The store accepted the exchange request."""
    return slots.exchanged is True


def exchange_failed(slots: ExchangeSlots) -> bool:
    """The exchange request did not go through."""
    return slots.exchange_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("order",), writes=("refusal",))
def explain_status(
    slots: ExchangeSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """State the rule that keeps this order from being exchanged."""
    assert slots.order is not None
    return {"refusal": status_allows(slots.order, "exchange").rule}


@tool(
    reads=("order_id", "item_ids", "new_item_ids", "payment_method_id"),
    writes=("exchanged",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_exchange,
    error_slot="exchange_error",
)
def exchange_items(
    slots: ExchangeSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Request the exchange of the listed items in the store."""
    assert slots.order_id is not None and slots.payment_method_id is not None
    try:
        store.exchange_delivered_order_items(
            slots.order_id,
            list(slots.item_ids or []),
            list(slots.new_item_ids or []),
            slots.payment_method_id,
        )
    except ValueError as exc:
        raise ToolError("exchange_items", str(exc)) from exc
    return {"exchanged": True}


class ExchangeItems(Flow[ExchangeSlots]):
    """Exchange items of a delivered order for other options of the same products, once."""

    title = "Exchange items"
    keywords = ("exchange", "exchanging", "swap")
    example: ClassVar[tuple[str, ...]] = (
        "I'm Ada Park, zip code 97201",
        "#W1000002",
        "the running shoes",
        "size 10 please",
        "that's all",
        "my credit card",
        "yes",
    )
    facts = (
        SharedFact("order", "order_id", "the order whose items are exchanged"),
        SharedFact("items", "items_text", "the items and the options they become"),
        SharedFact("payment", "payment_label", "the method paying or refunded the difference"),
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you exchange items of a delivered order."
    )
    choose_order, orders_listed, reading_order, order_unknown, not_their_order = order_states(
        "exchange items from"
    )
    not_exchangeable = State(
        final=True, outcome="refused", tools=(explain_status,), say="I'm sorry: {refusal}"
    )
    (
        collect_items,
        item_refused,
        ask_options,
        matching,
        options_unclear,
        swap_refused,
        adding_swap,
        more_items,
    ) = swap_states("exchange", ONCE)
    choose_payment = State(
        fills=("payment_method_id",),
        choices={"payment_method_id": order_payment_choices},
        tools=(price_swaps,),
        say="{difference_text} Which payment method should I use for the price difference? "
        "Yours: {payment_list}.",
        purpose="Get the payment method that pays or receives the price difference.",
    )
    payment_refused = State(
        fills=("payment_method_id",),
        choices={"payment_method_id": order_payment_choices},
        tools=(drop_payment,),
        say="{refusal} Which payment method should I use instead? Yours: {payment_list}.",
    )
    awaiting_confirmation = State(
        tools=(describe_payment,),
        say="To confirm: exchange in order {order_id}: {items_text}. {difference_text} Payment "
        "method for the difference: {payment_label}. An order can be exchanged only once, so "
        "please make sure these are all the items you want to exchange. Shall I request the "
        "exchange (yes/no)?",
        purpose="List the exchange's details and get an explicit yes or no.",
    )
    exchanging = State(tools=(refresh_order, exchange_items), purpose="Request the exchange.")
    exchanged = State(
        final=True,
        say="Done: the exchange in order {order_id} is requested ({items_text}). You'll receive "
        "an email with instructions on how to return the items; there's no need to place a new "
        "order.",
    )
    kept = State(final=True, outcome="declined", say="OK, I haven't requested any exchange.")
    failed = State(
        final=True, outcome="failed", say="I couldn't request the exchange: {exchange_error}."
    )

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=choose_order
    )
    order_given, find_order, order_read = order_events(
        choose_order, orders_listed, reading_order, order_unknown, not_their_order
    )
    status_checked = auto(
        reading_order.to(not_exchangeable, cond=order_is_theirs, unless=order_exchangeable)
        | reading_order.to(collect_items, cond=order_is_theirs)
    )
    item_picked, options_stated, matched, swap_added, items_done = swap_events(
        collect_items,
        item_refused,
        ask_options,
        matching,
        options_unclear,
        swap_refused,
        adding_swap,
        more_items,
        then=choose_payment,
    )
    payment_picked = auto(
        choose_payment.to(awaiting_confirmation, cond=payment_covers)
        | choose_payment.to(payment_refused, cond=payment_chosen)
        | payment_refused.to(awaiting_confirmation, cond=payment_covers)
        | payment_refused.to(payment_refused, cond=payment_chosen)
    )
    confirm_exchange = describe(
        awaiting_confirmation.to(exchanging, cond=may_exchange),
        "The customer confirms the exchange as listed.",
        keywords=CONFIRM_WORDS,
        confirms=exchange_items,
    )
    add_more = describe(
        awaiting_confirmation.to(more_items),
        "The customer wants to add another item to the exchange.",
        keywords=ADD_MORE_WORDS,
    )
    keep_items = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the exchange.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        exchanging.to(exchanged, cond=items_exchanged) | exchanging.to(failed, cond=exchange_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
