"""`cxflow tui`: step through a recorded, live or simulated conversation and see both sides.

Screens: `ViewerScreen` (flow graph, transcript, agent/customer/truth state table, the selected
turn's details; live mode adds an input box and a phone panel) and `RunScreen` (a simulation
run's conversations, failed first). The TUI only displays records; turns go through `Session`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static

from cxflow.errors import CxflowError, UsageError
from cxflow.flow import Flow
from cxflow.records import TurnRecord
from cxflow.registry import get_flow
from cxflow.session import linked_flows
from cxflow.sql_store import SqlStore
from cxflow.tui.live import LiveConversation
from cxflow.tui.model import (
    Timeline,
    render_details,
    render_graph,
    render_state,
    render_transcript,
    run_conversations,
)

__all__ = ["CxflowTui", "RunScreen", "ViewerScreen", "build_app", "recorded_timeline", "run_tui"]

HELP = """\
[b]cxflow tui[/b]: step through a conversation

  n / →     next turn            p / ←     previous turn
  d         first divergence     /         search the transcript
  enter     (in search) next match
  escape    leave an input; back to the run list
  ?         this help            q         quit

[b]live mode[/b]
  i         type as the customer (enter sends, escape leaves the box)
  c         the simulated customer takes one turn
  P         next persona of the simulated customer

Panes: flow graph (current state highlighted, ✓ enabled / ✗ blocked transitions),
transcript, state (agent / customer / truth; divergences red with their kind),
the selected turn (commands, rejections, tool calls, timings, tokens, cost).

escape / q / ? closes this help."""


class HelpScreen(ModalScreen[None]):
    """The key bindings."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class Pane(VerticalScroll, can_focus=False):
    """A titled, scrollable pane (not focusable: keys stay with the screen)."""

    DEFAULT_CSS = """
    Pane {
        border: round $primary-darken-2; border-title-color: $accent; height: 1fr;
        scrollbar-size-vertical: 1;
    }
    Pane > Static { width: 100%; }
    """

    def __init__(self, title: str, pane_id: str) -> None:
        super().__init__(id=pane_id)
        self.border_title = title
        self.body = Static(id=f"{pane_id}-body")

    def compose(self) -> ComposeResult:
        yield self.body


