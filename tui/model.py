"""What the TUI shows, computed from turn records alone (no Textual here: testable and fast).

A `Timeline` holds a session's records and a cursor on one of them; the render functions turn
the selected record into Rich renderables for each pane (graph, transcript, state, details).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.text import Text

from cxflow.machine import guard_name
from cxflow.records import TurnRecord

if TYPE_CHECKING:
    from cxflow.flow import Flow

__all__ = [
    "TRANSCRIPT_WINDOW",
    "Timeline",
    "fmt",
    "render_details",
    "render_graph",
    "render_state",
    "render_transcript",
]

TRANSCRIPT_WINDOW = 12
"""At most this many turns are shown before the selected one (keeps a step O(1) in long
sessions); fewer when the pane is too short to show them (each turn takes two lines or more)."""


def fmt(value: Any, width: int = 40) -> str:
    """A value as one short line ("·" for None; JSON for containers)."""
    if value is None:
        return "·"
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    )
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Timeline:
    """A session's turn records and the selected one (-1: before the first turn)."""

    flow: type[Flow[Any]]
    flows: Mapping[str, type[Flow[Any]]]
    records: list[TurnRecord] = field(default_factory=list[TurnRecord])
    index: int = -1
    opening: str = ""
    """The agent's opening prompt (shown before the first turn, when known)."""

    @property
    def selected(self) -> TurnRecord | None:
        """The selected record, or None before the first turn."""
        return self.records[self.index] if 0 <= self.index < len(self.records) else None

    def append(self, record: TurnRecord) -> None:
        """Add a record (a live turn) and select it."""
        self.records.append(record)
        self.index = len(self.records) - 1

    def step(self, delta: int) -> bool:
        """Move the cursor by `delta` turns (clamped); return whether it moved."""
        lowest = 0 if self.records else -1
        target = max(lowest, min(len(self.records) - 1, self.index + delta))
        moved = target != self.index
        self.index = target
        return moved

    def first_divergence(self) -> int | None:
        """Index of the first record with a divergence, if any."""
        for i, record in enumerate(self.records):
            if record.divergences:
                return i
        return None

    def search(self, query: str, *, after: int | None = None) -> int | None:
        """Index of the next record (after `after`, wrapping) whose texts contain `query`."""
        needle = query.strip().lower()
        if not needle or not self.records:
            return None
        start = self.index if after is None else after
        count = len(self.records)
        for offset in range(1, count + 1):
            i = (start + offset) % count
            record = self.records[i]
            if needle in record.customer_text.lower() or needle in record.reply.text.lower():
                return i
        return None

    def current_state(self) -> tuple[str, str]:
        """(flow id, state id) at the selected turn (the initial state before any)."""
        record = self.selected
        if record is None:
            return self.flow.flow_id, self.flow.spec.initial
        return record.flow, record.state_after


def _spec_of(timeline: Timeline, flow_id: str) -> Any:
    flow = timeline.flows.get(flow_id, timeline.flow)
    return flow.spec


def render_graph(timeline: Timeline) -> Text:
    """The flow's states (current highlighted) and the current state's transitions."""
    flow_id, state_id = timeline.current_state()
    spec = _spec_of(timeline, flow_id)
    record = timeline.selected
    head = Text.assemble(("flow ", "dim"), (flow_id, "bold"), ("  state ", "dim"))
    head.append(state_id, style="bold reverse green")
    lines: list[Text] = [head]
    state = spec.states.get(state_id)
    slots: Any = None
    if record is not None:
        try:
            slots = spec.slots_model.model_validate(record.agent_view)
        except ValueError:
            slots = None
    if state is not None:
        if state.final:
            lines.append(Text(f"final state (outcome: {state.outcome})", style="magenta"))
        for t in state.transitions:
            line = Text("  ")
            guard = t.refusing_guard(slots) if slots is not None else None
            if slots is None:
                line.append("? ", style="dim")
            elif guard is None:
                line.append("✓ ", style="green")
            else:
                line.append("✗ ", style="red")
            line.append(t.event, style="bold" if guard is None else "dim")
            line.append(f" → {t.target}")
            if t.auto:
                line.append(" (auto)", style="dim")
            if guard is not None:
                line.append(f"  [{guard_name(guard)}]", style="red dim")
            lines.append(line)
    states = Text("states: ", style="dim")
    for i, sid in enumerate(spec.states):
        if i:
            states.append(" · ", style="dim")
        s = spec.states[sid]
        style = "bold reverse green" if sid == state_id else ("magenta" if s.final else "")
        states.append(sid, style=style)
    lines.append(states)
    return Text("\n").join(lines)


