"""Compensation for a cancelled or delayed flight (tau2-bench "Refunds and Compensation").

Only when the customer asks (this flow is never started proactively). Identify the customer,
find the reservation, ask what happened, and check the facts and eligibility: silver or gold
members, travel insurance or business class only. A cancelled flight earns a certificate of
$100 per passenger. A delayed flight earns $50 per passenger only together with a change or
cancellation of the reservation, which this flow offers to start (`change_flight`,
`cancel_reservation`) before looking at compensation again. The certificate is sent after an
explicit yes.
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
    reservation_choice,
    reservation_loaded,
    reservation_states,
)
from cxflow.flows.cancel_reservation import CancelReservation
from cxflow.flows.change_flight import ChangeFlight
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.airline import AirlineTools
from cxflow.tools.airline.policy import (
    CompensationIssue,
    Decision,
    compensation_allowed,
    compensation_amount,
)

ISSUES = {"cancelled": "cancelled flight", "delayed": "delayed flight"}


class CompensationSlots(ReservationSlots):
    """What the compensation conversation knows."""

    issue: CompensationIssue | None = Field(
        None, description="what the customer complains about: a cancelled or a delayed flight"
    )
    issue_flights: str | None = None
    comp_amount: int | None = None
    comp_text: str | None = None
    certificate_sent: bool | None = None
    send_result: str | None = None
    send_error: str | None = None


def _decision(slots: CompensationSlots, *, assume_changed: bool = False) -> Decision:
    if slots.user is None or slots.reservation is None or slots.issue is None:
        return Decision(False, "The reservation and what happened are needed first.")
    changed = assume_changed or slots.modified_reservation_id == slots.reservation_id
    return compensation_allowed(
        slots.user,
        slots.reservation,
        slots.issue,
        slots.statuses or {},
        compensation_amount(slots.reservation, slots.issue),
        requested=True,  # this flow runs only when the customer asks for compensation
        changed_or_cancelled=changed,
    )


# -- guards ------------------------------------------------------------------------------------


def issue_given(slots: CompensationSlots) -> bool:
    """I need to know whether the flight was cancelled or delayed."""
    return slots.issue is not None


def may_compensate(slots: CompensationSlots) -> bool:
    """The policy does not allow compensation here."""
    return _decision(slots).allowed


def change_would_qualify(slots: CompensationSlots) -> bool:
    """A delay is compensated only with a change or cancellation of the reservation."""
    return slots.issue == "delayed" and _decision(slots, assume_changed=True).allowed


def certificate_was_sent(slots: CompensationSlots) -> bool:
    """The certificate was added to the profile."""
    return slots.certificate_sent is True


def send_failed(slots: CompensationSlots) -> bool:
    """The certificate could not be added."""
    return slots.send_error is not None


# -- tools -------------------------------------------------------------------------------------


@tool(
    reads=("user", "reservation", "issue", "statuses", "modified_reservation_id"),
    writes=("policy_rule", "issue_flights", "comp_amount", "comp_text"),
)
def check_facts(
    slots: CompensationSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Confirm the facts (flight statuses, membership, passengers) and work out the amount."""
    assert slots.reservation is not None and slots.issue is not None
    statuses = slots.statuses or {}
    hit = [key for key, status in statuses.items() if status == slots.issue]
    people = len(slots.reservation.passengers)
    amount = compensation_amount(slots.reservation, slots.issue)
    return {
        "policy_rule": _decision(slots).rule,
        "issue_flights": ", ".join(hit) or "(none)",
        "comp_amount": amount,
        "comp_text": f"I'm sorry about the {ISSUES[slots.issue]} ({', '.join(hit)}). As a "
        f"gesture, I can offer a travel certificate of ${amount} (${amount // people} for each "
        f"of the {people} passenger(s)).",
    }


@tool(
    reads=("user_id", "comp_amount"),
    writes=("certificate_sent", "send_result"),
    side_effect=True,
    needs_confirmation=True,
    guard=may_compensate,
    error_slot="send_error",
)
def send_certificate(
    slots: CompensationSlots, env: AirlineTools, call: ToolCallContext
) -> dict[str, object]:
    """Add the certificate to the customer's profile (tau2's send_certificate)."""
    assert slots.user_id is not None and slots.comp_amount is not None
    try:
        result = env.send_certificate(slots.user_id, slots.comp_amount)
    except ValueError as exc:
        raise ToolError("send_certificate", str(exc)) from exc
    return {"certificate_sent": True, "send_result": result}


