"""tau2 retail tasks as cxflow runs: the customer asks for what the task's gold writes do.

The customer's requests are the task's gold write actions, in order (tau2's DB check wants the
database those writes leave). Who the customer is comes from the gold lookup that succeeded
(`find_user_id_by_email` -> email; `find_user_id_by_name_zip` -> name and zip), or, when the
gold has none, from the known info (an email there that finds the account, else the name and
zip of the account it names). Each write becomes one request in the customer's words:

- `cancel_pending_order` -> cancel_order: the order id and the reason;
- `return_delivered_order_items` -> return_items: the order id, each item by the name the agent
  lists it under, "that's all", and the refund method by name ("my paypal");
- `exchange_delivered_order_items`, `modify_pending_order_items` -> exchange_items,
  modify_order_items: the order id, each item followed by the options it should have instead
  (those that differ from the item's, else all of them, else the new item's id: whichever the
  flow's variant matcher reads back as the gold item), "that's all", the payment method for
  the difference;
- `modify_pending_order_address` -> change_order_address, `modify_user_address` ->
  update_address: the new address on one line;
- `modify_pending_order_payment` -> change_order_payment: the new payment method by name;
- `transfer_to_human_agents` (last): the customer asks for a human.

One write starts its flow directly. Several start `retail_support`, the desk that
authenticates once and starts each request from one goal message; a slot that several
requests ask for holds one value per time it is asked (the scripted customer gives a list's
items in turn). A task without a write (it only asks questions; tau2 wants the database
unchanged) is a customer who authenticates at the desk and needs nothing changed; its
questions are informational and no offline flow answers them.

A task is `Unsupported` when the flows cannot carry its requests: a write no flow makes, a
gold write that fails in tau2's replay (tau2 wants it not made; the flow refuses it too, but
then keeps asking, with no way for the customer to drop the request and end the
conversation), a change the policy the flows enforce refuses (a pending order changed again
after its items were modified), or a value the customer could not put in words the offline
interpreter reads back exactly (checked here with the flows' own readers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxflow import _parsers
from cxflow.flows._retail import (
    OrderSlots,
    options_text,
    order_payment_choices,
    payment_labels,
)
from cxflow.flows._retail_address import read_address
from cxflow.flows._retail_items import ItemSlots, item_choices, pick_variant
from cxflow.simulators.scenario import Expectation, Scenario
from cxflow.simulators.scripted import PHRASES
from cxflow.simulators.tau2 import Derived, Unsupported, fresh_env
from cxflow.tools.retail import Order, OrderItem, Product, RetailTools, User, UserAddress

__all__ = ["DESK", "FLOWS", "derive"]

FLOWS: dict[str, str] = {
    "cancel_pending_order": "cancel_order",
    "return_delivered_order_items": "return_items",
    "exchange_delivered_order_items": "exchange_items",
    "modify_pending_order_items": "modify_order_items",
    "modify_pending_order_address": "change_order_address",
    "modify_pending_order_payment": "change_order_payment",
    "modify_user_address": "update_address",
}
"""tau2 write tool -> the cxflow flow that makes it."""

DESK = "retail_support"
"""The front desk that authenticates once and starts each request."""

_TOOLS = {
    "cancel_order": "cancel_order",
    "return_items": "return_items",
    "exchange_items": "exchange_items",
    "modify_order_items": "modify_items",
    "change_order_address": "change_order_address",
    "change_order_payment": "change_order_payment",
    "update_address": "update_default_address",
}
"""Flow -> the write tool it calls (the scenario's expected writes)."""

_GOALS = {
    "cancel_order": "I'd like to cancel an order.",
    "return_items": "I'd like to return some items.",
    "exchange_items": "I'd like to exchange some items.",
    "modify_order_items": "I'd like to modify items of a pending order.",
    "change_order_address": "I'd like to change the shipping address of an order.",
    "change_order_payment": "I'd like to change the payment method of an order.",
    "update_address": "I'd like to update my default address.",
}
"""Flow -> the customer's request at the desk (its keywords start that flow)."""

_HUMAN = "I'd like to talk to a human agent, please."
_LOOKUPS = ("find_user_id_by_email", "find_user_id_by_name_zip")
_TRANSFER = "transfer_to_human_agents"
_DONE = "that's all"
"""What ends an item list (a list item of its own: the list goes on for the next request)."""
_FINISH = "no, that's all"
_WAYS = PHRASES["*"]
"""The scripted customer's ways to give a value (every one must read back exactly)."""
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_USER_ID = re.compile(r"\b([a-z]+)_([a-z]+)_\d+\b")
_FULL_NAME = re.compile(r"\b([A-Z][a-z]+) ([A-Z][a-z]+)\b")
_ZIP = re.compile(r"\b\d{5}\b")


class _Cannot(Exception):
    """A request the flows cannot carry (the message is the Unsupported reason)."""


@dataclass
class _Request:
    flow: str
    owner: str
    """The account the request is about (the customer's own, or the flows refuse it)."""
    knows: dict[str, list[str]] = field(default_factory=dict[str, list[str]])


def derive(task: Mapping[str, Any], data_dir: Path) -> Derived | Unsupported:
    """The flow and the scripted customer of a retail task, or why it cannot be run offline."""
    actions = [
        a
        for a in task["evaluation_criteria"]["actions"]
        if a.get("requestor", "assistant") == "assistant"
    ]
    env: RetailTools = fresh_env("retail", data_dir)
    identity: dict[str, str] = {}
    user_id = ""
    requests: list[_Request] = []
    transfer = False
    modified: set[str] = set()
    handled: set[str] = set()
    try:
        for number, action in enumerate(actions, 1):
            name, args = action["name"], action["arguments"]
            if name in _LOOKUPS:
                found = env.call(name, args)
                if not found.error:
                    identity, user_id = _identity_of(name, args), found.output
                continue
            if name == _TRANSFER:
                transfer = True
                continue
            if name not in FLOWS:
                if name.startswith(("get_", "list_", "calculate", "think")):
                    continue
                raise _Cannot(f"gold action {name} has no cxflow flow")
            if transfer:
                raise _Cannot(f"{name} comes after the transfer to a human")
            requests.append(_request(name, args, env, modified, handled))
            failed = env.call(name, args)
            if failed.error:
                raise _Cannot(
                    f"gold action {number} ({name}) fails in tau2's replay "
                    f"({failed.output.removeprefix('Error: ')}), so tau2 wants it not made; "
                    f"{requests[-1].flow} refuses it too but then keeps asking, with no way for "
                    "the customer to drop the refused request, so the conversation cannot end"
                )
        if not identity:
            identity, user_id = _identity_from_info(task, env)
        for request in requests:
            if request.owner != user_id:
                raise _Cannot(
                    f"the customer ({user_id}) asks for a {request.flow} on {request.owner}'s "
                    "account, which the flows refuse"
                )
    except _Cannot as why:
        return Unsupported(str(why))
    return Derived(*_scenario(task, identity, requests, transfer))


# -- identity ---------------------------------------------------------------------------------


def _identity_of(name: str, args: Mapping[str, Any]) -> dict[str, str]:
    if name == "find_user_id_by_email":
        return {"email": str(args["email"])}
    return {
        "full_name": f"{args['first_name']} {args['last_name']}",
        "zip_code": str(args["zip"]),
    }


def _identity_from_info(task: Mapping[str, Any], env: RetailTools) -> tuple[dict[str, str], str]:
    """Who the customer says they are in the known info (an email that finds the account,
    else a name and zip that do), and their user id, when the gold looks nobody up."""
    info = str(task["user_scenario"]["instructions"].get("known_info") or "")
    for email in _EMAIL.findall(info):
        found = env.call("find_user_id_by_email", {"email": email})
        if not found.error:
            return {"email": email}, found.output
    names = [m.groups() for m in _FULL_NAME.finditer(info)]
    names += [(f.capitalize(), la.capitalize()) for f, la in _USER_ID.findall(info)]
    for first, last in names:
        for zip_code in _ZIP.findall(info):
            args = {"first_name": first, "last_name": last, "zip": zip_code}
            found = env.call("find_user_id_by_name_zip", args)
            if not found.error:
                return _identity_of("find_user_id_by_name_zip", args), found.output
    raise _Cannot(f"the known info ({info!r}) names no account the lookups find")


# -- one request per gold write ---------------------------------------------------------------


def _request(
    name: str, args: Mapping[str, Any], env: RetailTools, modified: set[str], handled: set[str]
) -> _Request:
    flow = FLOWS[name]
    if name == "modify_user_address":
        return _Request(flow, str(args["user_id"]), {"new_address": [_address(args, env)]})
    order_id = str(args["order_id"])
    if order_id in modified:
        raise _Cannot(
            f"{name} on {order_id} after its items were modified: the flows' policy refuses "
            "any change to an order whose items were modified"
        )
    order = _order(env, order_id)
    user = env.get_user_details(order.user_id)
    knows: dict[str, list[str]] = {"order_id": [order_id]}
    if name == "cancel_pending_order":
        knows["cancel_reason"] = [str(args["reason"])]
    elif name == "modify_pending_order_address":
        knows["new_address"] = [_address(args, env)]
    elif name == "modify_pending_order_payment":
        method = str(args["payment_method_id"])
        knows["payment_method_id"] = [_payment(method, payment_labels(user), user)]
    else:
        if name in ("return_delivered_order_items", "exchange_delivered_order_items"):
            if order_id in handled:
                raise _Cannot(f"a second return or exchange of {order_id}")
            handled.add(order_id)
        else:
            modified.add(order_id)
        slots = OrderSlots(order=order, user=user)
        labels = item_choices(ItemSlots(order=order))
        items = [str(i) for i in args["item_ids"]]
        if name == "return_delivered_order_items":
            knows["item_id"] = [_item(i, labels) for i in items] + [_DONE]
        else:
            new_ids = [str(i) for i in args["new_item_ids"]]
            if len(new_ids) != len(items):
                raise _Cannot(f"{name} on {order_id} pairs {len(items)} items with {len(new_ids)}")
            knows["item_id"] = [_item(i, labels) for i in items] + [_DONE]
            knows["new_options"] = [
                _options(order, env, old, new) for old, new in zip(items, new_ids, strict=True)
            ]
        method = str(args["payment_method_id"])
        knows["payment_method_id"] = [_payment(method, order_payment_choices(slots), user)]
    return _Request(flow, order.user_id, knows)


def _order(env: RetailTools, order_id: str) -> Order:
    try:
        return env.get_order_details(order_id)
    except ValueError as exc:
        raise _Cannot(f"the gold writes name order {order_id}, which does not exist") from exc


def _item(item_id: str, labels: Mapping[str, str]) -> str:
    """An item as the customer names it: the name the agent lists it under."""
    label = labels.get(item_id)
    if label is None:
        raise _Cannot(f"item {item_id} is not in the order")
    return _readable(label, labels, item_id, what="item")


def _payment(method: str, labels: Mapping[str, str], user: User) -> str:
    """A payment method as the customer names it ("my paypal", "my visa card")."""
    label = labels.get(method)
    if label is None:
        raise _Cannot(f"payment method {method} is not {user.user_id}'s")
    label = label.split(" | ")[0]
    if label == method:
        said = method
    elif label.isdigit():
        said = f"my card ending in {label}"
    elif label in ("credit card", "gift card", "paypal") or label.endswith("card"):
        said = f"my {label}"
    else:
        said = f"my {label} card"  # a brand: "my visa card"
    return _readable(said, labels, method, what="payment method")


def _readable(said: str, labels: Mapping[str, str], value: str, *, what: str) -> str:
    """`said`, checked: every way the customer phrases it reads back as `value`."""
    aliases = {
        v: [a.strip() for a in label.split(" | ") if a.strip()]
        for v, label in labels.items()
        if label and label != v
    }
    for way in _WAYS:
        text = way.format(v=said)
        if _parsers.parse_choice(text, list(labels), aliases=aliases) != value:
            raise _Cannot(f"the {what} {value} said as {text!r} does not read back as itself")
    return said


def _options(order: Order, env: RetailTools, old: str, new: str) -> str:
    """The options an item should have instead: those that differ, else all, else the id."""
    item = next((i for i in order.items if i.item_id == old), None)
    if item is None:
        raise _Cannot(f"item {old} is not in order {order.order_id}")
    product = env.get_product_details(item.product_id)
    variant = product.variants.get(new)
    if variant is None:
        raise _Cannot(f"{new} is not a {product.name} option")
    differ = {k: v for k, v in variant.options.items() if item.options.get(k) != v}
    for said in (options_text(differ), options_text(variant.options), f"item {new}"):
        if said and all(_picks(way.format(v=said), product, item) == new for way in _WAYS):
            return said
    raise _Cannot(f"the {product.name} option {new} cannot be described")  # pragma: no cover


def _picks(text: str, product: Product, item: OrderItem) -> str | None:
    try:
        return pick_variant(text, product, item)
    except ValueError:
        return None


def _address(args: Mapping[str, Any], env: RetailTools) -> str:
    """The new address on one line, checked to read back as the gold address."""
    wanted = UserAddress(
        address1=str(args["address1"]),
        address2=str(args["address2"]),
        city=str(args["city"]),
        state=str(args["state"]),
        country=str(args["country"]),
        zip=str(args["zip"]),
    )
    parts = [wanted.address1, wanted.address2, wanted.city, wanted.state, wanted.zip]
    said = ", ".join(p for p in parts if p)
    for way in _WAYS:
        text = way.format(v=said)
        try:
            read = read_address(text, None, env)
        except ValueError as exc:
            raise _Cannot(f"the address {text!r} does not read: {exc}") from exc
        if read != wanted:
            raise _Cannot(f"the address {text!r} reads as {read.model_dump()}")
    return said


# -- the scenario -----------------------------------------------------------------------------


def _scenario(
    task: Mapping[str, Any], identity: dict[str, str], requests: list[_Request], transfer: bool
) -> tuple[str, Scenario]:
    instructions = task["user_scenario"]["instructions"]
    knows: dict[str, list[str]] = {}
    for request in requests:
        for slot, values in request.knows.items():
            knows.setdefault(slot, []).extend(values)
    writes = [_TOOLS[r.flow] for r in requests]
    direct = len(requests) == 1 and not transfer
    flow = requests[0].flow if direct else DESK
    goals = [] if direct else [_GOALS[r.flow] for r in requests]
    if transfer:
        goals.append(_HUMAN)
    expect = Expectation(outcome="handed_off" if transfer else "completed", writes=writes)
    what = ", ".join(r.flow for r in requests) or "no change"
    return flow, Scenario(
        name=f"retail_{task['id']}",
        description=f"{what}{', then a human' if transfer else ''}: "
        + str(instructions.get("reason_for_call", ""))[:160],
        identity=identity,
        goals=goals,
        knows=dict(knows),
        says={} if direct else {"finish": _FINISH},
        expect=expect,
    )