def render_transcript(
    timeline: Timeline, height: int | None = None, width: int | None = None
) -> RenderableType:
    """The conversation up to the selected turn: the last turns that fit a pane of `height`
    lines and `width` columns, at most `TRANSCRIPT_WINDOW` (wrapping text the pane will not
    show costs most of a step)."""
    text = Text()
    if timeline.index < 0:
        if timeline.opening:
            text.append("agent  ", style="bold cyan")
            text.append(timeline.opening + "\n")
        else:
            text.append("(no turns yet)", style="dim")
        return text
    first = _first_shown(timeline, height, width)
    if first:
        text.append(f"… {first} earlier turns\n", style="dim")
    for i in range(first, timeline.index + 1):
        current = i == timeline.index
        mark = "reverse " if current else ""
        for label, body, style in _transcript_lines(timeline.records[i]):
            if label is not None:
                text.append(label, style=mark + style)
                text.append(body + "\n", style="bold" if current and "cust" in label else "")
            else:
                text.append(body + "\n", style=style)
    return text


def _transcript_lines(record: TurnRecord) -> list[tuple[str | None, str, str]]:
    """(label, text, style) of the lines a turn shows in the transcript."""
    lines: list[tuple[str | None, str, str]] = [
        (f"{record.turn:>3} cust ", record.customer_text, "bold yellow"),
        ("    agent ", record.reply.text, "bold cyan"),
    ]
    if record.divergences:
        kinds = ", ".join(f"{d.fact}:{d.kind}" for d in record.divergences)
        lines.append((None, f"    ⚠ divergence {kinds}", "bold red"))
    return lines


