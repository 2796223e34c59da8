"""Cancel a pending order, following tau2-bench's retail policy ("Cancel pending order").

Authenticate the customer, pick one of their orders, check that it is pending, get the reason
('no longer needed' or 'ordered by mistake' only), list the details (items, total, where the
refund goes and when) and cancel only after an explicit yes in a later turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from cxflow.errors import ToolError
from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._retail import (
    CONFIRM_WORDS,
    DECLINE_WORDS,
    OrderSlots,
    identity_events,
    identity_states,
    money,
    order_events,
    order_is_theirs,
    order_states,
    payment_text,
    refresh_order,
    refund_timing,
    retail_store,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import CancelReason, RetailTools
from cxflow.tools.retail.policy import cancellation_allowed, status_allows


class CancelSlots(OrderSlots):
    """What the cancellation conversation knows."""

    cancel_reason: CancelReason | None = Field(
        None, description="why: 'no longer needed' or 'ordered by mistake'"
    )
    refund_note: str | None = None
    cancelled: bool | None = None
    cancel_error: str | None = None


# -- guards ---------------------------------------------------------------------------------------


def order_cancellable(slots: CancelSlots) -> bool:
    """Only pending orders can be cancelled."""
    return slots.order is not None and status_allows(slots.order, "cancel").allowed


def reason_given(slots: CancelSlots) -> bool:
    """I can cancel an order only if it's no longer needed or was ordered by mistake."""
    return slots.cancel_reason is not None


def may_cancel(slots: CancelSlots) -> bool:
    """Only a pending order can be cancelled, as no longer needed or ordered by mistake."""
    return (
        order_is_theirs(slots)
        and slots.order is not None
        and cancellation_allowed(slots.order, slots.cancel_reason).allowed
    )


def order_was_cancelled(slots: CancelSlots) -> bool:
    """The store confirmed the cancellation."""
    return slots.cancelled is True


def cancel_failed(slots: CancelSlots) -> bool:
    """The cancellation did not go through."""
    return slots.cancel_error is not None


# -- tools ----------------------------------------------------------------------------------------


@tool(reads=("order",), writes=("refusal",))
def explain_status(
    slots: CancelSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """State the rule that keeps this order from being cancelled."""
    assert slots.order is not None
    return {"refusal": status_allows(slots.order, "cancel").rule}


@tool(reads=("order", "user"), writes=("refund_note",))
def describe_refund(
    slots: CancelSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Say where the refund of a cancelled order goes, and when (net of earlier refunds)."""
    assert slots.order is not None
    paid: dict[str, float] = {}
    for entry in slots.order.payment_history:
        sign = 1 if entry.transaction_type == "payment" else -1
        paid[entry.payment_method_id] = paid.get(entry.payment_method_id, 0.0) + sign * entry.amount
    notes = [
        f"${money(amount)} to your {payment_text(slots.user, method)} "
        f"{refund_timing(slots.user, method)}"
        for method, amount in paid.items()
        if round(amount, 2) > 0
    ]
    return {"refund_note": "; ".join(notes) or "nothing to refund"}


@tool(
    reads=("order_id", "cancel_reason"),
    writes=("cancelled",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_cancel,
    error_slot="cancel_error",
)
def cancel_order(
    slots: CancelSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """Cancel the pending order in the store."""
    assert slots.order_id is not None and slots.cancel_reason is not None
    try:
        store.cancel_pending_order(slots.order_id, slots.cancel_reason)
    except ValueError as exc:
        raise ToolError("cancel_order", str(exc)) from exc
    return {"cancelled": True}


def _reason_choices(slots: CancelSlots) -> dict[str, str]:
    return {"no longer needed": "don't need", "ordered by mistake": "by mistake"}


class CancelOrder(Flow[CancelSlots]):
    """Cancel a pending order of the customer's after they confirm the order and the reason."""

    title = "Cancel an order"
    keywords = ("cancel", "cancelling", "canceling", "cancellation")
    example: ClassVar[tuple[str, ...]] = (
        "my email is ada.park@example.com",
        "#W1000001",
        "I no longer need it",
        "yes",
    )
    facts = (
        SharedFact("order", "order_id", "the order being cancelled"),
        SharedFact("reason", "cancel_reason", "why the order is cancelled"),
        SharedFact("refund", "refund_note", "where the refund goes and when"),
    )

    identify, complete_identity, lookup, not_found, loading_customer = identity_states(
        "I can help you cancel a pending order."
    )
    choose_order, orders_listed, reading_order, order_unknown, not_their_order = order_states(
        "cancel"
    )
    not_cancellable = State(
        final=True, outcome="refused", tools=(explain_status,), say="I'm sorry: {refusal}"
    )
    ask_reason = State(
        fills=("cancel_reason",),
        choices={"cancel_reason": _reason_choices},
        say="Order {order_id} is pending: {order_items}. Why would you like to cancel it? I can "
        "cancel it if it's no longer needed or if it was ordered by mistake.",
        purpose="Get the cancellation reason: 'no longer needed' or 'ordered by mistake'.",
    )
    awaiting_confirmation = State(
        tools=(describe_refund,),
        say="To confirm: cancel order {order_id} ({order_items}; total ${order_total}) because "
        "it was '{cancel_reason}'. The refund: {refund_note}. Shall I cancel it (yes/no)?",
        purpose="List the cancellation's details and get an explicit yes or no.",
    )
    cancelling = State(tools=(refresh_order, cancel_order), purpose="Cancel the order.")
    cancelled = State(
        final=True,
        say="Order {order_id} is cancelled. The refund: {refund_note}.",
    )
    kept = State(final=True, outcome="declined", say="OK, order {order_id} stays as it is.")
    failed = State(
        final=True, outcome="failed", say="I couldn't cancel order {order_id}: {cancel_error}."
    )

    identified, completed, looked_up, retried, customer_loaded = identity_events(
        identify, complete_identity, lookup, not_found, loading_customer, then=choose_order
    )
    order_given, find_order, order_read = order_events(
        choose_order, orders_listed, reading_order, order_unknown, not_their_order
    )
    status_checked = auto(
        reading_order.to(not_cancellable, cond=order_is_theirs, unless=order_cancellable)
        | reading_order.to(ask_reason, cond=order_is_theirs)
    )
    reason_stated = auto(ask_reason.to(awaiting_confirmation, cond=reason_given))
    confirm_cancellation = describe(
        awaiting_confirmation.to(cancelling, cond=may_cancel),
        "The customer confirms the cancellation as listed.",
        keywords=CONFIRM_WORDS,
        confirms=cancel_order,
    )
    keep_order = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the order cancelled.",
        keywords=DECLINE_WORDS,
    )
    applied = auto(
        cancelling.to(cancelled, cond=order_was_cancelled)
        | cancelling.to(failed, cond=cancel_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> RetailTools:
        """The bundled sample store, or tau2's retail store (a fresh copy per session)."""
        return retail_store(tau2_data)
