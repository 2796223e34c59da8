"""Collecting the items of an order into one list before the single write (returns, exchanges,
item changes).

tau2's policy: exchange and modify tools can be called only once per order, so every item to
change is collected into a list first, and the customer is reminded to include them all. The
customer names one item at a time (by name or item id) and says "done" when that's all; for an
exchange or an item change each item is paired with a new option of the same product, which the
customer describes in words ("size 10", "the black one") or by item id.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field
from statemachine.transition_list import TransitionList

from cxflow.errors import ToolError
from cxflow.flow import State, auto, describe
from cxflow.flows._retail import OrderSlots, item_text, money, options_text
from cxflow.tooling import ToolCallContext, tool
from cxflow.tools.retail import OrderItem, Product, RetailTools
from cxflow.tools.retail.policy import (
    Decision,
    gift_card_covers,
    items_in_order,
    price_difference,
    swap_allowed,
)
from cxflow.types import Parse

DONE_WORDS = ("<no>", "done", "that's all", "that is all", "that's it", "nothing else", "finished")
"""What ends the item list."""
ADD_MORE_WORDS = ("add", "another", "forgot", "also", "more")
"""What reopens the item list at the confirmation."""


class ItemSlots(OrderSlots):
    """An order plus the list of its items the customer is collecting."""

    item_id: str | None = Field(None, description="an item of the order (its name or item id)")
    item_ids: list[str] | None = None
    items_text: str | None = None
    payment_method_id: str | None = Field(None, description="one of the customer's payment methods")
    payment_label: str | None = None


class SwapSlots(ItemSlots):
    """An order plus the list of (item, new option) pairs the customer is collecting."""

    new_options: Annotated[str, Parse("text")] | None = Field(
        None, description="the options the customer wants instead, or the new item id"
    )
    new_item_id: str | None = None
    item_label: str | None = None
    variant_list: str | None = None
    match_error: str | None = None
    new_item_ids: list[str] | None = None
    price_difference: float | None = None
    difference_text: str | None = None


def item_choices(slots: ItemSlots) -> dict[str, str]:
    """The order's items by id, labelled by product name (with options if the name repeats)."""
    if slots.order is None:
        return {}
    items = {item.item_id: item for item in slots.order.items}
    names = [item.name for item in items.values()]
    return {
        item_id: item.name
        if names.count(item.name) == 1
        else f"{item.name} {options_text(item.options)}"
        for item_id, item in items.items()
    }


def _item(slots: ItemSlots, item_id: str | None) -> OrderItem | None:
    if slots.order is None or item_id is None:
        return None
    return next((i for i in slots.order.items if i.item_id == item_id), None)


def _product(slots: ItemSlots, item: OrderItem | None) -> Product | None:
    return (slots.products or {}).get(item.product_id) if item is not None else None


def _listed(slots: ItemSlots) -> str:
    """The collected items as text."""
    items = [_item(slots, item_id) for item_id in slots.item_ids or []]
    return "; ".join(item_text(item) for item in items if item is not None)


# -- guards -------------------------------------------------------------------------------------


def item_chosen(slots: ItemSlots) -> bool:
    """Which item is it?"""
    return slots.item_id is not None


def item_acceptable(slots: ItemSlots) -> bool:
    """That item is not in the order, or is already listed as often as the order holds it."""
    if slots.order is None or slots.item_id is None:
        return False
    return items_in_order(slots.order, [*(slots.item_ids or []), slots.item_id]).allowed


def has_items(slots: ItemSlots) -> bool:
    """Please tell me at least one item first."""
    return bool(slots.item_ids)


def options_given(slots: SwapSlots) -> bool:
    """Which options would you like instead?"""
    return slots.new_options is not None


def variant_found(slots: SwapSlots) -> bool:
    """The new option is identified."""
    return slots.new_item_id is not None


def match_failed(slots: SwapSlots) -> bool:
    """The options described match no single variant."""
    return slots.match_error is not None


def swap_acceptable(slots: SwapSlots) -> bool:
    """An item can only become an available option of the same product, different from it."""
    item = _item(slots, slots.item_id)
    return item is not None and swap_allowed(item, _product(slots, item), slots.new_item_id).allowed


def has_swaps(slots: SwapSlots) -> bool:
    """Please tell me at least one item first."""
    return bool(slots.item_ids) and len(slots.item_ids or []) == len(slots.new_item_ids or [])


def _covers(slots: SwapSlots) -> Decision:
    if slots.user is None:
        return Decision(False, "I need your account details first.")
    amount = max(slots.price_difference or 0.0, 0.0)
    return gift_card_covers(slots.user, slots.payment_method_id, amount)


def payment_covers(slots: SwapSlots) -> bool:
    """A gift card must have enough balance to cover the price difference."""
    return slots.payment_method_id is not None and _covers(slots).allowed


# -- tools: item lists --------------------------------------------------------------------------


