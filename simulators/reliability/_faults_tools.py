"""Tool faults: a backend that is unreachable, one that wrote and then lost the connection, a
tool that raises, a tool that hangs past its `timeout_s`.

Each fault must become an event the flow routes on (its error slot, or a hand-off), never an
exception out of `session.turn`; the turn still commits exactly one record; and nothing is
half-written: a write tool that failed leaves no journaled effect and no slot that claims it
was done, and a backend that was never reached is unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from pydantic import BaseModel

from cxflow.errors import FlowRuntimeError
from cxflow.flow import Flow, State, auto, describe
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.registry import reference_flows
from cxflow.session import Session
from cxflow.simulators.reliability._faults_common import (
    CONFIRM,
    TO_CONFIRMATION,
    Found,
    HookedStore,
    LedgerCrm,
    at_confirmation,
    log_problems,
)
from cxflow.store import MemoryStore, Store
from cxflow.tooling import ToolCallContext, tool
from cxflow.types import PhoneNumber

__all__ = ["TOOL_TIMEOUT_S", "TimedCredit", "run_tool_faults"]

Modes = ("unreachable", "lost_response")
"""unreachable: the backend's first call in the write tool raises (nothing written);
lost_response: the call that changed the backend's data raises after it (written, then the
connection dropped)."""


def _fingerprint(env: object) -> str:
    db = getattr(env, "db", None)
    return db.model_dump_json() if isinstance(db, BaseModel) else repr(env)


class FaultyEnv:
    """A flow's environment whose next backend call fails once `arm()` was called."""

    def __init__(self, inner: object, mode: str) -> None:
        self.inner = inner
        self.mode = mode
        self.armed = False
        self.fired = 0
        self.armed_at = ""
        """The backend's fingerprint when armed (what "unchanged" is measured against)."""

    def arm(self) -> None:
        """Fail the next call (unreachable) or the next call that writes (lost_response)."""
        self.armed = True
        self.armed_at = _fingerprint(self.inner)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.armed:
                return value(*args, **kwargs)
            if self.mode == "unreachable":
                self.armed, self.fired = False, self.fired + 1
                raise ConnectionError(f"injected: the backend is unreachable ({name})")
            before = _fingerprint(self.inner)
            result = value(*args, **kwargs)
            if _fingerprint(self.inner) != before:
                self.armed, self.fired = False, self.fired + 1
                raise ConnectionError(f"injected: the connection dropped after {name} wrote")
            return result

        return call


class _ArmBeforeWrite(HookedStore):
    """Arms the environment when the nth write tool is about to call the backend (its journal
    lookup found nothing: the call comes next)."""

    def __init__(self, inner: Store, env: FaultyEnv, nth: int) -> None:
        super().__init__(inner)
        self.env = env
        self.nth = nth
        self.lookups = 0
        self.key: str | None = None

    def find_effect(self, key: str) -> Mapping[str, Any] | None:
        """Look the write up; arm the environment before the nth one runs."""
        effect = self.inner.find_effect(key)
        if effect is None:
            self.lookups += 1
            if self.lookups == self.nth:
                self.env.arm()
                self.key = key
        return effect


def _sweep_case(flow: type[Flow[Any]], nth: int, mode: str, found: Found) -> None:
    """Play a flow's example; the nth write tool to run meets a failing backend."""
    case = f"{flow.flow_id}/write{nth}/{mode}"
    found.cases += 1
    env = FaultyEnv(flow.make_env(), mode)
    store = MemoryStore()
    arming = _ArmBeforeWrite(store, env, nth)
    session = Session.start(flow, store=arming, env=env)
    for text in flow.example:
        if session.done:
            break
        version = session.version
        try:
            turn = session.turn_sync(text)
        except Exception as exc:  # the promise under test: never an exception
            found.broke(case, f"turn raised {type(exc).__name__}: {exc}")
            return
        if arming.key is None:
            continue
        if env.fired != 1:
            found.broke(case, "the injected failure did not fire")
            return
        found.count(f"tool_faults.{mode}.fired")
        key = arming.key
        calls = [c for c in turn.record.tool_calls if c.idempotency_key == key]
        if len(calls) != 1:
            found.broke(case, f"{len(calls)} records of the failed write in the turn")
            return
        call = calls[0]
        if call.error is None or "injected" not in call.error:
            found.broke(case, f"the failed write {call.tool} is not recorded as failed")
        if call.updates:
            found.broke(case, f"the failed write {call.tool} set slots {sorted(call.updates)}")
        if store.find_effect(key) is not None:
            found.broke(case, f"the failed write {call.tool} is in the effect journal")
        changed = _fingerprint(env.inner) != env.armed_at
        if mode == "unreachable" and changed:
            found.broke(case, "the backend changed although it was never reached")
        if mode == "lost_response":
            found.count("tool_faults.lost_response.backend_changed", changed)
        if turn.done and turn.outcome == "completed":
            found.broke(case, "the conversation ended 'completed' right after its write failed")
        if session.version != version + 1:
            found.broke(case, f"version {session.version} after turn {version + 1}")
        for problem in log_problems(store, session.id):
            found.broke(case, problem)
        route = "handoff" if turn.outcome == "handed_off" else "error_slot"
        found.count(f"tool_faults.routed_to.{route}")
        return
    found.broke(case, f"the example ran fewer than {nth} write tools")


