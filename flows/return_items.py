"""Return items of a delivered order, following tau2-bench's retail policy ("Return delivered
order").

Authenticate the customer, pick one of their orders, check that it is delivered, collect every
item to return into one list (a return can be requested only once per order), take the refund
method (the original payment method or one of the customer's gift cards), list the details and
request the return only after an explicit yes in a later turn.
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
    money,
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
    DONE_WORDS,
    ItemSlots,
    add_item,
    drop_item,
    has_items,
    item_acceptable,
    item_choices,
    item_chosen,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import RetailTools
from cxflow.tools.retail.policy import refund_method_allowed, return_allowed, status_allows

ONCE = "A return can be requested only once per order, so please include every item now."


class ReturnSlots(ItemSlots):
    """What the return conversation knows."""

    refund_total: str | None = None
    returned: bool | None = None
    return_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def order_returnable(slots: ReturnSlots) -> bool:
    """Only delivered orders can be returned."""
    return slots.order is not None and status_allows(slots.order, "return").allowed


def refund_method_ok(slots: ReturnSlots) -> bool:
    """A refund can only go to the original payment method or to one of your gift cards."""
    if slots.order is None or slots.user is None or slots.payment_method_id is None:
        return False
    return refund_method_allowed(slots.order, slots.user, slots.payment_method_id).allowed


def may_return(slots: ReturnSlots) -> bool:
    """Only a delivered order's items can be returned, once, refunded to the original payment
    method or a gift card."""
    if not order_is_theirs(slots) or slots.order is None or slots.user is None:
        return False
    return return_allowed(
        slots.order, slots.user, slots.item_ids or [], slots.payment_method_id
    ).allowed


def items_returned(slots: ReturnSlots) -> bool:
    """The store accepted the return request."""
    return slots.returned is True


def return_failed(slots: ReturnSlots) -> bool:
    """The return request did not go through."""
    return slots.return_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("order",), writes=("refusal",))
def explain_status(
    slots: ReturnSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """State the rule that keeps this order from being returned."""
    assert slots.order is not None
    return {"refusal": status_allows(slots.order, "return").rule}


@tool(reads=("order", "item_ids"), writes=("refund_total",))
def price_return(
    slots: ReturnSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Add up the refund for the listed items."""
    assert slots.order is not None
    prices = {item.item_id: item.price for item in slots.order.items}
    return {"refund_total": money(sum(prices[i] for i in slots.item_ids or [] if i in prices))}


