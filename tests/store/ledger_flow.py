"""A small flow whose every turn may book an amount in a ledger: a write tool in a loop.

The ledger is a SQLite file of its own, outside the session store, shared by every process of
a test: it counts each call that reached the backend (`calls`) and keeps the bookings
(`entries`) unique by idempotency key, as a payment API does. A test can tell from it whether a
write was lost, repeated, or booked under another turn's key.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from cxflow.flow import Flow, State, auto, describe
from cxflow.tooling import ToolCallContext, tool


class Ledger:
    """The backend of the `book` tool: a SQLite file every process opens by path."""

    def __init__(
        self,
        path: Path,
        *,
        kill_at: str | None = None,
        on_book: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.kill_at = kill_at
        """"before_write" or "after_write": SIGKILL this process there (in the tool)."""
        self.on_book = on_book
        """Called with the amount when a call reaches the backend, before it books."""
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS calls "
                "(n INTEGER PRIMARY KEY, key TEXT, session_id TEXT, turn INT, amount INT)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries "
                "(key TEXT PRIMARY KEY, session_id TEXT, turn INT, amount INT)"
            )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def book(self, key: str, session_id: str, turn: int, amount: int) -> None:
        """Book an amount once per idempotency key; every call is counted."""
        row = (key, session_id, turn, amount)
        db = self._db()
        try:
            db.execute("INSERT INTO calls (key, session_id, turn, amount) VALUES (?,?,?,?)", row)
            if self.on_book is not None:
                self.on_book(amount)
            if self.kill_at == "before_write":
                os.kill(os.getpid(), signal.SIGKILL)
            db.execute("INSERT OR IGNORE INTO entries VALUES (?,?,?,?)", row)
            if self.kill_at == "after_write":
                os.kill(os.getpid(), signal.SIGKILL)
        finally:
            db.close()

    def calls(self) -> list[tuple[str, str, int, int]]:
        """Every call that reached the backend: (key, session, turn, amount), in order."""
        db = self._db()
        try:
            return db.execute(
                "SELECT key, session_id, turn, amount FROM calls ORDER BY n"
            ).fetchall()
        finally:
            db.close()

    def entries(self) -> list[tuple[str, str, int, int]]:
        """The bookings (one per key): (key, session, turn, amount), by session and turn."""
        db = self._db()
        try:
            return db.execute(
                "SELECT key, session_id, turn, amount FROM entries ORDER BY session_id, turn"
            ).fetchall()
        finally:
            db.close()


class LedgerSlots(BaseModel):
    """What the bookkeeping conversation knows."""

    amount: int | None = Field(None, description="the amount to book")
    booked: int | None = None


def has_amount(slots: LedgerSlots) -> bool:
    """An amount was given."""
    return slots.amount is not None


def amount_booked(slots: LedgerSlots) -> bool:
    """The amount was booked (the tool clears it)."""
    return slots.amount is None


# the ledger deduplicates on the idempotency key, so a call whose outcome was lost in a crash
# may be repeated (idempotent=True); tests/reliability covers writes that may not
@tool(reads=("amount",), writes=("amount", "booked"), side_effect=True, idempotent=True)
def book(slots: LedgerSlots, ledger: Ledger, call: ToolCallContext) -> dict[str, object]:
    """Book the amount in the ledger."""
    assert slots.amount is not None
    ledger.book(call.idempotency_key, call.session_id, call.turn, slots.amount)
    return {"amount": None, "booked": slots.amount}


class Bookkeeping(Flow[LedgerSlots]):
    """Book amounts, one per message, until the customer is done."""

    asking = State(initial=True, fills=("amount",), say="How much should I book?")
    booking = State(tools=(book,))
    closed = State(final=True, say="Closed.")

    got_amount = auto(asking.to(booking, cond=has_amount))
    booked_it = auto(booking.to(asking, cond=amount_booked))
    close = describe(asking.to(closed), "The customer is done.", keywords=("done",))


FLOWS: dict[str, type[Flow[LedgerSlots]]] = {"bookkeeping": Bookkeeping}
