"""The offline default interpreter: value parsers per slot type and keyword event picking.

No model, no network, deterministic. For each slot fillable in the current state it runs the
parser of the slot's kind (phone numbers, dates, integers, money, ids by pattern, choices by
fuzzy match, yes/no, names); for events it matches the event's keywords (`<yes>`/`<no>` match a
yes/no answer) and picks the best, refusing to guess between equally good ones. A filled slot is
re-read only when the message sounds like a correction ("actually", "I meant", ...).

Claims: when the agent's last reply stated a shared fact (a price, a line, an amount) and the
message gives a value of the same kind ("yes, $65 a month is fine"), the value is a
`Claim(fact, value)`; the session compares it with the agent's view and repairs a disagreement
before any write. Money needs a currency mark ("$65", "65 dollars"), free text is never read as
a claim, and a kind some fillable slot also reads is left to that slot.
"""

from __future__ import annotations

import re
from typing import Any

from cxflow import _parsers as p
from cxflow.commands import Cancel, Claim, Command, Handoff, NoOp, SetSlot, StartFlow, Take
from cxflow.interpreter import EventView, Interpretation, SlotView, TurnView

__all__ = ["RuleInterpreter", "best_event"]

_HANDOFF = re.compile(
    r"\b(human|real person|representative|supervisor|manager|live agent|speak to (an? )?agent)\b",
    re.I,
)
_CANCEL = re.compile(
    r"^\W*(cancel( that| this| it)?|never ?mind|forget (it|that)|stop|quit)\W*$", re.I
)
_CORRECTION = re.compile(
    r"\b(actually|sorry|i meant|i mean|correction|wrong|not that|instead|rather|typo|mistake)\b",
    re.I,
)
_WORD = re.compile(r"[a-z0-9']+")
_CURRENCY = re.compile(r"[$€£]|\b(dollars?|bucks|usd|eur)\b", re.I)
_FREE_FORM = frozenset({"name", "text"})
"""Kinds that would read almost any message: never re-read as a correction."""


def _parse(slot: SlotView, text: str) -> object | None:
    kind = slot.parser
    if slot.choices is not None:
        return p.parse_choice(text, list(slot.choices), aliases=_aliases(slot.choices))
    if kind == "phone":
        return p.parse_phone(text)
    if kind == "date":
        return p.parse_date(text)
    if kind == "int":
        return p.parse_int(text)
    if kind == "float":
        return p.parse_float(text)
    if kind == "money":
        value = p.parse_money(text)
        return str(value) if value is not None else None
    if kind == "yes_no":
        return p.parse_yes_no(text)
    if kind == "name":
        return p.parse_name(text)
    if kind == "id":
        pattern = _pattern(slot)
        return p.parse_pattern(text, pattern, upper=True) if pattern else None
    if kind == "choice":
        options = _enum_values(slot)
        return p.parse_choice(text, options) if options else None
    if kind == "text":
        stripped = text.strip()
        return stripped or None
    return None


def _aliases(choices: Any) -> dict[str, list[str]]:
    """Each choice's other names: its label, or several labels written "visa | credit card"."""
    return {
        value: [alias.strip() for alias in label.split(" | ") if alias.strip()]
        for value, label in choices.items()
        if label and label != value
    }


def _pattern(slot: SlotView) -> str | None:
    pattern = slot.json_schema.get("pattern")
    return pattern.strip("^$") if isinstance(pattern, str) else None


def _enum_values(slot: SlotView) -> list[str]:
    values = slot.json_schema.get("enum")
    return [str(v) for v in values] if isinstance(values, list) else []  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


