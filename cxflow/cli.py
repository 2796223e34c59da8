"""The `cxflow` command: list the flows, draw one, chat with one as the customer, replay a session.

```
cxflow flows                                        id and title of every reference flow
cxflow graph FLOW [--format mermaid|dot|svg|png] [-o FILE]
cxflow chat FLOW [--db PATH] [--session ID]         talk to a flow offline (RuleInterpreter)
cxflow replay SESSION_ID [--db PATH]                rerun a stored session with zero model calls
cxflow replay --list [--db PATH]                    the stored sessions, newest first
cxflow simulate FLOW|all [--scenarios FILE] [--personas P1,P2] -k K [--json F] [--html F]
cxflow tau2 DOMAIN --tau2-data DIR [--split SPLIT] -k K [--json FILE]
cxflow serve [--host H] [--port N] [--db PATH] [--flow ID]...   HTTP API, token: $CXFLOW_API_TOKEN
```

Sessions live in a SQLite file, `cxflow.db` in the current directory unless `--db` names another
file or a SQLAlchemy URL (`postgresql+psycopg://...`). A user's mistake (an unknown flow or
session, a missing database file) is one line on stderr starting `cxflow: error: ` and exit code
2; other failures exit 1, Ctrl-C exits 130. Subcommands import what they need (the flows, the
SQL store, Graphviz) only when they run.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cxflow import __version__
from cxflow.errors import CxflowError, SessionNotFoundError, UnknownFlowError, UsageError

if TYPE_CHECKING:
    from cxflow.flow import Flow
    from cxflow.interpreter import Interpreter
    from cxflow.session import Session
    from cxflow.sql_store import SqlStore

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_DB = "cxflow.db"

Command = Callable[[argparse.Namespace], int]


_UsageError = UsageError
"""The command line asks for something that cannot be done as given (exit code 2)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error reported as one `cxflow: error: ` line."""

    def error(self, message: str) -> NoReturn:
        """Print the problem and where to read the usage, then exit with code 2."""
        self.exit(EXIT_USAGE, f"cxflow: error: {message}. See `{self.prog} --help`.\n")


def main(argv: list[str] | None = None) -> int:
    """Run the `cxflow` command line and return its exit code.

    Args:
        argv: The arguments after the program name; defaults to `sys.argv[1:]`.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, and argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE if exc.code else EXIT_OK
    command: Command = args.command
    try:
        return command(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except (_UsageError, UnknownFlowError, SessionNotFoundError) as exc:
        _error(exc)
        return EXIT_USAGE
    except CxflowError as exc:
        _error(exc)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="cxflow",
        description="Customer-service dialogue as explicit state graphs.",
    )
    parser.add_argument("--version", action="version", version=f"cxflow {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    db_help = (
        "session database: a SQLite file or a SQLAlchemy URL "
        f"(default: {DEFAULT_DB} in the current directory)"
    )

    flows = sub.add_parser("flows", help="list the reference flows: id, two spaces, title")
    flows.set_defaults(command=_flows)

    graph = sub.add_parser("graph", help="draw a flow as Mermaid, DOT, SVG or PNG")
    graph.add_argument("flow", metavar="FLOW", help="flow id (see `cxflow flows`)")
    graph.add_argument(
        "--format",
        choices=("mermaid", "dot", "svg", "png"),
        default="mermaid",
        help="mermaid (default) and dot print text; svg and png need Graphviz's `dot`",
    )
    graph.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of stdout (png needs it)"
    )
    graph.set_defaults(command=_graph)

    chat = sub.add_parser("chat", help="talk to a flow as the customer (offline)")
    chat.add_argument("flow", metavar="FLOW", help="flow id (see `cxflow flows`)")
    chat.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=db_help)
    chat.add_argument("--session", metavar="ID", help="resume this stored session")
    chat.add_argument(
        "--tau2-data",
        metavar="DIR",
        help="run on tau2-bench's real databases from DIR, laid out like tau2-bench's "
        "data/tau2/domains (default: the bundled sample data)",
    )
    chat.add_argument(
        "--interpreter",
        default="rules",
        metavar="SPEC",
        help="rules (default, offline), anthropic:MODEL, openai:MODEL[@BASE_URL], a fallback "
        "chain A>B, or per-state routes STATE=SPEC,...,*=SPEC",
    )
    chat.set_defaults(command=_chat)

    replay = sub.add_parser(
        "replay", help="rerun a stored session without a model and check it is identical"
    )
    replay.add_argument("session_id", nargs="?", metavar="SESSION_ID", help="session to replay")
    replay.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=db_help)
    replay.add_argument("--list", action="store_true", help="list the stored sessions instead")
    replay.add_argument(
        "--to-test",
        metavar="FILE",
        help="write a pytest file that replays this conversation and fails on any difference",
    )
    replay.set_defaults(command=_replay)

    simulate = sub.add_parser(
        "simulate",
        help="play simulated customers against flows k times each and report pass^k",
        description="Play every scenario of a flow's library (or --scenarios FILE) k times "
        "with scripted customers, store the conversations, print a table and write JSON/HTML.",
    )
    simulate.add_argument("flow", metavar="FLOW", help="flow id, or `all` for every flow")
    simulate.add_argument(
        "--scenarios", metavar="FILE", help="a scenario file (default: the flow's own library)"
    )
    simulate.add_argument(
        "--personas",
        metavar="P1,P2",
        help="persona mixes to play every scenario with, each `name` or `name:probability` "
        "(default probability 0.5; `cooperative` = none), on top of each scenario's own",
    )
    simulate.add_argument("-k", type=int, default=4, metavar="K", help="trials per task (4)")
    simulate.add_argument("--seed", type=int, default=0, help="seed of the first trial (0)")
    simulate.add_argument(
        "--workers", type=int, default=0, metavar="N", help="processes (default: one per CPU)"
    )
    simulate.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=db_help)
    simulate.add_argument("--json", metavar="FILE", help="write the run's JSON to FILE")
    simulate.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    simulate.add_argument(
        "--sessions-per-day",
        type=int,
        default=10_000,
        metavar="N",
        help="sessions a day for the report's projected monthly cost (10000)",
    )
    simulate.add_argument(
        "--prices", metavar="FILE", help="price table JSON, USD per million tokens per model"
    )
    simulate.add_argument(
        "--interpreter",
        action="append",
        metavar="SPEC",
        help="the agent's interpreter (default: rules); give several to compare routing "
        "configurations side by side on the same scenarios",
    )
    simulate.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="conversations at once for model-backed interpreters (8)",
    )
    simulate.add_argument("--quiet", action="store_true", help="no progress bar")
    simulate.set_defaults(command=_simulation("simulate_command"))

    tau2 = sub.add_parser(
        "tau2",
        help="run tau2-bench's tasks as cxflow runs and score them like tau2",
        description="Turn each tau2 task into a flow and a scripted customer, run it k times, "
        "and score with tau2's semantics (DB, environment assertions, actions, communicated "
        "info; natural-language assertions are not judged offline).",
    )
    tau2.add_argument("domain", choices=("airline", "retail", "telecom"), metavar="DOMAIN")
    tau2.add_argument(
        "--tau2-data",
        required=True,
        metavar="DIR",
        help="a folder laid out like tau2-bench's data/tau2/domains",
    )
    tau2.add_argument("--split", default="train", help="train (default), test, or base (all)")
    tau2.add_argument("-k", type=int, default=4, metavar="K", help="trials per task (4)")
    tau2.add_argument("--seed", type=int, default=0, help="seed of the first trial (0)")
    tau2.add_argument(
        "--workers", type=int, default=0, metavar="N", help="processes (default: one per CPU)"
    )
    tau2.add_argument(
        "--task", action="append", metavar="ID", help="run only this task (repeatable)"
    )
    tau2.add_argument("--json", metavar="FILE", help="write the results JSON to FILE")
    tau2.add_argument(
        "--interpreter",
        default="rules",
        metavar="SPEC",
        help="the agent's interpreter (default: rules, offline); see `cxflow chat --help`",
    )
    tau2.add_argument(
        "--customer",
        default="scripted",
        metavar="SPEC",
        help="scripted (default: derived from the task, offline), or tau2's model-driven user "
        "simulator: anthropic:MODEL or openai:MODEL[@BASE_URL]",
    )
    tau2.add_argument("--quiet", action="store_true", help="no progress bar")
    tau2.set_defaults(command=_simulation("tau2_command"))

    tui = sub.add_parser(
        "tui",
        help="step through a conversation in the terminal: live FLOW, --session ID or --run ID",
        description="Open the terminal UI: talk to FLOW live (type as the customer, or let the "
        "simulated customer take a turn), or step through a recorded --session, or browse the "
        "conversations of a simulation --run sorted by failure. Needs the `tui` extra.",
    )
    tui.add_argument("flow", nargs="?", metavar="FLOW", help="flow id to run live")
    tui.add_argument("--session", metavar="ID", help="step through this stored session")
    tui.add_argument("--run", metavar="ID", help="browse this simulation run's conversations")
    tui.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=db_help)
    tui.set_defaults(command=_tui)

    serve = sub.add_parser(
        "serve",
        help="serve the flows over HTTP (JSON API, OpenAPI docs at /docs)",
        description="Run the HTTP service: start sessions, post customer messages, read "
        "sessions and turns. Bearer token from CXFLOW_API_TOKEN (the default tenant) and/or a "
        "tokens file mapping token -> tenant. Needs the `serve` extra.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument("--db", default=DEFAULT_DB, metavar="PATH_OR_URL", help=db_help)
    serve.add_argument(
        "--flow", action="append", metavar="ID", help="serve only this flow (repeatable)"
    )
    serve.add_argument(
        "--interpreter", default="rules", metavar="SPEC", help="see `cxflow chat --help` (rules)"
    )
    serve.add_argument(
        "--tokens",
        metavar="FILE",
        help="JSON or TOML file mapping token -> tenant (default: $CXFLOW_API_TOKENS_FILE)",
    )
    serve.add_argument(
        "--no-auth", action="store_true", help="serve without tokens (local development only)"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (info logs every request)",
    )
    serve.set_defaults(command=_serve)
    return parser


def _simulation(name: str) -> Command:
    """A command run by `cxflow.simulators.commands` (imported only when it runs)."""

    def run(args: argparse.Namespace) -> int:
        module = importlib.import_module("cxflow.simulators.commands")
        command: Command = getattr(module, name)
        return command(args)

    return run


def _tui(args: argparse.Namespace) -> int:
    chosen = [name for name in ("flow", "session", "run") if getattr(args, name) is not None]
    if len(chosen) != 1:
        raise _UsageError(
            "give exactly one of FLOW (live), --session ID or --run ID; e.g. "
            "`cxflow tui plan_upgrade`"
        )
    if args.flow is None:
        _require_db(args.db)
    # cxflow.tui lives in tui/ (outside what pyright reads); without the `tui` extra the import
    # raises MissingExtraError with the install line
    run_tui: Callable[..., int] = importlib.import_module("cxflow.tui.app").run_tui
    return run_tui(flow=args.flow, session_id=args.session, run_id=args.run, db=args.db)


def _serve(args: argparse.Namespace) -> int:
    # without the `serve` extra, importing cxflow.service raises MissingExtraError (exit 1)
    from cxflow.service import serve_command

    return serve_command(args)


# -- flows and graph ---------------------------------------------------------------------------


def _flows(args: argparse.Namespace) -> int:
    from cxflow.registry import reference_flows

    for flow_id, flow in reference_flows().items():
        print(f"{flow_id}  {flow.spec.title}")
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    from cxflow import graph
    from cxflow.registry import get_flow

    flow = get_flow(args.flow)
    fmt: str = args.format
    output: str | None = args.output
    if fmt == "png" and output is None:
        raise _UsageError("PNG is binary; give the file to write with -o FILE.")
    if fmt in ("mermaid", "dot"):
        text = graph.to_mermaid(flow) if fmt == "mermaid" else graph.to_dot(flow)
        if output is None:
            sys.stdout.write(text)
            return EXIT_OK
        data = text.encode()
    else:
        data = graph.render_image(flow, "svg" if fmt == "svg" else "png")
        if output is None:
            sys.stdout.write(data.decode())
            return EXIT_OK
    try:
        Path(output).write_bytes(data)
    except OSError as exc:
        raise CxflowError(
            f"cannot write {output}: {exc.strerror or exc}. Check the directory exists and is "
            "writable."
        ) from exc
    return EXIT_OK


# -- chat --------------------------------------------------------------------------------------


def _chat(args: argparse.Namespace) -> int:
    from cxflow.registry import get_flow

    flow = get_flow(args.flow)
    db: str = args.db
    if args.session is not None:
        _require_db(db)
    env = _env(flow, args.tau2_data)
    interpreter = _interpreter(args.interpreter)
    store = _open_store(db)
    session: Session | None = None
    try:
        session = (
            _resume(flow, args.session, store, env, interpreter)
            if args.session is not None
            else _start(flow, store, env, args.tau2_data, interpreter)
        )
        if not session.done:
            _converse(session, interactive=sys.stdin.isatty())
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if session is not None:
            outcome = session.outcome or ("ended" if session.done else "open")
            print(
                f"session {session.id} ({outcome}); replay with: cxflow replay {session.id} "
                f"--db {shlex.quote(db)}",
                file=sys.stderr,
            )
        store.close()
    return EXIT_OK


def _env(flow: type[Flow[Any]], tau2_data: str | None) -> object:
    """The flow's environment: its sample data, or tau2's real data from a folder."""
    if tau2_data is None:
        return flow.make_env()
    folder = Path(tau2_data)
    if not folder.is_dir():
        raise _UsageError(
            f"--tau2-data {tau2_data} is not a directory; give the folder laid out like "
            "tau2-bench's data/tau2/domains (it holds airline/, retail/, telecom/)."
        )
    return flow.make_env(tau2_data=folder)


def _interpreter(spec: str) -> Interpreter:
    from cxflow.llm.spec import interpreter_from_spec

    return interpreter_from_spec(spec)


def _start(
    flow: type[Flow[Any]],
    store: SqlStore,
    env: object,
    tau2_data: str | None,
    interpreter: Interpreter,
) -> Session:
    from cxflow.registry import reference_flows
    from cxflow.session import Session

    meta = {"tau2_data": str(Path(tau2_data).resolve())} if tau2_data else {}
    session = Session.start(
        flow,
        store=store,
        flows=reference_flows(),
        env=env,
        meta=meta,
        interpreter=interpreter,
    )
    print(f"agent> {session.reply}", flush=True)
    return session


def _resume(
    flow: type[Flow[Any]],
    session_id: str,
    store: SqlStore,
    env: object,
    interpreter: Interpreter,
) -> Session:
    from cxflow.registry import reference_flows
    from cxflow.session import ConversationEndedError, Session

    session = Session.load(
        session_id, flows=reference_flows(), store=store, env=env, interpreter=interpreter
    )
    root = session.snapshot.root_flow
    if root != flow.flow_id:
        raise _UsageError(
            f"session {session_id!r} is a conversation with {root!r}, not {flow.flow_id!r}. "
            f"Resume it with: cxflow chat {root} --session {session_id}"
        )
    if session.done:
        raise _UsageError(str(ConversationEndedError(session_id, session.outcome)))
    print(f"agent> {session.reply}", flush=True)
    pending = session.pending
    if pending is not None:  # the previous run stopped mid-turn; finish that turn first
        print(f"you> {pending.customer_text}")
        turn = session.resume_sync()
        if turn is not None:
            print(f"agent> {turn.reply}", flush=True)
    return session


def _converse(session: Session, *, interactive: bool) -> None:
    """Send each non-empty customer line to the session until it ends or the input does."""
    for line in _customer_lines(interactive):
        text = line.strip()
        if not text:
            continue
        turn = session.turn_sync(text)
        print(f"agent> {turn.reply}", flush=True)
        if turn.done:
            return


def _customer_lines(interactive: bool) -> Iterator[str]:
    while True:
        if interactive:
            try:
                line = input("you> ")
            except EOFError:
                print()
                return
        else:
            line = sys.stdin.readline()
            if not line:
                return
        yield line


# -- replay ------------------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    db: str = args.db
    session_id: str | None = args.session_id
    if args.list and session_id is not None:
        raise _UsageError("give a SESSION_ID or --list, not both.")
    if not args.list and session_id is None:
        raise _UsageError("give the SESSION_ID to replay, or --list to see the stored sessions.")
    _require_db(db)
    store = _open_store(db)
    try:
        if session_id is None:
            return _list_sessions(store, db)
        if args.to_test:
            return _write_regression_test(store, session_id, args.to_test, db)
        return _replay_session(store, session_id)
    finally:
        store.close()


def _list_sessions(store: SqlStore, db: str) -> int:
    summaries = store.list_sessions()
    if not summaries:
        print(f"no sessions in {db}", file=sys.stderr)
        return EXIT_OK
    rows = [("id", "flow", "state", "turns", "outcome")]
    for s in summaries:
        outcome = s.outcome or ("ended" if s.done else "open")
        rows.append((s.session_id, s.flow, s.state, str(s.version), outcome))
    print("\n".join(_columns(rows)))
    return EXIT_OK


def _replay_session(store: SqlStore, session_id: str) -> int:
    from cxflow.interpreter import ReplayInterpreter
    from cxflow.registry import reference_flows
    from cxflow.session import Session
    from cxflow.store import MemoryStore

    stored = store.load_session(session_id)
    records = store.turns(session_id)
    flows = reference_flows()
    if stored.root_flow not in flows:
        raise UnknownFlowError(stored.root_flow, list(flows))
    root = flows[stored.root_flow]
    tau2_data = stored.meta.get("tau2_data")  # the session ran on tau2's data: replay on it too
    session = Session.start(
        root,
        interpreter=ReplayInterpreter(records),
        store=MemoryStore(),
        env=_env(root, tau2_data),
        flows=flows,
        session_id=session_id,
    )
    print(f"agent> {session.reply}", flush=True)
    model_calls = 0
    for record in records:
        print(f"you> {record.customer_text}")
        if session.done:
            what = f"state before (the replay already ended, {session.outcome})"
            return _differs(record.turn, what, record.state_before, session.state)
        turn = session.turn_sync(record.customer_text)
        model_calls += turn.record.usage.model_calls
        print(f"agent> {turn.reply}")
        if turn.reply != record.reply.text:
            return _differs(record.turn, "reply", record.reply.text, turn.reply)
        if turn.record.state_after != record.state_after:
            return _differs(record.turn, "state after", record.state_after, turn.record.state_after)
    print(f"identical: {len(records)} turns, {model_calls} model calls")
    return EXIT_OK


def _write_regression_test(store: SqlStore, session_id: str, path: str, db: str) -> int:
    import json
    from datetime import UTC, datetime

    stored = store.load_session(session_id)
    records = [r.model_dump(mode="json") for r in store.turns(session_id)]
    name = "".join(ch if ch.isalnum() else "_" for ch in session_id)[:40]
    tau2_data = stored.meta.get("tau2_data")
    body = (
        f'"""Regression test: session {session_id} ({stored.root_flow}, {len(records)} turns),\n'
        f"written by `cxflow replay {session_id} --to-test` from {db} on "
        f"{datetime.now(UTC):%Y-%m-%d}. It replays the recorded commands with zero model calls\n"
        'and fails on the first reply or state that differs."""\n\n'
        "import json\n\nfrom cxflow.testing import assert_replays\n\n"
        f"RECORDS = json.loads({json.dumps(json.dumps(records))})\n\n\n"
        f"def test_session_{name}_replays_identically() -> None:\n"
        f"    assert_replays(RECORDS, flow={stored.root_flow!r}, tau2_data={tau2_data!r})\n"
    )
    try:
        Path(path).write_text(body, encoding="utf-8")
    except OSError as exc:
        raise _UsageError(f"cannot write {path}: {exc.strerror}") from exc
    print(f"wrote {path}: run it with `pytest {shlex.quote(path)}`")
    return EXIT_OK


def _differs(turn: int, what: str, stored: str, replayed: str) -> int:
    print(f"differs at turn {turn}: {what}")
    print(f"  stored:   {stored!r}")
    print(f"  replayed: {replayed!r}")
    return EXIT_FAILED


# -- shared ------------------------------------------------------------------------------------


def _open_store(db: str) -> SqlStore:
    from cxflow.sql_store import SqlStore

    return SqlStore(db)


def _require_db(db: str) -> None:
    """Refuse a database file that does not exist (opening it would create an empty one)."""
    if "://" in db and not db.startswith("sqlite:///"):
        return  # a server URL: the store reports what is wrong with it
    path = Path(db.removeprefix("sqlite:///"))
    if db.endswith(":memory:") or path.is_file():
        return
    raise _UsageError(
        f"no session database {str(path)!r}. Sessions are saved by `cxflow chat` (default "
        f"--db {DEFAULT_DB} in the current directory); pass --db with the file it wrote."
    )


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _error(exc: BaseException) -> None:
    print(f"cxflow: error: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
