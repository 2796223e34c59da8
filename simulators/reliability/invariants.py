"""What must hold after every turn, checked from the outside: the record, the stored snapshot,
the flow's declared graph, and the tool calls that really happened.

The checks do not reuse the engine's decisions. The graph is read from the flow class as
declared (python-statemachine states and transitions, cxflow's annotations), slot values are
validated with adapters built here from the slots model, and tool calls are seen at the one
seam where cxflow calls a tool function (`watch_tool_calls`), so a write the engine forgot to
record, or ran without its guard or confirmation, is caught by what actually ran.

`SessionWatch.after_turn` returns a list of `Break`s; `Break.kind` says which count of
`CategoryResult` it belongs to: "invariant", "policy", "lost" or "doubled".
"""

# python-statemachine's states and transitions are not fully typed.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

import cxflow._turn as _turn_module
from cxflow.errors import ToolError
from cxflow.flow import Flow, State, transition_meta
from cxflow.records import TURN_RECORD_VERSION, SessionSnapshot, TurnRecord
from cxflow.store import Store
from cxflow.tooling import Tool, ToolCallContext, jsonable

__all__ = ["Break", "CallSeen", "FlowGraph", "SessionWatch", "watch_tool_calls"]

BreakKind = Literal["invariant", "policy", "lost", "doubled"]


@dataclass(frozen=True, slots=True)
class Break:
    """One broken promise found after a turn."""

    kind: BreakKind
    turn: int
    message: str


# -- the tool-call seam --------------------------------------------------------------------------


@dataclass(slots=True)
class CallSeen:
    """A tool function really called (seen at the seam, not read from the record)."""

    tool: Tool
    session_id: str
    turn: int
    arguments: dict[str, Any]
    """The arguments as JSON (what the record should show)."""
    model: type[BaseModel]
    """The slots model of the flow whose tool it is."""
    key: str
    guard_held: bool
    """The tool's own guard, evaluated here on the slots it was given."""
    raised: str | None = None
    """The exception's class name when the tool raised (None: it returned)."""


_SINK: list[list[CallSeen]] = []


@contextmanager
def watch_tool_calls() -> Iterator[list[CallSeen]]:
    """Record every tool function cxflow calls inside the block (a test seam, not an API).

    Wraps the function `cxflow._turn` uses to call a tool; the original is put back on exit.
    """
    seen: list[CallSeen] = []
    original = _turn_module.call_tool
    _SINK.append(seen)

    async def watched(
        tool: Tool, slots: BaseModel, env: object, ctx: ToolCallContext
    ) -> Mapping[str, object] | None:
        entry = CallSeen(
            tool=tool,
            session_id=ctx.session_id,
            turn=ctx.turn,
            arguments={k: jsonable(v) for k, v in ctx.arguments.items()},
            model=type(slots),
            key=ctx.idempotency_key,
            guard_held=tool.guard is None or bool(tool.guard(slots)),
        )
        for sink in _SINK:
            sink.append(entry)
        try:
            return await original(tool, slots, env, ctx)
        except BaseException as exc:
            entry.raised = type(exc).__name__
            raise

    _turn_module.call_tool = watched
    try:
        yield seen
    finally:
        _SINK.remove(seen)
        if not _SINK:
            _turn_module.call_tool = original


# -- the declared graph --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Edge:
    """A declared transition, as the flow class states it."""

    auto: bool
    confirms: tuple[str, ...]


@dataclass(frozen=True)
class FlowGraph:
    """A flow's graph read from its class declaration (not from the compiled `FlowSpec`)."""

    flow_id: str
    initial: str
    states: Mapping[str, State]
    edges: Mapping[tuple[str, str, str], Edge]
    """(source, event, target) -> its annotations."""
    startable: Mapping[str, frozenset[str]]
    """Per state, the flows `StartFlow` may start there (its `starts` and the digressions)."""
    slots_model: type[BaseModel]

    @classmethod
    def of(cls, flow: type[Flow[Any]]) -> FlowGraph:
        """Read a flow class's declared graph (cached per class)."""
        return _graph(flow)

    def outcome(self, state: str) -> str | None:
        """The outcome a final state ends the flow with."""
        return self.states[state].outcome

    def confirming(self, tool: str) -> list[tuple[str, str, str]]:
        """The (source, event, target) transitions by which the customer confirms a tool."""
        return [key for key, edge in self.edges.items() if tool in edge.confirms]


