"""Sessions: one conversation, run turn by turn (async core, thin sync wrapper).

```
customer text -> pending turn saved -> interpret -> machine applies commands (refusals go back
for one retry) -> tools run on entering states -> reply rendered -> TurnRecord committed
```
A live session is its snapshot (state id, slots, bookkeeping), loaded from the store for every
turn; no state machine instance is kept per session. A turn that crashed before its commit is
completed by `resume()` with the commands it had recorded, and write tools already journaled
under their idempotency key are not run again.

With several replicas, a turn claims the session before its first write tool (and a resumed
turn before it starts), when the store supports claims (`cxflow.store.ClaimingStore`): of two
replicas posting to one session at once, one runs its write and commits, the other is refused
before writing anything (`ConcurrencyError`), reloads, and sends its message again as the next
turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxflow._turn import TurnRun
from cxflow.errors import CxflowError, UnknownFlowError
from cxflow.interpreter import Interpreter
from cxflow.records import (
    Divergence,
    PendingTurn,
    Rejected,
    Reply,
    SessionSnapshot,
    TurnRecord,
)
from cxflow.store import ClaimingStore, MemoryStore, SessionSummary, Store

if TYPE_CHECKING:
    from cxflow.flow import Flow
    from cxflow.phrasing import Phraser

__all__ = ["ConversationEndedError", "Session", "Turn", "TurnListener"]

TurnListener = Callable[[TurnRecord], None]


class ConversationEndedError(CxflowError):
    """A turn was sent to a session that already ended."""

    def __init__(self, session_id: str, outcome: str | None) -> None:
        self.session_id = session_id
        self.outcome = outcome
        super().__init__(
            f"session {session_id!r} has ended ({outcome}); start a new session for a new "
            "conversation."
        )


@dataclass(frozen=True, slots=True)
class Turn:
    """The result of one turn, as an embedding bot reads it."""

    reply: str
    state: str
    flow: str
    slots: Mapping[str, Any]
    rejected: tuple[Rejected, ...]
    divergences: tuple[Divergence, ...]
    done: bool
    outcome: str | None
    record: TurnRecord = field(repr=False)
    """The record exactly as stored."""
    commit_ms: float = 0.0
    """How long the store took to commit the record and snapshot (not in the record itself)."""


_local = threading.local()


def _run_sync(coro: Any, *, never_suspends: bool) -> Any:
    """Run a coroutine to completion from sync code.

    When nothing in the turn awaits real I/O (an offline interpreter and sync tools), the
    coroutine is driven directly, without an event loop: a turn then costs what its work costs.
    Otherwise it runs on one event loop kept per thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise RuntimeError(
            "turn_sync() called from a running event loop; use `await session.turn(text)`."
        )
    if never_suspends:
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        coro.close()
        raise RuntimeError(  # pragma: no cover - an offline turn awaited real I/O
            "a turn declared free of I/O suspended; mark the interpreter `synchronous = False`"
        )
    # Not asyncio.Runner.run: it swaps the SIGINT handler on every call, and putting it back
    # makes signal.signal() format repr() of the finished task, i.e. of the whole Turn and its
    # TurnRecord (~0.3 ms a turn here), only to throw the text away.
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


