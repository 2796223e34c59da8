"""Change items of a pending order, following tau2-bench's retail policy ("Modify items").

Authenticate the customer, pick one of their orders, check that it is pending, collect every
item to change with its new option (an available variant of the same product) into one list,
reminding the customer that items can be changed only once (the order can't be modified or
cancelled afterwards), take a payment method for the price difference (a gift card must cover
it), list the details and change the items only after an explicit yes in a later turn.
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
from cxflow.tools.retail.policy import item_change_allowed, status_allows

ONCE = (
    "Items of an order can be changed only once, and afterwards the order can't be modified or "
    "cancelled anymore, so please include every item you want to change."
)


class ModifySlots(SwapSlots):
    """What the item-change conversation knows."""

    modified: bool | None = None
    modify_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def order_modifiable(slots: ModifySlots) -> bool:
    """Only pending orders can have their items changed."""
    return slots.order is not None and status_allows(slots.order, "modify_items").allowed


def may_modify(slots: ModifySlots) -> bool:
    """Only a pending order's items can be changed, once, to available options of the same
    products, with a payment method that covers the difference."""
    if not order_is_theirs(slots) or slots.order is None or slots.user is None:
        return False
    decision = item_change_allowed(
        slots.order,
        slots.user,
        slots.products or {},
        slots.item_ids or [],
        slots.new_item_ids or [],
        slots.payment_method_id,
    )
    return decision.allowed


def items_modified(slots: ModifySlots) -> bool:
    """The store changed the items."""
    return slots.modified is True


def modify_failed(slots: ModifySlots) -> bool:
    """The item change did not go through."""
    return slots.modify_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("order",), writes=("refusal",))
def explain_status(
    slots: ModifySlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """State the rule that keeps this order's items from being changed."""
    assert slots.order is not None
    return {"refusal": status_allows(slots.order, "modify_items").rule}


@tool(
    reads=("order_id", "item_ids", "new_item_ids", "payment_method_id"),
    writes=("modified",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_modify,
    error_slot="modify_error",
)
def modify_items(
    slots: ModifySlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Change the listed items of the pending order in the store."""
    assert slots.order_id is not None and slots.payment_method_id is not None
    try:
        store.modify_pending_order_items(
            slots.order_id,
            list(slots.item_ids or []),
            list(slots.new_item_ids or []),
            slots.payment_method_id,
        )
    except ValueError as exc:
        raise ToolError("modify_items", str(exc)) from exc
    return {"modified": True}


class ModifyOrderItems(Flow[ModifySlots]):
    """Change items of a pending order to other options of the same products, once."""

    title = "Change items of a pending order"
    keywords = (
        "modify",
        "change an item",
        "change the item",
        "change items",
        "size",
        "color",
        "colour",
        "option",
        "options",
    )
    example: ClassVar[tuple[str, ...]] = (
        "my email is ada.park@example.com",
        "I don't know the order number",
        "#W1000001",
        "the water bottle",
        "the 750ml one",
        "also the desk lamp",
        "black",
        "done",
        "the gift card",
        "yes",
    )
    facts = (
        SharedFact("order", "order_id", "the order whose items change"),
        SharedFact("items", "items_text", "the items and the options they become"),
        SharedFact("payment", "payment_label", "the method paying or refunded the difference"),
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you change items of a pending order."
    )
    choose_order, orders_listed, reading_order, order_unknown, not_their_order = order_states(
        "change items of"
    )
    not_modifiable = State(
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
    ) = swap_states("change", ONCE)
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
        say="To confirm: in order {order_id}, change {items_text}. {difference_text} Payment "
        "method for the difference: {payment_label}. Items can be changed only once, and the "
        "order can't be modified or cancelled afterwards, so please make sure these are all the "
        "items you want to change. Shall I change them (yes/no)?",
        purpose="List the item change's details and get an explicit yes or no.",
    )
    modifying = State(tools=(refresh_order, modify_items), purpose="Change the items.")
    modified = State(
        final=True,
        say="Done: in order {order_id}, {items_text}. The order is now pending with its items "
        "modified.",
    )
    kept = State(final=True, outcome="declined", say="OK, I haven't changed any item.")
    failed = State(final=True, outcome="failed", say="I couldn't change the items: {modify_error}.")

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=choose_order
    )
    order_given, find_order, order_read = order_events(
        choose_order, orders_listed, reading_order, order_unknown, not_their_order
    )
    status_checked = auto(
        reading_order.to(not_modifiable, cond=order_is_theirs, unless=order_modifiable)
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
    confirm_change = describe(
        awaiting_confirmation.to(modifying, cond=may_modify),
        "The customer confirms the item change as listed.",
        keywords=CONFIRM_WORDS,
        confirms=modify_items,
    )
    add_more = describe(
        awaiting_confirmation.to(more_items),
        "The customer wants to add another item to change.",
        keywords=ADD_MORE_WORDS,
    )
    keep_items = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the items changed.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        modifying.to(modified, cond=items_modified) | modifying.to(failed, cond=modify_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