def _issue_choices(slots: CompensationSlots) -> dict[str, str]:
    return dict(ISSUES)


class RequestCompensation(Flow[CompensationSlots]):
    """Offer a certificate for a cancelled or delayed flight when the policy allows it."""

    title = "Compensation for a cancelled or delayed flight"
    keywords = (
        "compensation",
        "compensate",
        "delayed",
        "delay",
        "cancelled",
        "voucher",
        "certificate",
        "complain",
        "complaint",
    )
    example: ClassVar[tuple[str, ...]] = (
        "my user id is lena_fischer_4096",
        "C4NX7R",
        "the flight was cancelled",
        "yes",
    )
    facts = (
        SharedFact("reservation", "reservation_id", "the reservation complained about"),
        SharedFact("issue", "issue", "whether a flight was cancelled or delayed"),
        SharedFact(
            "certificate", "comp_amount", "the certificate amount offered", stated_by=("comp_text",)
        ),
    )

    identify, lookup_user, user_unknown = identification_states(
        "I'm sorry to hear about your trouble; let me look into it."
    )
    choose_reservation, load_reservation = reservation_states("ask about")
    ask_issue = State(
        fills=("issue",),
        choices={"issue": _issue_choices},
        say="I have {reservation_summary}. What happened: was a flight cancelled or delayed?",
    )
    assess = State(tools=(check_facts,), purpose="Confirm the facts and the eligibility.")
    offer_change = State(
        starts=(ChangeFlight, CancelReservation),
        returns_to="after_change",
        say="I'm sorry about the delay ({issue_flights}). For a delay I can offer a certificate "
        "only together with a change or cancellation of the reservation. Would you like to "
        "change or cancel it?",
        purpose="A delay: offer to change or cancel the reservation first (policy).",
    )
    after_change = State(
        say="Shall I look at compensation for the delay now?",
        purpose="Back from the change or cancellation: check compensation again.",
    )
    offer = State(
        say="{comp_text} Would you like me to add it to your profile?",
        purpose="State the certificate amount and why; get an explicit yes or no.",
    )
    sending = State(tools=(send_certificate,), purpose="Send the accepted certificate.")
    sent = State(final=True, say="Done: {send_result}")
    declined = State(final=True, outcome="declined", say="OK, I won't add a certificate.")
    refused = State(
        final=True, outcome="refused", say="I'm sorry, I can't offer compensation: {policy_rule}"
    )
    no_change = State(
        final=True,
        outcome="refused",
        say="I understand. Without a change or cancellation of the reservation I can't offer "
        "compensation for the delay.",
    )
    failed = State(final=True, outcome="failed", say="I couldn't add it: {send_error}.")

    identified = identification(identify, lookup_user, user_unknown, choose_reservation)
    picked = reservation_choice(choose_reservation, load_reservation)
    loaded = auto(load_reservation.to(ask_issue, cond=reservation_loaded))
    issue_stated = auto(ask_issue.to(assess, cond=issue_given))
    assessed = auto(
        assess.to(offer, cond=may_compensate)
        | assess.to(offer_change, cond=change_would_qualify)
        | assess.to(refused, cond=issue_given)
    )
    keep_reservation = describe(
        offer_change.to(no_change),
        "The customer wants neither a change nor a cancellation.",
        keywords=("<no>", "keep"),
    )
    check_again = describe(
        after_change.to(assess),
        "The customer wants the compensation looked at again.",
        keywords=("<yes>", "compensation", "certificate"),
    )
    leave_it = describe(
        after_change.to(declined), "The customer is done.", keywords=("<no>", "nothing")
    )
    accept_certificate = describe(
        offer.to(sending, cond=may_compensate),
        "The customer accepts the certificate as offered.",
        keywords=("<yes>", "accept", "please do"),
        confirms=send_certificate,
    )
    decline_certificate = describe(
        offer.to(declined), "The customer does not want the certificate.", keywords=("<no>",)
    )
    done = auto(sending.to(sent, cond=certificate_was_sent) | sending.to(failed, cond=send_failed))

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> AirlineTools:
        """The bundled sample airline DB, or tau2's from `tau2_data` (a fresh copy per call)."""
        return airline_env(tau2_data)
