"""The retail policy functions against tau2-bench's retail train tasks and probes.

(a) Every gold write action of the 74 train tasks is allowed by the policy in its situation: the
task's DB after the gold actions before it (replayed through `RetailTools`, which reproduces
tau2's vectors exactly), for the user the gold trajectory authenticated. One gold write fails in
tau2 itself (task 105: the gift card can't cover the exchange); the policy refuses it for the
same reason. Cancellation reasons are what the customer says, so they come from each task's
instructions (quoted below): 'ordered by mistake' where the instructions say so, else 'no longer
needed' (the customer, offered the two accepted reasons, names the one that fits).

(b) Every policy-violating probe of tau2's retail probes is refused by the policy, and driving
the flow into that situation (tau2's DB, the probe's setup, the order's owner as customer)
refuses it with a guard before any write tool runs: no write succeeds and the DB is unchanged.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from cxflow import Flow, RuleInterpreter, ScriptedInterpreter, Session, SetSlot, Turn
from cxflow.flows.cancel_order import CancelOrder
from cxflow.flows.change_order_address import ChangeOrderAddress
from cxflow.flows.change_order_payment import ChangeOrderPayment
from cxflow.flows.exchange_items import ExchangeItems
from cxflow.flows.modify_order_items import ModifyOrderItems
from cxflow.flows.return_items import ReturnItems
from cxflow.tools.retail import (
    TOOL_TYPES,
    RetailDB,
    RetailTools,
    UserAddress,
    db_hash,
    load_retail_db,
    policy,
    retail_data_path,
)
from cxflow.tools.retail.policy import Decision

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
TASKS: list[dict[str, Any]] = json.loads(
    (TAU2_DATA / "retail" / "tasks.json").read_text(encoding="utf-8")
)
PROBES: dict[str, dict[str, Any]] = {
    p["id"]: p
    for p in json.loads((TAU2_VECTORS / "retail" / "probes.json").read_text(encoding="utf-8"))[
        "probes"
    ]
}
WRITES = {name for name, kind in TOOL_TYPES.items() if kind == "write"}

SAID_REASON: dict[tuple[str, str], str] = {
    ("16", "#W5199551"): "cancel all pending orders (since they are no longer needed)",
    ("16", "#W8665881"): "cancel all pending orders (since they are no longer needed)",
    ("30", "#W9373487"): "also cancel the charger you just bought, because it goes with the tablet",
    ("31", "#W9373487"): "cancel the charger you just bought, because it goes with the tablet",
    ("54", "#W4836353"): "faced a financial issue and want to cancel or return all possible orders",
    ("54", "#W7342738"): "faced a financial issue and want to cancel or return all possible orders",
    ("59", "#W8268610"): "considering cancelling the older order as you find the wait unreasonable",
    ("66", "#W3361211"): "If there are any issues, cancel the entire order.",
    ("69", "#W2417020"): "found a better deal elsewhere ... see if it can be canceled",
    ("76", "#W8367380"): "cancel the whole order since you ordered it by mistake",
    ("76", "#W1242543"): "cancel the order since you no longer need this one",
    ("78", "#W5995614"): "cancel order #W5995614 because you ordered by mistake",
    ("81", "#W3289292"): "you no longer need hiking boots, watch, keyboard, charger, jacket",
    ("81", "#W9722559"): "you no longer need hiking boots, watch, keyboard, charger, jacket",
    (
        "88",
        "#W8835847",
    ): "If the agent asks for the cancellation reason, you say you ordered by mistake",
    (
        "98",
        "#W8855135",
    ): "okay with cancelling the whole order, with the reason of no longer needed",
    ("113", "#W5056519"): "If asked for reason, say you ordered the items by mistake.",
    ("113", "#W5995614"): "If asked for reason, say you ordered the items by mistake.",
}
"""What each cancelling customer says, quoted from the task's instructions."""


def reason_said(task_id: str, order_id: str) -> str:
    """The accepted reason the customer gives: 'ordered by mistake' if they say so."""
    return (
        "ordered by mistake"
        if "by mistake" in SAID_REASON[task_id, order_id]
        else ("no longer needed")
    )


@pytest.fixture(scope="module")
def tau2_db() -> RetailDB:
    """tau2's retail DB, loaded once; every situation is built on a fork of it."""
    return load_retail_db(retail_data_path(TAU2_DATA))


def _address(arguments: dict[str, Any]) -> UserAddress:
    return UserAddress(**{k: arguments[k] for k in UserAddress.model_fields})


