"""The retail agent tools with tau2-bench's exact semantics.

`RetailTools` reproduces the 16 tools tau2-bench 1.0.1 gives its retail agent: argument names,
return values, error messages and state changes, including tau2's quirks that the conformance
vectors record (the written policy is not enforced by the tools; `modify_pending_order_items`
gives every changed item the price and options of the *last* new variant). `RetailTools.call`
dispatches one call by name the way tau2's environment does. Errors are `ValueError`s; tau2
shows them to the agent as `"Error: " + str(exc)`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from cxflow.tools._tau2 import ToolResult, invoke
from cxflow.tools.retail._expression import calculate
from cxflow.tools.retail._lookups import StoreLookups, check_items_in_order, find_item
from cxflow.tools.retail.models import (
    GiftCard,
    Order,
    OrderPayment,
    Product,
    User,
    UserAddress,
    Variant,
)

__all__ = ["CANCEL_REASONS", "TOOL_NAMES", "TOOL_TYPES", "RetailTools", "ToolType"]

ToolType: TypeAlias = Literal["read", "write", "generic"]
"""tau2's classification of a tool; `write` tools are the ones that mutate state."""

TOOL_TYPES: Mapping[str, ToolType] = {
    "calculate": "generic",
    "cancel_pending_order": "write",
    "exchange_delivered_order_items": "write",
    "find_user_id_by_email": "read",
    "find_user_id_by_name_zip": "read",
    "get_item_details": "read",
    "get_order_details": "read",
    "get_product_details": "read",
    "get_user_details": "read",
    "list_all_product_types": "read",
    "modify_pending_order_address": "write",
    "modify_pending_order_items": "write",
    "modify_pending_order_payment": "write",
    "modify_user_address": "write",
    "return_delivered_order_items": "write",
    "transfer_to_human_agents": "generic",
}
"""Every tau2 retail agent tool and its type."""

TOOL_NAMES: tuple[str, ...] = tuple(TOOL_TYPES)
"""The tools an agent may call through `RetailTools.call` (tau2's retail toolkit, sorted)."""

CANCEL_REASONS = frozenset({"no longer needed", "ordered by mistake"})
"""The reasons `cancel_pending_order` accepts."""


