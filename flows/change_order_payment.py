"""Change the payment method of a pending order, following tau2-bench's retail policy ("Modify
payment").

Authenticate the customer, pick one of their orders, check that it is pending, take one other
payment method of theirs (a gift card must cover the order's total), list the change and when
the original payment is refunded, and make it only after an explicit yes in a later turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cxflow.errors import ToolError
from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._retail import (
    CONFIRM_WORDS,
    DECLINE_WORDS,
    OrderSlots,
    describe_payment,
    identity_events,
    identity_states,
    order_events,
    order_is_theirs,
    order_states,
    payment_choices,
    payment_chosen,
    refresh_order,
    refund_timing,
    retail_store,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import RetailTools
from cxflow.tools.retail.policy import payment_change_allowed, status_allows


class OrderPaymentSlots(OrderSlots):
    """What the payment-change conversation knows."""

    payment_method_id: str | None = None
    payment_label: str | None = None
    refund_when: str | None = None
    changed: bool | None = None
    change_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def order_modifiable(slots: OrderPaymentSlots) -> bool:
    """Only pending orders can have their payment method changed."""
    return slots.order is not None and status_allows(slots.order, "modify_payment").allowed


def payment_acceptable(slots: OrderPaymentSlots) -> bool:
    """The new payment method must differ from the original, and a gift card must cover the
    order's total."""
    if slots.order is None or slots.user is None or slots.payment_method_id is None:
        return False
    return payment_change_allowed(slots.order, slots.user, slots.payment_method_id).allowed


def may_change_payment(slots: OrderPaymentSlots) -> bool:
    """Only a pending order can move to another payment method that covers its total."""
    return order_is_theirs(slots) and payment_acceptable(slots)


def payment_changed(slots: OrderPaymentSlots) -> bool:
    """The store changed the payment method."""
    return slots.changed is True


def change_failed(slots: OrderPaymentSlots) -> bool:
    """The change did not go through."""
    return slots.change_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("order",), writes=("refusal",))
def explain_status(
    slots: OrderPaymentSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """State the rule that keeps this order's payment method from changing."""
    assert slots.order is not None
    return {"refusal": status_allows(slots.order, "modify_payment").rule}


@tool(reads=("payment_method_id", "order", "user"), writes=("payment_method_id", "refusal"))
def drop_payment(
    slots: OrderPaymentSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Set aside a payment method the policy doesn't allow here, and say why."""
    assert slots.order is not None and slots.user is not None
    decision = payment_change_allowed(slots.order, slots.user, slots.payment_method_id)
    return {"payment_method_id": None, "refusal": decision.rule}


@tool(reads=("order", "user"), writes=("refund_when",))
def describe_refund(
    slots: OrderPaymentSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Say when the original payment is refunded."""
    assert slots.order is not None
    original = slots.order.payment_history[0].payment_method_id
    return {"refund_when": refund_timing(slots.user, original)}


@tool(
    reads=("order_id", "payment_method_id"),
    writes=("changed",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_change_payment,
    error_slot="change_error",
)
def change_order_payment(
    slots: OrderPaymentSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Move the order's payment to the new method in the store."""
    assert slots.order_id is not None and slots.payment_method_id is not None
    try:
        store.modify_pending_order_payment(slots.order_id, slots.payment_method_id)
    except ValueError as exc:
        raise ToolError("change_order_payment", str(exc)) from exc
    return {"changed": True}


class ChangeOrderPayment(Flow[OrderPaymentSlots]):
    """Pay a pending order with another of the customer's payment methods, after they confirm."""

    title = "Change an order's payment method"
    keywords = ("payment method", "payment", "pay", "pay with", "paying", "charge")
    example: ClassVar[tuple[str, ...]] = (
        "my email is ada.park@example.com",
        "#W1000001",
        "my credit card please",
        "yes",
    )
    facts = (
        SharedFact("order", "order_id", "the order whose payment method changes"),
        SharedFact("payment", "payment_label", "the new payment method"),
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you change the payment method of a pending order."
    )
    choose_order, orders_listed, reading_order, order_unknown, not_their_order = order_states(
        "change the payment method of"
    )
    not_modifiable = State(
        final=True, outcome="refused", tools=(explain_status,), say="I'm sorry: {refusal}"
    )
    choose_payment = State(
        fills=("payment_method_id",),
        choices={"payment_method_id": payment_choices},
        say="Order {order_id} (total ${order_total}) is paid with your {original_payment}. Which "
        "payment method would you like to use instead? Yours: {payment_list}.",
        purpose="Get one other payment method of the customer's.",
    )
    payment_refused = State(
        fills=("payment_method_id",),
        choices={"payment_method_id": payment_choices},
        tools=(drop_payment,),
        say="{refusal} Which payment method would you like to use instead? Yours: {payment_list}.",
    )
    awaiting_confirmation = State(
        tools=(describe_payment, describe_refund),
        say="To confirm: pay order {order_id} (${order_total}) with your {payment_label} instead "
        "of your {original_payment}; the original payment is refunded {refund_when}. Shall I "
        "change it (yes/no)?",
        purpose="List the change and get an explicit yes or no.",
    )
    changing = State(tools=(refresh_order, change_order_payment), purpose="Change the payment.")
    changed = State(
        final=True,
        say="Done: order {order_id} is now paid with your {payment_label}; the original payment "
        "is refunded {refund_when}.",
    )
    kept = State(
        final=True, outcome="declined", say="OK, order {order_id} keeps its payment method."
    )
    failed = State(
        final=True, outcome="failed", say="I couldn't change the payment method: {change_error}."
    )

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=choose_order
    )
    order_given, find_order, order_read = order_events(
        choose_order, orders_listed, reading_order, order_unknown, not_their_order
    )
    status_checked = auto(
        reading_order.to(not_modifiable, cond=order_is_theirs, unless=order_modifiable)
        | reading_order.to(choose_payment, cond=order_is_theirs)
    )
    payment_picked = auto(
        choose_payment.to(awaiting_confirmation, cond=payment_acceptable)
        | choose_payment.to(payment_refused, cond=payment_chosen)
        | payment_refused.to(awaiting_confirmation, cond=payment_acceptable)
        | payment_refused.to(payment_refused, cond=payment_chosen)
    )
    confirm_payment = describe(
        awaiting_confirmation.to(changing, cond=may_change_payment),
        "The customer confirms the new payment method.",
        keywords=CONFIRM_WORDS,
        confirms=change_order_payment,
    )
    keep_payment = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the payment method changed.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        changing.to(changed, cond=payment_changed) | changing.to(failed, cond=change_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
