"""Pydantic models of the retail store, mirroring tau2-bench's retail data model.

Field names, types, defaults and declaration order follow `tau2.domains.retail.data_model`
(tau2-bench 1.0.1) exactly, so `json.dumps(model.model_dump(), default=str)` reproduces the tool
outputs tau2 shows the agent byte for byte, and the DB hash matches tau2's. Class names follow
tau2's too, because pydantic puts them in the validation errors that the tools surface (e.g.
`1 validation error for UserAddress`).

As in tau2, records ignore unknown fields, the database itself rejects unknown tables, and
assignments are not validated: the tools store what they compute, ints included.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = [
    "CancelReason",
    "CreditCard",
    "GiftCard",
    "Order",
    "OrderFulfillment",
    "OrderItem",
    "OrderPayment",
    "OrderStatus",
    "PaymentMethod",
    "Paypal",
    "Product",
    "RetailDB",
    "TransactionType",
    "User",
    "UserAddress",
    "UserName",
    "Variant",
]

OrderStatus: TypeAlias = Literal[
    "processed",
    "pending",
    "pending (item modified)",
    "delivered",
    "cancelled",
    "exchange requested",
    "return requested",
]
"""Where an order is in its life: only `pending` orders may change items; `delivered` ones may be
returned or exchanged once."""

CancelReason: TypeAlias = Literal["no longer needed", "ordered by mistake"]
"""The two reasons `cancel_pending_order` accepts."""

TransactionType: TypeAlias = Literal["payment", "refund"]
"""Direction of money in an order's payment history."""


class Variant(BaseModel):
    """One purchasable item of a product: its options, availability and price."""

    item_id: str
    options: dict[str, str]
    available: bool
    price: float


class Product(BaseModel):
    """A product type (e.g. "T-Shirt") and its variants, keyed by item id."""

    name: str
    product_id: str
    variants: dict[str, Variant]


class UserName(BaseModel):
    """A customer's first and last name."""

    first_name: str
    last_name: str


class UserAddress(BaseModel):
    """A postal address (a customer's default address or an order's shipping address)."""

    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class CreditCard(BaseModel):
    """A credit card on file; only brand and last four digits are stored."""

    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class Paypal(BaseModel):
    """A PayPal account on file."""

    source: Literal["paypal"]
    id: str


class GiftCard(BaseModel):
    """A gift card with a balance; refunds to it are credited immediately."""

    source: Literal["gift_card"]
    id: str
    balance: float


PaymentMethod: TypeAlias = Annotated[CreditCard | GiftCard | Paypal, Field(discriminator="source")]
"""A stored payment method, told apart by its `source`."""


class User(BaseModel):
    """A customer: name, default address, email, payment methods (keyed by id) and order ids."""

    user_id: str
    name: UserName
    address: UserAddress
    email: str
    payment_methods: dict[str, PaymentMethod]
    orders: list[str]


class OrderFulfillment(BaseModel):
    """One shipment of an order: tracking numbers and the items it carries."""

    tracking_id: list[str]
    item_ids: list[str]


class OrderItem(BaseModel):
    """One item of an order, with the price and options at the time of purchase."""

    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, str]


class OrderPayment(BaseModel):
    """A payment or refund in an order's history."""

    transaction_type: TransactionType
    amount: float
    payment_method_id: str


class Order(BaseModel):
    """An order: items, status, shipments, payments and any cancel/exchange/return request."""

    order_id: str
    user_id: str
    address: UserAddress
    items: list[OrderItem]
    status: OrderStatus
    fulfillments: list[OrderFulfillment]
    payment_history: list[OrderPayment]
    cancel_reason: CancelReason | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: float | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None


class RetailDB(BaseModel):
    """The whole store: products, users and orders, each keyed by its id.

    `fork()` makes a copy in microseconds that shares records with this DB until one side
    changes them; `RetailTools` takes its users and orders through `writable_user` and
    `writable_order` before changing them, which copies a shared record first.
    """

    model_config = ConfigDict(extra="forbid")

    products: dict[str, Product]
    users: dict[str, User]
    orders: dict[str, Order]

    # Keys of the users/orders this DB shares with a fork (or its parent): copy before writing.
    _shared_users: set[str] = PrivateAttr(default_factory=set[str])
    _shared_orders: set[str] = PrivateAttr(default_factory=set[str])

    def __eq__(self, other: object) -> bool:
        """Equal when the tables hold equal records; which records are shared does not count."""
        if not isinstance(other, RetailDB):
            return NotImplemented
        return (self.products, self.users, self.orders) == (
            other.products,
            other.users,
            other.orders,
        )

    def fork(self) -> RetailDB:
        """Return an independent copy that shares every record with this DB until changed.

        A fork costs a few dict copies instead of a deep copy of the whole store (tau2's 2.8 MB
        DB: under 0.1 ms, against 15-50 ms for the fastest deep copy, `copy_db`), so every
        conversation or test case can start from one loaded DB. Both this DB and the fork copy
        a shared user or order in `writable_user` / `writable_order` before it is changed, so
        neither sees the other's changes. Products are never changed by the tools and stay
        shared.

        Change a fork's (or its parent's) users and orders only through `writable_user` /
        `writable_order` (as `RetailTools` does): a shared record changed in place would change
        in both.
        """
        fork = RetailDB.model_construct(
            products=dict(self.products), users=dict(self.users), orders=dict(self.orders)
        )
        self._shared_users = set(self.users)
        self._shared_orders = set(self.orders)
        fork._shared_users = set(fork.users)
        fork._shared_orders = set(fork.orders)
        return fork

    def writable_user(self, user_id: str) -> User | None:
        """The user to change in place, copied first if it is shared with a fork.

        Args:
            user_id: The user's id.

        Returns:
            The user now held only by this DB, or None if there is no such user.
        """
        user = self.users.get(user_id)
        if user is not None and user_id in self._shared_users:
            user = self.users[user_id] = user.model_copy(deep=True)
            self._shared_users.discard(user_id)
        return user

    def writable_order(self, order_id: str) -> Order | None:
        """The order to change in place, copied first if it is shared with a fork.

        Args:
            order_id: The order's id, e.g. `#W2378156`.

        Returns:
            The order now held only by this DB, or None if there is no such order.
        """
        order = self.orders.get(order_id)
        if order is not None and order_id in self._shared_orders:
            order = self.orders[order_id] = order.model_copy(deep=True)
            self._shared_orders.discard(order_id)
        return order
