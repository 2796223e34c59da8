"""Reading a postal address from what the customer types, for the retail address flows.

The customer writes the address on one line, parts separated by commas ("1234 Elm St, Apt 5,
Springfield, IL 62701" — the country defaults to USA), or points at an address the store already
has: "my default address", or "the same as order #W1234567" (one of their own orders).
"""

from __future__ import annotations

import re
from typing import Any

from cxflow.errors import ToolError
from cxflow.flows._retail import address_text
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import RetailTools, User, UserAddress

ADDRESS_FORMAT = (
    "street, apartment or suite (if any), city, state and zip code, separated by commas "
    "(for example: 1234 Elm St, Apt 5, Springfield, IL, 62701)"
)

_ORDER_ID = re.compile(r"#?\b(W\d{7})\b", re.IGNORECASE)
_DEFAULT = re.compile(r"\b(default|profile|home address|address on file|account address)\b", re.I)
_ZIP = re.compile(r"^(?P<state>.*?)[\s,]*\b(?P<zip>\d{5})(?:-\d{4})?$")
_POLITE = {"please", "thanks", "thank you"}
_COUNTRIES = {"usa", "us", "u.s.", "u.s.a.", "united states", "united states of america"}


def read_address(text: str, user: User | None, store: RetailTools) -> UserAddress:
    """The address the customer means.

    Raises:
        ValueError: The text is not an address in the expected form, or names an order that is
            not the customer's.
    """
    mentioned = _ORDER_ID.search(text)
    if mentioned is not None:
        order_id = "#" + mentioned.group(1).upper()
        if user is None or order_id not in user.orders:
            raise ValueError(f"order {order_id} is not one of your orders")
        return store.get_order_details(order_id).address.model_copy()
    if _DEFAULT.search(text) and user is not None:
        return user.address.model_copy()
    parts = [p.strip(" .") for p in re.split(r"[,;\n]", text) if p.strip(" .")]
    country = "USA"
    if parts and parts[-1].lower() in _POLITE:
        parts.pop()  # "..., 78702, please"
    if parts and parts[-1].lower() in _COUNTRIES:
        parts.pop()
    if not parts:
        raise ValueError("I need the whole address")
    found = _ZIP.match(parts.pop())
    if found is None:
        raise ValueError("I couldn't find a five-digit zip code at the end")
    state = found.group("state").strip()
    if not state:
        if not parts:
            raise ValueError("I couldn't find the state")
        state = parts.pop()
    if len(parts) < 2:
        raise ValueError("I need at least the street and the city")
    city = parts.pop()
    street = parts[0]
    number = re.search(r"\d", street)
    address1 = street[number.start() :] if number else street  # drop "it's", "the new one is"
    return UserAddress(
        address1=address1,
        address2=", ".join(parts[1:]),
        city=city,
        state=state,
        country=country,
        zip=found.group("zip"),
    )


@tool(
    reads=("new_address", "user"),
    writes=("address", "address_text", "new_address"),
    error_slot="address_error",
)
def parse_address(slots: Any, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Read the new address from the customer's words."""
    assert slots.new_address is not None
    try:
        address = read_address(slots.new_address, slots.user, store)
    except ValueError as exc:
        raise ToolError("parse_address", str(exc)) from exc
    return {"address": address, "address_text": address_text(address), "new_address": None}
