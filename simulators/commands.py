"""`cxflow simulate` and `cxflow tau2`: run many simulated conversations, print a table, write
JSON and HTML. (The argument parsing lives in `cxflow.cli`; these run the commands.)
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from cxflow.errors import DataFileError, UsageError

__all__ = ["simulate_command", "tau2_command"]


def _write(path: str, text: str, what: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the {what} to {path}: {exc.strerror}") from exc


def _load_prices(path: str | None) -> dict[str, dict[str, float]] | None:
    if path is None:
        return None
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFileError(path, f"cannot read the price table: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(path, f"not valid JSON: {exc}") from exc
    ok = isinstance(raw, dict) and all(
        isinstance(v, dict) and all(isinstance(x, int | float) for x in v.values())  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
        for v in raw.values()  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
    )
    if not ok:
        raise DataFileError(
            path,
            'expected {"model": {"input": usd_per_mtok, "cached_input": ..., "output": ...}}',
        )
    return raw  # pyright: ignore[reportUnknownVariableType]


def simulate_command(args: argparse.Namespace) -> int:
    """Run `cxflow simulate`: k trials per scenario and persona mix, stored, summarized."""
    import asyncio

    from cxflow.llm.spec import interpreter_from_spec
    from cxflow.registry import flow_ids, get_flow
    from cxflow.simulators.runner import (
        compare,
        default_workers,
        parse_personas,
        plan,
        progress_bar,
        report,
        run,
        run_async,
    )
    from cxflow.simulators.scenario import Scenario, library, load_scenarios
    from cxflow.sql_store import SqlStore

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    flows = flow_ids() if args.flow == "all" else [get_flow(args.flow).flow_id]
    scenarios: dict[str, list[Scenario]] = {}
    if args.scenarios is not None:
        found = load_scenarios(args.scenarios)
        if args.flow not in ("all", found.flow):
            raise UsageError(
                f"{args.scenarios} is for flow {found.flow!r}, not {args.flow!r}; run "
                f"`cxflow simulate {found.flow} --scenarios {args.scenarios}`"
            )
        get_flow(found.flow)
        scenarios[found.flow] = found.scenarios
    else:
        scenarios = {flow: library(flow).scenarios for flow in flows}
    try:
        personas = parse_personas(args.personas) if args.personas else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    prices = _load_prices(args.prices)
    trials = plan(scenarios, k=args.k, personas=personas, seed=args.seed)
    workers = args.workers or default_workers()
    specs: list[str] = args.interpreter or ["rules"]
    for spec in specs:
        interpreter_from_spec(spec)  # a bad spec, a missing SDK or API key: fail before any run
    store = SqlStore(args.db)  # fail early on a bad database, before any trial runs
    store.close()
    run_id = uuid.uuid4().hex[:12]
    results: dict[str, dict[str, Any]] = {}
    for spec in specs:
        settings: dict[str, Any] = {
            "personas": args.personas.split(",") if args.personas else "scenario",
            "seed": args.seed,
            "scenarios": args.scenarios or "library",
            "db": args.db,
            "interpreter": spec,
        }
        progress = None if args.quiet else progress_bar()
        if spec == "rules":  # offline and CPU-bound: processes
            conversations = run(
                trials, workers=workers, db=args.db, run_id=run_id, progress=progress
            )
        else:  # waits on a model: one event loop, a bounded number of conversations at once
            conversations = asyncio.run(
                run_async(
                    trials,
                    concurrency=args.concurrency,
                    interpreter=lambda spec=spec: interpreter_from_spec(spec),
                    db=args.db,
                    run_id=run_id,
                    progress=progress,
                )
            )
        results[spec] = report(conversations, k=args.k, run_id=run_id, settings=settings)
    result = results[specs[0]]
    if len(specs) > 1:
        result["comparison"] = [
            compare(spec, r, sessions_per_day=args.sessions_per_day) for spec, r in results.items()
        ]
    store = SqlStore(args.db)
    try:
        title = f"simulate {args.flow} k={args.k}"
        store.save_run(run_id, "simulate", title, result)
    finally:
        store.close()
    if args.json:
        _write(args.json, json.dumps(result, indent=1), "JSON report")
    if args.html:
        from cxflow.simulators.html_report import render_html

        _write(
            args.html,
            render_html(result, sessions_per_day=args.sessions_per_day, prices=prices),
            "HTML report",
        )
    _print_simulation(result, args)
    return 0


def _print_simulation(result: dict[str, Any], args: argparse.Namespace) -> None:
    from rich.table import Table

    console = _console()
    k = result["k"]
    table = Table(title=f"cxflow simulate: run {result['run_id']}, k={k}")
    table.add_column("flow", no_wrap=True)
    table.add_column("tasks", justify="right")
    table.add_column("conversations", justify="right")
    table.add_column("pass^1", justify="right")
    table.add_column(f"pass^{k}", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("diverged", justify="right")
    table.add_column("coverage", justify="right")
    for flow, data in result["flows"].items():
        items = data["conversations"]
        table.add_row(
            flow,
            str(data["tasks"]),
            str(len(items)),
            f"{100 * data['pass_hat_k']['1']:.1f}%",
            f"{100 * data['pass_hat_k'].get(str(k), 0.0):.1f}%",
            str(sum(1 for c in items if c["reward"] < 1)),
            str(sum(1 for c in items if c["divergences"])),
            f"{100 * data['coverage']['share']:.0f}%",
        )
    console.print(table)
    if "comparison" in result:
        _print_comparison(console, result["comparison"], k)
    failed = [
        (flow, c)
        for flow, d in result["flows"].items()
        for c in d["conversations"]
        if c["reward"] < 1
    ]
    if failed:
        shown = min(len(failed), 10)
        worst = Table(title=f"failed conversations (first {shown} of {len(failed)})")
        for column in ("flow", "scenario", "persona", "trial", "1st div."):
            worst.add_column(column, no_wrap=True, overflow="ellipsis", max_width=28)
        worst.add_column("why (first failure)", overflow="fold")
        for flow, c in failed[:10]:
            more = f" (+{len(c['failures']) - 1} more)" if len(c["failures"]) > 1 else ""
            worst.add_row(
                flow,
                c["scenario"],
                c["persona"],
                str(c["trial"]),
                "-" if c["first_divergent_turn"] is None else str(c["first_divergent_turn"]),
                (c["failures"][0] if c["failures"] else "") + more,
            )
        console.print(worst)
    where = [
        f"stored in {args.db} (run {result['run_id']}; `cxflow replay SESSION_ID --db {args.db}`)"
    ]
    if args.json:
        where.append(f"JSON: {args.json}")
    if args.html:
        where.append(f"HTML: {args.html}")
    console.print("; ".join(where))


def _print_comparison(console: Any, rows: list[dict[str, Any]], k: int) -> None:
    from rich.table import Table

    table = Table(title="interpreter configurations on the same scenarios")
    for column in (
        "interpreter",
        "pass^1",
        f"pass^{k}",
        "p50 ms",
        "p99 ms",
        "tokens/turn",
        "$/conversation",
        "$/month",
    ):
        table.add_column(column, justify="right" if column != "interpreter" else "left")
    for row in rows:
        table.add_row(
            row["interpreter"],
            f"{100 * row['pass_hat_k'].get('1', 0.0):.1f}%",
            f"{100 * row['pass_hat_k'].get(str(k), 0.0):.1f}%",
            f"{row['latency_ms']['all']['p50']:.1f}",
            f"{row['latency_ms']['all']['p99']:.1f}",
            f"{row['tokens_per_turn']:.0f}",
            f"{row['cost_per_conversation_usd']:.5f}",
            f"{row['monthly_cost_usd']:.2f}",
        )
    console.print(table)


def _console() -> Any:
    """A rich console: the terminal's width, or 120 columns when the output is a file or pipe."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def tau2_command(args: argparse.Namespace) -> int:
    """Run `cxflow tau2 DOMAIN`: every task of a split k times, scored like tau2-bench."""
    from cxflow.simulators.runner import default_workers, progress_bar
    from cxflow.simulators.tau2.runner import run_domain

    data = Path(args.tau2_data)
    if not (data / args.domain).is_dir():
        raise UsageError(
            f"--tau2-data {args.tau2_data} has no {args.domain}/ folder; give the folder laid "
            "out like tau2-bench's data/tau2/domains"
        )
    if args.k < 1:
        raise UsageError("-k must be at least 1")
    from cxflow.llm.spec import interpreter_from_spec

    interpreter_from_spec(args.interpreter)  # a bad spec or a missing key: fail before any run
    if args.customer != "scripted" and args.customer.partition(":")[0] not in (
        "anthropic",
        "openai",
    ):
        raise UsageError(
            f"--customer {args.customer!r}: use scripted, anthropic:MODEL or openai:MODEL[@URL]"
        )
    result = run_domain(
        args.domain,
        data,
        split=args.split,
        k=args.k,
        seed=args.seed,
        workers=args.workers or default_workers(),
        task_ids=args.task or None,
        interpreter=args.interpreter,
        customer=args.customer,
        progress=None if args.quiet else progress_bar(),
    )
    if args.json:
        _write(args.json, json.dumps(result, indent=1), "JSON results")
    _print_tau2(result)
    return 0


def _print_tau2(result: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    k = result["k"]
    table = Table(title=f"cxflow tau2 {result['domain']} ({result['split']}), k={k}")
    table.add_column("task", overflow="fold", max_width=60)
    for column in ("rewards", "status", "1st div."):
        table.add_column(column, no_wrap=True)
    table.add_column("why", overflow="fold")
    for r in result["results"]:
        table.add_row(
            r["task_id"],
            " ".join(f"{x:.0f}" for x in r["rewards"]),
            r["status"],
            "-" if r["first_divergent_turn"] is None else str(r["first_divergent_turn"]),
            r["reason"][:100],
        )
    console.print(table)
    curve = "  ".join(f"pass^{n}={100 * v:.1f}%" for n, v in result["pass_hat_k"].items())
    console.print(
        f"{result['domain']}: {result['tasks']} tasks, {result['supported']} supported "
        f"({100 * result['supported'] / max(result['tasks'], 1):.0f}%); {curve}"
    )
    if result["not_judged"]["nl_assertions"]:
        console.print(
            f"not judged offline: natural-language assertions of "
            f"{len(result['not_judged']['nl_assertions'])} tasks (they need a model judge and "
            "are left out of the reward)"
        )
    sys.stdout.flush()
