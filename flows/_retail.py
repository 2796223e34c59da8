"""What every retail flow shares: identifying the customer, choosing one of their orders, payments.

tau2's retail policy: authenticate first by locating the user id via email, or via first name,
last name and zip code, even when the customer gives a user id; help one user only, with their
own orders. The identification and order states are built by the factories below, so each flow
declares them in its class body (`identify, ... = identity_states(...)`) and wires its own part.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from statemachine.transition_list import TransitionList

from cxflow.errors import ToolError
from cxflow.flow import Flow, State, auto, describe
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import (
    GiftCard,
    Order,
    OrderItem,
    PaymentMethod,
    Paypal,
    Product,
    RetailDB,
    RetailTools,
    User,
    UserAddress,
    load_retail_db,
    retail_data_path,
    sample_db_path,
)
from cxflow.tools.retail.policy import order_belongs_to
from cxflow.types import Parse, PersonName


def _with_hash(order_id: str) -> str:
    return order_id if order_id.startswith("#") else f"#{order_id}"


Email = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    ),
    AfterValidator(str.lower),
    Parse("id"),
]
"""An email address, stored lower-case."""

ZipCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$"), Parse("id")]
"""A five-digit US zip code."""

OrderId = Annotated[
    str, StringConstraints(pattern=r"^#?W\d{7}$"), AfterValidator(_with_hash), Parse("id")
]
"""An order id such as #W1000002 (the '#' is added when the customer leaves it out)."""


class CustomerSlots(BaseModel):
    """What every retail conversation knows about the customer."""

    email: Email | None = Field(None, description="the email address on the account")
    full_name: PersonName | None = Field(None, description="the customer's first and last name")
    zip_code: ZipCode | None = Field(None, description="the zip code of the customer's address")
    user_id: str | None = None
    lookup_error: str | None = None
    user: User | None = None
    customer_name: str | None = None
    order_list: str | None = None
    payment_list: str | None = None


class OrderSlots(CustomerSlots):
    """What a conversation about one of the customer's orders knows."""

    order_id: OrderId | None = Field(None, description="the order id, like #W1234567")
    order_error: str | None = None
    order: Order | None = None
    products: dict[str, Product] | None = None
    order_status: str | None = None
    order_items: str | None = None
    order_total: str | None = None
    order_address: str | None = None
    original_payment: str | None = None
    refusal: str | None = None


@cache
def _loaded(path: Path) -> RetailDB:
    return load_retail_db(path)


def retail_store(tau2_data: Path | None = None) -> RetailTools:
    """The retail tools over a fresh copy-on-write fork of a store loaded once per process.

    Args:
        tau2_data: A folder laid out like tau2-bench's `data/tau2/domains`; its `retail/db.json`
            is used instead of the bundled sample store.
    """
    path = sample_db_path() if tau2_data is None else retail_data_path(tau2_data)
    return RetailTools(_loaded(Path(path).resolve()).fork())


# -- wording ------------------------------------------------------------------------------------


def money(amount: float) -> str:
    """An amount of dollars as the customer reads it: 1,234.50."""
    return f"{amount:,.2f}"


def options_text(options: dict[str, str]) -> str:
    """A variant's options as words: "size 9, color red"."""
    return ", ".join(f"{name} {value}" for name, value in options.items())


def item_text(item: OrderItem) -> str:
    """One order item: name, options and price."""
    return f"{item.name} ({options_text(item.options)}) ${money(item.price)}"


def method_text(method: PaymentMethod) -> str:
    """A payment method as the customer knows it."""
    if isinstance(method, GiftCard):
        return f"gift card (balance ${money(method.balance)})"
    if isinstance(method, Paypal):
        return "paypal"
    return f"credit card ({method.brand} ending in {method.last_four})"


