"""Add checked bags to an airline reservation (tau2-bench policy "Change baggage and insurance").

Identify the customer, find the reservation, state the free allowance (by membership and
cabin, per passenger) and ask how many checked bags the reservation should have in total. Bags
can be added, never removed; bags above the allowance cost $50 each, paid with a credit card or
gift card from the profile. The customer confirms the new count and the charge first.
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
    payment_labels,
    payment_list,
    reservation_cancelled,
    reservation_choice,
    reservation_loaded,
    reservation_states,
)
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.airline import AirlineTools
from cxflow.tools.airline.policy import Decision, baggage_update_allowed, bags_addable
from cxflow.tools.airline.pricing import PRICE_PER_EXTRA_BAG, free_bags, nonfree_bags


class BaggageSlots(ReservationSlots):
    """What the baggage conversation knows."""

    allowance_text: str | None = None
    new_total: int | None = Field(
        None, description="how many checked bags the reservation should have in total"
    )
    new_nonfree: int | None = None
    bag_cost: int | None = None
    cards: dict[str, str] | None = None
    card_list: str | None = None
    payment_id: str | None = Field(None, description="the credit card or gift card to charge")
    cost_text: str | None = None
    bags_updated: bool | None = None
    update_error: str | None = None


def _early_decision(slots: BaggageSlots) -> Decision:
    if slots.reservation is None or slots.new_total is None:
        return Decision(False, "The reservation and the number of bags are needed first.")
    return bags_addable(slots.reservation, slots.new_total)


def _decision(slots: BaggageSlots) -> Decision:
    if (
        slots.reservation is None
        or slots.user is None
        or slots.new_total is None
        or slots.new_nonfree is None
        or slots.payment_id is None
    ):
        return Decision(False, "The bags and the payment method are needed first.")
    return baggage_update_allowed(
        slots.reservation, slots.user, slots.new_total, slots.new_nonfree, slots.payment_id
    )


# -- guards ------------------------------------------------------------------------------------


def total_given(slots: BaggageSlots) -> bool:
    """I need the total number of checked bags."""
    return slots.new_total is not None


def bags_refused(slots: BaggageSlots) -> bool:
    """Checked bags can be added but not removed."""
    return slots.new_total is not None and not _early_decision(slots).allowed


def payment_needed(slots: BaggageSlots) -> bool:
    """I need the credit card or gift card to charge."""
    return slots.bag_cost is not None and slots.payment_id is None


def payment_chosen(slots: BaggageSlots) -> bool:
    """I need the credit card or gift card to charge."""
    return slots.payment_id is not None


def may_update_bags(slots: BaggageSlots) -> bool:
    """The policy does not allow this baggage change."""
    return _decision(slots).allowed


def bags_written(slots: BaggageSlots) -> bool:
    """The reservation system confirmed the new bags."""
    return slots.bags_updated is True


def update_failed(slots: BaggageSlots) -> bool:
    """The reservation system refused the new bags."""
    return slots.update_error is not None


# -- tools -------------------------------------------------------------------------------------


@tool(reads=("reservation", "user"), writes=("allowance_text", "cards", "card_list"))
def state_allowance(
    slots: BaggageSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Work out the free bag allowance and the cards that can pay for extra bags."""
    assert slots.reservation is not None and slots.user is not None
    r, user = slots.reservation, slots.user
    people = len(r.passengers)
    free = free_bags(user.membership, r.cabin, people)
    cards = payment_labels(user, ("credit_card", "gift_card"))
    return {
        "allowance_text": f"Reservation {r.reservation_id} has {r.total_baggages} checked bags "
        f"({r.nonfree_baggages} paid). As a {user.membership} member in "
        f"{r.cabin.replace('_', ' ')}, its {people} passenger(s) get {free} free checked bags "
        f"in total; each extra bag is ${PRICE_PER_EXTRA_BAG}.",
        "cards": cards,
        "card_list": payment_list(user, cards),
    }


