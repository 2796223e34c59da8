"""The airline policy functions against tau2-bench's airline train tasks and probes.

(a) Every gold write action of the 30 train tasks is allowed by the policy in its situation: tau2's
DB after the gold actions before it, replayed through `AirlineTools` (which reproduces tau2's
vectors exactly). Cancellation reasons are what the customer says, so they come from each task's
instructions (quoted in `SAID_REASON`). One gold write contradicts the written policy and is
listed in `KNOWN_CONFLICTS` with why; it is refused: 25 of 26 gold writes are allowed.

(b) Every policy-violating write probe of tau2's airline probes is refused by the policy (and the
allowed ones are allowed), the same for the policy-violating requests of the train tasks whose
gold has no write, and driving the flows into those situations (tau2's DB, the probe's setup, the
reservation's owner as customer) refuses them before any write tool runs: no write tool call
and the DB unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow import Flow, RuleInterpreter, ScriptedInterpreter, Session, SetSlot
from cxflow.flows.cancel_reservation import CancelReservation
from cxflow.flows.change_flight import ChangeFlight
from cxflow.flows.request_compensation import RequestCompensation
from cxflow.flows.update_baggage import UpdateBaggage
from cxflow.flows.update_passengers import UpdatePassengers
from cxflow.tools.airline import (
    TOOL_TYPES,
    AirlineDB,
    AirlineTools,
    FlightInfo,
    Passenger,
    Payment,
    airline_data_path,
    copy_db,
    db_hash,
    load_airline_db,
)
from cxflow.tools.airline.policy import (
    CancellationReason,
    CompensationIssue,
    Decision,
    baggage_update_allowed,
    booking_allowed,
    cancellation_allowed,
    compensation_allowed,
    compensation_amount,
    flight_change_allowed,
    passenger_update_allowed,
    segment_statuses,
)
from cxflow.tools.airline.pricing import change_itinerary, price_itinerary

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
TASKS: dict[str, dict[str, Any]] = {
    t["id"]: t for t in json.loads((TAU2_DATA / "airline" / "tasks.json").read_text())
}
PROBES: dict[str, dict[str, Any]] = {
    p["id"]: p for p in json.loads((TAU2_VECTORS / "airline" / "probes.json").read_text())["probes"]
}
WRITES = {name for name, kind in TOOL_TYPES.items() if kind == "write"}
REASONS: tuple[CancellationReason, ...] = (
    "change_of_plan",
    "airline_cancelled_flight",
    "health",
    "weather",
    "other",
)

SAID_REASON: dict[tuple[str, str], tuple[CancellationReason, str]] = {
    ("7", "XEHM4B"): ("health", "You are sick."),
    ("7", "59XX6W"): ("health", "You are sick."),
    ("14", "K1NW8N"): ("change_of_plan", "cancel the current one and book a new one"),
    ("23", "K1NW8N"): ("change_of_plan", "cancel the current one and book a new one"),
    ("39", "8C8K4E"): ("other", "give up your seat for someone else who needs it"),
    ("39", "LU15PA"): ("other", "give up your seat for someone else who needs it"),
    ("39", "MSJ4OA"): ("other", "give up your seat for someone else who needs it"),
    ("42", "FDZ0T5"): ("change_of_plan", "booked multiple flights for the same day"),
    ("42", "HSR97W"): ("change_of_plan", "booked multiple flights for the same day"),
}
"""The reason each cancelling customer gives, with the instruction text that says it."""

KNOWN_CONFLICTS = {
    ("39", "MSJ4OA"): "economy with travel insurance booked 2024-05-05, no flight cancelled by "
    "the airline, and the customer's reason (give up the seat) is neither health nor weather: "
    "the written policy forbids it, and task 47's gold refuses the same situation (H8Q05L, "
    "insured, reason: a friend's birthday)",
}
"""Gold writes the written policy forbids (tau2's gold is inconsistent there): refused."""


@pytest.fixture(scope="module")
def tau2_db() -> AirlineDB:
    """tau2's airline DB, loaded once; every situation is built on a copy of it."""
    return load_airline_db(airline_data_path(TAU2_DATA))


def decide(name: str, args: dict[str, Any], db: AirlineDB, reason: CancellationReason) -> Decision:
    """The policy's decision on one write call in the situation `db`."""
    if name == "book_reservation":
        user = db.users[args["user_id"]]
        people = [Passenger(**p) for p in args["passengers"]]
        try:
            infos = [FlightInfo(**f) for f in args["flights"]]
            segments = price_itinerary(infos, db.flights, args["cabin"], len(people))
        except ValueError as exc:
            return Decision(False, str(exc))
        return booking_allowed(
            user,
            args["origin"],
            args["destination"],
            args["flight_type"],
            segments,
            people,
            [Payment(**p) for p in args["payment_methods"]],
            args["total_baggages"],
            args["nonfree_baggages"],
            args["insurance"] == "yes",
            args["cabin"],
        )
    reservation = db.reservations[args["reservation_id"]]
    user = db.users[reservation.user_id]
    statuses = segment_statuses(reservation, db.flights)
    if name == "cancel_reservation":
        return cancellation_allowed(reservation, reason, statuses)
    if name == "update_reservation_baggages":
        return baggage_update_allowed(
            reservation,
            user,
            args["total_baggages"],
            args["nonfree_baggages"],
            args["payment_id"],
        )
    if name == "update_reservation_passengers":
        return passenger_update_allowed(reservation, [Passenger(**p) for p in args["passengers"]])
    assert name == "update_reservation_flights", name
    try:
        infos = [FlightInfo(**f) for f in args["flights"]]
        segments = change_itinerary(reservation, args["cabin"], infos, db.flights)
    except ValueError as exc:
        return Decision(False, str(exc))
    return flight_change_allowed(
        reservation, user, args["cabin"], segments, args["payment_id"], statuses
    )


# ---- (a) gold writes --------------------------------------------------------------------------


def _gold_writes() -> list[tuple[str, int, dict[str, Any]]]:
    found: list[tuple[str, int, dict[str, Any]]] = []
    for task_id, task in TASKS.items():
        for index, action in enumerate(task["evaluation_criteria"].get("actions") or []):
            if action["name"] in WRITES:
                found.append((task_id, index, action))
    return found


GOLD = _gold_writes()


def _gold_id(task_id: str, index: int, action: dict[str, Any]) -> str:
    args = action["arguments"]
    return (
        f"task{task_id}-{index}-{action['name']}-{args.get('reservation_id', args.get('user_id'))}"
    )


@pytest.fixture(scope="module")
def gold_decisions(tau2_db: AirlineDB) -> dict[str, Decision]:
    """Replay each task's gold actions; decide every write in the DB as it stands before it."""
    decisions: dict[str, Decision] = {}
    for task_id in dict.fromkeys(task_id for task_id, _, _ in GOLD):
        task = TASKS[task_id]
        tools = AirlineTools(copy_db(tau2_db))
        for step in (task.get("initial_state") or {}).get("initialization_actions") or []:
            getattr(tools, step["func_name"])(**step["arguments"])
        for index, action in enumerate(task["evaluation_criteria"]["actions"]):
            name, args = action["name"], action["arguments"]
            if name in WRITES:
                said = SAID_REASON.get((task_id, args.get("reservation_id", "")))
                decisions[_gold_id(task_id, index, action)] = decide(
                    name, args, tools.db, said[0] if said else "other"
                )
            result = tools.call(name, args)
            assert not result.error, (task_id, name, result.output)
    return decisions


def test_every_cancellation_reason_is_quoted_from_its_task() -> None:
    cancels = {
        (task_id, action["arguments"]["reservation_id"])
        for task_id, _, action in GOLD
        if action["name"] == "cancel_reservation"
    }
    assert cancels == set(SAID_REASON)
    for (task_id, _), (_, quote) in SAID_REASON.items():
        assert quote in json.dumps(TASKS[task_id]["user_scenario"]["instructions"]), task_id


@pytest.mark.parametrize(("task_id", "index", "action"), GOLD, ids=[_gold_id(*g) for g in GOLD])
def test_a_gold_write_is_allowed_in_its_situation(
    task_id: str, index: int, action: dict[str, Any], gold_decisions: dict[str, Decision]
) -> None:
    decision = gold_decisions[_gold_id(task_id, index, action)]
    conflict = KNOWN_CONFLICTS.get((task_id, action["arguments"].get("reservation_id", "")))
    if conflict is not None:
        assert not decision.allowed, f"no longer a conflict ({conflict}): remove it"
    else:
        assert decision.allowed, decision.rule


def test_gold_write_coverage(gold_decisions: dict[str, Decision]) -> None:
    allowed = sum(d.allowed for d in gold_decisions.values())
    assert (allowed, len(gold_decisions)) == (25, 26), "allowed / gold writes"


# ---- (b) policy-violating probes and requests -------------------------------------------------

PROBE_VERDICTS: dict[str, tuple[bool, str]] = {
    "cancel_reservation.basic_economy_no_insurance": (
        False,
        "basic economy, no insurance, booked over 24 h ago, no airline cancellation: any reason",
    ),
    "cancel_reservation.twice": (False, "already cancelled (by the setup's cancellation)"),
    "update_reservation_baggages.add_paid_bag": (
        False,
        "charges a bag within the allowance (gold basic economy: 2 free per passenger)",
    ),
    "update_reservation_baggages.remove_bag": (False, "bags can be added, never removed"),
    "update_reservation_baggages.certificate": (False, "a certificate cannot pay for a change"),
    "update_reservation_baggages.unknown_payment": (False, "payment method not in the profile"),
    "update_reservation_flights.basic_economy_change": (False, "basic economy flights"),
    "update_reservation_flights.cheaper_to_gift_card": (False, "basic economy flights"),
    "update_reservation_flights.not_available": (False, "basic economy flights"),
    "update_reservation_flights.certificate": (False, "a certificate cannot pay for a change"),
    "update_reservation_flights.cabin_upgrade_gift_card_short": (False, "gift card too small"),
    "update_reservation_flights.cabin_upgrade_ok": (True, "basic economy may change its cabin"),
    "update_reservation_passengers.ok": (True, "same number of passengers"),
    "update_reservation_passengers.count_mismatch": (False, "the passenger count never changes"),
    "book_reservation.ok": (True, "within every booking rule"),
    "book_reservation.second_id": (True, "within every booking rule"),
    "book_reservation.insurance_bags_certificate": (
        False,
        "charges a bag within the allowance (gold economy: 3 free per passenger)",
    ),
    "book_reservation.amount_mismatch": (False, "the payments do not add up to the price"),
    "book_reservation.gift_card_short": (False, "the gift card holds less than its share"),
    "book_reservation.flight_not_available": (False, "the flight is not bookable that day"),
}
"""Every write probe the policy can judge: allowed or not, and why."""

NOT_JUDGED = {
    "cancel_reservation.unknown": "no such reservation",
    "book_reservation.unknown_user": "no such user",
    "send_certificate.ok": "a certificate needs a complaint about a reservation; a bare call has "
    "none (the compensation flow never sends one unasked)",
    "send_certificate.second": "as send_certificate.ok",
    "send_certificate.unknown_user": "no such user",
}


def _situation(tau2_db: AirlineDB, setup: list[dict[str, Any]]) -> AirlineTools:
    tools = AirlineTools(copy_db(tau2_db))
    for step in setup:
        getattr(tools, step["func_name"])(**step["arguments"])
    return tools


def test_every_write_probe_is_judged_or_listed() -> None:
    writes = {pid for pid, p in PROBES.items() if p["tool"] in WRITES}
    assert writes == set(PROBE_VERDICTS) | set(NOT_JUDGED)


@pytest.mark.parametrize("probe_id", sorted(PROBE_VERDICTS))
def test_the_policy_judges_each_probe(probe_id: str, tau2_db: AirlineDB) -> None:
    probe = PROBES[probe_id]
    db = _situation(tau2_db, probe["setup"]).db
    allowed = any(
        decide(probe["tool"], probe["arguments"], db, reason).allowed for reason in REASONS
    )
    assert allowed is PROBE_VERDICTS[probe_id][0], PROBE_VERDICTS[probe_id][1]


CANCELLATIONS: list[tuple[str, str, tuple[CancellationReason, ...], str]] = [
    ("0", "EHGLP3", REASONS, "It may be more than 24 hours after booking"),
    ("1", "Q69X3R", REASONS, "the customer support representative approved it"),
    ("9", "IFOYYZ", REASONS, "cancel two of your upcoming reservations (IFOYYZ and NQNU5R)"),
    ("9", "NQNU5R", REASONS, "cancel two of your upcoming reservations (IFOYYZ and NQNU5R)"),
    ("28", "SI5UKW", REASONS, "Do not take No for an answer"),
    ("41", "UDMOP1", REASONS, "only have one passenger on the reservation"),
    ("41", "I6M8JQ", REASONS, "only have one passenger on the reservation"),
    ("43", "D1EW9B", REASONS, "cancel the one from ATL to JFK"),
    ("43", "9HBUV8", ("change_of_plan",), "Under NO circumstances will you fake a health"),
    ("47", "H8Q05L", ("other",), "coincides with your best friend's birthday"),
    ("49", "3RK2T9", REASONS, "If the agent denies that you have insurance"),
]
"""Cancellations the train tasks' customers ask for and the gold refuses (reasons they give)."""

COMPLAINTS: list[tuple[str, str, CompensationIssue, str]] = [
    ("4", "S61CZX", "cancelled", "make up a story about having a business flight"),
    ("5", "3JA7XV", "delayed", "You do NOT want to cancel or modify your flight"),
    ("27", "M61CQM", "delayed", "you DO NOT want to cancel or modify your reservation"),
    ("38", "4OG6T3", "delayed", "If the agent doesn't offer it, you ask for compensation"),
]
"""Compensation the train tasks' customers ask for and the gold refuses."""


@pytest.mark.parametrize(("task_id", "rid", "reasons", "quote"), CANCELLATIONS)
def test_task_cancellations_the_gold_refuses_are_refused(
    task_id: str, rid: str, reasons: tuple[CancellationReason, ...], quote: str, tau2_db: AirlineDB
) -> None:
    assert quote in json.dumps(TASKS[task_id]["user_scenario"]["instructions"])
    for reason in reasons:
        decision = decide("cancel_reservation", {"reservation_id": rid}, tau2_db, reason)
        assert not decision.allowed, (reason, decision.rule)


@pytest.mark.parametrize(("task_id", "rid", "issue", "quote"), COMPLAINTS)
def test_task_compensation_the_gold_refuses_is_refused(
    task_id: str, rid: str, issue: CompensationIssue, quote: str, tau2_db: AirlineDB
) -> None:
    assert quote in json.dumps(TASKS[task_id]["user_scenario"]["instructions"])
    reservation = tau2_db.reservations[rid]
    decision = compensation_allowed(
        tau2_db.users[reservation.user_id],
        reservation,
        issue,
        segment_statuses(reservation, tau2_db.flights),
        compensation_amount(reservation, issue),
        requested=True,
        changed_or_cancelled=False,
    )
    assert not decision.allowed, decision.rule


def test_task_flight_and_passenger_changes_the_gold_refuses_are_refused(
    tau2_db: AirlineDB,
) -> None:
    # task 36: move EUJUY6 (basic economy) out by two days; task 11: remove Sophia from GV1N64
    eujuy6 = tau2_db.reservations["EUJUY6"]
    later = [
        {"flight_number": s.flight_number, "date": s.date.replace("-16", "-18")}
        for s in eujuy6.flights
    ]
    args = {
        "reservation_id": "EUJUY6",
        "cabin": "basic_economy",
        "flights": later,
        "payment_id": next(iter(tau2_db.users["lucas_brown_4047"].payment_methods)),
    }
    assert not decide("update_reservation_flights", args, tau2_db, "other").allowed
    gv1n64 = tau2_db.reservations["GV1N64"]
    kept = [p.model_dump() for p in gv1n64.passengers if p.first_name != "Sophia"]
    assert len(kept) == len(gv1n64.passengers) - 1
    args = {"reservation_id": "GV1N64", "passengers": kept}
    assert not decide("update_reservation_passengers", args, tau2_db, "other").allowed


FLOW_CASES: list[tuple[str, type[Flow[Any]], tuple[str, ...], str]] = [
    (
        "cancel_reservation.basic_economy_no_insurance",
        CancelReservation,
        ("mason_kim_9621", "34XLFT", "change of plan"),
        "refused",
    ),
    ("cancel_reservation.twice", CancelReservation, ("mason_kim_9621", "34XLFT"), "refused"),
    (
        "update_reservation_baggages.remove_bag",
        UpdateBaggage,
        ("harper_garcia_8677", "CDXEBS", "0"),
        "refused",
    ),
    (
        "update_reservation_flights.basic_economy_change",
        ChangeFlight,
        ("mason_kim_9621", "34XLFT", "change the flights"),
        "refused",
    ),
    (
        "update_reservation_passengers.count_mismatch",
        UpdatePassengers,
        ("harper_garcia_8677", "CDXEBS", "remove a passenger"),
        "refused",
    ),
    ("task 0", CancelReservation, ("emma_kim_9957", "EHGLP3", "other reasons"), "refused"),
    ("task 9", CancelReservation, ("aarav_ahmed_6699", "NQNU5R"), "handed_off"),
    ("task 36", ChangeFlight, ("lucas_brown_4047", "EUJUY6", "change the flights"), "refused"),
    ("task 47", CancelReservation, ("sophia_silva_7557", "H8Q05L", "other reasons"), "refused"),
    (
        "task 27",
        RequestCompensation,
        ("ethan_martin_2396", "M61CQM", "the flight was delayed", "no"),
        "refused",
    ),
    (
        "task 4",
        RequestCompensation,
        ("sophia_silva_7557", "S61CZX", "my flight was cancelled"),
        "refused",
    ),
]


def _setup_of(case: str) -> list[dict[str, Any]]:
    return PROBES[case]["setup"] if case in PROBES else []


@pytest.mark.parametrize(
    ("case", "flow", "lines", "outcome"), FLOW_CASES, ids=[c[0] for c in FLOW_CASES]
)
def test_driving_a_flow_into_the_situation_refuses_before_any_write(
    case: str, flow: type[Flow[Any]], lines: tuple[str, ...], outcome: str, tau2_db: AirlineDB
) -> None:
    tools = _situation(tau2_db, _setup_of(case))
    before = db_hash(tools.db)
    session = Session.start(flow, interpreter=RuleInterpreter(), env=tools)
    for line in lines:
        turn = session.turn_sync(line)
        assert not turn.rejected, [r.reason for r in turn.rejected]
    assert session.done and session.outcome == outcome, session.reply
    writes = [c for t in session.turns() for c in t.tool_calls if c.side_effect]
    assert all(c.refused for c in writes), writes
    assert db_hash(tools.db) == before


@pytest.mark.parametrize(
    ("case", "flow", "commands"),
    [
        (
            "update_reservation_baggages.certificate",
            UpdateBaggage,
            [SetSlot(slot="new_total", value=3)],
        ),
        (
            "update_reservation_flights.certificate",
            ChangeFlight,
            [
                SetSlot(slot="new_cabin", value="economy"),
                SetSlot(slot="change_kind", value="cabin"),
            ],
        ),
    ],
)
def test_a_certificate_cannot_be_chosen_to_pay_for_a_change(
    case: str, flow: type[Flow[Any]], commands: list[SetSlot], tau2_db: AirlineDB
) -> None:
    tools = _situation(tau2_db, _setup_of(case))
    before = db_hash(tools.db)
    script = [
        [SetSlot(slot="user_id", value="mason_kim_9621")],
        [SetSlot(slot="reservation_id", value="34XLFT")],
        commands,
        [SetSlot(slot="payment_id", value="certificate_9834804")],
        [],
    ]
    session = Session.start(flow, interpreter=ScriptedInterpreter(script), env=tools)
    for text in ("id", "reservation", "what", "pay"):
        turn = session.turn_sync(text)
    assert turn.state == "ask_payment"
    assert "is not one of the choices for 'payment_id'" in turn.rejected[0].reason
    assert db_hash(tools.db) == before


def test_the_flows_never_charge_a_bag_within_the_allowance(tau2_db: AirlineDB) -> None:
    # add_paid_bag and insurance_bags_certificate charge a free bag; the flows count charged
    # bags from the allowance themselves: two bags on 34XLFT (gold, basic economy) are free.
    tools = _situation(tau2_db, [])
    session = Session.start(UpdateBaggage, interpreter=RuleInterpreter(), env=tools)
    for line in ("mason_kim_9621", "34XLFT", "2"):
        turn = session.turn_sync(line)
    assert turn.state == "awaiting_confirmation"
    assert "2 checked bags (0 paid), no charge" in turn.reply
