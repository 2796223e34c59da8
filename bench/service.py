"""Turns per second through the HTTP service (`cxflow serve`) and the latency it adds per turn.

For each store (a SQLite file; PostgreSQL from `cxflow.pgtest.throwaway_postgres()`), the same
four-turn plan-upgrade conversation runs three ways:

- in process: `await engine.session(id).turn(text)`, what the service does for one request;
- over HTTP, one client at a time: `POST /v1/sessions/{id}/turns` against `cxflow serve` on
  127.0.0.1, timed at the client; interleaved round by round with the in-process runs, so
  drift and background load hit both alike;
- over HTTP under load: N concurrent clients each play M conversations back to back (bounded:
  the run stops by itself), for turns per second and the latency under load.

"Added by the service" is the HTTP latency minus the in-process latency (medians, and p99s),
plus, per request, the client's latency minus the turn time the server reports in its
`Server-Timing` header. `python bench/service.py --help`; the keys are listed in `results()`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from _machine import cpu_model, version

from cxflow import Engine
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.sql_store import SqlStore

FLOW = "plan_upgrade"
LINES = ("my number is 555-014-3301", "555-014-3301", "Everyday 20 please", "no thanks")
"""The customer declines the quote: no write to the CRM, so every conversation can repeat."""
FINAL_STATE = "declined"
TOKEN = "bench-token"
STORES = ("sqlite", "postgres")


@dataclass(frozen=True)
class Plan:
    """How much to run."""

    rounds: int
    """Interleaved rounds of (in-process, HTTP) conversations for the latency comparison."""
    per_round: int
    """Conversations per round and mode."""
    clients: int
    """Concurrent HTTP clients in the load run."""
    per_client: int
    """Conversations each client plays in the load run."""
    collect: bool = True
    """Run the garbage collector between rounds (off in --quick: it costs ~0.2 s a call in a
    big process such as a test run)."""


@dataclass
class Samples:
    """Per-turn latencies in microseconds, and what went wrong."""

    us: list[float] = field(default_factory=list[float])
    server_us: list[float] = field(default_factory=list[float])
    """The turn time the server reported (Server-Timing), per HTTP turn."""
    conversations: int = 0
    failed: int = 0
    """Conversations that did not reach the final state, or got an error response."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by nearest rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median and p99 of microsecond samples, rounded to 0.1 µs."""
    return {
        "p50_us": round(statistics.median(values), 1),
        "p99_us": round(percentile(values, 99), 1),
    }