@cache
def _graph(flow: type[Flow[Any]]) -> FlowGraph:
    states: dict[str, State] = {}
    edges: dict[tuple[str, str, str], Edge] = {}
    startable: dict[str, frozenset[str]] = {}
    digressions = frozenset(f.flow_id for f in flow.digressions)
    initial = ""
    for s in flow.states:
        assert isinstance(s, State)
        states[str(s.id)] = s
        if s.initial:
            initial = str(s.id)
        startable[str(s.id)] = (
            frozenset() if s.final else frozenset(f.flow_id for f in s.starts) | digressions
        )
        for tr in s.transitions:
            meta = transition_meta(tr)
            for target in tr.targets:
                for event in tr.events:
                    edges[(str(s.id), str(event.id), str(target.id))] = Edge(
                        auto=meta.auto, confirms=tuple(t.name for t in meta.confirms)
                    )
    return FlowGraph(
        flow_id=flow.flow_id,
        initial=initial,
        states=states,
        edges=edges,
        startable=startable,
        slots_model=flow.slots_model,
    )


@cache
def _names(
    flows: tuple[type[Flow[Any]], ...],
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Every slot, event and fact name the flows have."""
    return (
        frozenset(s for f in flows for s in f.slots_model.model_fields),
        frozenset(e for f in flows for (_s, e, _t) in FlowGraph.of(f).edges),
        frozenset(x.name for f in flows for x in f.facts),
    )


@cache
def _adapter(model: type[BaseModel], slot: str) -> TypeAdapter[Any]:
    info = model.model_fields[slot]
    annotation: Any = info.annotation
    if info.metadata:
        from typing import Annotated

        annotation = Annotated[annotation, *info.metadata]
    return TypeAdapter(annotation)


def slot_problem(model: type[BaseModel], slot: str, value: object) -> str | None:
    """Why a JSON value is not a valid value of a slot (None: it is)."""
    if slot not in model.model_fields:
        return f"{slot!r} is not a slot of {model.__name__}"
    try:
        _adapter(model, slot).validate_python(value)
    except ValidationError as exc:
        return f"{slot}={_short(value)}: {exc.errors()[0]['msg']}"
    return None


def slots_problem(model: type[BaseModel], slots: Mapping[str, Any]) -> str | None:
    """Why stored slots are not a valid, stable instance of the slots model (None: they are)."""
    try:
        parsed = model.model_validate(dict(slots))
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"slots do not validate: {'.'.join(map(str, first['loc']))}: {first['msg']}"
    again = parsed.model_dump(mode="json")
    if again != dict(slots):
        changed = sorted(k for k in again if again.get(k) != slots.get(k))
        return f"slots change when validated again: {changed}"
    return None


# -- the watch -----------------------------------------------------------------------------------


@dataclass
class SessionWatch:
    """Checks one session turn by turn against its flows, records and the calls seen."""

    flows: Mapping[str, type[Flow[Any]]]
    opening: SessionSnapshot
    store: Store
    records: list[TurnRecord] = field(default_factory=list[TurnRecord])
    snapshots: list[SessionSnapshot] = field(default_factory=list[SessionSnapshot])
    writes: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])
    """(tool, arguments as JSON) -> how many times a write really ran with them."""

    def __post_init__(self) -> None:
        self.snapshots.append(self.opening)

    def after_turn(
        self,
        *,
        text: str,
        interpreter: str,
        emitted: Sequence[Sequence[dict[str, Any]]],
        errors: Sequence[str | None],
        record: TurnRecord,
        snapshot: SessionSnapshot,
        calls: Sequence[CallSeen],
    ) -> list[Break]:
        """Check one committed turn.

        Args:
            text: What the customer said.
            interpreter: The interpreter's name.
            emitted: The commands the interpreter returned, per attempt, as JSON.
            errors: The parse error of each attempt (None where it parsed).
            record: The turn's record as `turn()` returned it.
            snapshot: The session's snapshot after the turn.
            calls: The tool functions really called during the turn.
        """
        before = self.snapshots[-1]
        n = len(self.records) + 1
        out: list[Break] = []

        def fail(kind: BreakKind, message: str) -> None:
            out.append(Break(kind, n, message))

        for message in self._record_problems(n, text, interpreter, emitted, errors, record):
            fail("invariant", message)
        for message in self._snapshot_problems(record, snapshot):
            fail("invariant", message)
        for message in self._path_problems(before, record, snapshot):
            fail("invariant", message)
        self.records.append(record)
        self.snapshots.append(snapshot)
        for kind, message in self._call_problems(n, record, calls):
            fail(kind, message)
        return out

    # -- the record ------------------------------------------------------------------------------

    def _record_problems(
        self,
        n: int,
        text: str,
        interpreter: str,
        emitted: Sequence[Sequence[dict[str, Any]]],
        errors: Sequence[str | None],
        record: TurnRecord,
    ) -> Iterator[str]:
        sid = self.opening.session_id
        stored = self.store.turns(sid)
        if len(stored) != n:
            yield f"the store holds {len(stored)} turn records after turn {n}"
        elif stored[-1] != record:
            yield "the stored record differs from the one the turn returned"
        if record.version != TURN_RECORD_VERSION:
            yield f"record version {record.version}, expected {TURN_RECORD_VERSION}"
        if record.session_id != sid or record.turn != n:
            yield f"record is for {record.session_id!r} turn {record.turn}, expected {sid!r} {n}"
        if record.customer_text != text:
            yield "record's customer_text differs from what the customer said"
        if record.interpreter != interpreter:
            yield f"record names interpreter {record.interpreter!r}, not {interpreter!r}"
        if not 1 <= len(record.attempts) <= 2:
            yield f"{len(record.attempts)} interpreter attempts recorded (1 or 2 expected)"
        if [list(a) for a in record.attempts] != [list(a) for a in emitted]:
            yield f"recorded attempts {record.attempts!r:.300} differ from the interpreter's"
        if record.commands != [c for a in record.attempts for c in a]:
            yield "record.commands is not the concatenation of its attempts"
        if len(record.attempts) == 2 and not any(r.attempt == 1 for r in record.rejected):
            yield "a second attempt was made although nothing was refused in the first"
        for r in record.rejected:
            if not r.reason.strip():
                yield f"rejection of {r.command!r:.200} has no reason"
            if not 1 <= r.attempt <= len(record.attempts):
                yield f"rejection names attempt {r.attempt} of {len(record.attempts)}"
        for attempt, error in enumerate(errors, start=1):
            if attempt > len(record.attempts) or error is None:
                continue
            if not any(r.attempt == attempt and r.reason == error for r in record.rejected):
                yield f"attempt {attempt}'s unparsable output was not recorded as rejected"
        yield from self._unknown_not_rejected(record)
        if not record.reply.text.strip():
            yield "the reply text is empty"
        t = record.timings
        times = (t.interpret_ms, t.machine_ms, t.tools_ms, t.store_ms, t.total_ms)
        if any(not math.isfinite(v) or v < 0 for v in times):
            yield f"timings not finite and non-negative: {t!r}"
        elif t.total_ms < t.interpret_ms:
            yield f"total_ms {t.total_ms} below interpret_ms {t.interpret_ms}"
        if record.created_at.tzinfo is None:
            yield "created_at has no time zone"
        if record.done and record.outcome is None:
            yield "the conversation ended without an outcome"
        if record.outcome == "handed_off" and not (record.handoff_reason or "").strip():
            yield "handed off without a reason"
        for call in record.tool_calls:
            yield from self._tool_record_problems(call.model_dump())

    def _unknown_not_rejected(self, record: TurnRecord) -> Iterator[str]:
        """Commands naming nothing any of the session's flows has must all be refused."""
        slots, events, facts = _names(tuple(self.flows.values()))
        for number, attempt in enumerate(record.attempts, start=1):
            for command in attempt:
                kind = command.get("type")
                unknown = (
                    (kind == "set_slot" and command.get("slot") not in slots)
                    or (kind == "take" and command.get("event") not in events)
                    or (kind == "start_flow" and command.get("flow") not in self.flows)
                    or (kind == "claim" and command.get("fact") not in facts)
                )
                if unknown and not any(
                    r.attempt == number and r.command == command for r in record.rejected
                ):
                    yield f"{_short(command)} names nothing that exists but was not refused"

    def _tool_record_problems(self, call: dict[str, Any]) -> Iterator[str]:
        """A tool call record matches the tool as declared (flows may share a tool's name:
        the record must match one of them)."""
        name = call["tool"]
        owners = [f for f in self.flows.values() if name in f.spec.tools]
        if not owners:
            yield f"record shows a call of unknown tool {name!r}"
            return
        found = [list(_call_problems(call, f.spec.tools[name], f.slots_model)) for f in owners]
        if all(found):
            yield from min(found, key=len)

    # -- the snapshot ----------------------------------------------------------------------------

    def _snapshot_problems(self, record: TurnRecord, snap: SessionSnapshot) -> Iterator[str]:
        if snap.flow not in self.flows:
            yield f"snapshot is in unknown flow {snap.flow!r}"
            return
        graph = FlowGraph.of(self.flows[snap.flow])
        if snap.state not in graph.states:
            yield f"state {snap.flow}.{snap.state} is not in the flow's graph"
            return
        problem = slots_problem(graph.slots_model, snap.slots)
        if problem:
            yield f"{snap.flow}: {problem}"
        for frame in snap.stack:
            if frame.flow not in self.flows:
                yield f"stack frame of unknown flow {frame.flow!r}"
                continue
            frame_graph = FlowGraph.of(self.flows[frame.flow])
            if frame.state not in frame_graph.states:
                yield f"stack frame in {frame.flow}.{frame.state}, not in the graph"
            problem = slots_problem(frame_graph.slots_model, frame.slots)
            if problem:
                yield f"stack frame {frame.flow}: {problem}"
        if record.agent_view != snap.slots:
            yield "record's agent_view differs from the stored slots"
        if (record.state_after, record.flow) != (snap.state, snap.flow):
            yield "record's state_after/flow differ from the snapshot's"
        if (record.done, record.outcome) != (snap.done, snap.outcome):
            yield "record's done/outcome differ from the snapshot's"
        if snap.version != record.turn:
            yield f"snapshot version {snap.version} after turn {record.turn}"
        final = graph.states[snap.state].final
        if snap.done:
            if snap.stack:
                yield "the conversation ended with flows still on the stack"
            if snap.outcome not in ("cancelled", "handed_off"):
                if not final:
                    yield f"ended ({snap.outcome}) in non-final state {snap.state!r}"
                elif graph.outcome(snap.state) != snap.outcome:
                    yield f"ended {snap.outcome!r} in {snap.state!r}, whose outcome differs"
        elif final:
            yield f"still running in final state {snap.flow}.{snap.state}"

    # -- the path --------------------------------------------------------------------------------

    def _path_problems(
        self, before: SessionSnapshot, record: TurnRecord, snap: SessionSnapshot
    ) -> Iterator[str]:
        """Every transition the record lists follows the declared graph, one after another."""
        if record.state_before != before.state:
            yield f"record starts in {record.state_before!r}, the session was in {before.state!r}"
        flow, state = before.flow, before.state
        stack = [(f.flow, f.state) for f in before.stack]
        for t in record.transitions:
            where = f"{t.flow}: {t.source} -{t.event}-> {t.target}"
            if (t.flow, t.source) != (flow, state):
                yield f"{where} does not leave the current state {flow}.{state}"
                return
            graph = FlowGraph.of(self.flows[flow])
            if t.event.startswith("start_") and "." in t.target:
                child = t.event.removeprefix("start_")
                if child not in graph.startable.get(state, ()) or child not in self.flows:
                    yield f"{where}: {child!r} may not be started there"
                    return
                initial = FlowGraph.of(self.flows[child]).initial
                if t.target != f"{child}.{initial}":
                    yield f"{where}: {child} starts in {initial!r}"
                stack.append((flow, state))
                flow, state = child, initial
            elif t.event.startswith("return_") and "." in t.target:
                outcome = t.event.removeprefix("return_")
                if not stack:
                    yield f"{where}: returns with nothing on the stack"
                    return
                if outcome != "cancelled" and (
                    not graph.states[state].final or graph.outcome(state) != outcome
                ):
                    yield f"{where}: returns {outcome!r} from a state that does not end so"
                parent, at = stack.pop()
                resume = FlowGraph.of(self.flows[parent]).states[at].returns_to or at
                if t.target != f"{parent}.{resume}":
                    yield f"{where}: should return to {parent}.{resume}"
                flow, state = parent, resume
            elif t.event.startswith("correct_") and t.auto:
                slot = t.event.removeprefix("correct_")
                target = graph.states.get(t.target)
                asked = {s for x in graph.states.values() for s in x.fills}
                if target is None or not target.fills or slot not in asked:
                    yield f"{where}: a correction goes back to a state that asks the customer"
                    return
                state = t.target
            else:
                edge = graph.edges.get((t.source, t.event, t.target))
                if edge is None:
                    yield f"{where} is not a transition of the flow"
                    return
                if edge.auto != t.auto:
                    yield f"{where}: recorded auto={t.auto}, declared auto={edge.auto}"
                state = t.target
        if (flow, state) != (snap.flow, snap.state):
            yield f"transitions end in {flow}.{state}, the session is in {snap.flow}.{snap.state}"
        expected = [] if snap.outcome == "handed_off" else stack
        if [(f.flow, f.state) for f in snap.stack] != expected:
            yield f"stack {[(f.flow, f.state) for f in snap.stack]} after the path, not {expected}"

    # -- tool calls ------------------------------------------------------------------------------

    def _call_problems(
        self, n: int, record: TurnRecord, calls: Sequence[CallSeen]
    ) -> Iterator[tuple[BreakKind, str]]:
        sid = self.opening.session_id
        mine = [c for c in calls if c.session_id == sid]
        unmatched = [c for c in record.tool_calls if c.refused is None and not c.replayed]
        for seen in mine:
            name = seen.tool.name
            if seen.turn != n:
                yield "invariant", f"{name} called with turn {seen.turn} during turn {n}"
            match = next(
                (
                    c
                    for c in unmatched
                    if c.tool == name
                    and c.arguments == seen.arguments
                    and c.idempotency_key == (seen.key or None)
                ),
                None,
            )
            if match is None:
                yield "invariant", f"{name}{_short(seen.arguments)} ran but the record omits it"
            else:
                unmatched.remove(match)
            if seen.raised is not None and seen.raised != ToolError.__name__:
                yield "invariant", f"{name} crashed with {seen.raised} on {_short(seen.arguments)}"
            for slot, value in seen.arguments.items():
                problem = slot_problem(seen.model, slot, value)
                if problem:
                    yield "invariant", f"{name} called with an argument outside its type: {problem}"
            if not seen.tool.side_effect:
                continue
            if not seen.guard_held:
                yield "policy", f"write {name}{_short(seen.arguments)} ran with its guard false"
            if seen.tool.needs_confirmation:
                why = self._unconfirmed(seen)
                if why:
                    yield "policy", f"write {name}{_short(seen.arguments)} ran {why}"
            if seen.raised is None:
                key = (name, _short(seen.arguments, 10_000))
                self.writes[key] = self.writes.get(key, 0) + 1
                if self.writes[key] > 1:
                    yield "doubled", f"write {name}{_short(seen.arguments)} ran again"
                if self.store.find_effect(seen.key) is None:
                    yield "lost", f"write {name}{_short(seen.arguments)} is not in the journal"
                if match is not None and match.error is not None:
                    yield "lost", f"write {name} succeeded but is recorded as failed"
        for call in unmatched:
            if call.side_effect and call.error is None:
                yield "lost", f"record shows write {call.tool} done, but it never ran"
            elif call.error is None:
                yield "invariant", f"record shows {call.tool} ran, but it was never called"

    def _unconfirmed(self, seen: CallSeen) -> str | None:
        """Why a write needing confirmation was not confirmed by the customer (None: it was).

        Confirmed means: in this turn or an earlier one, the customer took an event declared
        as confirming this tool, from the state the previous turn ended in (so they had seen
        it), without the flow leaving that state earlier in the same turn, and the write's
        arguments equal the tool's reads as they stood when the customer saw them.
        """
        name = seen.tool.name
        for tc, record in enumerate(self.records, start=1):
            shown = self.snapshots[tc - 1]  # what the customer saw before turn tc
            for index, t in enumerate(record.transitions):
                if t.auto or t.flow not in self.flows:
                    continue
                graph = FlowGraph.of(self.flows[t.flow])
                edge = graph.edges.get((t.source, t.event, t.target))
                if edge is None or name not in edge.confirms:
                    continue
                if (shown.flow, shown.state) != (t.flow, t.source):
                    continue  # confirmed a state the customer had not seen yet
                earlier = record.transitions[:index]
                if any(e.flow == t.flow and not e.event.startswith("start_") for e in earlier):
                    continue  # the state was left and entered again within the turn
                said = {r: shown.slots.get(r) for r in seen.tool.reads}
                if said == seen.arguments:
                    return None
        return "without the customer confirming these arguments in an earlier turn"


def _call_problems(call: dict[str, Any], tool: Tool, model: type[BaseModel]) -> Iterator[str]:
    """How a recorded call differs from the tool's declaration and its slots' types."""
    name = call["tool"]
    if call["side_effect"] != tool.side_effect:
        yield f"{name}: side_effect recorded as {call['side_effect']}"
    if tool.side_effect and not call["idempotency_key"]:
        yield f"write tool {name} recorded without an idempotency key"
    if set(call["arguments"]) != set(tool.reads):
        yield f"{name}: arguments {sorted(call['arguments'])} are not its reads"
    extra = set(call["updates"]) - set(tool.writes) - {tool.error_slot}
    if extra:
        yield f"{name}: updates {sorted(extra)} it does not declare"
    if call["duration_ms"] < 0:
        yield f"{name}: negative duration"
    if call["refused"] is None:
        for slot, value in call["arguments"].items():
            problem = slot_problem(model, slot, value)
            if problem:
                yield f"{name} ran with an argument outside its type: {problem}"


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