@tool(
    reads=("reservation", "user", "new_total", "cards"),
    writes=("policy_rule", "new_nonfree", "bag_cost", "payment_id"),
)
def quote_bags(slots: BaggageSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Count the charged bags and the cost; a free change needs no payment choice."""
    assert slots.reservation is not None and slots.user is not None
    assert slots.new_total is not None
    r = slots.reservation
    nonfree = nonfree_bags(
        slots.new_total, slots.user.membership, r.cabin, len(r.passengers), r.nonfree_baggages
    )
    cost = PRICE_PER_EXTRA_BAG * (nonfree - r.nonfree_baggages)
    updates: dict[str, object] = {
        "policy_rule": _early_decision(slots).rule,
        "new_nonfree": nonfree,
        "bag_cost": cost,
    }
    if cost == 0 and slots.cards:
        updates["payment_id"] = next(iter(slots.cards))  # the tool needs one; nothing is charged
    return updates


@tool(reads=("bag_cost", "payment_id", "cards", "new_nonfree"), writes=("policy_rule", "cost_text"))
def review_bags(slots: BaggageSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Apply the baggage rules to the priced change and word its cost."""
    assert slots.payment_id is not None
    card = (slots.cards or {}).get(slots.payment_id, slots.payment_id)
    cost = slots.bag_cost or 0
    text = f"${cost}, charged to your {card}" if cost else "no charge"
    return {"policy_rule": _decision(slots).rule, "cost_text": text}


@tool(
    reads=("reservation_id", "new_total", "new_nonfree", "payment_id"),
    writes=("bags_updated",),
    side_effect=True,
    needs_confirmation=True,
    guard=may_update_bags,
    error_slot="update_error",
)
def update_bags(slots: BaggageSlots, env: AirlineTools, call: ToolCallContext) -> dict[str, object]:
    """Write the new bag counts (tau2's update_reservation_baggages)."""
    assert slots.reservation_id and slots.payment_id
    assert slots.new_total is not None and slots.new_nonfree is not None
    try:
        env.update_reservation_baggages(
            slots.reservation_id, slots.new_total, slots.new_nonfree, slots.payment_id
        )
    except ValueError as exc:
        raise ToolError("update_reservation_baggages", str(exc)) from exc
    return {"bags_updated": True}


def _card_choices(slots: BaggageSlots) -> dict[str, str]:
    return dict(slots.cards or {})


class UpdateBaggage(Flow[BaggageSlots]):
    """Add checked bags to a reservation, charging bags above the free allowance."""

    title = "Add checked bags"
    keywords = ("bag", "bags", "baggage", "luggage", "suitcase", "suitcases", "checked")
    example: ClassVar[tuple[str, ...]] = (
        "my user id is noah_patel_2048",
        "B2EC9N",
        "2",
        "mastercard",
        "yes",
    )
    facts = (
        SharedFact("reservation", "reservation_id", "the reservation getting bags"),
        SharedFact("total_bags", "new_total", "the checked bags after the change"),
        SharedFact("bag_cost", "bag_cost", "what the extra bags cost", stated_by=("cost_text",)),
    )

    identify, lookup_user, user_unknown = identification_states("I can help you add checked bags.")
    choose_reservation, load_reservation = reservation_states("add bags to")
    ask_total = State(
        fills=("new_total",),
        tools=(state_allowance,),
        say="{allowance_text} How many checked bags should the reservation have in total?",
        purpose="State the allowance; ask for the new total number of checked bags.",
    )
    quote = State(tools=(quote_bags,), purpose="Count charged bags and the cost.")
    ask_payment = State(
        fills=("payment_id",),
        choices={"payment_id": _card_choices},
        say="That makes {new_nonfree} paid bags: ${bag_cost} for the bags you add. Which credit "
        "card or gift card should I charge: {card_list}?",
    )
    review = State(tools=(review_bags,), purpose="Apply the baggage rules.")
    awaiting_confirmation = State(
        say="Here is the change: reservation {reservation_id} goes to {new_total} checked bags "
        "({new_nonfree} paid), {cost_text}. Shall I go ahead (yes/no)?",
        purpose="List the new bags and the charge; get an explicit yes or no.",
    )
    updating = State(tools=(update_bags,), purpose="Write the confirmed bags.")
    updated = State(
        final=True, say="Done: reservation {reservation_id} now has {new_total} checked bags."
    )
    kept = State(final=True, outcome="declined", say="OK, I haven't changed the bags.")
    refused = State(
        final=True, outcome="refused", say="I'm sorry, I can't change the bags: {policy_rule}"
    )
    already_cancelled = State(
        final=True,
        outcome="refused",
        say="Reservation {reservation_id} is cancelled, so it cannot get bags.",
    )
    failed = State(final=True, outcome="failed", say="I couldn't add the bags: {update_error}.")

    identified = identification(identify, lookup_user, user_unknown, choose_reservation)
    picked = reservation_choice(choose_reservation, load_reservation)
    loaded = auto(
        load_reservation.to(already_cancelled, cond=reservation_cancelled)
        | load_reservation.to(ask_total, cond=reservation_loaded)
    )
    total_stated = auto(ask_total.to(quote, cond=total_given))
    quoted = auto(
        quote.to(refused, cond=bags_refused)
        | quote.to(ask_payment, cond=payment_needed)
        | quote.to(review, cond=payment_chosen)
    )
    paid_with = auto(ask_payment.to(review, cond=payment_chosen))
    reviewed = auto(
        review.to(awaiting_confirmation, cond=may_update_bags)
        | review.to(refused, cond=total_given)
    )
    confirm_bags = describe(
        awaiting_confirmation.to(updating, cond=may_update_bags),
        "The customer confirms the new bags and the charge as listed.",
        keywords=("<yes>", "confirm", "proceed", "go ahead"),
        confirms=update_bags,
    )
    decline_bags = describe(
        awaiting_confirmation.to(kept),
        "The customer does not want the bags after all.",
        keywords=("<no>", "keep"),
    )
    done = auto(updating.to(updated, cond=bags_written) | updating.to(failed, cond=update_failed))

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
