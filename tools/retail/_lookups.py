"""Record lookups shared by the retail tools, with tau2-bench's exact error texts.

Write tools ask for users and orders `for_update`, which goes through
`RetailDB.writable_user` / `writable_order` so that a shared record is copied before it is
changed (see `RetailDB.fork`).
"""

from __future__ import annotations

from collections.abc import Callable

from cxflow.tools.retail.models import (
    Order,
    OrderItem,
    PaymentMethod,
    Product,
    RetailDB,
    User,
    Variant,
)

__all__ = ["StoreLookups", "check_items_in_order", "find_item"]


class StoreLookups:
    """Find users, orders, products, variants and payment methods, or raise tau2's error.

    Attributes:
        db: The database to search.
    """

    def __init__(self, db: RetailDB) -> None:
        """Wrap a database.

        Args:
            db: The database to read and write.
        """
        self.db = db

    def _get_order(self, order_id: str, *, for_update: bool = False) -> Order:
        order = self.db.writable_order(order_id) if for_update else self.db.orders.get(order_id)
        if order is None:
            raise ValueError("Order not found")
        return order

    def _get_user(self, user_id: str, *, for_update: bool = False) -> User:
        user = self.db.writable_user(user_id) if for_update else self.db.users.get(user_id)
        if user is None:
            raise ValueError("User not found")
        return user

    def _get_product(self, product_id: str) -> Product:
        if product_id not in self.db.products:
            raise ValueError("Product not found")
        return self.db.products[product_id]

    def _get_variant(self, product_id: str, variant_id: str) -> Variant:
        product = self._get_product(product_id)
        if variant_id not in product.variants:
            raise ValueError("Variant not found")
        return product.variants[variant_id]

    def _get_payment_method(
        self, user_id: str, payment_method_id: str, *, for_update: bool = False
    ) -> PaymentMethod:
        user = self._get_user(user_id, for_update=for_update)
        if payment_method_id not in user.payment_methods:
            raise ValueError("Payment method not found")
        return user.payment_methods[payment_method_id]


def check_items_in_order(order: Order, item_ids: list[str], message: Callable[[str], str]) -> None:
    """Raise `message(item_id)` if an item is asked for more often than the order holds it."""
    in_order = [item.item_id for item in order.items]
    for item_id in item_ids:
        if item_ids.count(item_id) > in_order.count(item_id):
            raise ValueError(message(item_id))


def find_item(order: Order, item_id: str) -> OrderItem:
    """The order's first item with this id."""
    item = next((item for item in order.items if item.item_id == item_id), None)
    if item is None:
        raise ValueError(f"Item {item_id} not found")
    return item