class ViewerScreen(Screen[None]):
    """One conversation: graph, transcript, state table, details (and live controls)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,right", "step(1)", "next"),
        Binding("p,left", "step(-1)", "prev"),
        Binding("d", "divergence", "1st diverg."),
        Binding("slash", "search", "search"),
        Binding("i", "say", "type"),
        Binding("c", "customer", "sim turn"),
        Binding("P", "persona", "persona"),
        Binding("escape", "leave", "back", show=False),
    ]
    AUTO_FOCUS = ""
    DEFAULT_CSS = """
    #title { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    #columns { height: 1fr; }
    #left, #right { width: 1fr; }
    #graph { height: 2fr; }
    #transcript { height: 3fr; }
    #state { height: 1fr; }
    #details { height: 1fr; }
    #phone { height: auto; max-height: 2; padding: 0 1; background: $boost; }
    ViewerScreen Input { height: 1; border: none; padding: 0 1; }
    ViewerScreen Input:focus { border: none; background: $boost; }
    .hidden { display: none; }
    """

    def __init__(
        self,
        timeline: Timeline,
        *,
        title: str,
        live: LiveConversation | None = None,
        can_go_back: bool = False,
    ) -> None:
        super().__init__()
        self.timeline = timeline
        self.title_text = title
        self.live = live
        self.can_go_back = can_go_back
        self.query_text = ""
        self.status = ""
        if live is not None:
            live.session.listeners.append(self._on_record)

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="columns"):
            with Vertical(id="left"):
                yield Pane("graph", "graph")
                yield Pane("transcript", "transcript")
            with Vertical(id="right"):
                yield Pane("state: agent / customer / truth", "state")
                yield Pane("turn", "details")
        yield Static(id="phone", classes="hidden")
        yield Input(placeholder="search the transcript", id="search", classes="hidden")
        yield Input(
            placeholder="say something as the customer (escape: navigate)",
            id="say",
            classes="" if self.live is not None else "hidden",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_panes()
        if self.live is not None:
            self.query_one("#say", Input).focus()

    # -- rendering -----------------------------------------------------------------------------

    def refresh_panes(self) -> None:
        """Re-render every pane for the selected turn."""
        t = self.timeline
        position = f"turn {t.index + 1}/{len(t.records)}" if t.records else "no turns"
        title = f"{self.title_text} · {position}"
        if self.live is not None and self.live.customer is not None:
            title += f" · persona {self.live.persona}"
        if self.status:
            title += f" · {self.status}"
        self.query_one("#title", Static).update(title)
        self.query_one("#graph-body", Static).update(render_graph(t))
        transcript = self.query_one("#transcript", Pane)
        self.query_one("#transcript-body", Static).update(
            render_transcript(t, transcript.content_size.height, transcript.content_size.width)
        )
        state = self.query_one("#state", Pane)
        self.query_one("#state-body", Static).update(render_state(t, state.content_size.width))
        self.query_one("#details-body", Static).update(render_details(t))
        transcript.scroll_end(animate=False)
        self.query_one("#details", Pane).scroll_home(animate=False)
        phone = self.live.phone() if self.live is not None else None
        panel = self.query_one("#phone", Static)
        panel.set_class(phone is None, "hidden")
        if phone is not None:
            panel.update(phone)

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_panes)

    def _on_record(self, record: TurnRecord) -> None:
        """A session event: a turn was committed (live mode)."""
        self.timeline.append(record)
        self.status = ""
        self.refresh_panes()

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"say", "customer", "persona"}:
            return self.live is not None
        return True

    def action_step(self, delta: int) -> None:
        if self.timeline.step(delta):
            self.status = ""
            self.refresh_panes()

    def action_divergence(self) -> None:
        index = self.timeline.first_divergence()
        if index is None:
            self.status = "no divergence"
        else:
            self.timeline.index = index
            self.status = f"first divergence: turn {self.timeline.records[index].turn}"
        self.refresh_panes()

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("hidden")
        box.focus()

    def action_say(self) -> None:
        self.query_one("#say", Input).focus()

    def action_leave(self) -> None:
        focused = self.focused
        if isinstance(focused, Input):
            if focused.id == "search":
                focused.add_class("hidden")
            self.set_focus(None)
            return
        if self.can_go_back:
            self.app.pop_screen()

    async def action_customer(self) -> None:
        assert self.live is not None
        try:
            said = await self.live.customer_turn()
        except CxflowError as exc:
            self.status = str(exc).splitlines()[0]
            self.refresh_panes()
            return
        if said is None:
            self.status = "the simulated customer has nothing more to say"
            self.refresh_panes()

    def action_persona(self) -> None:
        assert self.live is not None
        self.live.cycle_persona()
        self.refresh_panes()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if query != self.query_text:
            self.query_text = query
            found = self.timeline.search(query, after=-1)
        else:
            found = self.timeline.search(query)
        if found is None:
            self.status = f"no match for {query!r}"
        else:
            self.timeline.index = found
            self.status = f"match {query!r}: turn {self.timeline.records[found].turn}"
        self.refresh_panes()

    @on(Input.Submitted, "#say")
    async def _say(self, event: Input.Submitted) -> None:
        assert self.live is not None
        text = event.value.strip()
        if not text:
            return
        event.input.clear()
        try:
            await self.live.say(text)
        except CxflowError as exc:
            self.status = str(exc).splitlines()[0]
            self.refresh_panes()


class RunScreen(Screen[None]):
    """A simulation run's conversations, failed first; enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", "open", show=True)]
    DEFAULT_CSS = """
    #run-title { height: 1; background: $primary-background; padding: 0 1; }
    DataTable { height: 1fr; }
    """

    def __init__(self, run: Mapping[str, Any], store: SqlStore) -> None:
        super().__init__()
        self.run = run
        self.store = store
        self.conversations = run_conversations(run)

    def compose(self) -> ComposeResult:
        failed = sum(1 for c in self.conversations if c.get("failures"))
        yield Static(
            f"run {self.run.get('run_id', '?')} · {len(self.conversations)} conversations · "
            f"{failed} failed",
            id="run-title",
        )
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        table.add_columns("", "flow", "scenario", "persona", "#", "div", "failures")
        for i, c in enumerate(self.conversations):
            failures = list(c.get("failures", []))
            first = c.get("first_divergent_turn")
            table.add_row(
                "✗" if failures or float(c.get("reward", 0.0)) < 1.0 else "✓",
                str(c.get("flow", "")),
                str(c.get("scenario", "")),
                str(c.get("persona", "")),
                str(c.get("trial", "")),
                "" if first is None else str(first),
                "; ".join(failures)[:60],
                key=str(i),
            )
        table.focus()

    def action_open(self) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        if table.row_count:
            self.open(table.cursor_row)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.open(event.cursor_row)

    def open(self, row: int) -> None:
        """Open the conversation of a row in the viewer (escape comes back)."""
        c = self.conversations[row]
        session_id = str(c.get("session_id", ""))
        try:
            timeline = recorded_timeline(self.store, session_id)
        except CxflowError as exc:
            self.notify(str(exc), severity="error")
            return
        title = f"{c.get('flow')} · {c.get('scenario')} · {c.get('persona')} #{c.get('trial')}"
        self.app.push_screen(ViewerScreen(timeline, title=title, can_go_back=True))