@tool(reads=("payment_method_id", "order", "user"), writes=("payment_method_id", "refusal"))
def drop_refund_method(
    slots: ReturnSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Set aside a refund method the policy doesn't allow, and say why."""
    assert slots.order is not None and slots.user is not None
    decision = refund_method_allowed(slots.order, slots.user, slots.payment_method_id)
    return {"payment_method_id": None, "refusal": decision.rule}


@tool(
    reads=("order_id", "item_ids", "payment_method_id"),
    writes=("returned",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_return,
    error_slot="return_error",
)
def return_items(
    slots: ReturnSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Request the return of the listed items in the store."""
    assert slots.order_id is not None and slots.payment_method_id is not None
    try:
        store.return_delivered_order_items(
            slots.order_id, list(slots.item_ids or []), slots.payment_method_id
        )
    except ValueError as exc:
        raise ToolError("return_items", str(exc)) from exc
    return {"returned": True}


class ReturnItems(Flow[ReturnSlots]):
    """Return items of a delivered order, refunded to the original payment method or a gift card."""

    title = "Return items"
    keywords = ("return", "returning", "refund", "send back")
    example: ClassVar[tuple[str, ...]] = (
        "my email is ada.park@example.com",
        "#W1000002",
        "the notebook",
        "the running shoes too",
        "that's all",
        "refund it to my gift card",
        "yes",
    )
    facts = (
        SharedFact("order", "order_id", "the order whose items are returned"),
        SharedFact("items", "items_text", "the items being returned"),
        SharedFact("refund", "refund_total", "the amount refunded"),
        SharedFact("refund_method", "payment_label", "where the refund goes"),
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you return items of a delivered order."
    )
    choose_order, orders_listed, reading_order, order_unknown, not_their_order = order_states(
        "return items from"
    )
    not_returnable = State(
        final=True, outcome="refused", tools=(explain_status,), say="I'm sorry: {refusal}"
    )
    collect_items = State(
        fills=("item_id",),
        choices={"item_id": item_choices},
        say="Order {order_id} has: {order_items}. Which item would you like to return? Please "
        f"tell me one item at a time. {ONCE}",
        purpose="Collect the first item to return.",
    )
    item_refused = State(
        fills=("item_id",),
        choices={"item_id": item_choices},
        tools=(drop_item,),
        say="{refusal} Which item would you like to return? (Say done when that's all.)",
    )
    adding_item = State(tools=(add_item,), purpose="Put the item on the list.")
    more_items = State(
        fills=("item_id",),
        choices={"item_id": item_choices},
        say=f"So far: {{items_text}}. Is there any other item to return from this order? {ONCE} "
        "If not, just say done.",
        purpose="Collect every item to return before the single call.",
    )
    choose_refund = State(
        fills=("payment_method_id",),
        choices={"payment_method_id": order_payment_choices},
        tools=(price_return,),
        say="The refund for these items is ${refund_total}. It can go back to the original "
        "payment method ({original_payment}) or to a gift card of yours. Your payment methods: "
        "{payment_list}. Where would you like the refund?",
        purpose="Get the refund method: the original payment method or a gift card.",
    )
    refund_refused = State(
        fills=("payment_method_id",),
        choices={"payment_method_id": order_payment_choices},
        tools=(drop_refund_method,),
        say="{refusal} The original payment method was {original_payment}. Where would you like "
        "the refund?",
    )
    awaiting_confirmation = State(
        tools=(describe_payment,),
        say="To confirm: return {items_text} from order {order_id}, with a refund of "
        "${refund_total} to your {payment_label}. "
        f"{ONCE} Is that everything, and shall I request the return (yes/no)?",
        purpose="List the return's details and get an explicit yes or no.",
    )
    returning = State(tools=(refresh_order, return_items), purpose="Request the return.")
    returned = State(
        final=True,
        say="Done: the return of {items_text} from order {order_id} is requested. You'll receive "
        "an email with instructions on how to send the items back; the refund of "
        "${refund_total} goes to your {payment_label}.",
    )
    kept = State(final=True, outcome="declined", say="OK, I haven't requested any return.")
    failed = State(
        final=True, outcome="failed", say="I couldn't request the return: {return_error}."
    )

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=choose_order
    )
    order_given, find_order, order_read = order_events(
        choose_order, orders_listed, reading_order, order_unknown, not_their_order
    )
    status_checked = auto(
        reading_order.to(not_returnable, cond=order_is_theirs, unless=order_returnable)
        | reading_order.to(collect_items, cond=order_is_theirs)
    )
    item_picked = auto(
        collect_items.to(adding_item, cond=item_acceptable)
        | collect_items.to(item_refused, cond=item_chosen)
        | more_items.to(adding_item, cond=item_acceptable)
        | more_items.to(item_refused, cond=item_chosen)
        | item_refused.to(adding_item, cond=item_acceptable)
        | item_refused.to(item_refused, cond=item_chosen)
    )
    item_added = auto(adding_item.to(more_items))
    items_done = describe(
        more_items.to(choose_refund, cond=has_items)
        | item_refused.to(choose_refund, cond=has_items),
        "The customer has listed every item to return.",
        keywords=DONE_WORDS,
    )
    refund_picked = auto(
        choose_refund.to(awaiting_confirmation, cond=refund_method_ok)
        | choose_refund.to(refund_refused, cond=payment_chosen)
        | refund_refused.to(awaiting_confirmation, cond=refund_method_ok)
        | refund_refused.to(refund_refused, cond=payment_chosen)
    )
    confirm_return = describe(
        awaiting_confirmation.to(returning, cond=may_return),
        "The customer confirms the return as listed.",
        keywords=CONFIRM_WORDS,
        confirms=return_items,
    )
    add_more = describe(
        awaiting_confirmation.to(more_items),
        "The customer wants to add another item to the return.",
        keywords=ADD_MORE_WORDS,
    )
    keep_items = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the return.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        returning.to(returned, cond=items_returned) | returning.to(failed, cond=return_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
