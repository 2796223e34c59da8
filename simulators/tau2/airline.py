"""tau2 airline tasks as cxflow runs: the flow to start and a scripted customer derived from the
task's user scenario and gold actions.

What the customer asks for comes from the gold write actions, in order: one write starts its
flow directly, several go through the `airline_support` desk (one goal each; the desk
identifies the customer once). Every value the customer gives is one the task states: the user
id from the known information; the reservation, flights, cabin, bags, passengers and payment
methods from the gold arguments; the cancellation reason and the complaint from the
instructions (sick -> health, weather -> weather, else a change of plan). Where a flow lists
choices (flight options, payment labels), the customer picks the one the gold names, worked out
from the database as the conversation will find it: the initial DB with the gold writes before
it replayed. A customer who does not know the reservation id names its route, when that route
names only it.

A task whose gold writes nothing is expressible when the instructions ask for something a flow
receives and refuses: a cancellation the policy forbids (or hands to a human), a basic economy
flight change, compensation for a delay without a change (offered one, the customer declines).
A question about the bag allowance runs `update_baggage`, which states the allowance; the
customer keeps the bags they have and the flow changes nothing. A change "to a nonstop flight if
available" with none on that day ends at the option list, where the customer finds nothing to
take.

Each request is checked with the flows' own policy and pricing functions before anything is
returned, and every `communicate_info` text must be a figure a derived flow states, so a task
the flows would not take to tau2's end state is `Unsupported` with the rule or gap that decides,
rather than a scenario that fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from cxflow.errors import DataFileError, ToolError
from cxflow.flows._airline import CABINS, flight_options, payment_labels, route_label
from cxflow.flows._airline_booking import SOURCES, TRIPS
from cxflow.flows.cancel_reservation import REASONS
from cxflow.flows.request_compensation import ISSUES
from cxflow.simulators.scenario import Expectation, Scenario
from cxflow.simulators.tau2 import Derived, Unsupported, fresh_env
from cxflow.tools.airline import (
    AirlineDB,
    AirlineTools,
    CabinClass,
    FlightInfo,
    Passenger,
    Payment,
    Reservation,
    User,
    airline_data_path,
    load_airline_db,
)
from cxflow.tools.airline.policy import (
    CancellationReason,
    CompensationIssue,
    Decision,
    bags_addable,
    booking_allowed,
    cancellation_allowed,
    compensation_allowed,
    compensation_amount,
    flight_change_allowed,
    flights_changeable,
    passenger_update_allowed,
    payment_mix_allowed,
    segment_statuses,
)
from cxflow.tools.airline.pricing import (
    PRICE_PER_EXTRA_BAG,
    booking_price,
    change_itinerary,
    flight_change_cost,
    free_bags,
    nonfree_bags,
    price_itinerary,
)

__all__ = ["GOALS", "WRITES", "derive"]

WRITES = (
    "cancel_reservation",
    "update_reservation_flights",
    "update_reservation_baggages",
    "update_reservation_passengers",
    "book_reservation",
    "send_certificate",
    "transfer_to_human_agents",
)
"""tau2's airline write tools: the requests a task's gold makes."""

GOALS = {
    "cancel_reservation": "I want to cancel a reservation.",
    "change_flight": "I want to change my flights or cabin.",
    "update_baggage": "I need to add checked bags.",
    "update_passengers": "I want to update a passenger.",
    "book_flight": "I want to book a new flight.",
    "request_compensation": "I want compensation for my flight.",
}
"""What the customer says at the desk to start each flow (its keywords pick it)."""

TOOL_OF = {
    "cancel_reservation": "cancel_reservation",
    "change_flight": "update_flights",
    "update_baggage": "update_bags",
    "update_passengers": "update_passengers",
    "book_flight": "book_reservation",
    "request_compensation": "send_certificate",
}
"""Each flow's write tool (the scenario's expected writes)."""

FINISH = "no, that's all"
DECLINE_CHANGE = "no, I don't want to change or cancel it"

_USER_ID = re.compile(r"\b[a-z]+_[a-z]+_\d+\b")
_RESERVATION_ID = re.compile(r"\b[A-Z0-9]{6}\b")
_FLIGHT = re.compile(r"\bHAT\d{3}\b")
_MONTHS = tuple(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_DAY = re.compile(rf"\b({'|'.join(_MONTHS)})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I)
_SICK = re.compile(r"\b(?:you are|you're|i am|i'm)\s+(?:sick|ill)\b", re.I)
_WEATHER = re.compile(r"\bweather\b", re.I)
_INSURANCE_REFUND = re.compile(
    r"refund for the insurance|cancel the insurance|remove the (?:travel )?insurance", re.I
)
_PRICE_LIMIT = re.compile(
    r"(?:less than|up to|under|exceeds?|more than)\s+(?:your\s+|a\s+)?\$\s?\d[\d,]*", re.I
)
_ASKS_FIGURE = re.compile(r"[^.\n]*\b(?:sum of|sums|total cost|how much)\b[^.\n]*", re.I)
_NO_RESERVATION_ID = re.compile(
    r"(?:don't|do not) (?:remember|know) (?:your|any of your) reserv", re.I
)
_ALL_UPCOMING = re.compile(r"\ball (?:of )?your upcoming\b", re.I)
_ONE_PASSENGER = re.compile(r"\bonly (?:have )?one passenger\b", re.I)
_NONSTOP = re.compile(r"\b(?:nonstop|non-stop|direct)\b", re.I)
_INTENTS = {
    "complaint": re.compile(r"\b(?:compensat\w*|complain\w*|delayed flights?)\b", re.I),
    "cancel": re.compile(r"\bcancel(?:ling|lation)?\b", re.I),
    "change": re.compile(r"\b(?:change|push back|move|reschedule)\b", re.I),
    "bags": re.compile(r"\b(?:suitcases?|checked bags?|baggages?|luggage)\b", re.I),
}
"""What a customer asks for, by the words they use (the earliest one in a text decides)."""


Pair = tuple[str, str]
"""A segment as (flight number, date)."""


@dataclass
class _Request:
    """One thing the customer asks for: the flow, the slots it will ask and what to say."""

    flow: str
    knows: list[tuple[str, Any]]
    says: dict[str, str] = field(default_factory=dict[str, str])
    writes: bool = True
    figures: set[str] = field(default_factory=set[str])
    """Numbers the flow will state (to check the task's communicate_info against)."""


class _Refuse(Exception):
    """The task cannot be derived: its reason says exactly why."""


@dataclass
class _Task:
    """What derivation reads: the task's text, the customer and the database as it stands."""

    text: str
    reason_for_call: str
    unknown: str
    user: User
    env: AirlineTools
    gold_reads: list[str]

    @property
    def db(self) -> AirlineDB:
        return self.env.db

    def reservation(self, reservation_id: str) -> Reservation:
        found = self.env.db.reservations.get(reservation_id)
        if found is None:
            raise _Refuse(f"reservation {reservation_id} is not in the database")
        return found

    def statuses(self, reservation: Reservation) -> dict[str, str]:
        return segment_statuses(reservation, self.env.db.flights)


def derive(task: Mapping[str, Any], data_dir: Path) -> Derived | Unsupported:
    """The flow and the scripted customer of an airline task, or why it cannot be expressed."""
    try:
        return _derive(task, Path(data_dir))
    except _Refuse as exc:
        return Unsupported(str(exc))


def _derive(task: Mapping[str, Any], data_dir: Path) -> Derived:
    scenario = (task.get("user_scenario") or {}).get("instructions") or {}
    if isinstance(scenario, str):
        raise _Refuse("the user scenario is free text, not tau2's structured instructions")
    text = "\n".join(
        str(scenario.get(k) or "") for k in ("reason_for_call", "known_info", "task_instructions")
    )
    criteria = task.get("evaluation_criteria") or {}
    actions: list[Mapping[str, Any]] = [
        a for a in criteria.get("actions") or [] if a.get("requestor", "assistant") == "assistant"
    ]
    writes = [a for a in actions if a["name"] in WRITES]
    # replaying a gold write for the next request needs a copy of its own; reading alone
    # shares a cached one
    replays = len(writes) > 1
    env = fresh_env("airline", data_dir) if replays else AirlineTools(_shared_db(data_dir))
    user_id = _user_id(text, actions)
    user = env.db.users.get(user_id)
    if user is None:
        raise _Refuse(f"user {user_id} is not in the database")
    info = _Task(
        text=text,
        reason_for_call=str(scenario.get("reason_for_call") or ""),
        unknown=str(scenario.get("unknown_info") or ""),
        user=user,
        env=env,
        gold_reads=[
            str(a["arguments"]["reservation_id"])
            for a in actions
            if a["name"] == "get_reservation_details"
        ],
    )
    if writes:
        requests: list[_Request] = []
        for action in writes:
            requests.append(_for_write(info, action["name"], dict(action["arguments"])))
            if not replays:
                break
            result = env.call(action["name"], action["arguments"])  # as the next request finds it
            if result.error:
                raise _Refuse(
                    f"the gold's {action['name']} fails in tau2's replay: {result.output}"
                )
    else:
        requests = _refused_requests(info)
    _check_communicated(criteria.get("communicate_info") or [], requests, text)
    return _derived(task, user_id, requests, scenario)


def _shared_db(data_dir: Path) -> AirlineDB:
    """tau2's airline DB, loaded once per file version and never written (derivation of a task
    without gold writes only reads it)."""
    path = airline_data_path(data_dir).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataFileError(path, f"cannot read: {exc.strerror}") from exc
    return _load_db(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _load_db(path: str, mtime_ns: int, size: int) -> AirlineDB:
    del mtime_ns, size  # part of the cache key: a rewritten file is read again
    return load_airline_db(path)


def _user_id(text: str, actions: Sequence[Mapping[str, Any]]) -> str:
    found = _USER_ID.search(text)
    if found is not None:
        return found.group()
    for action in actions:
        user_id = action["arguments"].get("user_id")
        if user_id:
            return str(user_id)
    raise _Refuse("the task states no user id (neither the known info nor a gold action)")


# ---- requests from gold writes ----------------------------------------------------------------


def _for_write(info: _Task, name: str, args: dict[str, Any]) -> _Request:
    if name == "cancel_reservation":
        return _cancel(info, str(args["reservation_id"]))
    if name == "update_reservation_flights":
        return _change(info, args)
    if name == "update_reservation_baggages":
        return _bags(info, args)
    if name == "update_reservation_passengers":
        return _passengers(info, args)
    if name == "book_reservation":
        return _book(info, args)
    if name == "send_certificate":
        return _certificate(info, args)
    raise _Refuse(
        "the gold transfers to a human agent: no airline flow derivation decides when a "
        "transfer is the request itself"
    )


def _reason(text: str) -> CancellationReason:
    """The cancellation reason the instructions give (insurance covers health and weather)."""
    if _SICK.search(text):
        return "health"
    if _WEATHER.search(text):
        return "weather"
    if re.search(r"airline cancell?ed", text, re.I):
        return "airline_cancelled_flight"
    return "change_of_plan"


def _which(info: _Task, reservation: Reservation) -> str:
    """How the customer names a reservation: its id, or its route when they don't know the id
    (and the route names only this one of their reservations)."""
    if not _NO_RESERVATION_ID.search(info.text + "\n" + info.unknown):
        return reservation.reservation_id
    label = route_label(reservation)
    same = [
        rid
        for rid in info.user.reservations
        if (other := info.db.reservations.get(rid)) is not None and route_label(other) == label
    ]
    return (
        f"the {label} trip" if same == [reservation.reservation_id] else reservation.reservation_id
    )


def _cancel(info: _Task, reservation_id: str) -> _Request:
    reservation = info.reservation(reservation_id)
    reason = _reason(info.text)
    decision = cancellation_allowed(reservation, reason, info.statuses(reservation))
    if not decision.allowed:
        raise _Refuse(
            f"the gold cancels {reservation_id}, but for the reason the task gives "
            f"({REASONS[reason]}) cancel_reservation refuses it: {decision.rule}"
        )
    paid = sum(p.amount for p in reservation.payment_history)
    return _Request(
        "cancel_reservation",
        [("reservation_id", _which(info, reservation)), ("reason", REASONS[reason])],
        figures={str(paid)},
    )


def _legs(reservation: Reservation) -> tuple[list[Pair], list[Pair]]:
    """The reservation's (flight, date) pairs split into outbound and return, as change_flight
    splits them."""
    pairs = [(s.flight_number, s.date) for s in reservation.flights]
    if reservation.flight_type == "one_way":
        return pairs, []
    turn = next(
        (i for i, s in enumerate(reservation.flights) if s.destination == reservation.destination),
        len(pairs) - 1,
    )
    return pairs[: turn + 1], pairs[turn + 1 :]


def _option(
    info: _Task,
    origin: str,
    destination: str,
    wanted: list[Pair],
    cabin: CabinClass,
    seats: int,
    what: str,
) -> str:
    """The number of the option the flow lists for these flights ("option 2")."""
    day = wanted[0][1]
    try:
        _, flights = flight_options(info.env, origin, destination, day, cabin, seats)
    except ToolError as exc:
        raise _Refuse(f"{what}: the flow's search finds nothing ({exc.message})") from exc
    for number, legs in flights.items():
        if [(f.flight_number, f.date) for f in legs] == wanted:
            return f"option {number}"
    shown = " + ".join(f"{n} on {d}" for n, d in wanted)
    raise _Refuse(
        f"{what}: {shown} is not among the {len(flights)} cheapest {CABINS[cabin]} options the "
        f"flow lists for {origin}-{destination} on {day}"
    )


def _card(info: _Task, payment_id: str, sources: tuple[str, ...], what: str) -> str:
    label = payment_labels(info.user, sources).get(payment_id)
    if label is None:
        kinds = " or ".join(s.replace("_", " ") for s in sources)
        raise _Refuse(f"{what} is paid with {payment_id}, not a {kinds} of the profile")
    return label


def _change(info: _Task, args: dict[str, Any]) -> _Request:
    rid = str(args["reservation_id"])
    reservation = info.reservation(rid)
    cabin = args["cabin"]
    wanted = [(str(f["flight_number"]), str(f["date"])) for f in args["flights"]]
    outbound, back = _legs(reservation)
    cabin_changes = cabin != reservation.cabin
    knows: list[tuple[str, Any]] = [("reservation_id", _which(info, reservation))]
    if wanted == outbound + back:
        if not cabin_changes:
            raise _Refuse(f"the gold rewrites {rid} with the same flights and cabin")
        knows += [("change_kind", "the cabin"), ("new_cabin", CABINS[cabin])]
    else:
        leg, new = _changed_leg(rid, wanted, outbound, back)
        origin, destination = reservation.origin, reservation.destination
        if leg == "return":
            origin, destination = destination, origin
        kind = "flights and cabin" if cabin_changes else "the flights"
        knows.append(("change_kind", kind))
        if cabin_changes:
            knows.append(("new_cabin", CABINS[cabin]))
        if back:
            knows.append(("leg", f"the {leg} flights"))
        knows.append(("new_date", new[0][1]))
        seats = len(reservation.passengers)
        what = f"the new {leg} flights of {rid}"
        knows.append(("option", _option(info, origin, destination, new, cabin, seats, what)))
    infos = [FlightInfo(flight_number=n, date=d) for n, d in wanted]
    try:
        segments = change_itinerary(reservation, cabin, infos, info.db.flights)
    except ValueError as exc:
        raise _Refuse(f"the gold's new flights for {rid} cannot be priced: {exc}") from exc
    payment = str(args["payment_id"])
    decision = flight_change_allowed(
        reservation, info.user, cabin, segments, payment, info.statuses(reservation)
    )
    _allowed(decision, f"the gold changes {rid}, but change_flight refuses it")
    knows.append(
        ("payment_id", _card(info, payment, ("credit_card", "gift_card"), f"the change of {rid}"))
    )
    cost = flight_change_cost(reservation, cabin, segments)
    return _Request("change_flight", knows, figures={str(abs(cost))})


def _changed_leg(
    rid: str, wanted: list[Pair], outbound: list[Pair], back: list[Pair]
) -> tuple[str, list[Pair]]:
    """Which leg the new itinerary changes, and its new flights (the other leg is kept)."""
    if not back:
        return "outbound", wanted
    keeps_out = len(wanted) > len(outbound) and wanted[: len(outbound)] == outbound
    keeps_back = len(wanted) > len(back) and wanted[-len(back) :] == back
    if keeps_back and not keeps_out:
        return "outbound", wanted[: -len(back)]
    if keeps_out and not keeps_back:
        return "return", wanted[len(outbound) :]
    raise _Refuse(
        f"change_flight changes one leg per run; the gold changes both legs of {rid} in one "
        "update (two runs would record two payments)"
    )


def _allowed(decision: Decision, what: str) -> None:
    if not decision.allowed:
        raise _Refuse(f"{what}: {decision.rule}")


def _bags(info: _Task, args: dict[str, Any]) -> _Request:
    rid = str(args["reservation_id"])
    reservation = info.reservation(rid)
    total, nonfree = int(args["total_baggages"]), int(args["nonfree_baggages"])
    _allowed(bags_addable(reservation, total), f"the gold sets {rid} to {total} bags")
    people = len(reservation.passengers)
    membership, cabin = info.user.membership, reservation.cabin
    charged = nonfree_bags(total, membership, cabin, people, reservation.nonfree_baggages)
    if charged != nonfree:
        raise _Refuse(
            f"the gold charges {nonfree} of {total} bags on {rid}; update_baggage charges "
            f"{charged} ({membership} member, {CABINS[cabin]}, {people} passenger(s))"
        )
    knows: list[tuple[str, Any]] = [
        ("reservation_id", _which(info, reservation)),
        ("new_total", total),
    ]
    cost = PRICE_PER_EXTRA_BAG * (nonfree - reservation.nonfree_baggages)
    payment = str(args["payment_id"])
    if cost:
        knows.append(
            ("payment_id", _card(info, payment, ("credit_card", "gift_card"), f"the bags of {rid}"))
        )
    elif not payment_labels(info.user, ("credit_card", "gift_card")):
        raise _Refuse(f"update_baggage needs a credit card or gift card in the profile ({rid})")
    free = free_bags(membership, cabin, people)
    return _Request("update_baggage", knows, figures={str(free), str(cost)})


def _person(p: Passenger | Mapping[str, Any]) -> tuple[str, str, str]:
    if isinstance(p, Passenger):
        return p.first_name, p.last_name, p.dob
    return str(p["first_name"]), str(p["last_name"]), str(p["dob"])


def _passengers(info: _Task, args: dict[str, Any]) -> _Request:
    rid = str(args["reservation_id"])
    reservation = info.reservation(rid)
    old = [_person(p) for p in reservation.passengers]
    new = [_person(p) for p in args["passengers"]]
    _allowed(
        passenger_update_allowed(reservation, [Passenger(**p) for p in args["passengers"]]),
        f"the gold updates the passengers of {rid}",
    )
    changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    if len(changed) != 1:
        raise _Refuse(
            f"update_passengers replaces one passenger per run; the gold changes {len(changed)} "
            f"on {rid}"
        )
    index = changed[0]
    first, last, dob = new[index]
    if " " in last.strip():
        raise _Refuse(
            f"the new last name {last!r} has a space: the flow splits the name at its last"
        )
    name = f"{old[index][0]} {old[index][1]}"
    same_name = sum(f"{a} {b}" == name for a, b, _ in old) > 1
    return _Request(
        "update_passengers",
        [
            ("reservation_id", _which(info, reservation)),
            ("passenger", str(index + 1) if same_name else name),
            ("new_name", f"{first} {last}"),
            ("new_dob", dob),
        ],
    )


def _book(info: _Task, args: dict[str, Any]) -> _Request:
    user = info.user
    trip, cabin = str(args["flight_type"]), args["cabin"]
    origin, destination = str(args["origin"]), str(args["destination"])
    pairs = [(str(f["flight_number"]), str(f["date"])) for f in args["flights"]]
    people = [Passenger(**p) for p in args["passengers"]]
    count = len(people)
    infos = [FlightInfo(flight_number=n, date=d) for n, d in pairs]
    try:
        segments = price_itinerary(infos, info.db.flights, cabin, count)
    except ValueError as exc:
        raise _Refuse(f"the gold's booking cannot be priced: {exc}") from exc
    if trip == "round_trip":
        turn = next((i for i, s in enumerate(segments) if s.destination == destination), None)
        if turn is None or turn == len(segments) - 1:
            raise _Refuse(f"the gold's round trip never returns from {destination}")
        out, back = pairs[: turn + 1], pairs[turn + 1 :]
    else:
        out, back = pairs, []
    total, nonfree = int(args["total_baggages"]), int(args["nonfree_baggages"])
    insurance = args["insurance"] == "yes"
    payments = list(args["payment_methods"])
    decision = booking_allowed(
        user,
        origin,
        destination,
        trip,
        segments,
        people,
        [Payment(**p) for p in payments],
        total,
        nonfree,
        insurance,
        cabin,
    )
    _allowed(decision, "the gold's booking breaks a booking rule")
    _allowed(
        payment_mix_allowed(user, [str(p["payment_id"]) for p in payments]),
        "the gold's booking payment",
    )
    price = booking_price(segments, count, insurance, nonfree)
    labels = payment_labels(user, SOURCES)
    remaining, chosen = price, []
    for payment in payments:
        method = user.payment_methods[str(payment["payment_id"])]
        balance = getattr(method, "amount", None)
        share = remaining if balance is None else min(int(balance), remaining)
        if share != int(payment["amount"]) or share < 1:
            raise _Refuse(
                f"the gold pays ${payment['amount']} with {method.id}; book_flight charges it "
                f"${share} (a certificate or gift card its balance, a credit card the rest)"
            )
        remaining -= share
        chosen.append(labels[method.id])
    knows: list[tuple[str, Any]] = [
        ("trip_type", TRIPS[trip]),
        ("origin", origin),
        ("destination", destination),
        ("depart_date", out[0][1]),
    ]
    if back:
        knows.append(("return_date", back[0][1]))
    knows += [("cabin", CABINS[cabin]), ("passenger_count", count)]
    knows.append(
        (
            "out_choice",
            _option(info, origin, destination, out, cabin, count, "the outbound flights"),
        )
    )
    if back:
        knows.append(
            (
                "back_choice",
                _option(info, destination, origin, back, cabin, count, "the return flights"),
            )
        )
    names = [f"{p.first_name} {p.last_name}" for p in people]
    dobs = [p.dob for p in people]
    knows += [
        ("passenger_name", names if count > 1 else names[0]),
        ("passenger_dob", dobs if count > 1 else dobs[0]),
        ("total_bags", total),
        ("insurance", "yes" if insurance else "no"),
        ("payment_choice", chosen if len(chosen) > 1 else chosen[0]),
    ]
    figures = {str(price), *(str(p["amount"]) for p in payments)}
    return _Request("book_flight", knows, figures=figures)


def _certificate(info: _Task, args: dict[str, Any]) -> _Request:
    reservation = _complained_about(info)
    issue = _issue(info.text)
    if issue == "delayed":
        raise _Refuse(
            "a certificate for a delay comes after a change or cancellation inside "
            "request_compensation; that chain is not derived"
        )
    amount = int(args["amount"])
    decision = compensation_allowed(
        info.user,
        reservation,
        issue,
        info.statuses(reservation),
        amount,
        requested=True,
        changed_or_cancelled=False,
    )
    _allowed(decision, f"the gold sends a ${amount} certificate, but request_compensation refuses")
    return _Request(
        "request_compensation",
        [("reservation_id", _which(info, reservation)), ("issue", f"the flight was {issue}")],
        figures={str(amount)},
    )


# ---- tasks with no write: a request the flow refuses ------------------------------------------


def _issue(text: str) -> CompensationIssue:
    return "delayed" if re.search(r"\bdelay", text, re.I) else "cancelled"


def _mentioned(info: _Task) -> list[Reservation]:
    """The customer's reservations the instructions name: by id, flight number, route or date."""
    own = [r for rid in info.user.reservations if (r := info.db.reservations.get(rid)) is not None]
    by_id = [r for r in own if r.reservation_id in set(_RESERVATION_ID.findall(info.text))]
    if by_id:
        order = _RESERVATION_ID.findall(info.text)
        return sorted(by_id, key=lambda r: order.index(r.reservation_id))
    flights = set(_FLIGHT.findall(info.text))
    if flights:
        return [r for r in own if flights & {s.flight_number for s in r.flights}]
    if _ALL_UPCOMING.search(info.text):
        upcoming = [r for r in own if r.status != "cancelled" and _upcoming(info, r)]
        if _ONE_PASSENGER.search(info.text):
            upcoming = [r for r in upcoming if len(r.passengers) == 1]
        return upcoming
    routed = [
        r
        for r in own
        if re.search(rf"\b{r.origin}\b[^.\n]{{0,12}}\bto\s+{r.destination}\b", info.text)
    ]
    days = {_day(m) for m in _DAY.finditer(info.text)}
    dated = [r for r in own if days & {s.date for s in r.flights} and _upcoming(info, r)]
    if routed or dated:
        return routed + [r for r in dated if r not in routed]
    if len(set(info.gold_reads)) == 1:
        return [info.reservation(info.gold_reads[0])]
    return []


def _day(match: re.Match[str]) -> str:
    month = _MONTHS.index(match.group(1).lower()) + 1
    return date(2024, month, int(match.group(2))).isoformat()


def _upcoming(info: _Task, reservation: Reservation) -> bool:
    statuses = info.statuses(reservation).values()
    return all(status not in ("landed", "flying") for status in statuses)


def _complained_about(info: _Task) -> Reservation:
    found = _mentioned(info)
    if len(found) != 1:
        looked = len(set(info.gold_reads))
        raise _Refuse(
            "the complaint names no reservation, flight or route of the customer's (the gold "
            f"looks at {looked} reservations): request_compensation needs the one it is about"
        )
    return found[0]


def _refused_requests(info: _Task) -> list[_Request]:
    """The requests of a task whose gold writes nothing: each must be one the flow refuses."""
    text = info.text
    if _INSURANCE_REFUND.search(text):
        raise _Refuse(
            "the customer wants to remove travel insurance for a refund: no airline flow "
            "receives that request (the agent must refuse it)"
        )
    limit = _PRICE_LIMIT.search(text)
    if limit is not None:
        raise _Refuse(
            f"the customer decides by a price limit ({limit.group()!r}) over changes the flows "
            "would make: the scripted customer only agrees to or declines exact stated values"
        )
    intent = _intent(info.reason_for_call) or _intent(text)
    if intent == "complaint":
        return [_refused_compensation(info)]
    if intent == "bags":
        return [_bag_question(info)]
    if intent == "cancel":
        return _refused_cancellations(info)
    if intent == "change":
        return [_refused_change(info)]
    raise _Refuse("the instructions ask for nothing an airline flow receives")


def _intent(text: str) -> str | None:
    found = [(m.start(), name) for name, rx in _INTENTS.items() if (m := rx.search(text))]
    return min(found)[1] if found else None


def _refused_compensation(info: _Task) -> _Request:
    reservation = _complained_about(info)
    issue = _issue(info.text)
    statuses = info.statuses(reservation)
    amount = compensation_amount(reservation, issue)

    def decide(changed: bool) -> Decision:
        return compensation_allowed(
            info.user,
            reservation,
            issue,
            statuses,
            amount,
            requested=True,
            changed_or_cancelled=changed,
        )

    if decide(False).allowed:
        raise _Refuse(
            f"request_compensation would send a ${amount} certificate for "
            f"{reservation.reservation_id}, but the gold sends none"
        )
    says = {"keep_reservation": DECLINE_CHANGE} if decide(True).allowed else {}
    return _Request(
        "request_compensation",
        [
            ("reservation_id", _which(info, reservation)),
            ("issue", f"the flight was {ISSUES[issue].split()[0]}"),
        ],
        says=says,
        writes=False,
    )


def _bag_question(info: _Task) -> _Request:
    found = _mentioned(info)
    if len(found) != 1:
        raise _Refuse("the bag question names no single reservation of the customer's")
    reservation = found[0]
    people = len(reservation.passengers)
    free = free_bags(info.user.membership, reservation.cabin, people)
    # they keep the bags they have: the flow states the allowance and changes nothing
    return _Request(
        "update_baggage",
        [
            ("reservation_id", _which(info, reservation)),
            ("new_total", reservation.total_baggages),
        ],
        writes=False,
        figures={str(free)},
    )


def _refused_cancellations(info: _Task) -> list[_Request]:
    found = _mentioned(info)
    if not found:
        raise _Refuse(
            "the cancellation names no reservation, flight, route or date of the customer's "
            f"(the gold looks at {len(set(info.gold_reads))} reservations)"
        )
    changes = {
        r.reservation_id
        for r in found
        if re.search(rf"\bchange\b[^.\n]*\b{r.reservation_id}\b", info.text)
    }
    reason = _reason(info.text)
    requests: list[_Request] = []
    for reservation in found:
        if reservation.reservation_id in changes:
            requests.append(_nonstop_change(info, reservation))
            continue
        decision = cancellation_allowed(reservation, reason, info.statuses(reservation))
        if decision.allowed:
            raise _Refuse(
                f"cancel_reservation would cancel {reservation.reservation_id} ({decision.rule}), "
                "but the gold keeps it"
            )
        requests.append(
            _Request(
                "cancel_reservation",
                [("reservation_id", _which(info, reservation)), ("reason", REASONS[reason])],
                writes=False,
            )
        )
    return requests


def _nonstop_change(info: _Task, reservation: Reservation) -> _Request:
    """A change to a nonstop flight "if available", on the same dates: with none to offer,
    the customer finds no option to take among the one-stop ones and leaves it there."""
    rid = reservation.reservation_id
    if not _NONSTOP.search(info.text):
        raise _Refuse(
            f"besides cancelling, the customer wants to change {rid}, and the task names neither "
            "the new flights nor a condition the flow's options could fail"
        )
    outbound, back = _legs(reservation)
    if back:
        raise _Refuse(f"a nonstop change of {rid}: the task does not say which leg changes")
    day = outbound[0][1]
    direct = info.env.search_direct_flight(reservation.origin, reservation.destination, day)
    if direct:
        raise _Refuse(
            f"the customer wants {rid} changed to a nonstop flight if available: "
            f"{direct[0].flight_number} flies {reservation.origin}-{reservation.destination} on "
            f"{day}, but the gold changes nothing"
        )
    if not flights_changeable(reservation).allowed:
        return _refused_change_of(info, reservation)
    # no "option": shown only one-stop flights, the scripted customer has no answer and stops
    return _Request(
        "change_flight",
        [
            ("reservation_id", _which(info, reservation)),
            ("change_kind", "the flights"),
            ("new_date", day),
        ],
        writes=False,
    )


def _refused_change(info: _Task) -> _Request:
    found = _mentioned(info)
    if len(found) != 1:
        raise _Refuse("the change names no single reservation of the customer's")
    reservation = found[0]
    if flights_changeable(reservation).allowed:
        raise _Refuse(
            f"change_flight would go on to offer new flights for {reservation.reservation_id}, "
            "but the gold changes nothing"
        )
    return _refused_change_of(info, reservation)


def _refused_change_of(info: _Task, reservation: Reservation) -> _Request:
    return _Request(
        "change_flight",
        [("reservation_id", _which(info, reservation)), ("change_kind", "the flights")],
        writes=False,
    )


# ---- communicate_info and the scenario -------------------------------------------------------


def _check_communicated(wanted: Iterable[Any], requests: Sequence[_Request], text: str) -> None:
    figures = {f for r in requests for f in r.figures}
    missing = [str(w) for w in wanted if str(w).replace(",", "").lstrip("$") not in figures]
    if missing:
        asked = "; ".join(m.group().strip() for m in _ASKS_FIGURE.finditer(text))
        raise _Refuse(
            f"communicate_info {missing}: no derived flow states it"
            + (f" (the customer asks: {asked})" if asked else "")
        )


def _merge(requests: Sequence[_Request]) -> dict[str, Any]:
    """Each slot's value: one value, or a list (one item per time a flow asks for it)."""
    values: dict[str, list[Any]] = {}
    for request in requests:
        for slot, value in request.knows:
            values.setdefault(slot, []).append(value)
    merged: dict[str, Any] = {}
    for slot, given in values.items():
        flat = [v for item in given for v in (item if isinstance(item, list) else [item])]
        if all(v == flat[0] for v in flat) and not any(isinstance(v, list) for v in given):
            merged[slot] = flat[0]
        else:
            merged[slot] = flat
    return merged


def _derived(
    task: Mapping[str, Any], user_id: str, requests: Sequence[_Request], scenario: Mapping[str, Any]
) -> Derived:
    writes = [TOOL_OF[r.flow] for r in requests if r.writes]
    says = {k: v for r in requests for k, v in r.says.items()}
    single = len(requests) == 1
    if not single:
        says["finish"] = FINISH
    return Derived(
        flow=requests[0].flow if single else "airline_support",
        scenario=Scenario(
            name=f"airline_{task['id']}",
            description=" ".join(str(scenario.get("reason_for_call") or "").split())[:200],
            identity={"user_id": user_id},
            goals=[] if single else [GOALS[r.flow] for r in requests],
            knows=_merge(requests),
            says=says,
            expect=Expectation(writes=writes),
        ),
    )