# -- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running server."""

    url: str
    cpu_s: Callable[[], float] | None
    """CPU seconds its process has used so far (None: it runs in this process)."""


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux; 10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(db: str) -> Iterator[Served]:
    """`cxflow serve` in a subprocess on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "CXFLOW_API_TOKEN": TOKEN}
    env.pop("CXFLOW_API_TOKENS_FILE", None)
    command = [sys.executable, "-m", "cxflow.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", db, "--flow", FLOW, "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    has_proc = Path(f"/proc/{server.pid}/stat").exists()
    try:
        _wait_ready(url, lambda: server.poll() is None, 120)
        yield Served(url, (lambda: _process_cpu_s(server.pid)) if has_proc else None)
    finally:
        server.terminate()
        server.communicate(timeout=30)


@contextmanager
def server_thread(db: str) -> Iterator[Served]:
    """The same app in a thread of this process (for `--server thread`: fast, not faithful)."""
    import uvicorn

    from cxflow.service import create_app

    store = SqlStore(db)
    app = create_app(Engine([PlanUpgrade], store=store), tokens={TOKEN: "default"})
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-thread server did not start")
            time.sleep(0.002)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(f"http://127.0.0.1:{port}", None)
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()


def _wait_ready(url: str, alive: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx2.Client(base_url=url, timeout=1, trust_env=False) as http:
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError("cxflow serve exited during start-up")
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.05)
    raise RuntimeError(f"cxflow serve did not answer within {timeout_s} s")


# -- the three ways to run a conversation ------------------------------------------------------


async def in_process(engine: Engine, n: int, into: Samples) -> None:
    """n conversations as the service runs them: load the session, await the turn."""
    for _ in range(n):
        sid = engine.start(FLOW).id
        state = ""
        for text in LINES:
            started = time.perf_counter_ns()
            turn = await engine.session(sid).turn(text)
            into.us.append((time.perf_counter_ns() - started) / 1000)
            state = turn.state
        into.conversations += 1
        into.failed += state != FINAL_STATE


def over_http(http: httpx2.Client, n: int, into: Samples) -> None:
    """n conversations over HTTP, one request at a time."""
    for _ in range(n):
        sid = http.post("/v1/sessions", json={"flow": FLOW}).json()["session_id"]
        ok = True
        for text in LINES:
            started = time.perf_counter_ns()
            response = http.post(f"/v1/sessions/{sid}/turns", json={"text": text})
            into.us.append((time.perf_counter_ns() - started) / 1000)
            ok = response.status_code == 200
            if not ok:
                break
            into.server_us.append(_server_turn_us(response))
        into.conversations += 1
        into.failed += not ok or response.json()["state"] != FINAL_STATE


def _server_turn_us(response: httpx2.Response) -> float:
    """The turn time in the `Server-Timing: turn;dur=MS` header, in microseconds."""
    timing = response.headers.get("server-timing", "")
    return float(timing.partition("dur=")[2] or 0) * 1000


@dataclass
class Load:
    """What the load run measured."""

    samples: Samples
    seconds: float
    errors: int


async def under_load(url: str, plan: Plan) -> Load:
    """`plan.clients` clients at once, each playing `plan.per_client` conversations."""
    samples = Samples()
    errors = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def one_client() -> None:
        nonlocal errors
        async with httpx2.AsyncClient(
            base_url=url, headers=headers, timeout=30, trust_env=False
        ) as http:
            for _ in range(plan.per_client):
                created = await http.post("/v1/sessions", json={"flow": FLOW})
                sid = created.json()["session_id"]
                state = ""
                for text in LINES:
                    started = time.perf_counter_ns()
                    response = await http.post(f"/v1/sessions/{sid}/turns", json={"text": text})
                    samples.us.append((time.perf_counter_ns() - started) / 1000)
                    if response.status_code != 200:
                        errors += 1
                        break
                    state = response.json()["state"]
                samples.conversations += 1
                samples.failed += state != FINAL_STATE

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(plan.clients)))
    return Load(samples, time.perf_counter() - started, errors)


# -- one store ---------------------------------------------------------------------------------


def measure(store: str, base: str, server: str, plan: Plan) -> dict[str, Any]:
    """Every figure for one store: `base` is a SQLite folder or a PostgreSQL server URL."""
    local_db, served_db = _databases(store, base)
    serving = server_process if server == "subprocess" else server_thread
    local_store = SqlStore(local_db)
    engine = Engine([PlanUpgrade], store=local_store)
    local, remote = Samples(), Samples()
    local_cpu = served_cpu = load_cpu = 0.0
    try:
        with serving(served_db) as served, _client(served.url) as http:
            cpu = served.cpu_s or (lambda: 0.0)
            asyncio.run(in_process(engine, 1, Samples()))  # warm-up, not counted
            over_http(http, 1, Samples())
            for _ in range(plan.rounds):
                if plan.collect:
                    gc.collect()
                started = time.process_time()
                asyncio.run(in_process(engine, plan.per_round, local))
                local_cpu += time.process_time() - started
                before = cpu()
                over_http(http, plan.per_round, remote)
                served_cpu += cpu() - before
            if plan.collect:
                gc.collect()
            before = cpu()
            load = asyncio.run(under_load(served.url, plan))
            load_cpu = cpu() - before
            has_cpu = served.cpu_s is not None
    finally:
        local_store.close()
    overhead = [client - turn for client, turn in zip(remote.us, remote.server_us, strict=True)]
    inproc, http_seq = summary(local.us), summary(remote.us)
    turns_per_s = len(load.samples.us) / load.seconds
    return {
        "in_process": {
            "conversations": local.conversations,
            "turns": len(local.us),
            "failed_conversations": local.failed,
            **inproc,
        },
        "http": {
            "conversations": remote.conversations,
            "turns": len(remote.us),
            "failed_conversations": remote.failed,
            **http_seq,
            "server_turn_p50_us": round(statistics.median(remote.server_us), 1),
            "overhead_p50_us": round(statistics.median(overhead), 1),
            "overhead_p99_us": round(percentile(overhead, 99), 1),
        },
        "added_p50_us": round(http_seq["p50_us"] - inproc["p50_us"], 1),
        "added_p99_us": round(http_seq["p99_us"] - inproc["p99_us"], 1),
        "load": {
            "clients": plan.clients,
            "conversations": load.samples.conversations,
            "turns": len(load.samples.us),
            "failed_conversations": load.samples.failed,
            "error_responses": load.errors,
            "seconds": round(load.seconds, 3),
            "turns_per_s": round(turns_per_s, 1),
            **summary(load.samples.us),
        },
        "cpu": _cpu_figures(
            local_cpu / len(local.us),
            served_cpu / len(remote.us) if has_cpu else None,
            load_cpu / len(load.samples.us) if has_cpu else None,
        ),
    }


def _cpu_figures(
    in_process_s: float, served_s: float | None, loaded_s: float | None
) -> dict[str, float | None]:
    """CPU per turn (session starts included, one per conversation), in microseconds."""
    us = 1e6
    return {
        "in_process_us_per_turn": round(in_process_s * us, 1),
        "server_us_per_turn": None if served_s is None else round(served_s * us, 1),
        "server_us_per_turn_under_load": None if loaded_s is None else round(loaded_s * us, 1),
        "added_us_per_turn": None if served_s is None else round((served_s - in_process_s) * us, 1),
        "turns_per_s_per_server_core": None if not loaded_s else round(1 / loaded_s, 1),
    }


def _databases(store: str, base: str) -> tuple[str, str]:
    """Two empty databases: one for the in-process engine, one for the server."""
    if store == "sqlite":
        return str(Path(base) / "in_process.db"), str(Path(base) / "served.db")
    from cxflow.pgtest import fresh_database

    return fresh_database(base), fresh_database(base)


def _client(url: str) -> httpx2.Client:
    return httpx2.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
        trust_env=False,
    )


# -- reporting ---------------------------------------------------------------------------------


def results(
    figures: dict[str, dict[str, Any] | None], skipped: dict[str, str], server: str, plan: Plan
) -> dict[str, Any]:
    """Every figure in one JSON-ready dict.

    Keys: `stores.<sqlite|postgres>` (None when skipped, `skipped.<store>` says why) with
    `in_process` and `http` (`turns`, `p50_us`, `p99_us`, `failed_conversations`; `http` also
    `server_turn_p50_us` and `overhead_p50_us`/`overhead_p99_us`: client latency minus the
    server's turn time, per request), `added_p50_us`/`added_p99_us` (http minus in-process),
    and `load` (`clients`, `turns`, `seconds`, `turns_per_s`, `p50_us`, `p99_us`,
    `error_responses`), and `cpu` (CPU per turn, session starts included: `in_process_us_per_turn`
    in this process, `server_us_per_turn` of the server process in the sequential HTTP run,
    `server_us_per_turn_under_load`, `added_us_per_turn` = server minus in-process,
    `turns_per_s_per_server_core`; the server's are None with `--server thread`); `server`
    (subprocess or thread), `plan`, `python`, `machine`, `versions`.
    """
    return {
        "flow": FLOW,
        "conversation": list(LINES),
        "server": server,
        "plan": plan.__dict__,
        "stores": figures,
        "skipped": skipped,
        "python": platform.python_version(),
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        },
        "versions": {
            d: version(d) for d in ("cxflow", "fastapi", "uvicorn", "httpx2", "sqlalchemy")
        },
    }


def table(r: dict[str, Any]) -> str:
    """Render the figures as plain text."""
    lines = [
        f"{'store':<10}{'run':<24}{'turns':>7}{'p50 µs':>10}{'p99 µs':>10}{'turns/s':>10}"
        f"{'failed':>8}"
    ]
    for store, f in r["stores"].items():
        if f is None:
            lines.append(f"{store:<10}skipped: {r['skipped'][store]}")
            continue
        rows = (
            ("in process (sequential)", f["in_process"], ""),
            ("HTTP (sequential)", f["http"], ""),
            (f"HTTP ({f['load']['clients']} clients)", f["load"], f["load"]["turns_per_s"]),
        )
        for label, g, rate in rows:
            lines.append(
                f"{store:<10}{label:<24}{g['turns']:>7,}{g['p50_us']:>10,.0f}{g['p99_us']:>10,.0f}"
                f"{rate:>10}{g['failed_conversations']:>8}"
            )
        lines.append(
            f"{'':<10}added by the service: p50 {f['added_p50_us']:,.0f} µs, p99 "
            f"{f['added_p99_us']:,.0f} µs; per request (client minus server turn) p50 "
            f"{f['http']['overhead_p50_us']:,.0f} µs, p99 {f['http']['overhead_p99_us']:,.0f} µs"
        )
    m = r["machine"]
    for store, f in r["stores"].items():
        c = (f or {}).get("cpu", {})
        if c.get("server_us_per_turn") is not None:
            lines.append(
                f"{store:<10}CPU per turn: in process {c['in_process_us_per_turn']:,.0f} µs, "
                f"server {c['server_us_per_turn']:,.0f} µs (+{c['added_us_per_turn']:,.0f}), "
                f"under load {c['server_us_per_turn_under_load']:,.0f} µs = "
                f"{c['turns_per_s_per_server_core']:,.0f} turns/s per server core"
            )
    lines += [
        "",
        f"server: {r['server']}; python {r['python']} on {m['cpu']} ({m['cpu_count']} CPUs, "
        f"load {m['load_average_1m']})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print a table, or one JSON object with `--json`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a few seconds, rough figures")
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres (both)"
    )
    parser.add_argument(
        "--server",
        choices=("subprocess", "thread"),
        default="subprocess",
        help="`cxflow serve` in a subprocess (default), or the app in a thread of this process "
        "(fast start, shares the GIL with the client: for smoke tests)",
    )
    parser.add_argument("--clients", type=int, metavar="N", help="concurrent clients (8)")
    parser.add_argument(
        "--conversations", type=int, metavar="M", help="conversations per client under load (25)"
    )
    parser.add_argument(
        "--rounds", type=int, metavar="R", help="interleaved latency rounds (10) of 10 each"
    )
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = sorted(set(stores) - set(STORES))
    if unknown:
        parser.error(f"unknown store(s) {', '.join(unknown)}; choose from {', '.join(STORES)}")
    plan = Plan(
        rounds=args.rounds or (2 if args.quick else 10),
        per_round=2 if args.quick else 10,
        clients=args.clients or (2 if args.quick else 8),
        per_client=args.conversations or (2 if args.quick else 25),
        collect=not args.quick,
    )
    figures: dict[str, dict[str, Any] | None] = {}
    skipped: dict[str, str] = {}
    with ExitStack() as stack:
        for store in stores:
            if store == "sqlite":
                base = stack.enter_context(tempfile.TemporaryDirectory(prefix="cxflow-bench-"))
            else:
                from cxflow.errors import UsageError
                from cxflow.pgtest import throwaway_postgres

                try:
                    base = stack.enter_context(throwaway_postgres())
                except UsageError as exc:
                    figures[store], skipped[store] = None, str(exc).splitlines()[0]
                    continue
            figures[store] = measure(store, base, args.server, plan)
    r = results(figures, skipped, args.server, plan)
    print(json.dumps(r, indent=2) if args.json else table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