class Session:
    """One conversation with a flow: send customer messages, read replies, state and slots."""

    def __init__(
        self,
        snapshot: SessionSnapshot,
        *,
        flows: Mapping[str, type[Flow[Any]]],
        store: Store,
        interpreter: Interpreter,
        env: object = None,
        pending: PendingTurn | None = None,
    ) -> None:
        """Wrap a stored snapshot; use `Session.start` or `Session.load` instead."""
        self._snap = snapshot
        self.flows = dict(flows)
        self.store = store
        self.interpreter = interpreter
        self.env = env
        self.phraser: Phraser | None = None
        """Rewords each reply when set, held to the template's figures (`cxflow.phrasing`)."""
        self.listeners: list[TurnListener] = []
        self._pending = pending
        self._sync_tools = not any(
            inspect.iscoroutinefunction(t.fn) for f in flows.values() for t in f.spec.tools.values()
        )

    # -- creating and loading ------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        flow: type[Flow[Any]],
        *,
        interpreter: Interpreter | None = None,
        store: Store | None = None,
        env: object = None,
        flows: Mapping[str, type[Flow[Any]]] | None = None,
        session_id: str | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Session:
        """Start a conversation with a flow and store it at version 0.

        Args:
            flow: The flow class.
            interpreter: Defaults to the offline `RuleInterpreter`.
            store: Defaults to a new `MemoryStore`.
            env: What tools act on; defaults to `flow.make_env()`.
            flows: Flows reachable by `StartFlow` digressions (the flow itself is added).
            session_id: Defaults to a random id.
            meta: Notes stored with the session (tenant, data source, ...).
        """
        known = {**(flows or {}), **linked_flows(flow)}
        session = cls(
            SessionSnapshot(
                session_id=session_id or uuid.uuid4().hex,
                flow=flow.flow_id,
                root_flow=flow.flow_id,
                state=flow.spec.initial,
                slots={},
                meta=dict(meta or {}),
            ),
            flows=known,
            store=store if store is not None else MemoryStore(),
            interpreter=interpreter if interpreter is not None else _default_interpreter(),
            env=env if env is not None else flow.make_env(),
        )
        session._snap = TurnRun.opening(session._snap, session.flows, session.env)
        session.store.create_session(session._snap)
        return session

    @classmethod
    def load(
        cls,
        session_id: str,
        *,
        flows: Mapping[str, type[Flow[Any]]],
        store: Store,
        interpreter: Interpreter | None = None,
        env: object = None,
        snapshot: SessionSnapshot | None = None,
    ) -> Session:
        """Load a stored session (after a restart, or on another replica).

        Args:
            snapshot: The session's snapshot if the caller has just read it from `store`
                (saves reading it again); by default it is read here.
        """
        snap = snapshot if snapshot is not None else store.load_session(session_id)
        if snap.root_flow not in flows:
            raise UnknownFlowError(snap.root_flow, sorted(flows))
        root = flows[snap.root_flow]
        flows = {**flows, **linked_flows(root)}
        pending = store.pending_turn(session_id)
        return cls(
            snap,
            flows=flows,
            store=store,
            interpreter=interpreter if interpreter is not None else _default_interpreter(),
            env=env if env is not None else root.make_env(),
            pending=pending if pending is not None and pending.turn == snap.version + 1 else None,
        )

    # -- reading -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id."""
        return self._snap.session_id

    @property
    def state(self) -> str:
        """The current state id."""
        return self._snap.state

    @property
    def flow(self) -> str:
        """The flow currently running (a digression's, while one runs)."""
        return self._snap.flow

    @property
    def slots(self) -> Mapping[str, Any]:
        """The current slot values, as JSON."""
        return dict(self._snap.slots)

    @property
    def reply(self) -> str:
        """What the agent said last (the opening prompt before the first turn)."""
        return self._snap.last_reply

    @property
    def meta(self) -> Mapping[str, str]:
        """The notes stored with the session when it started."""
        return dict(self._snap.meta)

    @property
    def done(self) -> bool:
        """True once the conversation reached a final state, was cancelled or handed off."""
        return self._snap.done

    @property
    def outcome(self) -> str | None:
        """How the conversation ended: "completed", "cancelled", "handed_off", ... or None."""
        return self._snap.outcome

    @property
    def version(self) -> int:
        """Number of committed turns."""
        return self._snap.version

    @property
    def snapshot(self) -> SessionSnapshot:
        """A copy of the current snapshot."""
        return self._snap.model_copy(deep=True)

    def prompt(self) -> Reply:
        """The agent's last reply with its structured part (the opening one before any turn)."""
        if self._snap.version:
            return self.store.turns(self.id)[-1].reply
        from cxflow.reply import render_reply

        spec = self.flows[self._snap.flow].spec
        slots = spec.slots_model.model_validate(self._snap.slots)
        return render_reply(spec, spec.states[self._snap.state], slots)

    def turns(self) -> list[TurnRecord]:
        """The session's turn records, in order."""
        return self.store.turns(self.id)

    # -- running turns -------------------------------------------------------------------------

    async def turn(
        self,
        text: str,
        *,
        customer_view: Mapping[str, Any] | None = None,
        truth: Mapping[str, Any] | None = None,
    ) -> Turn:
        """Run one customer turn and return the agent's reply and the new situation.

        Args:
            text: The customer's message.
            customer_view: In simulation, what the customer believes of each shared fact (the
                simulator's state); without it the customer's claims stand for their view.
            truth: In simulation, the true value of shared facts the agent's environment
                cannot see (the customer's phone); facts with `truth=` read it themselves.

        Raises:
            ConversationEndedError: The conversation already ended.
            ConcurrencyError: Another writer committed this turn first, or is running it
                (`TurnClaimedError`); `Session.load` again and resend the message.
        """
        if self._snap.done:
            raise ConversationEndedError(self.id, self._snap.outcome)
        if self._pending is not None:
            await self._complete(self._pending, resuming=True)  # a crashed turn comes first
            if self._snap.done:
                raise ConversationEndedError(self.id, self._snap.outcome)
        pending = PendingTurn(session_id=self.id, turn=self._snap.version + 1, customer_text=text)
        return await self._complete(
            pending, resuming=False, customer_view=customer_view, truth=truth
        )

    def turn_sync(
        self,
        text: str,
        *,
        customer_view: Mapping[str, Any] | None = None,
        truth: Mapping[str, Any] | None = None,
    ) -> Turn:
        """Run one customer turn from synchronous code (see `turn`)."""
        result: Turn = _run_sync(
            self.turn(text, customer_view=customer_view, truth=truth),
            never_suspends=self._never_suspends(),
        )
        return result

    @property
    def pending(self) -> PendingTurn | None:
        """A turn that ran a write tool but was not committed (found when loading), if any."""
        return self._pending

    async def resume(self) -> Turn | None:
        """Complete a turn that ran a write tool but was not committed; None if there is none.

        Raises:
            TurnClaimedError: Another replica is still running that turn (its runner was heard
                from within the store's claim timeout); retry later.
        """
        if self._pending is None:
            return None
        return await self._complete(self._pending, resuming=True)

    def resume_sync(self) -> Turn | None:
        """Synchronous `resume`."""
        result: Turn | None = _run_sync(self.resume(), never_suspends=self._never_suspends())
        return result

    def _never_suspends(self) -> bool:
        """True when the interpreter and every tool are synchronous (no event loop needed)."""
        if self.phraser is not None and getattr(self.phraser, "synchronous", False) is not True:
            return False
        return getattr(self.interpreter, "synchronous", False) is True and not any(
            inspect.iscoroutinefunction(t.fn)
            for f in self.flows.values()
            for t in f.spec.tools.values()
        )

    async def _complete(
        self,
        pending: PendingTurn,
        *,
        resuming: bool,
        customer_view: Mapping[str, Any] | None = None,
        truth: Mapping[str, Any] | None = None,
    ) -> Turn:
        started = time.perf_counter()
        store = self.store
        claim = _TurnClaim(store, resuming=resuming) if isinstance(store, ClaimingStore) else None
        try:
            if claim is not None and resuming:
                claim.save_pending(pending)  # a crashed turn may have written: hold it first
            run = TurnRun(
                snapshot=self._snap,
                pending=pending,
                flows=self.flows,
                store=claim if claim is not None else store,
                interpreter=self.interpreter,
                env=self.env,
                customer_view=customer_view,
                truth=truth,
                phraser=self.phraser,
            )
            snapshot, record = await run.execute()
            # stamp the timings before the write, so the stored record has them too
            record.timings.total_ms = round((time.perf_counter() - started) * 1000, 3)
            committing = time.perf_counter()
            (claim or store).commit_turn(snapshot, record, expected_version=self._snap.version)
        except BaseException:
            if claim is not None and claim.held is not None:
                self._pending = claim.give_up()  # this object's next turn completes it first
            raise
        commit_ms = round((time.perf_counter() - committing) * 1000, 3)
        self._snap = snapshot
        self._pending = None
        for listener in self.listeners:
            listener(record)
        return Turn(
            reply=record.reply.text,
            state=snapshot.state,
            flow=snapshot.flow,
            slots=dict(snapshot.slots),
            rejected=tuple(record.rejected),
            divergences=tuple(record.divergences),
            done=snapshot.done,
            outcome=snapshot.outcome,
            record=record,
            commit_ms=commit_ms,
        )


