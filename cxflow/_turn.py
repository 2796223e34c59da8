"""One turn's execution: apply commands, run tools, advance, render, build the record.

`TurnRun` is private; `Session` is the public face. The order inside a turn:

1. interpret (or reuse the commands a crashed run recorded), save them with the pending turn;
2. apply each command through the machine (`FlowSpec`): refusals become `Rejected`;
3. on entering a state run its tools, then take automatic transitions whose guards pass;
4. if anything was refused, ask the interpreter once more with the reasons and apply that;
5. count turns without progress (the re-prompt ladder: hand off after `max_attempts`);
6. render the reply and build the `TurnRecord`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cxflow._parsers import parse_yes_no
from cxflow._tool_calls import call_tool, checked_updates, hash_arguments, tool_refusal
from cxflow._view import build_view
from cxflow.commands import (
    Cancel,
    Claim,
    Clarify,
    Command,
    Handoff,
    NoOp,
    SetSlot,
    StartFlow,
    Take,
)
from cxflow.divergence import detect, same_value
from cxflow.errors import FlowRuntimeError, ToolError
from cxflow.interpreter import (
    EventView,
    Interpretation,
    Interpreter,
    TurnView,
    interpretation_from_raw,
)
from cxflow.machine import MAX_VALUE_CHARS, FlowSpec, Refusal, guard_message, guard_name
from cxflow.phrasing import unsupported_figures
from cxflow.records import (
    Claimed,
    Confirmation,
    Divergence,
    Frame,
    PendingTurn,
    Rejected,
    Reply,
    SessionSnapshot,
    Timings,
    ToolCallRecord,
    TransitionTaken,
    TurnRecord,
    Usage,
)
from cxflow.reply import HANDOFF_TEXT, describe_slots, render, render_reply
from cxflow.rule_interpreter import best_event
from cxflow.store import Store
from cxflow.tooling import Tool, ToolCallContext, idempotency_key, jsonable

if TYPE_CHECKING:
    from cxflow.flow import Flow

MAX_AUTO_STEPS = 64
"""Automatic transitions one turn may take before the flow is declared stuck in a loop."""
RECENT_TURNS = 4


def _dump(slots: BaseModel) -> dict[str, Any]:
    return slots.model_dump(mode="json")


class TurnRun:
    """The mutable working copy of a session for the duration of one turn."""

    def __init__(
        self,
        *,
        snapshot: SessionSnapshot,
        pending: PendingTurn,
        flows: Mapping[str, type[Flow[Any]]],
        store: Store,
        interpreter: Interpreter,
        env: object,
        customer_view: Mapping[str, Any] | None = None,
        truth: Mapping[str, Any] | None = None,
        phraser: Any = None,
    ) -> None:
        self.snap = snapshot
        self.phraser = phraser
        self.observed_customer = customer_view
        self.observed_truth = truth
        self.pending = pending
        self.flows = flows
        self.store = store
        self.interpreter = interpreter
        self.env = env
        self.turn_no = pending.turn
        self.flow_id = snapshot.flow
        self.spec: FlowSpec = flows[snapshot.flow].spec
        self.state = snapshot.state
        self.slots: BaseModel = self.spec.slots_model.model_validate(snapshot.slots)
        self.stack = [f.model_copy(deep=True) for f in snapshot.stack]
        self.attempts = dict(snapshot.attempts)
        self.confirmations = list(snapshot.confirmations)
        self.entered_turn = snapshot.entered_turn
        self.beliefs = dict(snapshot.beliefs)
        self.done = snapshot.done
        self.outcome = snapshot.outcome
        self.rejected: list[Rejected] = []
        self.transitions: list[TransitionTaken] = []
        self.tool_calls: list[ToolCallRecord] = []
        self.claims: list[Claimed] = []
        self.notes: list[str] = []
        self.clarify = False
        self.progress = False
        self.defer_advance = False
        """While applying one message's slot values: leave the state only after all of them."""
        self.tools_s = 0.0
        self.store_s = 0.0
        """Store writes inside the turn (pending turn, write journal); the commit is not here."""
        self.usage = Usage()
        self.attempts_log: list[list[dict[str, Any]]] = []
        """The commands of each interpreter attempt this turn (saved before a write tool runs)."""
        self.saved_attempts = -1
        self.handoff_reason: str | None = None

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def opening(
        cls, snapshot: SessionSnapshot, flows: Mapping[str, type[Flow[Any]]], env: object
    ) -> SessionSnapshot:
        """Enter the initial state of a new session (tools, automatic transitions, prompt)."""
        from cxflow.store import MemoryStore

        run = cls(
            snapshot=snapshot,
            pending=PendingTurn(session_id=snapshot.session_id, turn=0, customer_text=""),
            flows=flows,
            store=MemoryStore(),
            interpreter=_NoInterpreter(),
            env=env,
        )
        run._enter_sync_tools_free()
        reply = run._reply()
        return run._snapshot(reply).model_copy(update={"version": 0})

    def _enter_sync_tools_free(self) -> None:
        state = self.spec.states[self.state]
        if state.tools:
            raise FlowRuntimeError(
                f"{self.flow_id}: the initial state {self.state!r} runs tools; tools run on a "
                "customer turn. Move them to the next state."
            )
        step = self.spec.next_auto(self.state, self.slots)
        if step is not None:
            raise FlowRuntimeError(
                f"{self.flow_id}: the initial state {self.state!r} leaves automatically at the "
                "start; start the flow in the state that asks the customer."
            )

    # -- the turn ------------------------------------------------------------------------------

    async def execute(self) -> tuple[SessionSnapshot, TurnRecord]:
        """Run the turn; return the new snapshot and its record (nothing is stored here)."""
        state_before = self.state
        recorded = list(self.pending.attempts or [])
        attempts = self.attempts_log
        interpret_s = machine_s = 0.0
        feedback: tuple[str, ...] = ()
        for attempt in (1, 2):
            started = time.perf_counter()
            if recorded:
                raw = recorded.pop(0)
                interp = interpretation_from_raw(raw) if raw else Interpretation(commands=[])
            else:
                view = self.view(feedback=feedback, attempt=attempt)
                interp = await self.interpreter.interpret(view, self.pending.customer_text)
                self.usage = self.usage.plus(interp.usage)
            interpret_s += time.perf_counter() - started
            attempts.append([c.model_dump(mode="json") for c in interp.commands])
            before = len(self.rejected)
            if interp.error is not None:
                self.rejected.append(
                    Rejected(command=_short(interp.raw), reason=interp.error, attempt=attempt)
                )
            started = time.perf_counter()
            tools_before = self.tools_s
            state_at_attempt = self.state
            await self._apply_all(interp.commands, attempt)
            machine_s += time.perf_counter() - started - (self.tools_s - tools_before)
            new_rejections = self.rejected[before:]
            if not new_rejections or self.done or attempt == 2:
                break
            if interp.unavailable:
                break  # the API kept failing after its own retries: asking again would too
            if self.state != state_at_attempt:
                break  # the message moved the flow on: it did not answer the new state's question
            if interp.error is not None and not interp.commands and _is_offline(self):
                break  # a deterministic offline interpreter would give the same garbage again
            feedback = tuple(r.reason for r in new_rejections)
        self._ladder(state_before)
        reply = await self._phrase(self._reply())
        agent_view = _dump(self.slots)
        customer_view, truth, divergences = self._divergences(agent_view)
        record = TurnRecord(
            session_id=self.snap.session_id,
            turn=self.turn_no,
            flow=self.flow_id,
            state_before=state_before,
            state_after=self.state,
            customer_text=self.pending.customer_text,
            interpreter=getattr(self.interpreter, "name", type(self.interpreter).__name__),
            commands=[c for a in attempts for c in a],
            attempts=attempts,
            rejected=self.rejected,
            transitions=self.transitions,
            tool_calls=self.tool_calls,
            claims=self.claims,
            reply=reply,
            agent_view=agent_view,
            customer_view=customer_view,
            truth=truth,
            divergences=divergences,
            timings=Timings(
                interpret_ms=round(interpret_s * 1000, 3),
                machine_ms=round(machine_s * 1000, 3),
                tools_ms=round(self.tools_s * 1000, 3),
                store_ms=round(self.store_s * 1000, 3),
            ),
            usage=self.usage,
            done=self.done,
            outcome=self.outcome,
            handoff_reason=self.handoff_reason,
        )
        return self._snapshot(reply, agent_view), record

    def _divergences(
        self, agent_view: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[Divergence]]:
        """The three views of the flow's shared facts after the turn, and where they part."""
        facts = {f.name: f.slot for f in self.spec.facts}
        if not facts:
            return None, None, []
        if self.observed_customer is not None:
            customer: dict[str, Any] | None = dict(self.observed_customer)
        else:
            customer = {k: v for k, v in self.beliefs.items() if k in facts} or None
        truth: dict[str, Any] = {}
        for fact in self.spec.facts:
            if fact.truth is not None:
                truth[fact.name] = jsonable(fact.truth(self.env, self.slots))
        truth.update(self.observed_truth or {})
        reads = {
            c.tool: tuple(self.spec.related_slots(c.tool))
            for c in self.tool_calls
            if c.side_effect and c.tool in self.spec.tools  # a returned child's writes: not ours
        }
        found = detect(
            self.turn_no,
            facts,
            agent_view,
            customer,
            truth or None,
            tool_calls=self.tool_calls,
            reads=reads,
        )
        return customer, (truth or None), found

    def _snapshot(self, reply: Reply, slots: dict[str, Any] | None = None) -> SessionSnapshot:
        return SessionSnapshot(
            session_id=self.snap.session_id,
            flow=self.flow_id,
            root_flow=self.snap.root_flow,
            state=self.state,
            slots=slots if slots is not None else _dump(self.slots),
            version=self.turn_no,
            done=self.done,
            outcome=self.outcome,
            stack=self.stack,
            attempts=self.attempts,
            confirmations=self.confirmations,
            entered_turn=self.entered_turn,
            beliefs=self.beliefs,
            last_reply=reply.text,
            meta=self.snap.meta,
            created_at=self.snap.created_at,
        )

    # -- the interpreter's view ----------------------------------------------------------------

    def view(self, *, feedback: tuple[str, ...] = (), attempt: int = 1) -> TurnView:
        """Build what the interpreter sees in the current state."""
        return build_view(
            self.spec,
            self.state,
            self.slots,
            flows=tuple(
                EventView(f, self.flows[f].spec.title, self.flows[f].spec.keywords)
                for f in self.spec.startable(self.state)
                if f in self.flows
            ),
            prompt=self.snap.last_reply,
            history=self._recent,
            feedback=feedback,
            attempt=attempt,
        )

    def _recent(self) -> tuple[tuple[str, str], ...]:
        records = self.store.turns(self.snap.session_id)[-RECENT_TURNS:]
        return tuple((r.customer_text, r.reply.text) for r in records)

    # -- applying commands ---------------------------------------------------------------------

    def _reject(self, command: Command, refusal: Refusal, attempt: int) -> None:
        self.rejected.append(
            Rejected(
                command=command.model_dump(mode="json"),
                reason=_clip(refusal.reason),
                guard=refusal.guard,
                attempt=attempt,
            )
        )

    async def _apply(self, command: Command, attempt: int) -> None:
        if self.done:
            self._reject(command, Refusal("the conversation already ended this turn"), attempt)
            return
        match command:
            case SetSlot(slot=slot, value=value):
                await self._set_slot(command, slot, value, attempt)
            case Take(event=event):
                await self._take(command, event, attempt)
            case Clarify():
                self.clarify = True  # asking again is not progress: the ladder still counts it
            case Cancel():
                self._end_flow("cancelled", note="OK, I've cancelled that request.")
            case Handoff(reason=reason):  # a blank or huge reason from a model is not one
                self._handoff(_clip(reason.strip()) or "the customer asked for a human")
            case StartFlow(flow=flow):
                await self._start_flow(command, flow, attempt)
            case Claim(fact=fact, value=value):
                unusable = _unstorable(value)
                if fact not in {f.name for f in self.spec.facts}:
                    names = [f.name for f in self.spec.facts]
                    self._reject(
                        command, Refusal(f"unknown fact {fact!r}; facts: {names}"), attempt
                    )
                elif unusable is not None:
                    self._reject(command, Refusal(f"claimed {fact!r} {unusable}"), attempt)
                else:
                    claimed = Claimed(fact=fact, value=value)
                    if claimed not in self.claims:  # a retry of the same message repeats it
                        self.claims.append(claimed)
                    self.beliefs[fact] = jsonable(value)
            case NoOp():
                pass

    async def _apply_all(self, commands: list[Command], attempt: int) -> None:
        """Apply one attempt's commands: claims first, then in order. Consecutive slot values
        all land in the state the message answered; the flow moves on after the last of them
        (a message giving two values does not leave after the first)."""
        ordered = sorted(commands, key=lambda c: not isinstance(c, Claim))
        batch = False
        for command in ordered:
            is_value = isinstance(command, SetSlot)
            if batch and not is_value:
                batch = False
                await self._advance()
            self.defer_advance = is_value
            try:
                await self._apply(command, attempt)
            finally:
                self.defer_advance = False
            batch = batch or is_value
        if batch:
            await self._advance()

    async def _set_slot(self, command: Command, slot: str, value: object, attempt: int) -> None:
        typed, refusal = self.spec.check_value(self.state, slot, value, self.slots)
        if refusal is not None:
            self._reject(command, refusal, attempt)
            return
        old = getattr(self.slots, slot)
        if old == typed:
            return
        updates: dict[str, object] = {slot: typed}
        rewind_to: str | None = None
        if old is not None:  # a correction: what was computed from the old value is stale
            for dependent in self.spec.dependents.get(slot, ()):
                updates[dependent] = None
            # a customer's earlier pick among choices computed from the old value is stale too
            probe = self.slots.model_copy(update=updates)
            for other in sorted(self.spec.customer_slots - {slot}):
                picked = getattr(probe, other)
                allowed = self.spec.choices(self.spec.asked_in[other], other, probe)
                if picked is not None and allowed is not None and str(picked) not in allowed:
                    updates[other] = None
            self.confirmations = []
            rewind_to = self._rewind_target(slot, updates)
        self._update_slots(updates)
        self.progress = True
        if rewind_to is not None:
            self.transitions.append(
                TransitionTaken(
                    flow=self.flow_id,
                    event=f"correct_{slot}",
                    source=self.state,
                    target=rewind_to,
                    auto=True,
                )
            )
            await self._enter(rewind_to)
        elif not self.defer_advance:
            await self._advance()

    def _rewind_target(self, slot: str, updates: Mapping[str, object]) -> str | None:
        """Where a correction goes: nowhere when this state asks for the corrected slot and
        for every answer the correction emptied (a stale pick, or a customer slot a tool
        computes from the corrected one), nor when the others are asked later in the flow
        (they are asked, or used, when the flow gets there). Otherwise back to the earliest
        state asking for any of them or for what this state is still waiting for: once the
        flow leaves this state, nothing on the way back might ask for those. (Going back only
        to the corrected slot's state, or forward to it, left answers asked in between empty,
        and tools then ran without them.)"""
        own = self.spec.states[self.state].fills
        emptied = [
            name
            for name, value in updates.items()
            if name != slot
            and name in self.spec.customer_slots
            and value is None
            and getattr(self.slots, name) is not None
        ]
        outside = [name for name in (slot, *emptied) if name not in own]
        if not outside:
            return None
        rank = self.spec.state_order
        last = len(rank)  # a state only reached by returning from another flow: the latest

        def earliest(names: list[str]) -> str:
            return min((self.spec.asked_in[n] for n in names), key=lambda s: rank.get(s, last))

        if rank.get(earliest(outside), last) >= rank.get(self.state, last):
            return None
        waiting = [n for n in own if n != slot and updates.get(n, getattr(self.slots, n)) is None]
        return earliest([slot, *emptied, *waiting])

    async def _take(self, command: Command, event: str, attempt: int) -> None:
        decision = self.spec.take(self.state, event, self.slots)
        if isinstance(decision, Refusal):
            self._reject(command, decision, attempt)
            guard = next(
                (
                    g
                    for t in self.spec.states[self.state].events
                    if t.event == event
                    for g in (*t.conds, *t.unless)
                    if guard_name(g) == decision.guard
                ),
                None,
            )
            if guard is not None and guard_message(guard):
                self.notes.append(guard_message(guard))
            return
        if decision.confirms and self.entered_turn >= self.turn_no:
            self._reject(
                command,
                Refusal(
                    f"{event!r} confirms {list(decision.confirms)}, but the customer has not "
                    "seen what they confirm yet: confirmation must come in a later turn"
                ),
                attempt,
            )
            return
        if decision.confirms and not self._customer_agrees(event):
            self._reject(
                command,
                Refusal(
                    f"{event!r} confirms {list(decision.confirms)}, but the customer's message "
                    "is not a yes to it: only the customer's own words can confirm a write"
                ),
                attempt,
            )
            return
        if decision.confirms:
            disagreement = self._disagreement()
            if disagreement is not None:
                self._reject(command, Refusal(disagreement), attempt)
                if "Just to be sure we agree:" not in self.notes:
                    self.notes.append("Just to be sure we agree:")
                self.progress = True
                return
            self._agreed()
        for name in decision.confirms:
            tool = self.spec.tools[name]
            self.confirmations.append(
                Confirmation(
                    tool=name,
                    arguments_hash=hash_arguments(self._arguments(tool)),
                    turn=self.turn_no,
                )
            )
        self.progress = True
        self.transitions.append(
            TransitionTaken(
                flow=self.flow_id,
                event=event,
                source=self.state,
                target=decision.target,
                auto=False,
            )
        )
        await self._enter(decision.target)

    def _stated_facts(self) -> list[tuple[str, object]]:
        """(fact, agent value) for the shared facts the current state's reply states."""
        state = self.spec.states[self.state]
        return [
            (f.name, getattr(self.slots, f.slot))
            for f in self.spec.facts
            if state.states_fact(f) and getattr(self.slots, f.slot) is not None
        ]

    def _disagreement(self) -> str | None:
        """Why a confirmation must wait: in this very message the customer claims another value
        of a fact being confirmed. (Earlier claims were answered: every reply of a confirming
        state restates its facts, so a later plain yes is an informed one.)"""
        if not self.spec.repair_divergence:
            return None
        claimed = {c.fact: c.value for c in self.claims}
        for fact, value in self._stated_facts():
            if fact in claimed and not same_value(claimed[fact], jsonable(value)):
                return (
                    f"the customer says {fact} is {claimed[fact]!r} but the agent states "
                    f"{value!r}: restate it and ask for confirmation again before any write"
                )
        return None

    def _agreed(self) -> None:
        """The customer confirmed what the state stated: that is now their view too (except
        what they claimed otherwise in the same message)."""
        claimed = {c.fact for c in self.claims}
        for fact, value in self._stated_facts():
            if fact not in claimed:
                self.beliefs[fact] = jsonable(value)

    async def _start_flow(self, command: Command, flow: str, attempt: int) -> None:
        startable = self.spec.startable(self.state)
        if flow not in self.flows:
            self._reject(
                command,
                Refusal(f"unknown flow {flow!r}; startable here: {list(startable)}"),
                attempt,
            )
            return
        if flow not in startable:
            self._reject(
                command,
                Refusal(
                    f"flow {flow!r} cannot be started in state {self.state!r}; startable "
                    f"here: {list(startable)}"
                ),
                attempt,
            )
            return
        if flow == self.flow_id or any(f.flow == flow for f in self.stack):
            self._reject(command, Refusal(f"flow {flow!r} is already running"), attempt)
            return
        self.stack.append(
            Frame(
                flow=self.flow_id,
                state=self.state,
                slots=_dump(self.slots),
                attempts=self.attempts,
                confirmations=self.confirmations,
                entered_turn=self.entered_turn,
            )
        )
        child = self.flows[flow].spec
        shared = {
            k: v
            for k, v in _dump(self.slots).items()
            if v is not None and k in child.slots_model.model_fields
        }
        self.transitions.append(
            TransitionTaken(
                flow=self.flow_id,
                event=f"start_{flow}",
                source=self.state,
                target=f"{flow}.{child.initial}",
                auto=False,
            )
        )
        self.flow_id, self.spec = flow, child
        self.slots = child.slots_model.model_validate(shared)
        self.attempts, self.confirmations = {}, []
        self.progress = True
        await self._enter(child.initial)

    def _arguments(self, tool: Tool) -> dict[str, object]:
        return {name: getattr(self.slots, name) for name in tool.reads}

    # -- states, tools, automatic transitions --------------------------------------------------

    async def _enter(self, state: str) -> None:
        self.state = state
        self.entered_turn = self.turn_no
        spec_state = self.spec.states[state]
        for tool in spec_state.tools:
            if not await self._run_tool(tool):
                break  # the failure handed off, or its error slot routes on it
        await self._advance()

    async def _advance(self) -> None:
        for _ in range(MAX_AUTO_STEPS):
            if self.done:
                return
            if self.spec.states[self.state].final:
                self._finish_flow()
                if self.done:
                    return
                continue  # back in the flow that started it: its automatic transitions apply
            step = self.spec.next_auto(self.state, self.slots)
            if step is None:
                return
            self.transitions.append(
                TransitionTaken(
                    flow=self.flow_id,
                    event=step.event,
                    source=self.state,
                    target=step.target,
                    auto=True,
                )
            )
            self.state = step.target
            self.entered_turn = self.turn_no
            for tool in self.spec.states[self.state].tools:
                if not await self._run_tool(tool):
                    break
        else:
            raise FlowRuntimeError(
                f"{self.flow_id}: more than {MAX_AUTO_STEPS} automatic transitions in one turn "
                f"(stuck near {self.state!r}); give the loop a guard that ends it."
            )

    async def _run_tool(self, tool: Tool) -> bool:
        """Run one tool; return False when it failed (and the failure was routed)."""
        started = time.perf_counter()
        store_before = self.store_s
        arguments = self._arguments(tool)
        json_args: dict[str, Any] = {k: jsonable(v) for k, v in arguments.items()}
        key = (
            idempotency_key(self.snap.session_id, self.turn_no, tool.name, json_args)
            if tool.side_effect
            else None
        )
        record = ToolCallRecord(
            tool=tool.name, arguments=json_args, side_effect=tool.side_effect, idempotency_key=key
        )
        self.tool_calls.append(record)
        try:
            refusal = tool_refusal(tool, self.slots, arguments, self.confirmations)
            if refusal is not None:
                record.refused = refusal
                return self._tool_failed(tool, refusal)
            journal = time.perf_counter()
            found = self.store.find_effect(key) if key is not None else None
            if key is not None and found is None:
                if key in self.pending.started and not tool.idempotent:
                    self.store_s += time.perf_counter() - journal
                    return self._outcome_unknown(tool, record)
                # before the call: a crash after the write must resume with these commands, and
                # must know the write began
                self._save_pending(started=key)
            self.store_s += time.perf_counter() - journal
            if found is not None:
                record.replayed = True
                raw_updates: Mapping[str, object] | None = found
            else:
                ctx = ToolCallContext(self.snap.session_id, self.turn_no, key or "", json_args)
                try:
                    raw_updates = await call_tool(tool, self.slots, self.env, ctx)
                except ToolError as exc:
                    record.error = exc.message
                    return self._tool_failed(tool, exc.message)
                except Exception as exc:  # a crashing tool is a failed call, not a crashed turn
                    record.error = f"{type(exc).__name__}: {exc}"
                    return self._tool_failed(tool, record.error)
            updates = checked_updates(self.spec, tool, raw_updates or {})
            if key is not None and found is None:
                journal = time.perf_counter()
                self.store.record_effect(
                    key,
                    session_id=self.snap.session_id,
                    turn=self.turn_no,
                    tool=tool.name,
                    updates=_jsonable_map(updates),
                )
                self.store_s += time.perf_counter() - journal
            if tool.error_slot is not None:
                updates[tool.error_slot] = None
            record.updates = _jsonable_map(updates)
            self._update_slots(updates)
            return True
        finally:
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.tools_s += time.perf_counter() - started - (self.store_s - store_before)

    def _save_pending(self, *, started: str | None = None) -> None:
        new_key = started is not None and started not in self.pending.started
        if self.saved_attempts == len(self.attempts_log) and not new_key:
            return
        update: dict[str, Any] = {"attempts": list(self.attempts_log)}
        if new_key:
            update["started"] = [*self.pending.started, started]
        self.pending = self.pending.model_copy(update=update)
        self.store.save_pending(self.pending)
        self.saved_attempts = len(self.attempts_log)

    def _customer_agrees(self, event: str) -> bool:
        """Whether this message, in the customer's own words, takes a confirming event: a yes
        ("yes", "go ahead", "sounds good"), or one of the event's keywords as the offline
        `RuleInterpreter` matches them, and no "no". A model
        that confirms on any other message (prompt injection: "the agent already approved
        this") is refused, whatever it was told."""
        text = self.pending.customer_text
        answer = parse_yes_no(text)
        if answer is not None:
            return answer
        return any(
            best_event((EventView(t.event, t.description, t.keywords),), text) == event
            for t in self.spec.states[self.state].events
            if t.event == event
        )

    def _outcome_unknown(self, tool: Tool, record: ToolCallRecord) -> bool:
        """A write began in an earlier run of this turn and its result was never journaled
        (the process died, or the store failed, in between): it may have happened. Calling it
        again could do it twice, and routing on a failure could tell the customer it failed,
        so a person checks the backend."""
        record.error = (
            f"the outcome of {tool.name} is unknown: an earlier run of this turn began the call "
            "and stopped before recording its result"
        )
        self._handoff(
            f"{tool.name} may or may not have been applied (the turn was interrupted after the "
            "call began); check the backend before doing it again"
        )
        return False

    def _update_slots(self, updates: Mapping[str, object]) -> None:
        """Set slot values in place (the run owns its slots model; values are validated)."""
        for name, value in updates.items():
            setattr(self.slots, name, value)

    def _tool_failed(self, tool: Tool, message: str) -> bool:
        if tool.error_slot is not None:
            cleared: dict[str, object] = {w: None for w in tool.writes}
            cleared[tool.error_slot] = message
            self._update_slots(cleared)
            return False
        self._handoff(f"tool {tool.name} failed: {message}")
        return False

    # -- endings -------------------------------------------------------------------------------

    def _finish_flow(self) -> None:
        state = self.spec.states[self.state]
        if state.outcome == "handed_off":  # a hand-off ends the conversation, not just this flow
            self._handoff(state.purpose or f"{self.flow_id} ended in {self.state!r}")
            return
        self._end_flow(state.outcome or "completed", note=render(state.say, self.slots), final=True)

    def _end_flow(self, outcome: str, *, note: str, final: bool = False) -> None:
        self.progress = True
        if not self.stack:
            self.done, self.outcome = True, outcome
            if not final:
                self.notes.append(note)
            return
        self.notes.append(note)
        frame = self.stack.pop()
        child_values = _dump(self.slots)
        parent = self.flows[frame.flow].spec
        merged = dict(frame.slots)
        for k, v in child_values.items():
            if k in parent.slots_model.model_fields and merged.get(k) is None:
                merged[k] = v
        self.transitions.append(
            TransitionTaken(
                flow=self.flow_id,
                event=f"return_{outcome}",
                source=self.state,
                target=f"{frame.flow}.{parent.states[frame.state].returns_to or frame.state}",
                auto=True,
            )
        )
        resume_in = parent.states[frame.state].returns_to or frame.state
        self.flow_id, self.spec, self.state = frame.flow, parent, resume_in
        self.slots = parent.slots_model.model_validate(merged)
        self.attempts, self.confirmations = frame.attempts, frame.confirmations
        self.entered_turn = frame.entered_turn

    def _handoff(self, reason: str) -> None:
        self.progress = True
        self.done, self.outcome = True, "handed_off"
        self.stack = []
        self.notes.append(HANDOFF_TEXT)
        self.handoff_reason = reason

    def _ladder(self, state_before: str) -> None:
        if self.done:
            return
        if self.progress or self.state != state_before:
            self.attempts.pop(self.state, None)
            return
        count = self.attempts.get(self.state, 0) + 1
        self.attempts[self.state] = count
        if count >= self.spec.max_attempts:
            self._handoff(f"no progress after {count} attempts in {self.state!r}")
        elif self._disagreement() is not None:  # "did you say $65?": restate, don't shrug
            if "Just to be sure we agree:" not in self.notes:
                self.notes.insert(0, "Just to be sure we agree:")
        else:
            self.notes.insert(0, "Sorry, I didn't get that.")

    async def _phrase(self, reply: Reply) -> Reply:
        """Reword the reply with the session's phraser, if any, when its wording holds only the
        template's figures; otherwise keep the template and say why on the reply."""
        if self.phraser is None or not reply.text or reply.text == HANDOFF_TEXT:
            return reply
        started = time.perf_counter()
        try:
            text, usage = await self.phraser.phrase(reply.text)
        except Exception as exc:  # a failing phraser must not fail the turn: send the template
            return reply.model_copy(
                update={"phrasing_rejected": f"phraser failed: {type(exc).__name__}: {exc}"}
            )
        self.usage = self.usage.plus(
            usage.model_copy(update={"model_ms": usage.model_ms or _ms(started)})
        )
        extra = unsupported_figures(reply.text, text)
        if not text.strip():
            return reply.model_copy(update={"phrasing_rejected": "the phraser returned nothing"})
        if extra:
            return reply.model_copy(
                update={
                    "phrasing_rejected": "figures not in the template: " + ", ".join(extra[:10])
                }
            )
        return reply.model_copy(update={"text": text, "template": reply.text})

    def _reply(self) -> Reply:
        state = self.spec.states[self.state]
        prefix = list(self.notes)
        if self.done:
            text = " ".join(p for p in prefix if p)
            if not text:
                text = render(state.say, self.slots)
            return Reply(text=text)
        if self.clarify:
            prefix.append(describe_slots(self.spec, state))
        return render_reply(self.spec, state, self.slots, prefix=prefix)


class _NoInterpreter:
    name = "none"

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        return Interpretation(commands=[])


def _is_offline(run: TurnRun) -> bool:
    """Offline interpreters (rules, scripts, replays) declare `synchronous = True`."""
    return getattr(run.interpreter, "synchronous", False) is True


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _short(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 300 else text[:300] + f"... ({len(text)} chars)"


def _jsonable_map(values: Mapping[str, object]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in values.items()}


def _unstorable(value: object) -> str | None:
    """Why a claimed value cannot be kept as the customer's view (None: it can). The view
    is stored as JSON, which has no NaN or infinity: such a value would come back as null."""
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return f"is {len(value)} characters long; the limit is {MAX_VALUE_CHARS}"
    try:
        json.dumps(jsonable(value), allow_nan=False)
    except ValueError:
        return "is not a JSON value (NaN or infinity)"
    return None


MAX_REASON_CHARS = 500
"""Longest rejection reason kept (and fed back to the interpreter); hostile names are cut."""


def _clip(text: str) -> str:
    if len(text) <= MAX_REASON_CHARS:
        return text
    return text[:MAX_REASON_CHARS] + f"... ({len(text)} chars)"
