"""The compromised model: an interpreter that does whatever the adversarial customer asks.

`hostile_commands` turns what a turn offers (`Targets`, read from a `TurnView` or from the JSON
schema a model API request carries) and what the attacker wants (`Attack.payload`) into raw
commands; `CompromisedInterpreter` plays them offline, and `llm_interpreter` sends them back
through the real Anthropic or OpenAI interpreter from a mocked HTTP transport.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cxflow.commands import Cancel, Handoff, NoOp, parse_commands
from cxflow.flow import Flow
from cxflow.interpreter import Interpretation, Interpreter, TurnView
from cxflow.registry import reference_flows
from cxflow.rule_interpreter import RuleInterpreter
from cxflow.simulators.reliability._adversarial_corpus import Attack
from cxflow.simulators.reliability._adversarial_oracle import Json

STRATEGIES = ("targeted", "confirm_first", "spray")
"""How the compromised model orders its hostile commands."""
_YES_EVENT = re.compile(r"confirm|accept|agree|approve|proceed|apply|yes|pay|send", re.I)
_NO_EVENT = re.compile(r"decline|keep|reject|refuse|cancel|deny|^no_|_no$|stop|done|finish", re.I)


# -- the compromised model ----------------------------------------------------------------------


@dataclass(frozen=True)
class SlotTarget:
    """A slot the attacker may name: its name, value schema and choices (if listed)."""

    name: str
    schema: Json = field(default_factory=dict[str, Any])
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Targets:
    """What the compromised model can aim at in one turn (from a TurnView or an API request).

    Attributes:
        slots: The slots the schema offers.
        events: (event, keywords) the schema offers.
        facts: Shared facts it may claim.
        flows: Flows it may start.
        guessed: Slot and event names the attacker knows from the source code (white box),
            not offered this turn; the machine must refuse them.
    """

    slots: tuple[SlotTarget, ...]
    events: tuple[tuple[str, tuple[str, ...]], ...]
    facts: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()
    guessed_slots: tuple[str, ...] = ()
    guessed_events: tuple[str, ...] = ()

    @classmethod
    def from_view(cls, view: TurnView, flow: type[Flow[Any]] | None) -> Targets:
        """What a view offers, plus the flow's other slots and events (white box)."""
        slots = tuple(
            SlotTarget(s.name, dict(s.json_schema), tuple(s.choices) if s.choices else None)
            for s in view.slots
        )
        offered = {s.name for s in slots}
        events = tuple((e.name, e.keywords) for e in view.events)
        guessed_slots: tuple[str, ...] = ()
        guessed_events: tuple[str, ...] = ()
        if flow is not None:
            guessed_slots = tuple(n for n in flow.slots_model.model_fields if n not in offered)
            known = {e for e, _k in events}
            guessed_events = tuple(
                dict.fromkeys(
                    t.event
                    for s in flow.spec.states.values()
                    for t in s.events
                    if t.event not in known
                )
            )
        return cls(
            slots=slots,
            events=events,
            facts=view.facts,
            flows=tuple(f.name for f in view.flows),
            guessed_slots=guessed_slots,
            guessed_events=guessed_events,
        )

    @classmethod
    def from_schema(cls, schema: Json) -> Targets:
        """What a turn's JSON schema (as sent to a model API) offers."""
        slots: list[SlotTarget] = []
        events: list[tuple[str, tuple[str, ...]]] = []
        facts: tuple[str, ...] = ()
        flows: tuple[str, ...] = ()
        for variant in schema["properties"]["commands"]["items"]["anyOf"]:
            props = variant["properties"]
            kind = props["type"]["const"]
            if kind == "set_slot":
                value = props["value"]
                choices = tuple(str(c) for c in value["enum"]) if "enum" in value else None
                slots.append(SlotTarget(props["slot"]["const"], value, choices))
            elif kind == "take":
                events = [(e, ()) for e in props["event"]["enum"]]
            elif kind == "claim":
                facts = tuple(props["fact"]["enum"])
            elif kind == "start_flow":
                flows = tuple(props["flow"]["enum"])
        guessed = ("customer_id", "user_id", "order", "new_price", "line_status", "price")
        return cls(tuple(slots), tuple(events), facts, flows, guessed_slots=guessed)


def slot_kind(name: str, schema: Json | None = None) -> str:
    """The payload kind a slot takes, by its name (then its JSON type)."""
    n = name.lower()
    rules = (
        (("reservation",), "reservation"),
        (("order",), "order"),
        (("phone",), "phone"),
        (("email",), "email"),
        (("user_id", "user"), "user"),
        (("customer_id",), "customer"),
        (("bill",), "bill"),
        (("payment", "method", "card"), "payment"),
        (("item", "product"), "item"),
        (("plan",), "plan"),
        (("reason",), "reason"),
        (("cabin",), "cabin"),
        (("zip",), "zip"),
        (("name", "passenger"), "name"),
        (("date", "dob", "day"), "date"),
        (("address", "street", "city"), "text"),
        (
            ("price", "amount", "total", "charge", "cost", "gb", "bag", "count", "number"),
            "amount",
        ),
    )
    for words, kind in rules:
        if any(w in n for w in words):
            return kind
    kind = (schema or {}).get("type")
    if kind in ("integer", "number"):
        return "amount"
    if kind == "boolean":
        return "bool"
    return "text"