def _write_counts() -> dict[str, int]:
    """Per reference flow, how many write-tool calls its example makes (a clean run)."""
    counts: dict[str, int] = {}
    for flow_id, flow in reference_flows().items():
        session = Session.start(flow)
        n = 0
        for text in flow.example:
            if session.done:
                break
            n += sum(1 for c in session.turn_sync(text).record.tool_calls if c.side_effect)
        counts[flow_id] = n
    return counts


# -- PlanUpgrade: the CRM refuses, a read tool crashes, with and without an error slot ------------


def _break(crm: LedgerCrm, method: str, exc: Exception) -> None:
    """From now on the CRM's `method` raises `exc` (an attribute of this instance only)."""

    def fail(*_args: object, **_kwargs: object) -> object:
        raise exc

    setattr(crm, method, fail)


def _plan_upgrade_cases(found: Found, folder: Path) -> None:
    """The CRM refuses a confirmed change; a read tool crashes, with and without an error
    slot to route on."""
    # the CRM refuses the confirmed change: a ToolError routed to change_refused
    case = "plan_upgrade/change_plan refused by the CRM"
    crm = LedgerCrm(folder / "refused.jsonl")
    store = MemoryStore()
    session = at_confirmation(store, crm)
    _break(crm, "change_plan", ValueError("injected: plan changes are frozen this week"))
    found.cases += 1
    try:
        turn = session.turn_sync(CONFIRM)
    except Exception as exc:
        found.broke(case, f"turn raised {type(exc).__name__}: {exc}")
    else:
        [call] = [c for c in turn.record.tool_calls if c.tool == "change_plan"]
        if (turn.state, turn.outcome) != ("change_refused", "failed"):
            found.broke(case, f"ended in {turn.state} ({turn.outcome}), not change_refused")
        if "frozen this week" not in turn.reply or call.error is None:
            found.broke(case, "the CRM's reason is not in the reply and the record")
        if call.idempotency_key and store.find_effect(call.idempotency_key) is not None:
            found.broke(case, "the refused change is in the effect journal")
        if turn.slots.get("plan_changed") is not None:
            found.broke(case, "plan_changed is set although the CRM refused")
        found.writes(case, len(crm.changes()), 0)
        for problem in log_problems(store, session.id):
            found.broke(case, problem)

    # a read tool with an error slot crashes: the flow routes to not_found
    case = "plan_upgrade/find_customer crashes"
    crm = LedgerCrm(folder / "lookup.jsonl")
    _break(crm, "get_customer_by_phone", RuntimeError("injected: CRM search index is down"))
    store = MemoryStore()
    session = Session.start(PlanUpgrade, store=store, env=crm)
    found.cases += 1
    try:
        turn = session.turn_sync(TO_CONFIRMATION[0])
    except Exception as exc:
        found.broke(case, f"turn raised {type(exc).__name__}: {exc}")
    else:
        if turn.state != "not_found" or "search index is down" not in str(
            turn.slots.get("lookup_error")
        ):
            found.broke(case, f"not routed to not_found with the error: {turn.state}")
        for problem in log_problems(store, session.id):
            found.broke(case, problem)

    # a read tool without an error slot crashes: the conversation is handed off, not crashed
    case = "plan_upgrade/quote_price crashes (no error slot)"
    crm = LedgerCrm(folder / "quote.jsonl")
    store = MemoryStore()
    session = Session.start(PlanUpgrade, store=store, env=crm)
    session.turn_sync(TO_CONFIRMATION[0])
    session.turn_sync(TO_CONFIRMATION[1])
    _break(crm, "list_plans", RuntimeError("injected: price service timed out"))
    found.cases += 1
    try:
        turn = session.turn_sync(TO_CONFIRMATION[2])
    except Exception as exc:
        found.broke(case, f"turn raised {type(exc).__name__}: {exc}")
    else:
        reason = turn.record.handoff_reason or ""
        if turn.outcome != "handed_off" or "quote_price" not in reason:
            found.broke(case, f"not handed off naming quote_price: {turn.outcome} {reason!r}")
        for problem in log_problems(store, session.id):
            found.broke(case, problem)


