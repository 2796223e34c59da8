"""Replies are rendered from templates; the structured part says what was asked and stated."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from cxflow import Flow, SharedFact, State, auto
from cxflow.reply import render, render_reply


class QuoteSlots(BaseModel):
    plan: str | None = None
    price: Decimal | None = None
    extras: list[str] | None = None


def _priced(slots: QuoteSlots) -> bool:
    return slots.price is not None


class Quote(Flow[QuoteSlots]):
    """Quote a price."""

    facts = (SharedFact("quoted_price", "price"), SharedFact("plan", "plan"))
    ask = State(initial=True, fills=("plan", "price"), say="Price of {plan}: ${price:.2f}.")
    done = State(final=True, say="Bye.")
    priced = auto(ask.to(done, cond=_priced))


def test_format_specs_apply_to_values() -> None:
    slots = QuoteSlots(plan="Max", price=Decimal("9.5"))
    assert render("Price of {plan}: ${price:.2f}.", slots) == "Price of Max: $9.50."


def test_an_empty_slot_reads_unknown_even_with_a_numeric_format_spec() -> None:
    assert render("Price: ${price:.2f}", QuoteSlots()) == "Price: $(unknown)"


def test_lists_render_comma_separated() -> None:
    assert render("Extras: {extras}", QuoteSlots(extras=["a", "b"])) == "Extras: a, b"


def test_empty_template_renders_empty() -> None:
    assert render("", QuoteSlots()) == ""


def test_reply_carries_asked_slots_and_the_shared_facts_it_states() -> None:
    spec = Quote.spec
    reply = render_reply(spec, spec.states["ask"], QuoteSlots(plan="Max"), prefix=["Hi.", ""])
    assert reply.text == "Hi. Price of Max: $(unknown)."
    assert reply.asks_slots == ["price"]
    assert reply.stated_facts == {"plan": "Max"}
    priced = render_reply(spec, spec.states["ask"], QuoteSlots(plan="Max", price=Decimal("9.5")))
    assert priced.stated_facts == {"quoted_price": "9.5", "plan": "Max"}