def _first_shown(timeline: Timeline, height: int | None, width: int | None) -> int:
    """The first turn to show so that the selected one and those before it fill the pane."""
    lowest = max(0, timeline.index - TRANSCRIPT_WINDOW)
    if not height or not width:
        return lowest
    budget = height
    first = timeline.index
    while first >= lowest:
        for label, body, _ in _transcript_lines(timeline.records[first]):
            budget -= -(-(len(label or "") + len(body)) // width)  # wrapped lines, rounded up
        if budget <= 0 or first == lowest:
            break
        first -= 1
    return first


def _cell(value: str, width: int) -> str:
    if len(value) > width:
        value = value[: max(0, width - 1)] + "…"
    return value.ljust(width)


def render_state(timeline: Timeline, width: int = 80) -> Text:
    """Every shared fact and slot: agent / customer / truth, divergences in red with their kind.

    Plain aligned text in `width` columns (a Rich `Table` re-renders once per screen line in
    Textual, which a step through a long session cannot afford).
    """
    record = timeline.selected
    flow_id, _ = timeline.current_state()
    spec = _spec_of(timeline, flow_id)
    usable = max(20, width)
    value_w = max(5, (usable - 3) * 23 // 100)
    name_w = max(6, usable - 3 - 3 * value_w)
    agent: Mapping[str, Any] = record.agent_view if record is not None else {}
    customer: Mapping[str, Any] = (record.customer_view or {}) if record is not None else {}
    truth: Mapping[str, Any] = (record.truth or {}) if record is not None else {}
    diverged = {d.fact: d for d in record.divergences} if record is not None else {}
    text = Text()

    def row(name: str, values: tuple[str, str, str], style: str, name_style: str) -> None:
        text.append(_cell(name, name_w) + " ", style=name_style)
        line = " ".join(_cell(v, value_w) for v in values)
        text.append(line.rstrip() + "\n", style=style)

    row("fact / slot", ("agent", "customer", "truth"), "bold", "bold")
    fact_slots: set[str] = set()
    fact_names: set[str] = set()
    for fact in spec.facts:
        fact_slots.add(fact.slot)
        fact_names.add(fact.name)
        d = diverged.get(fact.name)
        values = (
            fmt(agent.get(fact.slot)),
            fmt(customer.get(fact.name)),
            fmt(truth.get(fact.name)),
        )
        if d is None:
            row(fact.name, values, "", "bold")
        else:
            row(fact.name, values, "red", "bold red")
            text.append(f"  ⚠ {d.kind} on {fact.name}\n", style="bold red")
    for name in sorted(set(customer) | set(truth) | set(diverged)):
        if name in fact_names:
            continue
        d = diverged.get(name)
        values = (
            fmt(d.agent if d is not None else None),
            fmt(customer.get(name)),
            fmt(truth.get(name)),
        )
        if d is None:
            row(name, values, "", "bold")
        else:
            row(name, values, "red", "bold red")
            text.append(f"  ⚠ {d.kind} on {name}\n", style="bold red")
    for slot in spec.slots_model.model_fields:
        if slot not in fact_slots:
            row(slot, (fmt(agent.get(slot)), "", ""), "", "dim")
    text.rstrip()
    return text


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)


def render_details(timeline: Timeline) -> RenderableType:
    """The selected turn: commands, rejections, tool calls, timings, tokens and cost."""
    record = timeline.selected
    if record is None:
        return Text("no turn selected: n / → steps forward", style="dim")
    text = Text()
    text.append(f"turn {record.turn}/{len(timeline.records)}  ", style="bold")
    text.append(f"{record.state_before} → {record.state_after}")
    if record.done:
        text.append(f"  done ({record.outcome})", style="magenta")
    text.append("\n")
    if record.handoff_reason:
        text.append(f"handoff: {record.handoff_reason}\n", style="magenta")
    text.append("commands\n", style="bold underline")
    for attempt, commands in enumerate(record.attempts or [record.commands], start=1):
        for command in commands:
            text.append(f"  {attempt}· {_json(command)}\n")
    if not record.commands:
        text.append("  (none)\n", style="dim")
    if record.rejected:
        text.append("rejected\n", style="bold underline red")
        for r in record.rejected:
            guard = f" [{r.guard}]" if r.guard else ""
            text.append(f"  {fmt(r.command, 60)}{guard}: ", style="red")
            text.append(f"{r.reason}\n")
    if record.transitions:
        text.append("transitions\n", style="bold underline")
        for t in record.transitions:
            auto = " (auto)" if t.auto else ""
            text.append(f"  {t.source} -{t.event}→ {t.target}{auto}\n")
    if record.tool_calls:
        text.append("tool calls\n", style="bold underline")
        for call in record.tool_calls:
            text.append(f"  {call.tool}", style="bold")
            text.append(f"({_json(call.arguments)})")
            text.append(f" {call.duration_ms:.1f} ms\n", style="dim")
            if call.error:
                text.append(f"    error: {call.error}\n", style="red")
            if call.refused:
                text.append(f"    refused: {call.refused}\n", style="red")
            if call.updates:
                text.append(f"    → {_json(call.updates)}\n", style="green")
            if call.replayed:
                text.append("    (replayed)\n", style="dim")
    t = record.timings
    text.append("timings ", style="bold")
    text.append(
        f"total {t.total_ms:.1f} ms · interpret {t.interpret_ms:.1f} · machine "
        f"{t.machine_ms:.1f} · tools {t.tools_ms:.1f} · store {t.store_ms:.1f}\n"
    )
    u = record.usage
    text.append("usage ", style="bold")
    text.append(
        f"{record.interpreter} {u.model or ''} calls {u.model_calls} · in {u.input_tokens} "
        f"(cached {u.cached_input_tokens}) · out {u.output_tokens} · think "
        f"{u.thinking_tokens} · ${u.cost_usd:.4f}\n"
    )
    return text


def sort_conversations(conversations: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A run's conversations, failed first (lowest reward), then by flow, scenario, trial."""
    return sorted(
        conversations,
        key=lambda c: (
            float(c.get("reward", 0.0)),
            -len(c.get("failures", [])),
            str(c.get("flow", "")),
            str(c.get("scenario", "")),
            int(c.get("trial", 0)),
        ),
    )


def run_conversations(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every conversation of a run's JSON, each with its `flow`, failed first."""
    found: list[dict[str, Any]] = []
    for flow_id, entry in dict(run.get("flows", {})).items():
        for conversation in entry.get("conversations", []):
            found.append({"flow": flow_id, **conversation})
    return [dict(c) for c in sort_conversations(found)]
