"""Process kills: a real child process runs a turn on a SQLite file and is killed with SIGKILL
at one phase of it; the parent then does what a restarted bot does (load the session, resume
a pending turn, or resend the message that was lost) and checks that the plan change was made
exactly once (counted in a file the CRM appends to, outside both processes) and that the turn
log is complete.

Phases: `after_interpret` (the model answered), `before_journal` (the write tool ran, its
journal entry is not written), `after_journal`, `before_commit`, `after_commit` (stored, not
yet replied); and `twice`: killed before the commit, then killed again while resuming.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.interpreter import Interpretation, TurnView
from cxflow.rule_interpreter import RuleInterpreter
from cxflow.session import Session, Turn
from cxflow.simulators.reliability._faults_common import (
    FLOWS,
    Found,
    HookedStore,
    LedgerCrm,
    change_outcome_problem,
    log_problems,
)
from cxflow.sql_store import SqlStore
from cxflow.store import TurnClaimedError

__all__ = ["KILL_PHASES", "run_process_kills"]

KILL_PHASES = (
    "after_interpret",
    "before_journal",
    "after_journal",
    "before_commit",
    "after_commit",
)

_STORE_POINTS = {
    "before_journal": ("record_effect", "before"),
    "after_journal": ("record_effect", "after"),
    "before_commit": ("commit_turn", "before"),
    "after_commit": ("commit_turn", "after"),
}
_NOT_REACHED = 3
"""The child's exit code when its turn never reached the phase (nothing to kill there)."""
_CHILD_FAILED = 4
_WAIT_S = 20.0
CLAIM_TIMEOUT_S = 0.05
"""The stores' claim timeout: a turn claimed by a killed process is taken over after this
(the default, 30 s, is for replicas; a restarted single bot waits it out the same way)."""


def _open(path: Path) -> SqlStore:
    return SqlStore(path, claim_timeout_s=CLAIM_TIMEOUT_S)


def _resume(session: Session) -> Turn | None:
    """Resume as a restarted bot does: if the dead process's claim has not timed out yet,
    wait for it, then take the turn over."""
    try:
        return session.resume_sync()
    except TurnClaimedError as exc:
        if exc.claimed_for_s is None:
            raise
        time.sleep(max(0.0, CLAIM_TIMEOUT_S - exc.claimed_for_s) + 0.02)
        return session.resume_sync()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _KillAfterInterpreting:
    """The offline interpreter, and the process dies right after it answers."""

    name = RuleInterpreter.name
    synchronous = True

    def __init__(self) -> None:
        self.inner = RuleInterpreter()

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Interpret, then die."""
        answer = await self.inner.interpret(view, text)
        _die()
        return answer  # pragma: no cover - never reached


@contextmanager
def _plain() -> Iterator[None]:
    yield


@contextmanager
def _dying(when: str) -> Iterator[None]:
    if when == "before":
        _die()
    yield
    _die()


def _child(path: Path, ledger: Path, session_id: str, phase: str, text: str | None) -> None:
    """In the forked child: run the turn (or resume, when `text` is None) and die at `phase`."""
    code = _NOT_REACHED
    try:
        point = _STORE_POINTS.get(phase)

        def around(method: str) -> AbstractContextManager[None]:
            return _dying(point[1]) if point is not None and method == point[0] else _plain()

        store = HookedStore(_open(path), around=around)
        interpreter = _KillAfterInterpreting() if phase == "after_interpret" else None
        session = Session.load(
            session_id, flows=FLOWS, store=store, interpreter=interpreter, env=LedgerCrm(ledger)
        )
        if text is None:
            _resume(session)
        else:
            session.turn_sync(text)
    except BaseException:
        code = _CHILD_FAILED
    os._exit(code)


def _run_child(path: Path, ledger: Path, session_id: str, phase: str, text: str | None) -> str:
    """Fork a child for one turn; "killed", "not_reached", "failed" or "hung"."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process
        _child(path, ledger, session_id, phase, text)
    deadline = time.monotonic() + _WAIT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.002)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return "killed"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _NOT_REACHED:
        return "not_reached"
    return "failed"


def _case(found: Found, folder: Path, phase: str, turn: int) -> None:
    """Kill the process at `phase` of turn `turn` of the plan change; recover; check."""
    lines = list(PlanUpgrade.example)
    case = f"turn{turn}/{phase}"
    where = folder / case.replace("/", "_")
    where.mkdir()
    path, ledger = where / "cx.db", where / "crm.jsonl"
    setup = _open(path)
    session = Session.start(PlanUpgrade, store=setup, env=LedgerCrm(ledger))
    for text in lines[: turn - 1]:
        session.turn_sync(text)
    setup.close()  # the child opens its own connections
    twice = phase == "twice"
    outcome = _run_child(
        path, ledger, session.id, "before_commit" if twice else phase, lines[turn - 1]
    )
    if outcome == "not_reached":
        found.count("process_kills.phase_not_reached")
        return
    found.cases += 1
    if outcome != "killed":
        found.broke(case, f"the child process {outcome} instead of being killed at {phase}")
        return
    found.count("process_kills.killed")
    if twice:
        again = _run_child(path, ledger, session.id, "before_commit", None)
        if again != "killed":
            found.broke(case, f"the resuming child {again} instead of being killed")
            return
        found.count("process_kills.killed")
    _recover(found, case, path, ledger, session.id, turn, lines)


def _recover(
    found: Found, case: str, path: Path, ledger: Path, session_id: str, turn: int, lines: list[str]
) -> None:
    """What a restarted bot does: load, resume or resend, finish the conversation; check."""
    store = _open(path)
    try:
        for problem in log_problems(store, session_id):
            found.broke(case, f"after the kill: {problem}")
        session = Session.load(session_id, flows=FLOWS, store=store, env=LedgerCrm(ledger))
        if session.pending is not None:
            found.count("process_kills.resumed_pending")
            _resume(session)
        elif session.version == turn - 1:
            found.count("process_kills.message_resent")
            session.turn_sync(lines[turn - 1])
        for text in lines[session.version :]:
            session.turn_sync(text)
        records = store.turns(session_id)
        if [r.customer_text for r in records] != lines:
            found.broke(case, f"the log holds {[r.customer_text for r in records]}")
        for problem in log_problems(store, session_id):
            found.broke(case, problem)
        problem = change_outcome_problem(store, session_id)
        if problem is not None:
            found.broke(case, problem)
        found.writes(case, len(LedgerCrm(ledger).changes()), 1)
    except Exception as exc:
        found.broke(case, f"recovery raised {type(exc).__name__}: {exc}")
    finally:
        store.close()


def run_process_kills(budget: str) -> Found:
    """Kill a child process at every phase of the writing turn ("full": of every turn)."""
    found = Found()
    write_turn = len(PlanUpgrade.example)
    turns = range(1, write_turn + 1) if budget == "full" else (write_turn,)
    with TemporaryDirectory(prefix="cxflow-faults-") as name:
        folder = Path(name)
        for turn in turns:
            for phase in KILL_PHASES:
                _case(found, folder, phase, turn)
        _case(found, folder, "twice", write_turn)  # only the writing turn leaves one to resume
        if budget != "full":
            _case(found, folder, "before_commit", 1)  # a turn without a write
    return found
