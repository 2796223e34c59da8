"""Cancel a whole airline reservation, following tau2-bench's airline policy ("Cancel flight").

Identify the customer (user id), find the reservation (listing theirs if they don't know the id),
hand off to a human agent if any segment has been flown, ask the reason (change of plan, airline
cancelled flight, other reasons such as health or weather), and cancel only if the policy allows
it: booked within 24 hours, a flight cancelled by the airline, business cabin, or travel
insurance with a covered reason. The customer confirms the details in a turn of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from cxflow.errors import ToolError
from cxflow.flow import Flow, SharedFact, State, auto, describe
from cxflow.flows._airline import (
    ReservationSlots,
    airline_env,
    identification,
    identification_states,
    reservation_cancelled,
    reservation_choice,
    reservation_loaded,
    reservation_states,
    segment_flown,
    transfer_to_human,
)
from cxflow.reply import HANDOFF_TEXT
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.airline import AirlineTools
from cxflow.tools.airline.policy import CancellationReason, Decision, cancellation_allowed

REASONS = {
    "change_of_plan": "change of plan",
    "airline_cancelled_flight": "the airline cancelled the flight",
    "health": "health",
    "weather": "weather",
    "other": "other reasons",
}
"""The reasons the policy asks about (insurance covers health and weather), with labels."""


class CancelSlots(ReservationSlots):
    """What the cancellation conversation knows."""

    reason: CancellationReason | None = Field(
        None,
        description="why the customer cancels: change of plan, the airline cancelled the "
        "flight, health, weather, or other reasons",
    )
    reason_text: str | None = None
    refund_text: str | None = None
    cancelled: bool | None = None
    cancel_error: str | None = None


def _decision(slots: CancelSlots) -> Decision:
    if slots.reservation is None or slots.reason is None:
        return Decision(False, "The reservation and the reason are needed first.")
    return cancellation_allowed(slots.reservation, slots.reason, slots.statuses or {})


# -- guards ------------------------------------------------------------------------------------


def reason_given(slots: CancelSlots) -> bool:
    """I need the reason for the cancellation."""
    return slots.reason is not None


def may_cancel(slots: CancelSlots) -> bool:
    """The policy does not allow cancelling this reservation."""
    return _decision(slots).allowed


def was_cancelled(slots: CancelSlots) -> bool:
    """The reservation system confirmed the cancellation."""
    return slots.cancelled is True


def cancel_failed(slots: CancelSlots) -> bool:
    """The reservation system refused the cancellation."""
    return slots.cancel_error is not None


# -- tools -------------------------------------------------------------------------------------


@tool(
    reads=("reservation", "reason", "statuses"),
    writes=("policy_rule", "reason_text", "refund_text"),
)
def assess_cancellation(
    slots: CancelSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Apply the cancellation rules and work out the refund to state."""
    assert slots.reservation is not None
    paid = sum(p.amount for p in slots.reservation.payment_history)
    methods = ", ".join(dict.fromkeys(p.payment_id for p in slots.reservation.payment_history))
    return {
        "policy_rule": _decision(slots).rule,
        "reason_text": REASONS[slots.reason or "other"],
        "refund_text": f"The refund of ${paid} goes back to the original payment methods "
        f"({methods}) within 5 to 7 business days.",
    }


@tool(
    reads=("reservation_id",),
    writes=("cancelled", "modified_reservation_id"),
    side_effect=True,
    needs_confirmation=True,
    guard=may_cancel,
    error_slot="cancel_error",
)
def cancel_reservation(
    slots: CancelSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Cancel the reservation (tau2's cancel_reservation)."""
    assert slots.reservation_id is not None
    try:
        env.cancel_reservation(slots.reservation_id)
    except ValueError as exc:
        raise ToolError("cancel_reservation", str(exc)) from exc
    return {"cancelled": True, "modified_reservation_id": slots.reservation_id}


def _reason_choices(slots: CancelSlots) -> dict[str, str]:
    return dict(REASONS)


class CancelReservation(Flow[CancelSlots]):
    """Cancel a reservation when the airline policy allows it, after an explicit yes."""

    title = "Cancel a reservation"
    keywords = ("cancel", "cancellation", "refund")
    example: ClassVar[tuple[str, ...]] = (
        "my user id is noah_patel_2048",
        "W8NB4T",
        "change of plan",
        "yes",
    )
    facts = (
        SharedFact("reservation", "reservation_id", "the reservation being cancelled"),
        SharedFact("reason", "reason", "why the customer cancels"),
        SharedFact("refund", "refund_text", "the refund stated to the customer"),
    )

    identify, lookup_user, user_unknown = identification_states(
        "I can help you cancel a reservation."
    )
    choose_reservation, load_reservation = reservation_states("cancel")
    ask_reason = State(
        fills=("reason",),
        choices={"reason": _reason_choices},
        say="I have {reservation_summary}. What is the reason for cancelling: change of plan, "
        "the airline cancelled the flight, or other reasons (health, weather, ...)?",
        purpose="Obtain the reason for the cancellation (the policy requires it).",
    )
    assess = State(tools=(assess_cancellation,), purpose="Apply the cancellation rules.")
    awaiting_confirmation = State(
        say="Here is what I'll do: cancel the whole reservation {reservation_summary}, reason: "
        "{reason_text}. {refund_text} Shall I cancel it (yes/no)?",
        purpose="List the cancellation details; get an explicit yes or no.",
    )
    cancelling = State(tools=(cancel_reservation,), purpose="Cancel the confirmed reservation.")
    cancelled_done = State(
        final=True,
        say="Reservation {reservation_id} is cancelled. {refund_text}",
    )
    kept = State(final=True, outcome="declined", say="OK, reservation {reservation_id} stays.")
    refused = State(
        final=True,
        outcome="refused",
        say="I'm sorry, I can't cancel reservation {reservation_id}: {policy_rule}",
    )
    already_cancelled = State(
        final=True,
        outcome="refused",
        say="Reservation {reservation_id} is already cancelled; there is nothing to cancel.",
    )
    failed = State(final=True, outcome="failed", say="I couldn't cancel it: {cancel_error}.")
    transferred = State(
        final=True,
        outcome="handed_off",
        tools=(transfer_to_human,),
        say=HANDOFF_TEXT,
        purpose="A flown segment: only a human agent can help (policy).",
    )

    identified = identification(identify, lookup_user, user_unknown, choose_reservation)
    picked = reservation_choice(choose_reservation, load_reservation)
    loaded = auto(
        load_reservation.to(already_cancelled, cond=reservation_cancelled)
        | load_reservation.to(transferred, cond=segment_flown)
        | load_reservation.to(ask_reason, cond=reservation_loaded)
    )
    reason_stated = auto(ask_reason.to(assess, cond=reason_given))
    assessed = auto(
        assess.to(awaiting_confirmation, cond=may_cancel) | assess.to(refused, cond=reason_given)
    )
    confirm_cancellation = describe(
        awaiting_confirmation.to(cancelling, cond=may_cancel),
        "The customer confirms the cancellation as listed.",
        keywords=("<yes>", "confirm", "proceed", "go ahead"),
        confirms=cancel_reservation,
    )
    keep_reservation = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want to cancel after all.",
        keywords=("<no>", "keep"),
    )
    done = auto(
        cancelling.to(cancelled_done, cond=was_cancelled)
        | cancelling.to(failed, cond=cancel_failed)
    )

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
