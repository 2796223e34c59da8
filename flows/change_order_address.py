"""Change the shipping address of a pending order, following tau2-bench's retail policy
("Modify pending order").

Authenticate the customer, pick one of their orders, check that it is pending (an order whose
items were already modified can't be modified anymore), read the new address, list the change
and make it only after an explicit yes in a later turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field

from cxflow.errors import ToolError
from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._retail import (
    CONFIRM_WORDS,
    DECLINE_WORDS,
    OrderSlots,
    identity_events,
    identity_states,
    order_events,
    order_is_theirs,
    order_states,
    refresh_order,
    retail_store,
)
from cxflow.flows._retail_address import ADDRESS_FORMAT, parse_address
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import RetailTools, UserAddress
from cxflow.tools.retail.policy import address_change_allowed, status_allows
from cxflow.types import Parse


class OrderAddressSlots(OrderSlots):
    """What the order-address conversation knows."""

    new_address: Annotated[str, Parse("text")] | None = Field(
        None, description="the new shipping address: street, apartment, city, state, zip"
    )
    address: UserAddress | None = None
    address_text: str | None = None
    address_error: str | None = None
    changed: bool | None = None
    change_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def order_modifiable(slots: OrderAddressSlots) -> bool:
    """Only pending orders can have their shipping address changed."""
    return slots.order is not None and status_allows(slots.order, "modify_address").allowed


def address_read(slots: OrderAddressSlots) -> bool:
    """I need the new address."""
    return slots.address is not None


def address_unreadable(slots: OrderAddressSlots) -> bool:
    """The address could not be read."""
    return slots.address_error is not None


def new_address_given(slots: OrderAddressSlots) -> bool:
    """What's the new address?"""
    return slots.new_address is not None


def may_change_address(slots: OrderAddressSlots) -> bool:
    """Only a pending order's shipping address can change, to a complete address."""
    return (
        order_is_theirs(slots)
        and slots.order is not None
        and address_change_allowed(slots.order, slots.address).allowed
    )


def address_changed(slots: OrderAddressSlots) -> bool:
    """The store changed the address."""
    return slots.changed is True


def change_failed(slots: OrderAddressSlots) -> bool:
    """The change did not go through."""
    return slots.change_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("order",), writes=("refusal",))
def explain_status(
    slots: OrderAddressSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """State the rule that keeps this order's address from changing."""
    assert slots.order is not None
    return {"refusal": status_allows(slots.order, "modify_address").rule}


@tool(
    reads=("order_id", "address"),
    writes=("changed",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_change_address,
    error_slot="change_error",
)
def change_order_address(
    slots: OrderAddressSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Change the order's shipping address in the store."""
    assert slots.order_id is not None and slots.address is not None
    a = slots.address
    try:
        store.modify_pending_order_address(
            slots.order_id, a.address1, a.address2, a.city, a.state, a.country, a.zip
        )
    except ValueError as exc:
        raise ToolError("change_order_address", str(exc)) from exc
    return {"changed": True}


class ChangeOrderAddress(Flow[OrderAddressSlots]):
    """Change where a pending order ships, after the customer confirms the new address."""

    title = "Change an order's shipping address"
    keywords = (
        "shipping address",
        "shipping",
        "ship",
        "deliver",
        "delivery address",
        "order address",
        "address of my order",
        "address on my order",
        "address of my pending order",
        "address of order",
    )
    example: ClassVar[tuple[str, ...]] = (
        "my email is ada.park@example.com",
        "#W1000001",
        "1 Elm St, Apt 2, Austin, TX, 78701",
        "yes",
    )
    facts = (
        SharedFact("order", "order_id", "the order whose shipping address changes"),
        SharedFact("address", "address_text", "the new shipping address"),
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you change the shipping address of a pending order."
    )
    choose_order, orders_listed, reading_order, order_unknown, not_their_order = order_states(
        "change the shipping address of"
    )
    not_modifiable = State(
        final=True, outcome="refused", tools=(explain_status,), say="I'm sorry: {refusal}"
    )
    ask_address = State(
        fills=("new_address",),
        say="Order {order_id} ({order_items}) ships to {order_address}. What's the new shipping "
        f"address? Please give the {ADDRESS_FORMAT}.",
        purpose="Get the new shipping address.",
    )
    reading_address = State(tools=(parse_address,), purpose="Read the address.")
    address_unclear = State(
        fills=("new_address",),
        say=f"Sorry, {{address_error}}. Please give the {ADDRESS_FORMAT}.",
    )
    awaiting_confirmation = State(
        say="To confirm: ship order {order_id} to {address_text} instead of {order_address}. "
        "Shall I change it (yes/no)?",
        purpose="List the new address and get an explicit yes or no.",
    )
    changing = State(tools=(refresh_order, change_order_address), purpose="Change the address.")
    changed = State(final=True, say="Done: order {order_id} will ship to {address_text}.")
    kept = State(final=True, outcome="declined", say="OK, order {order_id} keeps its address.")
    failed = State(
        final=True, outcome="failed", say="I couldn't change the address: {change_error}."
    )

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=choose_order
    )
    order_given, find_order, order_read = order_events(
        choose_order, orders_listed, reading_order, order_unknown, not_their_order
    )
    status_checked = auto(
        reading_order.to(not_modifiable, cond=order_is_theirs, unless=order_modifiable)
        | reading_order.to(ask_address, cond=order_is_theirs)
    )
    address_given = auto(
        ask_address.to(reading_address, cond=new_address_given)
        | address_unclear.to(reading_address, cond=new_address_given)
    )
    address_parsed = auto(
        reading_address.to(awaiting_confirmation, cond=address_read)
        | reading_address.to(address_unclear, cond=address_unreadable)
    )
    confirm_address = describe(
        awaiting_confirmation.to(changing, cond=may_change_address),
        "The customer confirms the new shipping address.",
        keywords=CONFIRM_WORDS,
        confirms=change_order_address,
    )
    keep_address = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the address changed.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        changing.to(changed, cond=address_changed) | changing.to(failed, cond=change_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
