"""What a conversation leaves behind: one versioned `TurnRecord` per turn, and session snapshots.

Records are pydantic models because they are persisted and replayed. `TURN_RECORD_VERSION` is
bumped whenever a field changes meaning; readers refuse versions they do not know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TURN_RECORD_VERSION",
    "Claimed",
    "Confirmation",
    "Divergence",
    "Frame",
    "PendingTurn",
    "Rejected",
    "Reply",
    "SessionSnapshot",
    "Timings",
    "ToolCallRecord",
    "TransitionTaken",
    "TurnRecord",
    "Usage",
]

TURN_RECORD_VERSION = 1
Outcome = Literal["completed", "refused", "cancelled", "handed_off"] | str
_RECORD = ConfigDict(extra="forbid", defer_build=True)


def utcnow() -> datetime:
    """Return the current time in UTC (the one clock records use)."""
    return datetime.now(UTC)


class Rejected(BaseModel):
    """A command the machine refused, with the reason given back to the interpreter."""

    model_config = _RECORD
    command: dict[str, Any] | str
    reason: str
    guard: str | None = None
    attempt: int = 1


class TransitionTaken(BaseModel):
    """A transition that fired during the turn."""

    model_config = _RECORD
    flow: str
    event: str
    source: str
    target: str
    auto: bool


class ToolCallRecord(BaseModel):
    """One tool call: arguments, what it wrote or why it failed, and whether it was replayed."""

    model_config = _RECORD
    tool: str
    arguments: dict[str, Any]
    updates: dict[str, Any] = Field(default_factory=dict[str, Any])
    error: str | None = None
    refused: str | None = None
    side_effect: bool = False
    idempotency_key: str | None = None
    replayed: bool = False
    """True when a resumed turn found this write already done and did not repeat it."""
    duration_ms: float = 0.0


class Reply(BaseModel):
    """The agent's reply: its text and its structured part (what it asked and stated)."""

    model_config = _RECORD
    text: str
    asks_slots: list[str] = Field(default_factory=list[str])
    asks_actions: list[str] = Field(default_factory=list[str])
    offers: list[str] = Field(default_factory=list[str])
    """Events the customer may answer with here (e.g. confirm_price, decline_price)."""
    action_arguments: list[dict[str, str]] = Field(default_factory=list[dict[str, str]])
    """The tool arguments of each action in `asks_actions`, in the same order."""
    starts: list[str] = Field(default_factory=list[str])
    """Flows the customer may ask for here (a front desk's requests)."""
    template: str | None = None
    """The template's text, when a phraser reworded it into `text`."""
    phrasing_rejected: str | None = None
    """Why the phraser's wording was not used (the template's text was sent instead)."""
    stated_facts: dict[str, Any] = Field(default_factory=dict[str, Any])


class Claimed(BaseModel):
    """A shared fact the customer asserted this turn (from a `Claim` command)."""

    model_config = _RECORD
    fact: str
    value: Any


class Divergence(BaseModel):
    """Agent, customer and truth disagree on a shared fact (filled by the detector)."""

    model_config = _RECORD
    turn: int
    fact: str
    agent: Any = None
    customer: Any = None
    truth: Any = None
    kind: str
    repaired: bool = False


class Timings(BaseModel):
    """Milliseconds per phase of the turn.

    `store_ms` counts the store writes inside the turn (the pending turn and the write journal,
    before a write tool); the commit of this very record cannot be in it and is reported on
    `Turn.commit_ms`. `total_ms` is everything up to the commit.
    """

    model_config = _RECORD
    interpret_ms: float = 0.0
    machine_ms: float = 0.0
    tools_ms: float = 0.0
    store_ms: float = 0.0
    total_ms: float = 0.0