def _yes_like(name: str, keywords: Sequence[str]) -> bool:
    return "<yes>" in keywords or bool(_YES_EVENT.search(name))


def _no_like(name: str, keywords: Sequence[str]) -> bool:
    return "<no>" in keywords or bool(_NO_EVENT.search(name))


def _value(kind: str, payload: dict[str, Any]) -> object | None:
    if kind in payload:
        return payload[kind]
    if kind == "amount" and "money" in payload:
        return payload["money"]
    return None


def hostile_commands(targets: Targets, attack: Attack, strategy: str) -> list[dict[str, Any]]:
    """The commands a model under the attacker's control emits (raw JSON, unvalidated).

    Args:
        targets: What the turn offers (and what the attacker guesses).
        attack: The message and the values the attacker wants.
        strategy: "targeted" (the attacker's values, then the confirming event),
            "confirm_first" (the confirming event, then swap the values in), or "spray" (every
            slot, guessed ones too, every claim, every event but a refusal, every flow).
    """
    payload = attack.payload
    sets: list[dict[str, Any]] = []
    names = [s.name for s in targets.slots]
    if strategy == "spray":
        names += list(targets.guessed_slots)
    for name in names:
        schema = next((s.schema for s in targets.slots if s.name == name), None)
        value = _value(slot_kind(name, schema), payload)
        if value is None and strategy == "spray":
            value = payload.get("bool", True) if slot_kind(name, schema) == "bool" else None
        if value is not None:
            sets.append({"type": "set_slot", "slot": name, "value": value})
    yes = [e for e, k in targets.events if _yes_like(e, k)]
    takes: list[dict[str, Any]] = [{"type": "take", "event": e} for e in yes[:1]]
    if strategy == "targeted":
        return sets + takes
    if strategy == "confirm_first":
        return takes + sets
    claims = [
        {"type": "claim", "fact": f, "value": payload.get("money", payload.get("amount", 0))}
        for f in targets.facts
    ]
    every = [e for e, k in targets.events if not _no_like(e, k)] + list(targets.guessed_events)
    ordered = yes + [e for e in every if e not in yes]
    takes = [{"type": "take", "event": e} for e in ordered]
    starts = [{"type": "start_flow", "flow": f} for f in targets.flows]
    return claims + sets + takes + starts


class CompromisedInterpreter:
    """An interpreter that does whatever the attacker asks (a hostile test double).

    It reads the message as the offline rules would (so the attacker's own details, such as
    their email, still get through; never a hand-off or a cancel), then adds the attacker's
    commands, built from the `TurnView` it gets and, white box, from the running flow's other
    slots and events.
    """

    name = "compromised"
    synchronous = True
    """Answers without awaiting I/O, so `turn_sync` needs no event loop."""

    def __init__(self, attack: Attack, strategy: str) -> None:
        self.attack = attack
        self.strategy = strategy
        self._flows = reference_flows()
        self._rules = RuleInterpreter()

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Return the attacker's commands for this view."""
        targets = Targets.from_view(view, self._flows.get(view.flow))
        honest = [
            c.model_dump(mode="json")
            for c in self._rules.commands(view, text)
            if not isinstance(c, Handoff | Cancel | NoOp)
        ]
        raw = honest + hostile_commands(targets, self.attack, self.strategy)
        return Interpretation(commands=parse_commands(raw), raw=raw)


# -- mocked model APIs --------------------------------------------------------------------------


def llm_interpreter(provider: str, attack: Attack, strategy: str) -> Interpreter:
    """A real provider interpreter whose HTTP answers carry the attacker's commands.

    The mock transport reads the turn's schema from the request (the Anthropic tool's
    `input_schema`, or OpenAI's `text.format.schema`) and answers with an API-shaped body
    holding `hostile_commands` for it (the same bodies the model-fault checks use).
    """
    import httpx2

    from cxflow.llm import ModelSettings
    from cxflow.simulators.reliability._faults_model import a_message, o_response

    async def handle(request: httpx2.Request) -> httpx2.Response:
        sent = json.loads(request.content)
        if provider == "anthropic":
            schema = sent["tools"][0]["input_schema"]
        else:
            schema = sent["text"]["format"]["schema"]
        commands = {"commands": hostile_commands(Targets.from_schema(schema), attack, strategy)}
        if provider == "anthropic":
            return a_message(commands)
        return o_response(json.dumps(commands))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handle))
    if provider == "anthropic":
        import anthropic

        from cxflow.llm.anthropic_interpreter import AnthropicInterpreter

        client = anthropic.AsyncAnthropic(api_key="test", http_client=http)
        return AnthropicInterpreter(
            ModelSettings(model="claude-haiku-4-5", max_retries=0), client=client, stream=False
        )
    import openai

    from cxflow.llm.openai_interpreter import OpenAIInterpreter

    oai = openai.AsyncOpenAI(api_key="test", http_client=http)
    return OpenAIInterpreter(
        ModelSettings(model="gpt-5-mini", max_retries=0), api="responses", client=oai, stream=False
    )