class _TurnClaim:
    """The store as one turn sees it: saving the pending turn claims the session for this run.

    Every other call goes to the store unchanged. The run's owner token is random, so two
    turns never share a claim, even in one process.
    """

    def __init__(self, store: ClaimingStore, *, resuming: bool) -> None:
        self.store = store
        self.resuming = resuming
        self.owner = uuid.uuid4().hex
        self.held: PendingTurn | None = None
        """The pending turn saved under this claim, once claimed."""

    def save_pending(self, pending: PendingTurn) -> None:
        """Claim the session for this run and save the pending turn (before a write)."""
        self.store.claim_turn(pending, owner=self.owner, resuming=self.resuming)
        self.held = pending

    def give_up(self) -> PendingTurn | None:
        """Release the claim after the run failed; return the pending turn it held."""
        held, self.held = self.held, None
        if held is not None:
            with contextlib.suppress(Exception):  # a failing store: the claim then times out
                self.store.release_turn(held.session_id, self.owner)
        return held

    def create_session(self, snapshot: SessionSnapshot) -> None:
        """Forwarded to the store."""
        self.store.create_session(snapshot)

    def load_session(self, session_id: str) -> SessionSnapshot:
        """Forwarded to the store."""
        return self.store.load_session(session_id)

    def pending_turn(self, session_id: str) -> PendingTurn | None:
        """Forwarded to the store."""
        return self.store.pending_turn(session_id)

    def commit_turn(
        self, snapshot: SessionSnapshot, record: TurnRecord, *, expected_version: int
    ) -> None:
        """Commit under this run's claim."""
        if self.held is None:  # a turn that wrote nothing commits as an unclaimed one
            self.store.commit_turn(snapshot, record, expected_version=expected_version)
        else:
            self.store.commit_turn(
                snapshot, record, expected_version=expected_version, owner=self.owner
            )

    def turns(self, session_id: str) -> list[TurnRecord]:
        """Forwarded to the store."""
        return self.store.turns(session_id)

    def find_effect(self, key: str) -> Mapping[str, Any] | None:
        """Forwarded to the store."""
        return self.store.find_effect(key)

    def record_effect(
        self, key: str, *, session_id: str, turn: int, tool: str, updates: Mapping[str, Any]
    ) -> None:
        """Forwarded to the store."""
        self.store.record_effect(key, session_id=session_id, turn=turn, tool=tool, updates=updates)

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """Forwarded to the store."""
        return self.store.list_sessions(limit)


def linked_flows(flow: type[Flow[Any]]) -> dict[str, type[Flow[Any]]]:
    """A flow and every flow it can start, directly or through those, by id."""
    found: dict[str, type[Flow[Any]]] = {flow.flow_id: flow}
    frontier = [flow]
    while frontier:
        for flow_id, linked in frontier.pop().spec.linked.items():
            if flow_id not in found:
                found[flow_id] = linked
                frontier.append(linked)
    return found


def _default_interpreter() -> Interpreter:
    from cxflow.rule_interpreter import RuleInterpreter

    return RuleInterpreter()