def decide(
    task_id: str, name: str, arguments: dict[str, Any], db: RetailDB, user_id: str | None
) -> Decision:
    """The policy's decision on one write call, for the authenticated user `user_id`."""
    if user_id is None:
        return Decision(False, "not authenticated")
    user = db.users[user_id]
    if name == "modify_user_address":
        if arguments["user_id"] != user_id:
            return Decision(False, "another user's address")
        return policy.user_address_change_allowed(user, _address(arguments))
    order = db.orders[arguments["order_id"]]
    owner = policy.order_belongs_to(order, user_id)
    if not owner.allowed:
        return owner
    products = {i.product_id: db.products[i.product_id] for i in order.items}
    item_ids, new_item_ids = arguments.get("item_ids", []), arguments.get("new_item_ids", [])
    method = arguments.get("payment_method_id")
    if name == "cancel_pending_order":
        reason = reason_said(task_id, order.order_id)
        assert arguments["reason"] == reason
        return policy.cancellation_allowed(order, reason)
    if name == "modify_pending_order_address":
        return policy.address_change_allowed(order, _address(arguments))
    if name == "modify_pending_order_payment":
        return policy.payment_change_allowed(order, user, method)
    if name == "modify_pending_order_items":
        return policy.item_change_allowed(order, user, products, item_ids, new_item_ids, method)
    if name == "exchange_delivered_order_items":
        return policy.exchange_allowed(order, user, products, item_ids, new_item_ids, method)
    assert name == "return_delivered_order_items"
    return policy.return_allowed(order, user, item_ids, method)


def gold_writes() -> list[tuple[str, int]]:
    """(task id, action index) of every gold write action in the train tasks."""
    return [
        (task["id"], i)
        for task in TASKS
        for i, action in enumerate(task["evaluation_criteria"]["actions"] or [])
        if action["name"] in WRITES
    ]


GOLD = gold_writes()


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+\w")
_NAME = re.compile(r"name is (\w+) (\w+)")
_ZIP = re.compile(r"zip ?code is (\d{5})")


def authenticate(task: dict[str, Any], tools: RetailTools) -> str | None:
    """The user the customer's known info identifies, as the flows look it up: by email, else
    by first name, last name and zip code. (Tasks 72-113 have no lookup among their gold
    actions; in the others the gold lookups below find the same user.)"""
    known = task["user_scenario"]["instructions"]["known_info"] or ""
    for email in _EMAIL.findall(known):
        found = tools.call("find_user_id_by_email", {"email": email})
        if not found.error:
            return found.output
    name, zip_code = _NAME.search(known), _ZIP.search(known)
    if name and zip_code:
        arguments = {"first_name": name[1], "last_name": name[2], "zip": zip_code[1]}
        found = tools.call("find_user_id_by_name_zip", arguments)
        if not found.error:
            return found.output
    return None


def situation(task_id: str, index: int, db: RetailDB) -> tuple[RetailDB, str | None, bool]:
    """Replay the task's gold actions before `index` on a fork of `db`; return the DB, the user
    the customer authenticated as, and whether tau2's tool rejects the gold action itself."""
    task = next(t for t in TASKS if t["id"] == task_id)
    actions = task["evaluation_criteria"]["actions"]
    fork = db.fork()
    tools = RetailTools(fork)
    user_id = authenticate(task, tools)
    for action in actions[:index]:
        result = tools.call(action["name"], action["arguments"])
        if action["name"].startswith("find_user_id") and not result.error:
            assert result.output == user_id or user_id is None
            user_id = result.output
    probe = RetailTools(fork.fork()).call(actions[index]["name"], actions[index]["arguments"])
    return fork, user_id, probe.error


def test_the_train_split_has_120_gold_writes() -> None:
    assert len(TASKS) == 74
    assert len(GOLD) == 120


@pytest.mark.parametrize(("task_id", "index"), GOLD, ids=[f"{t}-{i}" for t, i in GOLD])
def test_gold_write_is_allowed_in_its_situation(
    task_id: str, index: int, tau2_db: RetailDB
) -> None:
    db, user_id, rejected_by_tau2 = situation(task_id, index, tau2_db)
    action = next(t for t in TASKS if t["id"] == task_id)["evaluation_criteria"]["actions"][index]
    decision = decide(task_id, action["name"], action["arguments"], db, user_id)
    if rejected_by_tau2:  # task 105: tau2's tool rejects its own gold call
        assert (task_id, decision.allowed) == ("105", False)
        assert "gift card" in decision.rule
    else:
        assert decision.allowed, decision.rule