def method_name(method: PaymentMethod) -> str:
    """A payment method's name without its balance ("gift card", "visa credit card 4242")."""
    if isinstance(method, GiftCard):
        return "gift card"
    if isinstance(method, Paypal):
        return "paypal account"
    return f"{method.brand} credit card ending in {method.last_four}"


def payment_labels(user: User | None) -> dict[str, str]:
    """The user's payment methods by id, labelled by the words a customer names them with."""
    if user is None:
        return {}
    methods = list(user.payment_methods.values())
    labels: dict[str, str] = {}
    for method in methods:
        same = [m for m in methods if m.source == method.source]
        if len(same) == 1:
            labels[method.id] = method.source.replace("_", " ")
        elif method.source == "credit_card":
            brands = [m.brand for m in same if m.source == "credit_card"]
            labels[method.id] = (
                method.brand if brands.count(method.brand) == 1 else method.last_four
            )
        else:
            labels[method.id] = method.id
    return labels


def payment_choices(slots: CustomerSlots) -> dict[str, str]:
    """Choices of a payment method slot: the user's methods."""
    return payment_labels(slots.user)


ORIGINAL = " | original | original payment | original payment method | same card | same method"
"""Other names of an order's original payment method, for the offline interpreter."""


def order_payment_choices(slots: OrderSlots) -> dict[str, str]:
    """The user's payment methods, the order's original one also known as "the original"."""
    labels = payment_labels(slots.user)
    order = slots.order
    original = (
        order.payment_history[0].payment_method_id if order and order.payment_history else None
    )
    if original in labels:
        labels[original] += ORIGINAL
    return labels


def payment_text(user: User | None, payment_method_id: str | None) -> str:
    """The name of a payment method of the user, or its id if unknown."""
    method = user.payment_methods.get(payment_method_id or "") if user is not None else None
    return method_name(method) if method is not None else str(payment_method_id)


def refund_timing(user: User | None, payment_method_id: str | None) -> str:
    """When a refund to this method arrives, per the policy."""
    method = user.payment_methods.get(payment_method_id or "") if user is not None else None
    if isinstance(method, GiftCard):
        return "right away"
    return "within 5 to 7 business days"


def address_text(address: UserAddress) -> str:
    """An address on one line."""
    parts = [address.address1, address.address2, address.city, f"{address.state} {address.zip}"]
    return ", ".join(p for p in parts if p) + f", {address.country}"


# -- guards -------------------------------------------------------------------------------------


def has_identity(slots: CustomerSlots) -> bool:
    """I need your email address, or your first name, last name and zip code."""
    return slots.email is not None or (slots.full_name is not None and slots.zip_code is not None)


def partial_identity(slots: CustomerSlots) -> bool:
    """Only part of the name-and-zip identification was given."""
    return not has_identity(slots) and (slots.full_name is not None or slots.zip_code is not None)


def customer_known(slots: CustomerSlots) -> bool:
    """I need to verify your identity first."""
    return slots.user_id is not None


def lookup_failed(slots: CustomerSlots) -> bool:
    """No account matches the details given."""
    return slots.lookup_error is not None


def customer_loaded(slots: CustomerSlots) -> bool:
    """The customer's profile is loaded."""
    return slots.user is not None


def order_chosen(slots: OrderSlots) -> bool:
    """Please tell me the order id."""
    return slots.order_id is not None


def order_missing(slots: OrderSlots) -> bool:
    """No order has that id."""
    return slots.order_error is not None


def order_loaded(slots: OrderSlots) -> bool:
    """The order is loaded."""
    return slots.order is not None


def order_is_theirs(slots: OrderSlots) -> bool:
    """I can only help with orders on your own account."""
    return slots.order is not None and order_belongs_to(slots.order, slots.user_id).allowed


def payment_chosen(slots: Any) -> bool:
    """Please choose a payment method."""
    return getattr(slots, "payment_method_id", None) is not None


# -- tools --------------------------------------------------------------------------------------


def _split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.partition(" ")
    return first, last


