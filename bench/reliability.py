"""Reliability: fuzzed model output, adversarial customers and injected faults, in one table.

Runs `cxflow.simulators.reliability.fuzz`, `.adversarial` and `.faults` (each module's
`run(budget)`) and prints, per category, the cases tried and the broken promises: invariant
breaks, policy violations, lost writes and doubled writes. Every count but `cases` should be
zero; the script exits 1 when one is not, and 2 when a module it was asked to run is missing.

    python bench/reliability.py                   # table, --budget full (minutes)
    python bench/reliability.py --budget ci       # the tests' small budget (seconds)
    python bench/reliability.py --json            # one JSON object: {category: {cases, ...}}
    python bench/reliability.py --only fuzz --flows plan_upgrade,telecom_support --detail

The README's "Reliability" section explains the categories and the method.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, cast

from rich.console import Console
from rich.table import Table

from cxflow.registry import get_flow
from cxflow.simulators.reliability import Budget, CategoryResult

MODULES = ("fuzz", "adversarial", "faults")
"""The modules of `cxflow.simulators.reliability`, in the order they run."""
COUNTS = ("cases", "invariant_breaks", "policy_violations", "lost_writes", "doubled_writes")


@dataclass
class Outcome:
    """What running the modules gave: results per category, plus what could not run."""

    results: list[CategoryResult] = field(default_factory=list[CategoryResult])
    missing: dict[str, str] = field(default_factory=dict[str, str])
    """Module -> why it could not be run (its numbers are left out, never made up)."""
    seconds: dict[str, float] = field(default_factory=dict[str, float])
    fuzz_flows: dict[str, dict[str, Any]] = field(default_factory=dict[str, dict[str, Any]])
    """Per flow, what the fuzzer tried and reached (examples, turns, states)."""

    def broken(self) -> int:
        """Every broken promise, summed over the categories."""
        return sum(r.broken() for r in self.results)


def load(name: str) -> ModuleType | str:
    """Import one reliability module, or say why it cannot be imported."""
    module = f"cxflow.simulators.reliability.{name}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # the module is there but something it imports is not: a real error
        return f"{module} does not exist yet: its categories were not run"


def run(names: Sequence[str], budget: Budget, flows: Sequence[str] | None) -> Outcome:
    """Run the named modules with the budget; `flows` restricts the fuzzer to those flows."""
    outcome = Outcome()
    for name in names:
        module = load(name)
        if isinstance(module, str):
            outcome.missing[name] = module
            continue
        started = time.perf_counter()
        if name == "fuzz":
            chosen = [get_flow(f) for f in flows] if flows else None
            reports = module.fuzz_flows(budget, chosen)
            outcome.results.append(module.category(reports))
            outcome.fuzz_flows = {r.flow: r.to_json() for r in reports}
        else:
            outcome.results += cast(list[CategoryResult], module.run(budget))
        outcome.seconds[name] = round(time.perf_counter() - started, 2)
    return outcome


def as_json(outcome: Outcome) -> dict[str, Any]:
    """The one JSON object `--json` prints: per category its counts (and its examples); the
    fuzzer's category also carries what it tried and reached per flow."""
    out: dict[str, Any] = {}
    for result in outcome.results:
        out[result.category] = result.to_json()
        if result.category == "fuzzed_model_output" and outcome.fuzz_flows:
            out[result.category]["flows"] = outcome.fuzz_flows
    return out


def table(outcome: Outcome, budget: Budget) -> Table:
    """The one table: a row per category, a column per count."""
    grid = Table(title=f"cxflow reliability (budget {budget})")
    grid.add_column("category", no_wrap=True)
    for count in COUNTS:
        grid.add_column(count.replace("_", " "), justify="right")
    for r in outcome.results:
        grid.add_row(
            r.category,
            f"{r.cases:,}",
            *(_count(getattr(r, c)) for c in COUNTS[1:]),
        )
    for name in outcome.missing:
        grid.add_row(f"[yellow]{name}[/]", "not run", "-", "-", "-", "-")
    return grid


def _count(value: int) -> str:
    return f"[bold red]{value:,}[/]" if value else "0"


def detail(outcome: Outcome) -> Table:
    """Per flow, what the fuzzer tried and which states it reached."""
    grid = Table(title="fuzzed model output, per flow")
    for name in ("flow", "examples", "turns", "writes", "states reached", "broken"):
        grid.add_column(name, justify="left" if name == "flow" else "right", no_wrap=True)
    for flow, f in outcome.fuzz_flows.items():
        broken = sum(f[c] for c in COUNTS[1:])
        grid.add_row(
            flow,
            str(f["examples"]),
            f"{f['turns']:,}",
            str(f["writes"]),
            f"{f['states_reached']}/{f['states']}",
            _count(broken),
        )
    return grid


def main(argv: Sequence[str] | None = None) -> int:
    """Run the modules; print the table (or `--json`); exit 1 if a promise broke."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--budget", choices=("ci", "full"), default="full")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--only", nargs="+", choices=MODULES, metavar="MODULE", help=f"some of {MODULES}"
    )
    parser.add_argument("--flows", help="fuzz only these flows (comma-separated ids)")
    parser.add_argument("--detail", action="store_true", help="the fuzzer's figures per flow")
    args = parser.parse_args(argv)
    budget = cast(Budget, args.budget)
    flows = [f.strip() for f in args.flows.split(",") if f.strip()] if args.flows else None
    outcome = run(args.only or MODULES, budget, flows)
    console = Console(stderr=args.json, width=None if sys.stdout.isatty() else 120)
    if args.json:
        print(json.dumps(as_json(outcome), indent=2))
    else:
        console.print(table(outcome, budget))
        if args.detail and outcome.fuzz_flows:
            console.print(detail(outcome))
        if outcome.fuzz_flows:
            tried = outcome.fuzz_flows.values()
            console.print(
                f"fuzzer: {len(tried)} flows, {sum(f['examples'] for f in tried):,} examples, "
                f"{sum(f['turns'] for f in tried):,} turns, "
                f"{sum(f['states_reached'] for f in tried)}/{sum(f['states'] for f in tried)} "
                "states reached"
            )
        for r in outcome.results:
            for example in r.examples:
                console.print(f"{r.category}: {example}", markup=False, highlight=False)
        console.print(
            f"seconds: {outcome.seconds}; python {platform.python_version()}", highlight=False
        )
    for why in outcome.missing.values():
        Console(stderr=True).print(f"[yellow]not run[/]: {why}")
    if outcome.broken():
        return 1
    return 2 if outcome.missing else 0


if __name__ == "__main__":
    sys.exit(main())
