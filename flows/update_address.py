"""Update the customer's default address, following tau2-bench's retail policy ("modify their
default user address").

Authenticate the customer, show their default address, read the new one, list it and change it
only after an explicit yes in a later turn.
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
    CustomerSlots,
    address_text,
    identity_events,
    identity_states,
    retail_store,
)
from cxflow.flows._retail_address import ADDRESS_FORMAT, parse_address
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import RetailTools, UserAddress
from cxflow.tools.retail.policy import user_address_change_allowed
from cxflow.types import Parse


class UserAddressSlots(CustomerSlots):
    """What the default-address conversation knows."""

    current_address: str | None = None
    new_address: Annotated[str, Parse("text")] | None = Field(
        None, description="the new default address: street, apartment, city, state, zip"
    )
    address: UserAddress | None = None
    address_text: str | None = None
    address_error: str | None = None
    updated: bool | None = None
    update_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def address_shown(slots: UserAddressSlots) -> bool:
    """The current default address is loaded."""
    return slots.current_address is not None


def new_address_given(slots: UserAddressSlots) -> bool:
    """What's the new address?"""
    return slots.new_address is not None


def address_read(slots: UserAddressSlots) -> bool:
    """I need the new address."""
    return slots.address is not None


def address_unreadable(slots: UserAddressSlots) -> bool:
    """The address could not be read."""
    return slots.address_error is not None


def may_update_address(slots: UserAddressSlots) -> bool:
    """Only the verified customer's own default address can change, to a complete address."""
    return (
        slots.user is not None
        and slots.user.user_id == slots.user_id
        and user_address_change_allowed(slots.user, slots.address).allowed
    )


def address_updated(slots: UserAddressSlots) -> bool:
    """The store changed the address."""
    return slots.updated is True


def update_failed(slots: UserAddressSlots) -> bool:
    """The change did not go through."""
    return slots.update_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("user",), writes=("current_address",))
def show_address(
    slots: UserAddressSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Show the customer's current default address."""
    assert slots.user is not None
    return {"current_address": address_text(slots.user.address)}


@tool(
    reads=("user_id", "address"),
    writes=("updated",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_update_address,
    error_slot="update_error",
)
def update_default_address(
    slots: UserAddressSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Change the customer's default address in the store."""
    assert slots.user_id is not None and slots.address is not None
    a = slots.address
    try:
        store.modify_user_address(
            slots.user_id, a.address1, a.address2, a.city, a.state, a.country, a.zip
        )
    except ValueError as exc:
        raise ToolError("update_default_address", str(exc)) from exc
    return {"updated": True}


class UpdateAddress(Flow[UserAddressSlots]):
    """Change the customer's default address after they confirm the new one."""

    title = "Update my default address"
    keywords = (
        "default address",
        "default",
        "profile",
        "my address",
        "home address",
        "moved",
        "account address",
        "address on file",
        "update my address",
    )
    example: ClassVar[tuple[str, ...]] = (
        "Hi, I'm Ada Park",
        "my zip code is 97201",
        "it's 55 Pine Road, Seattle, WA, 98101",
        "yes please",
    )
    facts = (SharedFact("address", "address_text", "the new default address"),)

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you update your default address."
    )
    showing_address = State(tools=(show_address,), purpose="Load the current default address.")
    ask_address = State(
        fills=("new_address",),
        say="Thanks, {customer_name}. Your default address is {current_address}. What's the new "
        f"address? Please give the {ADDRESS_FORMAT}.",
        purpose="Get the new default address.",
    )
    reading_address = State(tools=(parse_address,), purpose="Read the address.")
    address_unclear = State(
        fills=("new_address",),
        say=f"Sorry, {{address_error}}. Please give the {ADDRESS_FORMAT}.",
    )
    awaiting_confirmation = State(
        say="To confirm: change your default address from {current_address} to {address_text}. "
        "Shall I change it (yes/no)?",
        purpose="List the new address and get an explicit yes or no.",
    )
    updating = State(tools=(update_default_address,), purpose="Change the default address.")
    updated = State(final=True, say="Done: your default address is now {address_text}.")
    kept = State(final=True, outcome="declined", say="OK, your default address stays the same.")
    failed = State(
        final=True, outcome="failed", say="I couldn't change your address: {update_error}."
    )

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=showing_address
    )
    shown = auto(showing_address.to(ask_address, cond=address_shown))
    address_given = auto(
        ask_address.to(reading_address, cond=new_address_given)
        | address_unclear.to(reading_address, cond=new_address_given)
    )
    address_parsed = auto(
        reading_address.to(awaiting_confirmation, cond=address_read)
        | reading_address.to(address_unclear, cond=address_unreadable)
    )
    confirm_address = describe(
        awaiting_confirmation.to(updating, cond=may_update_address),
        "The customer confirms the new default address.",
        keywords=CONFIRM_WORDS,
        confirms=update_default_address,
    )
    keep_address = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the address changed.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        updating.to(updated, cond=address_updated) | updating.to(failed, cond=update_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
