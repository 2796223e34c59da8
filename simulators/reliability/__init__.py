"""Reliability checks: fuzzed model output, adversarial customers, injected faults.

Each module (`fuzz`, `adversarial`, `faults`) exposes `run(budget) -> list[CategoryResult]`;
`bench/reliability.py` runs them all and prints one table (or `--json`), and the tests run
them with the small "ci" budget and assert every count of broken promises is zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Budget", "CategoryResult"]

Budget = Literal["ci", "full"]
""""ci": small and fixed, for the test suite; "full": what bench/reliability.py runs."""


@dataclass
class CategoryResult:
    """What one category of cases found. Every count but `cases` should be zero."""

    category: str
    cases: int = 0
    """Cases tried (generated examples, messages, injected faults)."""
    invariant_breaks: int = 0
    """Turns after which an invariant failed (slots invalid, state not in the graph, record
    incomplete, a tool ran with arguments outside its types, ...)."""
    policy_violations: int = 0
    """Write tools that ran without their guard and confirmation, or data of another customer
    disclosed."""
    lost_writes: int = 0
    """Writes the store or environment should hold and does not."""
    doubled_writes: int = 0
    """Writes applied twice."""
    examples: list[str] = field(default_factory=list[str])
    """Short descriptions of failures (at most a handful), for a person to reproduce."""

    def broken(self) -> int:
        """The sum of every count that must be zero."""
        return (
            self.invariant_breaks + self.policy_violations + self.lost_writes + self.doubled_writes
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object `bench/reliability.py --json` prints for this category."""
        return asdict(self)
