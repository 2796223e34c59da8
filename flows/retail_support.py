"""The retail desk: authenticate the customer once, then handle as many requests as they have.

Following tau2-bench's retail policy, the customer is authenticated first (email, or first
name, last name and zip code); every request then starts its flow with the identity already
known, so the flow skips identification, and the desk asks for anything else when it ends. A
request stated before identification starts its flow right away, which authenticates first; the
desk keeps that identity for the requests after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.flow import Flow, State, describe
from cxflow.flows._retail import CustomerSlots, identity_events, identity_states, retail_store
from cxflow.flows.cancel_order import CancelOrder
from cxflow.flows.change_order_address import ChangeOrderAddress
from cxflow.flows.change_order_payment import ChangeOrderPayment
from cxflow.flows.exchange_items import ExchangeItems
from cxflow.flows.modify_order_items import ModifyOrderItems
from cxflow.flows.return_items import ReturnItems
from cxflow.flows.update_address import UpdateAddress
from cxflow.tools.retail import RetailTools

REQUESTS = (
    ReturnItems,
    ExchangeItems,
    CancelOrder,
    ModifyOrderItems,
    ChangeOrderAddress,
    ChangeOrderPayment,
    UpdateAddress,
)
"""Every retail request the desk can start."""


class SupportSlots(CustomerSlots):
    """What the desk knows: who the customer is (each request keeps its own details)."""


class RetailSupport(Flow[SupportSlots]):
    """Authenticate a retail customer once and handle each of their requests in turn."""

    title = "Retail customer support"
    keywords = ("help", "support")
    example: ClassVar[tuple[str, ...]] = (
        "my email is ada.park@example.com",
        "I'd like to cancel an order",
        "#W1000001",
        "it was ordered by mistake",
        "yes",
        "I also want to update my default address",
        "200 Oak Avenue, Apt 4, Portland, OR, 97205",
        "yes",
        "no, that's all",
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "Hi! I can help you return or exchange delivered items, cancel or change pending "
        "orders, and update your default address.",
        starts=REQUESTS,
        returns_to="anything_else",
    )
    how_can_i_help = State(
        starts=REQUESTS,
        returns_to="anything_else",
        say="Thanks, {customer_name}, you're verified. How can I help you today? I can return "
        "or exchange delivered items, cancel a pending order or change its items, shipping "
        "address or payment method, and update your default address.",
        purpose="Find out what the customer wants and start that request.",
    )
    anything_else = State(
        starts=REQUESTS,
        say="Is there anything else I can help you with?",
        purpose="Start the customer's next request, or end the conversation.",
    )
    goodbye = State(final=True, say="Thank you for contacting us. Goodbye!")

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=how_can_i_help
    )
    finish = describe(
        anything_else.to(goodbye) | how_can_i_help.to(goodbye),
        "The customer needs nothing else.",
        keywords=("<no>", "nothing", "that's all", "that is all", "bye", "goodbye"),
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
