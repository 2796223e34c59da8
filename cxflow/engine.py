"""`Engine`: what an embedding bot holds — its flows, one store, one interpreter.

```python
engine = Engine([PlanUpgrade], store=SqlStore("cxflow.db"))
session = engine.start("plan_upgrade")
turn = session.turn_sync("upgrade line 555-0100 to Unlimited")
later = engine.session(session.id)          # another request, process or replica
```
Sessions are small snapshots in the store; the engine keeps no per-session state, so any
number of engines (processes, replicas) can share one store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from cxflow.errors import UnknownFlowError, UsageError
from cxflow.records import TurnRecord
from cxflow.session import Session, Turn, linked_flows
from cxflow.store import MemoryStore, Store

if TYPE_CHECKING:
    from cxflow.flow import Flow
    from cxflow.interpreter import Interpreter
    from cxflow.phrasing import Phraser

__all__ = ["Engine", "EngineListener"]

EngineListener = Callable[[Session, TurnRecord], None]
"""Called after every committed turn of every session the engine runs."""


class Engine:
    """Starts and loads sessions of a fixed set of flows over one store and one interpreter."""

    def __init__(
        self,
        flows: Iterable[type[Flow[Any]]] | Mapping[str, type[Flow[Any]]],
        *,
        store: Store | None = None,
        interpreter: Interpreter | None = None,
        env: object = None,
        env_factory: Callable[[type[Flow[Any]]], object] | None = None,
        phraser: Phraser | None = None,
    ) -> None:
        """Set up an engine.

        Args:
            flows: The flow classes customers may start (flows they link to are added).
            store: Where sessions live; defaults to a new `MemoryStore` (lost on exit).
            interpreter: Defaults to the offline `RuleInterpreter`.
            env: What every session's tools act on (your backend client). When omitted, each
                flow's `make_env()` is called once per engine and shared by its sessions, so a
                write in one turn is visible to the next.
            env_factory: Instead of `env`: builds the environment for a flow class, called once
                per session start or load.
            phraser: Optional model phrasing of replies (see `cxflow.phrasing`).

        Raises:
            UsageError: No flows, or both `env` and `env_factory`.
        """
        given: list[type[Flow[Any]]] = list(
            cast("Mapping[str, type[Flow[Any]]]", flows).values()
            if isinstance(flows, Mapping)
            else flows
        )
        if not given:
            raise UsageError("Engine needs at least one flow class, e.g. Engine([PlanUpgrade]).")
        if env is not None and env_factory is not None:
            raise UsageError("pass either env= (one shared object) or env_factory=, not both.")
        self.entry: dict[str, type[Flow[Any]]] = {f.flow_id: f for f in given}
        """The flows a session may start with, by id."""
        self.flows: dict[str, type[Flow[Any]]] = {}
        """Every flow the engine can run (entry flows and the flows they link to), by id."""
        for flow in given:
            self.flows.update(linked_flows(flow))
        self.store: Store = store if store is not None else MemoryStore()
        self.interpreter = interpreter
        self.phraser = phraser
        self._env = env
        self._env_factory = env_factory
        self._envs: dict[str, object] = {}
        self.listeners: list[EngineListener] = []

    def on_turn(self, listener: EngineListener) -> EngineListener:
        """Call `listener(session, record)` after every committed turn; usable as a decorator."""
        self.listeners.append(listener)
        return listener

    def flow(self, flow_id: str) -> type[Flow[Any]]:
        """Return an entry flow by id, or raise `UnknownFlowError` listing them."""
        found = self.entry.get(flow_id)
        if found is None:
            raise UnknownFlowError(flow_id, sorted(self.entry))
        return found

    def env_for(self, flow: type[Flow[Any]]) -> object:
        """The environment a session of this flow acts on."""
        if self._env is not None:
            return self._env
        if self._env_factory is not None:
            return self._env_factory(flow)
        if flow.flow_id not in self._envs:
            self._envs[flow.flow_id] = flow.make_env()
        return self._envs[flow.flow_id]

    def start(
        self,
        flow: str | type[Flow[Any]],
        *,
        session_id: str | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Session:
        """Start a conversation with an entry flow (by id or class) and store it."""
        cls = self.flow(flow if isinstance(flow, str) else flow.flow_id)
        session = Session.start(
            cls,
            interpreter=self.interpreter,
            store=self.store,
            env=self.env_for(cls),
            flows=self.flows,
            session_id=session_id,
            meta=meta,
        )
        return self._wire(session)

    def session(self, session_id: str) -> Session:
        """Load a stored session; a turn that crashed before its commit completes on the next turn.

        Raises:
            SessionNotFoundError: No session has that id.
            UnknownFlowError: The session's flow is not one of this engine's.
        """
        snap = self.store.load_session(session_id)
        root = self.flows.get(snap.root_flow)
        if root is None:
            raise UnknownFlowError(snap.root_flow, sorted(self.flows))
        session = Session.load(
            session_id,
            flows=self.flows,
            store=self.store,
            interpreter=self.interpreter,
            env=self.env_for(root),
            snapshot=snap,
        )
        return self._wire(session)

    async def turn(self, session_id: str, text: str) -> Turn:
        """Load a session and run one customer turn (one call per incoming message)."""
        return await self.session(session_id).turn(text)

    def turn_sync(self, session_id: str, text: str) -> Turn:
        """Synchronous `turn`."""
        return self.session(session_id).turn_sync(text)

    def _wire(self, session: Session) -> Session:
        if self.phraser is not None:
            session.phraser = self.phraser
        if self.listeners:
            session.listeners.append(lambda record: self._notify(session, record))
        return session

    def _notify(self, session: Session, record: TurnRecord) -> None:
        for listener in self.listeners:
            listener(session, record)
