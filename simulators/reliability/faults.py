"""Injected faults: what breaks around a turn, and what cxflow promises when it does.

```python
from cxflow.simulators.reliability import faults

for result in faults.run("ci"):
    print(result.category, result.cases, result.broken(), result.examples)
```

Five categories, each a list of faults injected into real objects (no mocks of cxflow):

- `tool_faults`: the backend behind every reference flow's write tool is unreachable, or
  writes and then drops the connection; a read tool crashes with and without an error slot;
  async tools hang past their `timeout_s`; a tool returns a slot it does not declare.
  Promise: the flow routes on the failure (error slot or hand-off), the turn commits once,
  and a failed write leaves no journaled effect and no slot claiming it was done.
- `store_faults`: a SQLite file locked by another program, or read-only, at each store call
  of a turn (claiming it, journaling the write, committing); a PostgreSQL connection
  terminated by the server at each of those calls, and while idle. Promise: a `StoreError`
  that says what happened and what to do; the stored session holds the old version without
  the turn or the new one with all of it; a retry finishes the turn with the write made once.
- `model_api_faults`: the Anthropic and OpenAI interpreters on a mocked HTTP transport: 429
  with `Retry-After` (on a server that keeps refusing until that time passed), 500/503/529,
  timeouts, refused connections, bodies cut short, HTML pages with status 200, malformed or
  truncated JSON, empty output, `max_tokens`. Promise: a retry that succeeds, or the failure
  on the turn record; never an exception from `session.turn`, never a write.
- `data_file_faults`: tau2 databases, the phone state and scenario files cut short (at
  random bytes and between lines), empty, not UTF-8, binary, nested too deeply, of the wrong
  type, a directory, missing; flows built from a tau2 folder holding such a file. Promise:
  `DataFileError` naming the file (and the field), never another exception or an environment
  built from half a file.
- `process_kills`: a forked child process runs the writing turn on a SQLite file and is
  killed with SIGKILL after the model answered, before and after the write's journal entry,
  before and after the commit, and twice (again while resuming). The parent recovers as a
  restarted bot would. Promise: the plan change made exactly once (counted in a file the
  CRM appends to) and a complete turn log.

`CategoryResult.examples` lists the first failures; the figures each category measured
(injections that fired, recoveries by kind) are in `last_figures` after a run.
"""

from __future__ import annotations

from collections.abc import Callable

from cxflow.simulators.reliability import Budget, CategoryResult
from cxflow.simulators.reliability._faults_common import Found
from cxflow.simulators.reliability._faults_data import run_data_faults
from cxflow.simulators.reliability._faults_kills import run_process_kills
from cxflow.simulators.reliability._faults_model import run_model_faults
from cxflow.simulators.reliability._faults_store import run_store_faults
from cxflow.simulators.reliability._faults_tools import run_tool_faults

__all__ = ["CATEGORIES", "last_figures", "run"]

CATEGORIES = (
    "tool_faults",
    "store_faults",
    "model_api_faults",
    "data_file_faults",
    "process_kills",
)

last_figures: dict[str, dict[str, float]] = {}
"""Per category, what the last `run` measured besides broken promises (e.g. how many
injected failures fired, how many turns were resumed); for reports and tests."""


def run(budget: Budget, *, postgres: str | None = None) -> list[CategoryResult]:
    """Inject every fault of every category and count the promises broken.

    Args:
        budget: "ci" (small: one write per reference flow, a few cuts per data file, the
            writing turn's kills) or "full" (every write, every line of every data file, a
            kill at each phase of every turn).
        postgres: A PostgreSQL server's base URL for the store faults; by default a
            throwaway server is started (`cxflow.pgtest`).
    """
    runners: dict[str, Callable[[str], Found]] = {
        "tool_faults": run_tool_faults,
        "store_faults": lambda b: run_store_faults(b, postgres=postgres),
        "model_api_faults": run_model_faults,
        "data_file_faults": run_data_faults,
        "process_kills": run_process_kills,
    }
    results: list[CategoryResult] = []
    for category in CATEGORIES:
        found = runners[category](budget)
        last_figures[category] = dict(found.figures)
        results.append(
            CategoryResult(
                category=category,
                cases=found.cases,
                invariant_breaks=found.invariant_breaks,
                lost_writes=found.lost_writes,
                doubled_writes=found.doubled_writes,
                examples=list(found.examples),
            )
        )
    return results