class RuleInterpreter:
    """Reads slot values with typed parsers and picks events by keywords (offline, free)."""

    name = "rules"
    synchronous = True
    """Answers without awaiting I/O, so `turn_sync` needs no event loop."""

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the commands the rules find in the message."""
        return Interpretation(commands=self.commands(view, text))

    def commands(self, view: TurnView, text: str) -> list[Command]:
        """The synchronous core of `interpret`."""
        text = text[:2_000]
        if not text.strip():
            return [NoOp()]
        if _HANDOFF.search(text):
            return [Handoff(reason="the customer asked for a human")]
        if _CANCEL.match(text):
            return [Cancel()]
        refused = " ".join(view.feedback)
        out: list[Command] = []
        correcting = bool(_CORRECTION.search(text))
        for slot in view.slots:
            if (slot.value is not None or slot.correction) and not (
                correcting and slot.parser not in _FREE_FORM
            ):
                continue  # re-read a filled slot only on a correction cue, and not free text
            value = _parse(slot, text)
            if value is None or value == slot.value:
                continue
            command = SetSlot(slot=slot.name, value=value)
            if f"'{slot.name}'" in refused and view.attempt > 1:
                continue  # refused once already: don't repeat it
            out.append(command)
        if len(out) > 1:  # one message answering several questions: keep the readings that fit
            out = [c for c in out if _fits(view, c)] or out
        out += _claims(view, text)
        event = best_event(view.events, text)
        if event is not None and not (view.attempt > 1 and f"'{event}'" in refused):
            out.append(Take(event=event))
        elif event is None:
            flow = best_event(view.flows, text)
            if flow is not None and not (view.attempt > 1 and f"'{flow}'" in refused):
                out.append(StartFlow(flow=flow))
        return out or [NoOp()]


def _fits(view: TurnView, command: Command) -> bool:
    """Whether the session would take this value (True when the view cannot tell)."""
    if not isinstance(command, SetSlot):
        return True
    slot = next(s for s in view.slots if s.name == command.slot)
    return slot.accepts is None or slot.accepts(command.value)


def _claims(view: TurnView, text: str) -> list[Command]:
    """Claims of the facts the agent just stated, where the message gives a value of them."""
    read_by_slots = {slot.parser for slot in view.slots}
    out: list[Command] = []
    priced_text = _CURRENCY.search(text) is not None
    for fact in view.stated:
        shown = str(fact.slot.value)
        if priced_text and re.search(rf"\$\s?{re.escape(shown)}\b", view.prompt):
            amount = p.parse_money(text)  # the agent showed it as a price; they name a price
            if amount is not None:
                out.append(Claim(fact=fact.name, value=str(amount)))
                continue
        kind = fact.slot.parser or ("money" if _numeric(fact.slot.value) else None)
        if kind in _FREE_FORM or kind is None or kind in read_by_slots:
            continue
        if kind == "money" and not _CURRENCY.search(text):
            continue
        value = p.parse_money(text) if kind == "money" else _parse(fact.slot, text)
        if value is not None:
            out.append(Claim(fact=fact.name, value=str(value) if kind == "money" else value))
    return out


def _numeric(value: object) -> bool:
    """A value shown as a number ("4.50", 12): an untyped amount claims like money."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and re.fullmatch(r"\d+(?:\.\d+)?", value.strip()) is not None


def _plain(keyword: str) -> str:
    return " ".join(w.replace("'", "") for w in _WORD.findall(keyword.lower()))


def best_event(options: tuple[EventView, ...], text: str) -> str | None:
    """The option whose keywords the text matches best; None when none or a tie."""
    if not options:
        return None
    tokens = [w.replace("'", "") for w in _WORD.findall(text.lower())]  # "thats" = "that's"
    words = set(tokens)
    lowered = " " + " ".join(tokens) + " "
    answer = p.parse_yes_no(text)
    scores: dict[str, int] = {}
    for event in options:
        score = 0
        for keyword in event.keywords:
            if keyword == "<yes>":
                score += 3 if answer is True else 0
            elif keyword == "<no>":
                score += 3 if answer is False else 0
            elif " " in keyword:
                score += 2 if f" {_plain(keyword)} " in lowered else 0
            elif _plain(keyword) in words:
                score += 1
        if score:
            scores[event.name] = score
    if not scores:
        return None
    best = max(scores.values())
    winners = [name for name, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None