# -- async tools held to timeout_s ---------------------------------------------------------------

TOOL_TIMEOUT_S = 0.05
"""The `timeout_s` of the async tools below (short, so a hang costs the run little)."""


class SlowBackend:
    """An account backend whose calls take `delay_s`; `write_first` writes before the wait."""

    def __init__(self) -> None:
        self.lookup_delay_s = 0.0
        self.apply_delay_s = 0.0
        self.write_first = False
        self.extra_updates: dict[str, object] = {}
        self.credits: list[str] = []
        """Idempotency keys of the credits applied (the backend's own record)."""

    async def lookup(self, phone: str) -> str:
        """The account id of a phone number."""
        await asyncio.sleep(self.lookup_delay_s)
        return "C" + phone[-4:]

    async def apply(self, key: str) -> None:
        """Credit the account."""
        if self.write_first:
            self.credits.append(key)
        await asyncio.sleep(self.apply_delay_s)
        if not self.write_first:
            self.credits.append(key)


class CreditSlots(BaseModel):
    """What the credit conversation knows."""

    phone_number: PhoneNumber | None = None
    customer_id: str | None = None
    lookup_error: str | None = None
    credited: bool | None = None
    credit_error: str | None = None


def _has_phone(slots: CreditSlots) -> bool:
    """A phone number was given."""
    return slots.phone_number is not None


def _found(slots: CreditSlots) -> bool:
    """The account was found."""
    return slots.customer_id is not None


def _lookup_failed(slots: CreditSlots) -> bool:
    """The lookup failed."""
    return slots.lookup_error is not None


def _credited(slots: CreditSlots) -> bool:
    """The backend confirmed the credit."""
    return slots.credited is True


def _credit_failed(slots: CreditSlots) -> bool:
    """The credit failed."""
    return slots.credit_error is not None


@tool(
    reads=("phone_number",),
    writes=("customer_id",),
    error_slot="lookup_error",
    timeout_s=TOOL_TIMEOUT_S,
)
async def find_account(
    slots: CreditSlots, backend: SlowBackend, call: ToolCallContext
) -> dict[str, object]:
    """Find the account of the phone number."""
    assert slots.phone_number is not None
    return {"customer_id": await backend.lookup(slots.phone_number)}


@tool(
    reads=("customer_id",),
    writes=("credited",),
    side_effect=True,
    needs_confirmation=True,
    error_slot="credit_error",
    timeout_s=TOOL_TIMEOUT_S,
)
async def apply_credit(
    slots: CreditSlots, backend: SlowBackend, call: ToolCallContext
) -> dict[str, object]:
    """Credit the account."""
    await backend.apply(call.idempotency_key)
    return {"credited": True, **backend.extra_updates}


class TimedCredit(Flow[CreditSlots]):
    """Credit an account through a backend that may be slow (async tools with timeouts)."""

    ask = State(initial=True, fills=("phone_number",), say="Which number?")
    lookup = State(tools=(find_account,))
    not_found = State(final=True, outcome="failed", say="Lookup failed: {lookup_error}.")
    confirm = State(say="Credit account {customer_id}?")
    applying = State(tools=(apply_credit,))
    credited = State(final=True, say="Done: account {customer_id} is credited.")
    failed = State(final=True, outcome="failed", say="Not credited: {credit_error}.")

    got_phone = auto(ask.to(lookup, cond=_has_phone))
    looked_up = auto(lookup.to(confirm, cond=_found) | lookup.to(not_found, cond=_lookup_failed))
    accept = describe(
        confirm.to(applying), "The customer accepts.", keywords=("<yes>",), confirms=apply_credit
    )
    applied = auto(applying.to(credited, cond=_credited) | applying.to(failed, cond=_credit_failed))

    @classmethod
    def make_env(cls, tau2_data: Path | None = None) -> SlowBackend:
        """A backend that answers at once (there is no tau2 data for it)."""
        return SlowBackend()


