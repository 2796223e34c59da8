"""Check cxflow's domain tools against tau2-bench's conformance vectors.

    python -m cxflow.tools.conformance --tau2-data DIR --vectors DIR [--domain D ...] [--json]

`--tau2-data` is laid out like tau2-bench's `data/tau2/domains` (`DIR/airline/db.json`, ...);
`--vectors` like `tau2-vectors` (`DIR/<domain>/probes.json`, `DIR/<domain>/train/*.json`). Both
default to `CXFLOW_TAU2_DATA` / `CXFLOW_TAU2_VECTORS`. Every probe and every train vector of
each domain is replayed through our tools; the JSON report has, per domain, the vectors checked,
matched, and the ids of any mismatch (with what differed). Exit 0 when everything matched, 1 when
something did not, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DOMAINS", "check_domain", "main"]

DOMAINS = ("airline", "retail", "telecom")
Replay = Callable[[Mapping[str, Any]], list[str]]


def _replayers(domain: str, data_dir: Path) -> tuple[Replay, Replay]:
    """Return (replay_probe, replay_vector) bound to the domain's pristine data."""
    if domain == "airline":
        from cxflow.tools import airline

        db = airline.load_airline_db(airline.airline_data_path(data_dir))
        return (lambda p: airline.replay_probe(p, db)), (lambda v: airline.replay_vector(v, db))
    if domain == "retail":
        from cxflow.tools import retail

        rdb = retail.load_retail_db(retail.retail_data_path(data_dir))
        return (lambda p: retail.replay_probe(p, rdb)), (lambda v: retail.replay_vector(v, rdb))
    from cxflow.tools.telecom.conformance import TelecomData, replay_probe, replay_vector

    data = TelecomData.load(data_dir / "telecom")
    return (lambda p: replay_probe(p, data)), (lambda v: replay_vector(v, data))


def check_domain(domain: str, data_dir: Path, vectors_dir: Path) -> dict[str, Any]:
    """Replay every probe and train vector of one domain; return its report."""
    replay_probe, replay_vector = _replayers(domain, data_dir)
    probes = json.loads((vectors_dir / domain / "probes.json").read_text())["probes"]
    index = json.loads((vectors_dir / domain / "train" / "index.json").read_text())
    mismatches: list[dict[str, Any]] = []
    for probe in probes:
        problems = replay_probe(probe)
        if problems:
            mismatches.append({"id": f"probe:{probe['id']}", "problems": problems})
    for entry in index:
        vector = json.loads((vectors_dir / domain / "train" / entry["file"]).read_text())
        problems = replay_vector(vector)
        if problems:
            mismatches.append({"id": f"task:{entry['task_id']}", "problems": problems})
    checked = len(probes) + len(index)
    return {
        "checked": checked,
        "probes": len(probes),
        "train_vectors": len(index),
        "matched": checked - len(mismatches),
        "mismatches": [m["id"] for m in mismatches],
        "details": mismatches,
    }


def _folder(value: str | None, env: str, flag: str) -> Path:
    if not value:
        value = os.environ.get(env)
    if not value:
        raise SystemExit(f"cxflow.tools.conformance: error: give {flag} DIR (or set {env}).")
    path = Path(value)
    if not path.is_dir():
        raise SystemExit(f"cxflow.tools.conformance: error: {flag} {path} is not a directory.")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conformance check; print a table, or one JSON object with --json."""
    parser = argparse.ArgumentParser(
        prog="python -m cxflow.tools.conformance",
        description="Replay tau2-bench's conformance vectors through cxflow's domain tools.",
    )
    parser.add_argument("--tau2-data", help="tau2 domains folder (default: $CXFLOW_TAU2_DATA)")
    parser.add_argument("--vectors", help="tau2-vectors folder (default: $CXFLOW_TAU2_VECTORS)")
    parser.add_argument("--domain", action="append", choices=DOMAINS, help="repeatable")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        data_dir = _folder(args.tau2_data, "CXFLOW_TAU2_DATA", "--tau2-data")
        vectors_dir = _folder(args.vectors, "CXFLOW_TAU2_VECTORS", "--vectors")
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    report = {d: check_domain(d, data_dir, vectors_dir) for d in (args.domain or DOMAINS)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for domain, r in report.items():
            print(
                f"{domain:8} {r['matched']:4}/{r['checked']:<4} matched "
                f"({r['probes']} probes, {r['train_vectors']} train vectors)"
            )
            for m in r["details"]:
                print(f"  {m['id']}: {'; '.join(m['problems'])[:300]}")
    return 0 if all(not r["mismatches"] for r in report.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