@tool(reads=("item_id", "item_ids", "order"), writes=("item_ids", "item_id", "items_text"))
def add_item(slots: ItemSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Put the chosen item on the list."""
    assert slots.item_id is not None
    listed = slots.model_copy(update={"item_ids": [*(slots.item_ids or []), slots.item_id]})
    return {"item_ids": listed.item_ids, "item_id": None, "items_text": _listed(listed)}


@tool(reads=("item_id", "item_ids", "order"), writes=("item_id", "refusal"))
def drop_item(slots: ItemSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Leave a refused item off the list and say why."""
    assert slots.order is not None and slots.item_id is not None
    decision = items_in_order(slots.order, [*(slots.item_ids or []), slots.item_id])
    return {"item_id": None, "refusal": decision.rule}


# -- tools: swaps -------------------------------------------------------------------------------

_ITEM_ID = re.compile(r"(?<!\d)\d{10}(?!\d)")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # "it's" is one word, not "it" and size "s"


def _tokens(text: str) -> str:
    return " " + " ".join(_TOKEN.findall(text.lower())) + " "


def pick_variant(text: str, product: Product, current: OrderItem) -> str:
    """The item id of the variant of `product` the customer describes, instead of `current`.

    An item id in the text wins. Otherwise the option values mentioned select the variants that
    have them all; among those, the one keeping most other options of `current` wins, then an
    available one. A value of `current` mentioned next to another value of the same option is
    the one being left ("black instead of red").

    Raises:
        ValueError: Nothing recognisable, no variant has those options, or several fit equally.
    """
    found = _ITEM_ID.search(text)
    if found is not None:
        return found.group()
    said = _tokens(text)
    values: dict[str, set[str]] = {}
    for variant in product.variants.values():
        for name, value in variant.options.items():
            values.setdefault(name, set()).add(value)
    wanted: dict[str, set[str]] = {}
    for name, options in values.items():
        hits = {v for v in options if _tokens(v).strip() and _tokens(v) in said}
        if len(hits) > 1:
            hits.discard(current.options.get(name, ""))
        if hits:
            wanted[name] = hits
    if not wanted:
        raise ValueError("I didn't catch which options you'd like")
    fits = [
        v
        for v in product.variants.values()
        if v.item_id != current.item_id
        and all(v.options.get(name) in hits for name, hits in wanted.items())
    ]
    if not fits:
        asked = ", ".join(sorted(v for hits in wanted.values() for v in hits))
        raise ValueError(f"no other {product.name} has {asked}")

    def closeness(variant: Any) -> tuple[int, bool]:
        kept = sum(
            variant.options.get(name) == value
            for name, value in current.options.items()
            if name not in wanted
        )
        return kept, variant.available

    best = max(closeness(v) for v in fits)
    top = [v for v in fits if closeness(v) == best]
    if len(top) > 1:
        listed = "; ".join(options_text(v.options) for v in top)
        raise ValueError(f"several {product.name} options fit ({listed})")
    return top[0].item_id


@tool(reads=("item_id", "order", "products"), writes=("item_label", "variant_list"))
def describe_variants(
    slots: SwapSlots, store: RetailTools, call: ToolCallContext
) -> dict[str, object]:
    """List the other options of the chosen item's product."""
    item = _item(slots, slots.item_id)
    product = _product(slots, item)
    assert item is not None and product is not None
    others = [
        f"{options_text(v.options)} (${money(v.price)}"
        + ("" if v.available else ", not available")
        + ")"
        for v in product.variants.values()
        if v.item_id != item.item_id
    ]
    return {"item_label": item_text(item), "variant_list": "; ".join(others) or "none"}


@tool(
    reads=("new_options", "item_id", "order", "products"),
    writes=("new_item_id", "new_options"),
    error_slot="match_error",
)
def match_variant(slots: SwapSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Find the variant the customer described."""
    item = _item(slots, slots.item_id)
    product = _product(slots, item)
    assert item is not None and product is not None and slots.new_options is not None
    try:
        return {"new_item_id": pick_variant(slots.new_options, product, item), "new_options": None}
    except ValueError as exc:
        raise ToolError("match_variant", str(exc)) from exc


@tool(
    reads=("item_id", "new_item_id", "item_ids", "new_item_ids", "order", "products"),
    writes=("item_ids", "new_item_ids", "item_id", "new_item_id", "items_text"),
)
def add_swap(slots: SwapSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Put the item and its new option on the list."""
    assert slots.item_id is not None and slots.new_item_id is not None
    item_ids = [*(slots.item_ids or []), slots.item_id]
    new_item_ids = [*(slots.new_item_ids or []), slots.new_item_id]
    return {
        "item_ids": item_ids,
        "new_item_ids": new_item_ids,
        "item_id": None,
        "new_item_id": None,
        "items_text": swaps_text(slots, item_ids, new_item_ids),
    }


def swaps_text(slots: SwapSlots, item_ids: list[str], new_item_ids: list[str]) -> str:
    """The collected swaps as text: "Water Bottle (capacity 500ml) -> capacity 750ml ($29.00)"."""
    parts: list[str] = []
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
        item = _item(slots, item_id)
        product = _product(slots, item)
        variant = product.variants.get(new_item_id) if product is not None else None
        if item is not None and variant is not None:
            parts.append(
                f"{item_text(item)} -> {options_text(variant.options)} (${money(variant.price)})"
            )
    return "; ".join(parts)


@tool(reads=("item_id", "new_item_id", "order", "products"), writes=("new_item_id", "refusal"))
def drop_swap(slots: SwapSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Leave a refused option off the list and say why."""
    item = _item(slots, slots.item_id)
    assert item is not None
    return {
        "new_item_id": None,
        "refusal": swap_allowed(item, _product(slots, item), slots.new_item_id).rule,
    }


@tool(
    reads=("order", "products", "item_ids", "new_item_ids"),
    writes=("price_difference", "difference_text"),
)
def price_swaps(slots: SwapSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Work out the price difference of the listed swaps."""
    assert slots.order is not None and slots.products is not None
    difference = price_difference(
        slots.order, slots.products, slots.item_ids or [], slots.new_item_ids or []
    )
    if difference > 0:
        text = f"The new items cost ${money(difference)} more, which you'd pay."
    elif difference < 0:
        text = f"The new items cost ${money(-difference)} less, which you'd get back."
    else:
        text = "There is no price difference."
    return {"price_difference": difference, "difference_text": text}


@tool(
    reads=("payment_method_id", "user", "price_difference"), writes=("payment_method_id", "refusal")
)
def drop_payment(slots: SwapSlots, store: RetailTools, call: ToolCallContext) -> dict[str, object]:
    """Set aside a payment method that can't pay the difference, and say why."""
    return {"payment_method_id": None, "refusal": _covers(slots).rule}


# -- the swap-collection states, shared by exchanges and item changes ---------------------------


def swap_states(verb: str, once: str) -> tuple[State, ...]:
    """The eight states that collect (item, new option) pairs, in this order: collect_items,
    item_refused, ask_options, matching, options_unclear, swap_refused, adding_swap, more_items.

    Args:
        verb: What is done to the items ("exchange", "change").
        once: The reminder that the action happens once per order, so all items come now.
    """
    options = "The {item_label} also comes as: {variant_list}."
    return (
        State(
            fills=("item_id",),
            choices={"item_id": item_choices},
            say=f"Order {{order_id}} has: {{order_items}}. Which item would you like to {verb}? "
            f"Please tell me one item at a time. {once}",
            purpose=f"Collect the first item to {verb}.",
        ),
        State(
            fills=("item_id",),
            choices={"item_id": item_choices},
            tools=(drop_item,),
            say=f"{{refusal}} Which item would you like to {verb}? (Say done when that's all.)",
        ),
        State(
            fills=("new_options",),
            tools=(describe_variants,),
            say=f"{options} Which option would you like instead?",
            purpose="Find out which option of the same product the item should become.",
        ),
        State(tools=(match_variant,), purpose="Find the variant the customer described."),
        State(
            fills=("new_options",),
            say=f"Sorry, {{match_error}}. {options} Which option would you like?",
        ),
        State(
            fills=("new_options",),
            tools=(drop_swap,),
            say=f"{{refusal}} {options} Which option would you like instead?",
        ),
        State(tools=(add_swap,), purpose="Put the pair on the list."),
        State(
            fills=("item_id",),
            choices={"item_id": item_choices},
            say=f"So far: {{items_text}}. Is there any other item to {verb} in this order? {once} "
            "If not, just say done.",
            purpose=f"Collect every item to {verb} before the single call.",
        ),
    )


def swap_events(
    collect_items: State,
    item_refused: State,
    ask_options: State,
    matching: State,
    options_unclear: State,
    swap_refused: State,
    adding_swap: State,
    more_items: State,
    *,
    then: State,
) -> tuple[TransitionList, ...]:
    """The transitions of the swap-collection states; "done" continues in `then`."""
    return (
        auto(
            collect_items.to(ask_options, cond=item_acceptable)
            | collect_items.to(item_refused, cond=item_chosen)
            | more_items.to(ask_options, cond=item_acceptable)
            | more_items.to(item_refused, cond=item_chosen)
            | item_refused.to(ask_options, cond=item_acceptable)
            | item_refused.to(item_refused, cond=item_chosen)
        ),
        auto(
            ask_options.to(matching, cond=options_given)
            | options_unclear.to(matching, cond=options_given)
            | swap_refused.to(matching, cond=options_given)
        ),
        auto(
            matching.to(adding_swap, cond=swap_acceptable)
            | matching.to(swap_refused, cond=variant_found)
            | matching.to(options_unclear, cond=match_failed)
        ),
        auto(adding_swap.to(more_items)),
        describe(
            more_items.to(then, cond=has_swaps) | item_refused.to(then, cond=has_swaps),
            "The customer has listed every item.",
            keywords=DONE_WORDS,
        ),
    )