@tool(
    reads=("email", "full_name", "zip_code"),
    writes=("user_id", "email", "full_name", "zip_code"),
    error_slot="lookup_error",
)
def find_customer(
    slots: CustomerSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Locate the user id by email, or by first name, last name and zip code."""
    found: str | None = None
    if slots.email is not None:
        try:
            found = store.find_user_id_by_email(slots.email)
        except ValueError:
            found = None
    if found is None and slots.full_name is not None and slots.zip_code is not None:
        first, last = _split_name(slots.full_name)
        try:
            found = store.find_user_id_by_name_zip(first, last, slots.zip_code)
        except ValueError:
            found = None
    if found is None:
        raise ToolError("find_customer", "no account matches those details")
    # the evidence is used up: the identity is the user id from now on
    return {"user_id": found, "email": None, "full_name": None, "zip_code": None}


@tool(reads=("user_id",), writes=("user", "customer_name", "order_list", "payment_list"))
def load_customer(
    slots: CustomerSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Load the customer's profile, orders and payment methods."""
    assert slots.user_id is not None
    try:
        user = store.get_user_details(slots.user_id)
    except ValueError as exc:
        raise ToolError("load_customer", str(exc)) from exc
    orders: list[str] = []
    for order_id in user.orders:
        try:
            order = store.get_order_details(order_id)
        except ValueError:
            continue
        names = ", ".join(item.name for item in order.items)
        orders.append(f"{order_id} ({order.status}: {names})")
    return {
        "user": user.model_copy(deep=True),
        "customer_name": user.name.first_name,
        "order_list": "; ".join(orders) or "none",
        "payment_list": ", ".join(method_text(m) for m in user.payment_methods.values()),
    }


def _order_view(order: Order, user: User | None) -> dict[str, object]:
    original = order.payment_history[0].payment_method_id if order.payment_history else None
    return {
        "order_status": order.status,
        "order_items": "; ".join(item_text(item) for item in order.items),
        "order_total": money(sum(item.price for item in order.items)),
        "order_address": address_text(order.address),
        "original_payment": payment_text(user, original),
    }


@tool(
    reads=("order_id", "user_id", "user"),
    writes=(
        "order_id",
        "order",
        "products",
        "order_status",
        "order_items",
        "order_total",
        "order_address",
        "original_payment",
    ),
    error_slot="order_error",
)
def load_order(slots: OrderSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Look the order up, with the products of its items."""
    assert slots.order_id is not None
    try:
        order = store.get_order_details(slots.order_id).model_copy(deep=True)
    except ValueError as exc:
        raise ToolError("load_order", f"there is no order {slots.order_id}") from exc
    if not order_belongs_to(order, slots.user_id).allowed:
        return {"order": order}  # enough to refuse; nothing of it is shown
    products = {
        item.product_id: store.get_product_details(item.product_id).model_copy(deep=True)
        for item in order.items
    }
    return {"order": order, "products": products, **_order_view(order, slots.user)}


@tool(reads=("order_id",), writes=("order",))
def refresh_order(
    slots: OrderSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Read the order again right before changing it, so the guard sees its current status."""
    assert slots.order_id is not None
    try:
        return {"order": store.get_order_details(slots.order_id).model_copy(deep=True)}
    except ValueError as exc:
        raise ToolError("refresh_order", str(exc)) from exc


@tool(reads=("payment_method_id", "user"), writes=("payment_label",))
def describe_payment(slots: Any, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Name the chosen payment method for the confirmation."""
    return {"payment_label": payment_text(slots.user, slots.payment_method_id)}


# -- states and transitions shared by the retail flows -------------------------------------------

_ASK_IDENTITY = (
    "To verify your identity, please give me the email address on your account, or your first "
    "name, last name and zip code (a user id alone is not enough)."
)


def identity_states(
    greeting: str, *, starts: tuple[type[Flow[Any]], ...] = (), returns_to: str | None = None
) -> tuple[State, State, State, State, State]:
    """The states that authenticate the customer: identify, complete_identity, lookup,
    not_found, loading_customer (the last loads the profile, also after a router identified)."""
    fills = ("email", "full_name", "zip_code")
    return (
        State(
            initial=True,
            fills=fills,
            starts=starts,
            returns_to=returns_to,
            say=f"{greeting} {_ASK_IDENTITY}",
            purpose="Authenticate the customer by email, or by name and zip code.",
        ),
        State(
            fills=fills,
            say="To find your account by name I need your first name, last name and zip code "
            "(or just the email address on the account).",
        ),
        State(tools=(find_customer,), purpose="Locate the user id."),
        State(
            fills=fills,
            say=f"I couldn't find your account ({{lookup_error}}). {_ASK_IDENTITY}",
        ),
        State(tools=(load_customer,), purpose="Load the customer's profile and orders."),
    )


def identity_events(
    identify: State,
    complete_identity: State,
    lookup: State,
    not_found: State,
    loading_customer: State,
    *,
    then: State,
) -> tuple[TransitionList, ...]:
    """The automatic transitions of the identity states, continuing in `then`."""
    return (
        auto(
            identify.to(loading_customer, cond=customer_known)
            | identify.to(lookup, cond=has_identity)
            | identify.to(complete_identity, cond=partial_identity)
        ),
        auto(complete_identity.to(lookup, cond=has_identity)),
        auto(
            lookup.to(loading_customer, cond=customer_known)
            | lookup.to(not_found, cond=lookup_failed)
        ),
        auto(not_found.to(lookup, cond=has_identity)),
        auto(loading_customer.to(then, cond=customer_loaded)),
    )


def order_states(verb: str) -> tuple[State, State, State, State, State]:
    """The states that pick one of the customer's orders: choose_order, orders_listed,
    reading_order, order_unknown, not_their_order (a refusal)."""
    return (
        State(
            fills=("order_id",),
            say=f"Thanks, {{customer_name}}. Which order would you like to {verb}? Please give "
            "its order id (like #W1234567); if you don't know it, just say so and I'll list "
            "your orders.",
            purpose="Find out which order the request is about.",
        ),
        State(
            fills=("order_id",),
            say=f"Here are your orders: {{order_list}}. Which one would you like to {verb}?",
            purpose="Help the customer find the order id in their order list.",
        ),
        State(tools=(load_order,), purpose="Look the order up."),
        State(
            fills=("order_id",),
            say="I couldn't find that order ({order_error}). Your orders are: {order_list}. "
            "Which one is it?",
        ),
        State(
            final=True,
            outcome="refused",
            say="I'm sorry, I can only help with orders on your own account, and {order_id} "
            "is not one of them.",
        ),
    )


def order_events(
    choose_order: State,
    orders_listed: State,
    reading_order: State,
    order_unknown: State,
    not_their_order: State,
) -> tuple[TransitionList, ...]:
    """Order choice: the id given, the list asked for, the lookup's failures. The flow adds
    the transitions out of `reading_order` for an order of the customer's (`order_is_theirs`)."""
    return (
        auto(
            choose_order.to(reading_order, cond=order_chosen)
            | orders_listed.to(reading_order, cond=order_chosen)
            | order_unknown.to(reading_order, cond=order_chosen)
        ),
        describe(
            choose_order.to(orders_listed),
            "The customer does not know the order id and wants their orders listed.",
            keywords=("know", "remember", "forgot", "list", "show", "not sure", "look up"),
        ),
        auto(
            reading_order.to(order_unknown, cond=order_missing)
            | reading_order.to(not_their_order, cond=order_loaded, unless=order_is_theirs)
        ),
    )


CONFIRM_WORDS = ("<yes>", "confirm", "go ahead", "proceed")
"""What confirms a write (besides a plain yes)."""
DECLINE_WORDS = ("<no>", "don't", "do not", "keep it")
"""What declines a write."""