def test_gold_write_coverage_is_119_of_120_with_the_one_tau2_rejects_refused(
    tau2_db: RetailDB,
) -> None:
    allowed = refused = 0
    for task_id, index in GOLD:
        db, user_id, _ = situation(task_id, index, tau2_db)
        action = next(t for t in TASKS if t["id"] == task_id)["evaluation_criteria"]["actions"]
        decision = decide(task_id, action[index]["name"], action[index]["arguments"], db, user_id)
        allowed += decision.allowed
        refused += not decision.allowed
    assert (allowed, refused) == (119, 1)


# -- (b) the probes --------------------------------------------------------------------------

VIOLATIONS: dict[str, str] = {
    "cancel_pending_order.delivered": "only pending orders can be cancelled",
    "cancel_pending_order.processed": "only pending orders can be cancelled",
    "cancel_pending_order.invalid_reason": "reasons: 'no longer needed' or 'ordered by mistake'",
    "modify_pending_order_address.delivered": "only pending orders can be modified",
    "modify_pending_order_address.after_item_modify": "no change after an item change (tau2's "
    "tool allows it)",
    "modify_pending_order_payment.same_method": "the new method must differ from the original",
    "modify_pending_order_payment.gift_card_short": "a gift card must cover the total",
    "modify_pending_order_items.same_item": "the new item must have different options",
    "modify_pending_order_items.unavailable_variant": "the new item must be available",
    "modify_pending_order_items.second_time": "items can be modified only once",
    "return_delivered_order_items.other_credit_card": "refund to original method or a gift card",
    "return_delivered_order_items.pending_order": "only delivered orders can be returned",
    "return_delivered_order_items.item_not_in_order": "returned items must be in the order",
    "exchange_delivered_order_items.other_product": "an exchange keeps the product type",
    "exchange_delivered_order_items.count_mismatch": "every item needs one new item",
    "exchange_delivered_order_items.gift_card_short": "a gift card must cover the difference",
    "exchange_delivered_order_items.after_return": "only delivered orders can be exchanged",
    "exchange_delivered_order_items.pending_order": "only delivered orders can be exchanged",
}
"""The probes whose write the policy forbids, with the rule. Not listed: the write probes the
policy allows (checked below), `modify_user_address.unknown` (no such user to authenticate) and
`dispatch.bad_argument_type` (a malformed call, not a policy matter)."""

ALLOWED_PROBES = [
    pid
    for pid, p in PROBES.items()
    if TOOL_TYPES.get(p["tool"]) == "write" and not p["error"] and pid not in VIOLATIONS
]


def probe_situation(probe_id: str, db: RetailDB) -> tuple[RetailDB, str]:
    """tau2's DB after the probe's setup, and the owner of the probe's order (the customer)."""
    probe = PROBES[probe_id]
    fork = db.fork()
    for step in probe["setup"]:
        getattr(RetailTools(fork), step["func_name"])(**step["arguments"])
    arguments = probe["arguments"]
    owner = arguments.get("user_id") or fork.orders[arguments["order_id"]].user_id
    return fork, owner


def test_the_probes_listed_exist() -> None:
    assert set(VIOLATIONS) <= set(PROBES)
    assert len(ALLOWED_PROBES) == 10


@pytest.mark.parametrize("probe_id", list(VIOLATIONS))
def test_violating_probe_is_refused_by_the_policy(probe_id: str, tau2_db: RetailDB) -> None:
    db, owner = probe_situation(probe_id, tau2_db)
    probe = PROBES[probe_id]
    reason = probe["arguments"].get("reason")
    if probe["tool"] == "cancel_pending_order":
        order = db.orders[probe["arguments"]["order_id"]]
        assert not policy.cancellation_allowed(order, reason).allowed
    else:
        assert not decide("probe", probe["tool"], probe["arguments"], db, owner).allowed


@pytest.mark.parametrize("probe_id", ALLOWED_PROBES)
def test_a_write_probe_within_the_policy_is_allowed(probe_id: str, tau2_db: RetailDB) -> None:
    db, owner = probe_situation(probe_id, tau2_db)
    probe = PROBES[probe_id]
    if probe["tool"] == "cancel_pending_order":
        order = db.orders[probe["arguments"]["order_id"]]
        assert policy.cancellation_allowed(order, probe["arguments"]["reason"]).allowed
    else:
        decision = decide("probe", probe["tool"], probe["arguments"], db, owner)
        assert decision.allowed, decision.rule


Scripted = Callable[[Session], Turn]


