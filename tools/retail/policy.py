"""The retail policy as pure decisions over the store's records (tau2-bench's retail policy).

Every function takes the records an agent has looked up (an `Order`, the `User`, the order's
`Product`s) and what the customer asked for, and returns a `Decision`: whether the policy allows
the action and the rule that decided it, worded so it can be read to the customer. Nothing here
reads or writes a database; flows call these functions from their guards, and tests call them
with the situations of tau2's tasks.

The tools themselves (`RetailTools`) check less than the policy does (e.g. they change the
address of an order whose items were already modified); these functions are the policy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from cxflow.tools.retail.models import (
    GiftCard,
    Order,
    OrderItem,
    PaymentMethod,
    Product,
    User,
    UserAddress,
)
from cxflow.tools.retail.tools import CANCEL_REASONS

__all__ = [
    "ACTION_STATUSES",
    "Action",
    "Decision",
    "address_change_allowed",
    "address_complete",
    "cancellation_allowed",
    "exchange_allowed",
    "gift_card_covers",
    "item_change_allowed",
    "items_in_order",
    "order_belongs_to",
    "payment_change_allowed",
    "price_difference",
    "refund_method_allowed",
    "return_allowed",
    "status_allows",
    "swap_allowed",
    "swaps_allowed",
    "user_address_change_allowed",
]

Action: TypeAlias = Literal[
    "cancel", "modify_address", "modify_payment", "modify_items", "return", "exchange"
]
"""An action on an order that the policy restricts by the order's status."""

ACTION_STATUSES: Mapping[Action, str] = {
    "cancel": "pending",
    "modify_address": "pending",
    "modify_payment": "pending",
    "modify_items": "pending",
    "return": "delivered",
    "exchange": "delivered",
}
"""The one status in which each action is allowed ("pending (item modified)" is not pending:
after an item change the order cannot be modified or cancelled anymore)."""