class Usage(BaseModel):
    """Model usage of the turn (zero for offline interpreters)."""

    model_config = _RECORD
    model_calls: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cost_usd: float = 0.0
    first_token_ms: float = 0.0
    """Time to the first token of the turn's first model call (0: no call, or not streamed)."""
    model_ms: float = 0.0
    """Time spent waiting for models in the turn, retries included."""
    model: str = ""
    """The model that answered (the last one, when a fallback took over)."""

    def plus(self, other: Usage) -> Usage:
        """The usage of both (two interpreter attempts in one turn)."""
        return Usage(
            model_calls=self.model_calls + other.model_calls,
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            first_token_ms=self.first_token_ms or other.first_token_ms,
            model_ms=self.model_ms + other.model_ms,
            model=other.model or self.model,
        )


class TurnRecord(BaseModel):
    """Everything one turn did; exactly one per turn, append-only, replayable without a model."""

    model_config = _RECORD
    version: int = TURN_RECORD_VERSION
    session_id: str
    turn: int
    flow: str
    state_before: str
    state_after: str
    customer_text: str
    interpreter: str
    commands: list[dict[str, Any]]
    """Every command the interpreter proposed (both attempts), in order, as JSON."""
    attempts: list[list[dict[str, Any]]] = Field(default_factory=list[list[dict[str, Any]]])
    """The commands per interpreter attempt (a second attempt follows a rejection)."""
    rejected: list[Rejected] = Field(default_factory=list[Rejected])
    transitions: list[TransitionTaken] = Field(default_factory=list[TransitionTaken])
    tool_calls: list[ToolCallRecord] = Field(default_factory=list[ToolCallRecord])
    claims: list[Claimed] = Field(default_factory=list[Claimed])
    reply: Reply
    agent_view: dict[str, Any]
    customer_view: dict[str, Any] | None = None
    """Per shared fact, what the customer believed this turn (simulator, or their claims)."""
    truth: dict[str, Any] | None = None
    """Per shared fact, the environment's value this turn, where known."""
    divergences: list[Divergence] = Field(default_factory=list[Divergence])
    timings: Timings = Field(default_factory=Timings)
    usage: Usage = Field(default_factory=Usage)
    done: bool = False
    outcome: str | None = None
    handoff_reason: str | None = None
    """Why the conversation was handed to a human this turn, when it was."""
    created_at: datetime = Field(default_factory=utcnow)


class Confirmation(BaseModel):
    """The customer confirmed a write tool's arguments in a turn."""

    model_config = _RECORD
    tool: str
    arguments_hash: str
    turn: int


class Frame(BaseModel):
    """An interrupted flow waiting for a digression to finish."""

    model_config = _RECORD
    flow: str
    state: str
    slots: dict[str, Any]
    attempts: dict[str, int] = Field(default_factory=dict[str, int])
    confirmations: list[Confirmation] = Field(default_factory=list[Confirmation])
    entered_turn: int = 0


class SessionSnapshot(BaseModel):
    """A live session as stored: state id, slots and bookkeeping (no machine instance)."""

    model_config = _RECORD
    session_id: str
    flow: str
    """The flow currently running (a digression's while one runs)."""
    root_flow: str
    state: str
    slots: dict[str, Any]
    version: int = 0
    """Number of committed turns; the optimistic-concurrency check compares it."""
    done: bool = False
    outcome: str | None = None
    stack: list[Frame] = Field(default_factory=list[Frame])
    attempts: dict[str, int] = Field(default_factory=dict[str, int])
    confirmations: list[Confirmation] = Field(default_factory=list[Confirmation])
    entered_turn: int = 0
    """Turn in which the current state was entered (0: at the start)."""
    beliefs: dict[str, Any] = Field(default_factory=dict[str, Any])
    """Per shared fact, what the customer claimed or confirmed (production mode)."""
    last_reply: str = ""
    meta: dict[str, str] = Field(default_factory=dict[str, str])
    """What the embedding application notes about the session (tenant, data source, ...)."""
    created_at: datetime = Field(default_factory=utcnow)


class PendingTurn(BaseModel):
    """A turn begun but not committed: the customer's text and, once known, the commands."""

    model_config = _RECORD
    session_id: str
    turn: int
    customer_text: str
    attempts: list[list[dict[str, Any]]] | None = None
    started: list[str] = Field(default_factory=list[str])
    """Idempotency keys of the write tools this turn began calling, saved before each call: a
    key here without a journaled effect is a write whose outcome is unknown."""