def _scripted(*commands: SetSlot) -> Scripted:
    def run(session: Session) -> Turn:
        session.interpreter = ScriptedInterpreter([list(commands)])
        return session.turn_sync("(scripted)")

    return run


DRIVES: dict[str, tuple[type[Flow[Any]], Sequence[str | Scripted], str]] = {
    "cancel_pending_order.delivered": (CancelOrder, ["#W4817420"], "not_cancellable"),
    "cancel_pending_order.processed": (CancelOrder, ["#W2611340"], "not_cancellable"),
    "cancel_pending_order.invalid_reason": (
        CancelOrder,
        [
            "#W5918442",
            "I changed my mind",
            _scripted(SetSlot(slot="cancel_reason", value="changed my mind")),
        ],
        "ask_reason",
    ),
    "modify_pending_order_address.delivered": (ChangeOrderAddress, ["#W4817420"], "not_modifiable"),
    "modify_pending_order_address.after_item_modify": (
        ChangeOrderAddress,
        ["#W2631563"],
        "not_modifiable",
    ),
    "modify_pending_order_payment.same_method": (
        ChangeOrderPayment,
        ["#W1080318", "credit_card_3577130"],
        "payment_refused",
    ),
    "modify_pending_order_payment.gift_card_short": (
        ChangeOrderPayment,
        ["#W2443586", "gift_card_2742113"],
        "payment_refused",
    ),
    "modify_pending_order_items.same_item": (
        ModifyOrderItems,
        ["#W2631563", "2791467853", "2791467853"],
        "swap_refused",
    ),
    "modify_pending_order_items.unavailable_variant": (
        ModifyOrderItems,
        ["#W2631563", "2791467853", "8722653925"],
        "swap_refused",
    ),
    "modify_pending_order_items.second_time": (ModifyOrderItems, ["#W2631563"], "not_modifiable"),
    "return_delivered_order_items.other_credit_card": (
        ReturnItems,
        ["#W4250821", "5222576926", "done", "credit_card_6547060"],
        "refund_refused",
    ),
    "return_delivered_order_items.pending_order": (ReturnItems, ["#W5918442"], "not_returnable"),
    "return_delivered_order_items.item_not_in_order": (
        ReturnItems,
        ["#W4250821", _scripted(SetSlot(slot="item_id", value="9612497925"))],
        "collect_items",
    ),
    "exchange_delivered_order_items.other_product": (
        ExchangeItems,
        ["#W4250821", "5222576926", "9612497925"],
        "swap_refused",
    ),
    "exchange_delivered_order_items.gift_card_short": (
        ExchangeItems,
        ["#W4250821", "5222576926", "7706410293", "done", "gift_card_6052478"],
        "payment_refused",
    ),
    "exchange_delivered_order_items.after_return": (
        ExchangeItems,
        ["#W4250821"],
        "not_exchangeable",
    ),
    "exchange_delivered_order_items.pending_order": (
        ExchangeItems,
        ["#W2631563"],
        "not_exchangeable",
    ),
}
"""How a customer drives each flow into a probe's situation, and the state that refuses it.
`exchange_delivered_order_items.count_mismatch` cannot be driven: the flow pairs each item with
exactly one new option as it is listed."""


def test_every_violation_but_the_count_mismatch_is_driven() -> None:
    assert set(VIOLATIONS) - set(DRIVES) == {"exchange_delivered_order_items.count_mismatch"}


@pytest.mark.parametrize("probe_id", list(DRIVES))
def test_the_flow_refuses_a_violating_probe_before_any_write(
    probe_id: str, tau2_db: RetailDB
) -> None:
    db, owner = probe_situation(probe_id, tau2_db)
    before = db_hash(db)
    flow, lines, refusing_state = DRIVES[probe_id]
    session = Session.start(flow, interpreter=RuleInterpreter(), env=RetailTools(db))
    turns = [session.turn_sync(db.users[owner].email)]
    for line in lines:
        turns.append(line(session) if callable(line) else session.turn_sync(line))
    last = turns[-1]
    assert last.state == refusing_state, last.reply
    writes = [c for t in turns for c in t.record.tool_calls if c.side_effect]
    assert all(c.refused for c in writes)  # no write ran
    assert db_hash(db) == before
    if last.done:
        assert last.outcome == "refused"
    elif callable(lines[-1]):
        assert last.rejected  # the slot refused a value outside the policy's choices
    else:
        assert session.slots["refusal"]  # a guard sent it here; the rule is said
        assert session.slots["refusal"] in last.reply