_DONE: Mapping[Action, str] = {
    "cancel": "be cancelled",
    "modify_address": "have their shipping address changed",
    "modify_payment": "have their payment method changed",
    "modify_items": "have their items changed",
    "return": "be returned",
    "exchange": "be exchanged",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the policy allows an action, and the rule that decided it.

    Attributes:
        allowed: True when the action may go ahead.
        rule: The deciding rule as a sentence for the customer ("Only pending orders can be
            cancelled, and order #W1 is delivered.").
    """

    allowed: bool
    rule: str


def _allow(rule: str) -> Decision:
    return Decision(True, rule)


def _refuse(rule: str) -> Decision:
    return Decision(False, rule)


def _first_refusal(*decisions: Decision) -> Decision | None:
    return next((d for d in decisions if not d.allowed), None)


# -- who and which order ----------------------------------------------------------------------


def order_belongs_to(order: Order, user_id: str | None) -> Decision:
    """The agent helps one authenticated user, and only with that user's own orders."""
    if user_id is None:
        return _refuse("I need to verify your identity before I can help with an order.")
    if order.user_id != user_id:
        return _refuse("I can only help with orders on your own account.")
    return _allow(f"Order {order.order_id} is on your account.")


def status_allows(order: Order, action: Action) -> Decision:
    """Each action is allowed in one status only: pending orders change, delivered ones return."""
    needed = ACTION_STATUSES[action]
    if order.status == needed:
        return _allow(f"{needed.capitalize()} orders can {_DONE[action]}.")
    if order.status == "pending (item modified)" and needed == "pending":
        return _refuse(
            f"The items of order {order.order_id} were already modified, so it can't be "
            "modified or cancelled anymore."
        )
    return _refuse(
        f"Only {needed} orders can {_DONE[action]}, and order {order.order_id} is {order.status}."
    )


# -- cancel -------------------------------------------------------------------------------------


def cancellation_allowed(order: Order, reason: str | None) -> Decision:
    """A pending order can be cancelled as 'no longer needed' or 'ordered by mistake' only."""
    status = status_allows(order, "cancel")
    if not status.allowed:
        return status
    if reason not in CANCEL_REASONS:
        return _refuse(
            "I can cancel an order only if it's no longer needed or was ordered by mistake."
        )
    return _allow(f"A pending order can be cancelled because it was '{reason}'.")


# -- addresses ----------------------------------------------------------------------------------


def address_complete(address: UserAddress | None) -> Decision:
    """An address needs a street, city, state, country and zip code (address2 may be empty)."""
    if address is None:
        return _refuse("I need the new address first.")
    missing = [
        name
        for name in ("address1", "city", "state", "country", "zip")
        if not getattr(address, name).strip()
    ]
    if missing:
        return _refuse(f"The address is missing its {', '.join(missing)}.")
    return _allow("The address is complete.")


def address_change_allowed(order: Order, address: UserAddress | None) -> Decision:
    """The shipping address of a pending order can change to another complete address."""
    return _first_refusal(status_allows(order, "modify_address"), address_complete(address)) or (
        _allow("A pending order's shipping address can be changed.")
    )


def user_address_change_allowed(user: User | None, address: UserAddress | None) -> Decision:
    """An authenticated user can change their own default address to a complete address."""
    if user is None:
        return _refuse("I need to verify your identity before I can change your address.")
    return address_complete(address)


# -- payment methods ------------------------------------------------------------------------------


def _method(user: User, payment_method_id: str | None) -> PaymentMethod | None:
    return user.payment_methods.get(payment_method_id) if payment_method_id else None


def gift_card_covers(user: User, payment_method_id: str | None, amount: float) -> Decision:
    """A gift card pays only what its balance covers; other methods of the user always can."""
    method = _method(user, payment_method_id)
    if method is None:
        return _refuse("Please choose one of the payment methods on your account.")
    if isinstance(method, GiftCard) and method.balance < round(amount, 2):
        return _refuse(
            f"Your gift card's balance (${method.balance:.2f}) doesn't cover ${amount:.2f}."
        )
    return _allow("The payment method can cover the amount.")


def payment_change_allowed(order: Order, user: User, payment_method_id: str | None) -> Decision:
    """A pending order can move to one other payment method of the user that covers its total."""
    status = status_allows(order, "modify_payment")
    if not status.allowed:
        return status
    original = order.payment_history[0].payment_method_id if order.payment_history else None
    if payment_method_id is not None and payment_method_id == original:
        return _refuse(
            "The new payment method must be different from the one the order was paid with."
        )
    total = order.payment_history[0].amount if order.payment_history else 0.0
    return gift_card_covers(user, payment_method_id, total)


def refund_method_allowed(order: Order, user: User, payment_method_id: str | None) -> Decision:
    """A refund goes to the order's original payment method or to one of the user's gift cards."""
    method = _method(user, payment_method_id)
    if method is None:
        return _refuse("Please choose one of the payment methods on your account.")
    original = order.payment_history[0].payment_method_id if order.payment_history else None
    if payment_method_id == original or isinstance(method, GiftCard):
        return _allow("Refunds go to the original payment method or a gift card.")
    return _refuse(
        "A refund can only go to the original payment method of the order or to one of your "
        "gift cards."
    )


# -- items ----------------------------------------------------------------------------------------


def items_in_order(order: Order, item_ids: Sequence[str]) -> Decision:
    """Each item named must be in the order, at most as many times as the order holds it."""
    held = Counter(item.item_id for item in order.items)
    for item_id, count in Counter(item_ids).items():
        if held[item_id] == 0:
            return _refuse(f"Item {item_id} is not in order {order.order_id}.")
        if count > held[item_id]:
            return _refuse(
                f"Order {order.order_id} holds item {item_id} only {held[item_id]} time(s)."
            )
    return _allow("The items are in the order.")


def swap_allowed(item: OrderItem, product: Product | None, new_item_id: str | None) -> Decision:
    """An item can become an available variant of the same product with different options."""
    if product is None or product.product_id != item.product_id:
        return _refuse(f"I couldn't find the product of item {item.item_id}.")
    if new_item_id is None:
        return _refuse("Which options would you like instead?")
    if new_item_id == item.item_id:
        return _refuse("That's the item you already have; please choose different options.")
    variant = product.variants.get(new_item_id)
    if variant is None:
        return _refuse(
            f"An item can only be changed to another option of the same product "
            f"({product.name}), not to a different product."
        )
    if not variant.available:
        return _refuse(f"That {product.name} option is not available.")
    return _allow(f"Item {item.item_id} can become {new_item_id}.")


def swaps_allowed(
    order: Order,
    products: Mapping[str, Product],
    item_ids: Sequence[str],
    new_item_ids: Sequence[str],
) -> Decision:
    """Every item listed (in the order) pairs with an allowed new variant of its product."""
    if not item_ids:
        return _refuse("Please tell me at least one item.")
    if len(item_ids) != len(new_item_ids):
        return _refuse("Every item needs exactly one new option.")
    found = items_in_order(order, item_ids)
    if not found.allowed:
        return found
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        item = next(i for i in order.items if i.item_id == item_id)
        decision = swap_allowed(item, products.get(item.product_id), new_item_id)
        if not decision.allowed:
            return decision
    return _allow("Every item can be swapped for its new option.")


def price_difference(
    order: Order,
    products: Mapping[str, Product],
    item_ids: Sequence[str],
    new_item_ids: Sequence[str],
) -> float:
    """What the customer pays (positive) or gets back (negative) for swapping items, rounded."""
    total = 0.0
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
        item = next((i for i in order.items if i.item_id == item_id), None)
        product = products.get(item.product_id) if item is not None else None
        variant = product.variants.get(new_item_id) if product is not None else None
        if item is not None and variant is not None:
            total += variant.price - item.price
    return round(total, 2)


def _swap_decision(
    action: Action,
    order: Order,
    user: User,
    products: Mapping[str, Product],
    item_ids: Sequence[str],
    new_item_ids: Sequence[str],
    payment_method_id: str | None,
) -> Decision:
    refusal = _first_refusal(
        status_allows(order, action), swaps_allowed(order, products, item_ids, new_item_ids)
    )
    if refusal is not None:
        return refusal
    difference = price_difference(order, products, item_ids, new_item_ids)
    return gift_card_covers(user, payment_method_id, max(difference, 0.0))


def item_change_allowed(
    order: Order,
    user: User,
    products: Mapping[str, Product],
    item_ids: Sequence[str],
    new_item_ids: Sequence[str],
    payment_method_id: str | None,
) -> Decision:
    """A pending order's items change once, to available options of the same products, with a
    payment method (a gift card must cover a positive price difference)."""
    return _swap_decision(
        "modify_items", order, user, products, item_ids, new_item_ids, payment_method_id
    )


def exchange_allowed(
    order: Order,
    user: User,
    products: Mapping[str, Product],
    item_ids: Sequence[str],
    new_item_ids: Sequence[str],
    payment_method_id: str | None,
) -> Decision:
    """A delivered order's items are exchanged once, for available options of the same
    products, with a payment method (a gift card must cover a positive price difference)."""
    return _swap_decision(
        "exchange", order, user, products, item_ids, new_item_ids, payment_method_id
    )


def return_allowed(
    order: Order, user: User, item_ids: Sequence[str], payment_method_id: str | None
) -> Decision:
    """A delivered order's items are returned once, refunded to the original payment method or
    a gift card."""
    if not item_ids:
        return _refuse("Please tell me at least one item to return.")
    return _first_refusal(
        status_allows(order, "return"),
        items_in_order(order, item_ids),
        refund_method_allowed(order, user, payment_method_id),
    ) or _allow("The items can be returned.")