class RetailTools(StoreLookups):
    """The retail store tools over one `RetailDB` (write tools change it in place).

    Users and orders are changed only after `RetailDB.writable_user` / `writable_order`, so
    the tools also work on a `RetailDB.fork()` without touching the DB it was forked from.

    Attributes:
        db: The database the tools read and write.
    """

    def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Call one tool by name as tau2 does and return the text the agent sees.

        Unknown names give `"Error: Tool '<name>' not found."`; argument mistakes and tool
        errors give `"Error: <message>"`; both with `error=True`. Arguments are passed as given
        (no coercion: a string where a list is expected is iterated character by character).

        Args:
            name: The tool, one of `TOOL_NAMES`.
            arguments: Keyword arguments, exactly as the model gave them.
        """
        return invoke(self, TOOL_NAMES, name, arguments)

    # ---- generic tools -----------------------------------------------------------------------

    def calculate(self, expression: str) -> str:
        """Calculate an arithmetic expression of numbers, `+ - * /`, parentheses and spaces.

        Args:
            expression: E.g. `"2 + 2"`.

        Returns:
            The result rounded to 2 decimals, as text (`"4.0"`).

        Raises:
            ValueError: The expression contains another character.
        """
        return calculate(expression)

    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the customer over to a human agent with a summary of their issue.

        Args:
            summary: The customer's issue in a few sentences.

        Returns:
            `"Transfer successful"`.
        """
        return "Transfer successful"

    # ---- read tools --------------------------------------------------------------------------

    def find_user_id_by_email(self, email: str) -> str:
        """Find a user id by email address (case-insensitive).

        Args:
            email: E.g. `something@example.com`.

        Raises:
            ValueError: No user has this email ("User not found").
        """
        for user_id, user in self.db.users.items():
            if user.email.lower() == email.lower():
                return user_id
        raise ValueError("User not found")

    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """Find a user id by first and last name (case-insensitive) and exact zip code.

        Args:
            first_name: E.g. `John`.
            last_name: E.g. `Doe`.
            zip: The zip code of the user's default address, e.g. `12345`.

        Raises:
            ValueError: No user matches ("User not found").
        """
        for user_id, user in self.db.users.items():
            if (
                user.name.first_name.lower() == first_name.lower()
                and user.name.last_name.lower() == last_name.lower()
                and user.address.zip == zip
            ):
                return user_id
        raise ValueError("User not found")

    def get_order_details(self, order_id: str) -> Order:
        """Get an order's status and details.

        Args:
            order_id: E.g. `#W0000000` (with the `#`).

        Raises:
            ValueError: "Order not found".
        """
        return self._get_order(order_id)

    def get_product_details(self, product_id: str) -> Product:
        """Get a product type and all its variants.

        Args:
            product_id: E.g. `6086499569` (a product id, not an item id).

        Raises:
            ValueError: "Product not found".
        """
        return self._get_product(product_id)

    def get_item_details(self, item_id: str) -> Variant:
        """Get one item (variant) by its item id, searching every product.

        Args:
            item_id: E.g. `1008292230` (an item id, not a product id).

        Raises:
            ValueError: "Item not found".
        """
        for product in self.db.products.values():
            if item_id in product.variants:
                return product.variants[item_id]
        raise ValueError("Item not found")

    def get_user_details(self, user_id: str) -> User:
        """Get a user's profile, payment methods and order ids.

        Args:
            user_id: E.g. `sara_doe_496`.

        Raises:
            ValueError: "User not found".
        """
        return self._get_user(user_id)

    def list_all_product_types(self) -> str:
        """List every product type's name and product id.

        Returns:
            A JSON object text mapping product name to product id, sorted by name.
        """
        names = {product.name: product.product_id for product in self.db.products.values()}
        return json.dumps(names, sort_keys=True)

    # ---- write tools: pending orders ---------------------------------------------------------

    def cancel_pending_order(self, order_id: str, reason: str) -> Order:
        """Cancel a pending order and refund every payment (gift cards at once).

        Args:
            order_id: E.g. `#W0000000`.
            reason: `no longer needed` or `ordered by mistake`.

        Returns:
            The cancelled order.

        Raises:
            ValueError: The order is missing or not exactly `pending`, the reason is not
                allowed, or a paying user or payment method is missing.
        """
        order = self._get_order(order_id, for_update=True)
        if order.status != "pending":
            raise ValueError("Non-pending order cannot be cancelled")
        if reason not in CANCEL_REASONS:
            raise ValueError("Invalid reason")
        refunds: list[OrderPayment] = []
        for payment in order.payment_history:
            refunds.append(
                OrderPayment(
                    transaction_type="refund",
                    amount=payment.amount,
                    payment_method_id=payment.payment_method_id,
                )
            )
            user = self._get_user(order.user_id)
            method = self._get_payment_method(
                user.user_id, payment.payment_method_id, for_update=True
            )
            if isinstance(method, GiftCard):  # gift cards are refunded immediately
                method.balance = round(method.balance + payment.amount, 2)
        order.status = "cancelled"
        order.cancel_reason = reason  # type: ignore[assignment]  # checked against CANCEL_REASONS
        order.payment_history.extend(refunds)
        return order

    def modify_pending_order_address(
        self,
        order_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> Order:
        """Change the shipping address of a pending order (also after an item change).

        Args:
            order_id: E.g. `#W0000000`.
            address1, address2, city, state, country, zip: The new address, e.g. `123 Main St`,
                `Apt 1` (or empty), `San Francisco`, `CA`, `USA`, `12345`.

        Raises:
            ValueError: The order is missing or its status does not contain "pending".
        """
        order = self._get_order(order_id, for_update=True)
        if "pending" not in order.status:
            raise ValueError("Non-pending order cannot be modified")
        order.address = UserAddress(
            address1=address1, address2=address2, city=city, state=state, country=country, zip=zip
        )
        return order

    def modify_pending_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
    ) -> Order:
        """Swap items of a pending order for other variants of the same products (once).

        The price difference is paid with (or refunded to) `payment_method_id`. As in tau2,
        every swapped item gets the price and options of the *last* new variant, and the
        payment entry records `abs(sum(new - old))` unrounded.

        Args:
            order_id: E.g. `#W0000000`.
            item_ids: Items to swap; duplicates allowed.
            new_item_ids: The replacement for each item, position by position.
            payment_method_id: E.g. `gift_card_0000000`.

        Raises:
            ValueError: The order is missing or not exactly `pending`, an item is not in the
                order, the lists differ in length, a new item equals the old one, is not a
                variant of the same product or is unavailable, the payment method is
                missing, or a gift card cannot cover the difference.
        """
        order = self._get_order(order_id, for_update=True)
        if order.status != "pending":
            raise ValueError("Non-pending order cannot be modified")
        check_items_in_order(order, item_ids, lambda item_id: f"{item_id} not found")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match")
        diff_price: float = 0
        variant: Variant | None = None
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
            if item_id == new_item_id:
                raise ValueError("The new item id should be different from the old item id")
            item = find_item(order, item_id)
            variant = self._get_variant(item.product_id, new_item_id)
            if not variant.available:
                raise ValueError(f"New item {new_item_id} not found or available")
            diff_price += variant.price - item.price
        method = self._get_payment_method(order.user_id, payment_method_id, for_update=True)
        if isinstance(method, GiftCard) and method.balance < diff_price:
            raise ValueError("Insufficient gift card balance to pay for the new item")
        order.payment_history.append(
            OrderPayment(
                transaction_type="payment" if diff_price > 0 else "refund",
                amount=abs(diff_price),
                payment_method_id=payment_method_id,
            )
        )
        if isinstance(method, GiftCard):
            method.balance = round(method.balance - diff_price, 2)
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
            item = find_item(order, item_id)
            item.item_id = new_item_id
            if variant is not None:  # tau2's bug, kept: the loop's last variant for every item
                item.price = variant.price
                item.options = variant.options
        order.status = "pending (item modified)"
        return order

    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> Order:
        """Move a pending order's single payment to another payment method.

        Args:
            order_id: E.g. `#W0000000`.
            payment_method_id: E.g. `credit_card_0000000`.

        Raises:
            ValueError: The order is missing or not pending, the method is missing, the order
                has other than exactly one payment, the method is the current one, or a gift
                card cannot cover the amount.
        """
        order = self._get_order(order_id, for_update=True)
        if "pending" not in order.status:
            raise ValueError("Non-pending order cannot be modified")
        method = self._get_payment_method(order.user_id, payment_method_id, for_update=True)
        history = order.payment_history
        if len(history) != 1 or history[0].transaction_type != "payment":
            raise ValueError("There should be exactly one payment for a pending order")
        old_method_id = history[0].payment_method_id
        if old_method_id == payment_method_id:
            raise ValueError("The new payment method should be different from the current one")
        amount = history[0].amount
        if isinstance(method, GiftCard) and method.balance < amount:
            raise ValueError("Insufficient gift card balance to pay for the order")
        history.extend(
            [
                OrderPayment(
                    transaction_type="payment", amount=amount, payment_method_id=payment_method_id
                ),
                OrderPayment(
                    transaction_type="refund", amount=amount, payment_method_id=old_method_id
                ),
            ]
        )
        if isinstance(method, GiftCard):
            method.balance = round(method.balance - amount, 2)
        old_method = self._get_payment_method(order.user_id, old_method_id, for_update=True)
        if isinstance(old_method, GiftCard):
            old_method.balance = round(old_method.balance + amount, 2)
        return order

    # ---- write tools: users and delivered orders ---------------------------------------------

    def modify_user_address(
        self,
        user_id: str,
        address1: str,
        address2: str,
        city: str,
        state: str,
        country: str,
        zip: str,
    ) -> User:
        """Change a user's default address.

        Args:
            user_id: E.g. `sara_doe_496`.
            address1, address2, city, state, country, zip: The new address, e.g. `123 Main St`,
                `Apt 1` (or empty), `San Francisco`, `CA`, `USA`, `12345`.

        Raises:
            ValueError: "User not found".
        """
        user = self._get_user(user_id, for_update=True)
        user.address = UserAddress(
            address1=address1, address2=address2, city=city, state=state, country=country, zip=zip
        )
        return user

    def return_delivered_order_items(
        self, order_id: str, item_ids: list[str], payment_method_id: str
    ) -> Order:
        """Request the return of items of a delivered order (once per order).

        Args:
            order_id: E.g. `#W0000000`.
            item_ids: Items to return; duplicates allowed.
            payment_method_id: Where the refund goes: the order's original payment method or
                any gift card of the user.

        Raises:
            ValueError: The order is missing or not `delivered`, the payment method is missing
                or not allowed, or an item is not in the order ("Some item not found").
        """
        order = self._get_order(order_id, for_update=True)
        if order.status != "delivered":
            raise ValueError("Non-delivered order cannot be returned")
        user = self._get_user(order.user_id)
        method = self._get_payment_method(user.user_id, payment_method_id)
        if (
            not isinstance(method, GiftCard)
            and payment_method_id != order.payment_history[0].payment_method_id
        ):
            raise ValueError("Payment method should be the original payment method")
        check_items_in_order(order, item_ids, lambda _: "Some item not found")
        order.status = "return requested"
        order.return_items = sorted(item_ids)
        order.return_payment_method_id = payment_method_id
        return order

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
    ) -> Order:
        """Request the exchange of items of a delivered order for other variants (once).

        The price difference (rounded to 2 decimals) is recorded on the order, to be paid with
        or refunded to `payment_method_id`; no payment entry or balance changes yet.

        Args:
            order_id: E.g. `#W0000000`.
            item_ids: Items to exchange; duplicates allowed.
            new_item_ids: The replacement for each item, position by position.
            payment_method_id: E.g. `gift_card_0000000`.

        Raises:
            ValueError: The order is missing or not `delivered`, an item is not in the order,
                the lists differ in length, a new item is not an available variant of the same
                product, the payment method is missing, or a gift card cannot cover the
                difference.
        """
        order = self._get_order(order_id, for_update=True)
        if order.status != "delivered":
            raise ValueError("Non-delivered order cannot be exchanged")
        check_items_in_order(order, item_ids, lambda item_id: f"Number of {item_id} not found.")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match.")
        diff_price: float = 0
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
            item = find_item(order, item_id)
            variant = self._get_variant(item.product_id, new_item_id)
            if not variant.available:
                raise ValueError(f"New item {new_item_id} not found or available")
            diff_price += variant.price - item.price
        diff_price = round(diff_price, 2)
        method = self._get_payment_method(order.user_id, payment_method_id)
        if isinstance(method, GiftCard) and method.balance < diff_price:
            raise ValueError("Insufficient gift card balance to pay for the price difference")
        order.status = "exchange requested"
        order.exchange_items = sorted(item_ids)
        order.exchange_new_items = sorted(new_item_ids)
        order.exchange_payment_method_id = payment_method_id
        order.exchange_price_difference = diff_price
        return order