def _timeout_case(found: Found, name: str, setup: Callable[[SlowBackend], None]) -> None:
    """Run the credit conversation with the backend slowed by `setup`; check what the flow
    and the backend hold afterwards."""
    case = f"timed_credit/{name}"
    backend = SlowBackend()
    store = MemoryStore()
    session = Session.start(TimedCredit, store=store, env=backend)
    found.cases += 1
    expect_credit = name == "write_in_time"
    try:
        if name == "lookup_hangs":
            setup(backend)
            turn = session.turn_sync("555-014-3301")
        else:
            session.turn_sync("555-014-3301")
            setup(backend)
            turn = session.turn_sync("yes")
    except FlowRuntimeError as exc:
        if name != "returns_undeclared_slot":
            found.broke(case, f"turn raised FlowRuntimeError: {exc}")
            return
        # a programmer error: raised, and nothing of the turn stored or journaled
        if session.version != 1 or store.turns(session.id)[-1].turn != 1:
            found.broke(case, "the failed turn was committed")
        if any(store.find_effect(k) is not None for k in backend.credits):
            found.broke(case, "the bad tool's result is in the effect journal")
        found.count("tool_faults.programmer_errors_raised")
        return
    except Exception as exc:
        found.broke(case, f"turn raised {type(exc).__name__}: {exc}")
        return
    if name == "returns_undeclared_slot":
        found.broke(case, "a tool writing an undeclared slot was accepted")
        return
    calls = [c for c in turn.record.tool_calls if c.tool in ("find_account", "apply_credit")]
    call = calls[-1]
    if expect_credit:
        if turn.state != "credited" or call.error is not None:
            found.broke(case, f"a call within its time limit failed: {call.error}")
        found.writes(case, len(backend.credits), 1)
        if call.idempotency_key is None or store.find_effect(call.idempotency_key) is None:
            found.broke(case, "the applied credit is not in the effect journal", kind="lost")
        return
    timed_out = f"timed out after {TOOL_TIMEOUT_S} s"
    if call.error is None or timed_out not in call.error:
        found.broke(case, f"{call.tool} not recorded as timed out: {call.error!r}")
        return
    found.count("tool_faults.timeouts_fired")
    expected_state = "not_found" if name == "lookup_hangs" else "failed"
    if turn.state != expected_state:
        found.broke(case, f"ended in {turn.state}, not {expected_state}")
    if call.updates or turn.slots.get("credited") is not None:
        found.broke(case, "the timed-out call set slots")
    if call.idempotency_key and store.find_effect(call.idempotency_key) is not None:
        found.broke(case, "the timed-out write is in the effect journal")
    if name == "write_hangs_before_writing":
        asyncio.run(asyncio.sleep(TOOL_TIMEOUT_S))  # a write still in flight would land now
        found.writes(case, len(backend.credits), 0)
    if name == "write_hangs_after_writing":
        found.count("tool_faults.timeout_after_backend_wrote", len(backend.credits))
    for problem in log_problems(store, session.id):
        found.broke(case, problem)


def _slow_lookup(backend: SlowBackend) -> None:
    backend.lookup_delay_s = 10 * TOOL_TIMEOUT_S


def _slow_apply(backend: SlowBackend) -> None:
    backend.apply_delay_s = 10 * TOOL_TIMEOUT_S


def _slow_apply_after_write(backend: SlowBackend) -> None:
    backend.apply_delay_s = 10 * TOOL_TIMEOUT_S
    backend.write_first = True


def _apply_in_time(backend: SlowBackend) -> None:
    backend.apply_delay_s = TOOL_TIMEOUT_S / 5


def _apply_returns_junk(backend: SlowBackend) -> None:
    backend.extra_updates = {"customer_id_typo": "C1"}


TIMEOUT_CASES: dict[str, Callable[[SlowBackend], None]] = {
    "lookup_hangs": _slow_lookup,
    "write_hangs_before_writing": _slow_apply,
    "write_hangs_after_writing": _slow_apply_after_write,
    "write_in_time": _apply_in_time,
    "returns_undeclared_slot": _apply_returns_junk,
}


def run_tool_faults(budget: str) -> Found:
    """Inject every tool fault; `budget` "ci" sweeps one write per reference flow, "full" all."""
    found = Found()
    counts = _write_counts()
    flows = reference_flows()
    found.count("tool_faults.flows_swept", sum(1 for n in counts.values() if n))
    for flow_id, writes in counts.items():
        for nth in range(1, (writes if budget == "full" else min(writes, 1)) + 1):
            for mode in Modes:
                _sweep_case(flows[flow_id], nth, mode, found)
    with TemporaryDirectory(prefix="cxflow-faults-") as folder:
        _plan_upgrade_cases(found, Path(folder))
    for name, setup in TIMEOUT_CASES.items():
        _timeout_case(found, name, setup)
    return found