class CxflowTui(App[int]):
    """The cxflow TUI; `start` builds its first screen."""

    TITLE = "cxflow"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help"),
    ]

    def __init__(self, start: Callable[[], Screen[None]], *, on_exit: Callable[[], None]) -> None:
        super().__init__()
        self._start = start
        self._on_exit = on_exit

    def on_mount(self) -> None:
        self.push_screen(self._start())
        # The loaded records and widgets live as long as the app: move them out of the cyclic
        # GC's reach, or every full collection walks them all (p95 of a step: ~150 -> ~75 ms).
        self.call_after_refresh(gc.freeze)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        self._on_exit()


def recorded_timeline(store: SqlStore, session_id: str) -> Timeline:
    """A stored session's records, the first turn selected.

    Raises:
        SessionNotFoundError: No such session.
        UnknownFlowError: Its flow is not a reference flow.
    """
    snapshot = store.load_session(session_id)
    root = get_flow(snapshot.root_flow)
    records = store.turns(session_id)
    return Timeline(root, linked_flows(root), records, index=0 if records else -1)


def build_app(
    *,
    flow: str | None = None,
    session_id: str | None = None,
    run_id: str | None = None,
    db: str,
    timeline: Timeline | None = None,
) -> CxflowTui:
    """The app for one of the three modes (or a given timeline); loading errors raise here.

    Raises:
        UsageError: Not exactly one of flow, session_id, run_id; or no such run.
        SessionNotFoundError, UnknownFlowError: As `recorded_timeline` and `get_flow`.
    """
    chosen = [x for x in (flow, session_id, run_id, timeline) if x is not None]
    if len(chosen) != 1:
        raise UsageError("give exactly one of FLOW, --session ID or --run ID")
    store = SqlStore(db)
    try:
        start: Callable[[], Screen[None]]
        if timeline is not None:
            fixed = timeline

            def start() -> Screen[None]:
                return ViewerScreen(fixed, title=f"session · {fixed.flow.flow_id}")
        elif session_id is not None:
            recorded = recorded_timeline(store, session_id)

            def start() -> Screen[None]:
                return ViewerScreen(recorded, title=f"session {session_id[:12]}")
        elif run_id is not None:
            try:
                run = store.load_run(run_id)
            except KeyError:
                known = ", ".join(r.run_id for r in store.list_runs(10)) or "none"
                raise UsageError(f"no run {run_id!r} in {db} (recent runs: {known})") from None

            def start() -> Screen[None]:
                return RunScreen(run, store)
        else:
            assert flow is not None
            flow_class: type[Flow[Any]] = get_flow(flow)
            live = LiveConversation(flow_class, store)
            opening = live.session.reply
            live_timeline = Timeline(flow_class, dict(live.session.flows), opening=opening)

            def start() -> Screen[None]:
                return ViewerScreen(
                    live_timeline, title=f"live {flow} · {live.session.id[:8]}", live=live
                )
    except BaseException:
        store.close()
        raise
    return CxflowTui(start, on_exit=store.close)


def run_tui(*, flow: str | None, session_id: str | None, run_id: str | None, db: str) -> int:
    """Run `cxflow tui` (live FLOW, recorded --session, or --run browser); return the exit code.

    Raises:
        UsageError: Not exactly one of the three, or no such run.
        SessionNotFoundError, UnknownFlowError: Unknown session or flow.
    """
    app = build_app(flow=flow, session_id=session_id, run_id=run_id, db=db)
    result = app.run()
    return result if isinstance(result, int) else 0
