"""A reusable private working copy of a pristine airline DB, for fast conformance replays.

A conformance run replays ~80 tasks and probes, each on a fresh copy of tau2's 7 MB DB, and
hashes the DB after every call. Copying and fingerprinting the whole DB each time costs far
more than the tool calls. A `Workbench` copies the pristine DB once and, after each replay, puts
back only the records that changed, taken from the pristine records' JSON.

Nothing here can go stale unnoticed: a workbench is reused only while the pristine DB still
dumps to the JSON it was built from, every reset is checked the same way (falling back to a full
copy), and change detection compares whole-DB JSON, which differs whenever any content does.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cxflow.tools.airline.db import (
    TABLES,
    RecordTexts,
    copy_db,
    hash_record_texts,
    record_texts,
)
from cxflow.tools.airline.models import AirlineDB, Flight, Reservation, User

__all__ = ["DBState", "Workbench", "workbench_for"]

_RECORD_MODELS: dict[str, type[BaseModel]] = {
    "flights": Flight,
    "users": User,
    "reservations": Reservation,
}


@dataclass(frozen=True, slots=True)
class DBState:
    """The fingerprint of a DB at one moment: whole JSON, per-record JSON and tau2's hash."""

    whole: str
    texts: RecordTexts
    hash: str


class Workbench:
    """A private copy of one pristine DB that replays mutate and `reset` restores.

    Attributes:
        db: The working copy the tools of a replay operate on.
        pristine: The fingerprint of the pristine DB (and of `db` after each reset).
    """

    def __init__(self, pristine: AirlineDB) -> None:
        """Copy and fingerprint a pristine DB.

        Args:
            pristine: The DB to start every replay from (never modified).
        """
        self.db = copy_db(pristine)
        texts = record_texts(self.db)
        self.pristine = DBState(self.db.model_dump_json(), texts, hash_record_texts(texts))
        self._current = self.pristine
        self._lock = threading.Lock()

    def state(self) -> DBState:
        """Fingerprint the working DB, reusing the previous fingerprint if nothing changed."""
        whole = self.db.model_dump_json()
        if whole != self._current.whole:
            texts = _split_records(self.db, whole, self._current.texts) or record_texts(self.db)
            self._current = DBState(whole, texts, hash_record_texts(texts))
        return self._current

    def reset(self, last: DBState | None = None) -> None:
        """Put the working DB back into the pristine state, restoring only changed records.

        Each restored record is checked to dump to its pristine JSON again and each table to
        have its pristine key order; together that is the whole pristine JSON. If that ever
        fails, the working DB is rebuilt from scratch.

        Args:
            last: The latest `state()`, if nothing has changed the DB since it was taken
                (saves one full dump); by default the DB is fingerprinted again.
        """
        now = last if last is not None else self.state()
        if now is self.pristine:
            return
        restored = all(
            self._restore_table(table, self.pristine.texts[table], now.texts[table])
            for table in TABLES
        )
        if not restored:
            self.db = AirlineDB.model_validate_json(self.pristine.whole)
        self._current = self.pristine

    @contextmanager
    def borrowed(self) -> Iterator[Workbench | None]:
        """Hold the workbench for one replay (None if another thread holds it), then reset it.

        The replay must take a `state()` after its last change to the DB: a normal exit resets
        from that state; after an exception the DB is fingerprinted again.
        """
        if not self._lock.acquire(blocking=False):
            yield None
            return
        try:
            yield self
        except BaseException:
            self._reset_and_release(None)
            raise
        self._reset_and_release(self._current)

    def _reset_and_release(self, last: DBState | None) -> None:
        try:
            self.reset(last)
        finally:
            self._lock.release()

    def _restore_table(self, table: str, before: dict[str, str], after: dict[str, str]) -> bool:
        """Restore one table's changed, added and deleted records; False if that failed."""
        if before == after:
            return True
        records: dict[str, Any] = getattr(self.db, table)
        model = _RECORD_MODELS[table]
        changed = [key for key, text in before.items() if after.get(key) != text]
        for key in [key for key in after if key not in before]:
            del records[key]
        for key in changed:
            records[key] = model.model_validate_json(before[key])
        if list(records) != list(before):  # a record was deleted and came back at the end
            setattr(self.db, table, {key: records[key] for key in before})
            records = getattr(self.db, table)
        return all(records[key].model_dump_json() == before[key] for key in changed)


def _split_records(db: AirlineDB, whole: str, previous: RecordTexts) -> RecordTexts | None:
    """`record_texts(db)` read off the DB's whole JSON, re-dumping only records not in `previous`.

    pydantic writes the whole DB as `{"flights":{"<key>":<record JSON>,...},"users":...}`, each
    record exactly as `model_dump_json` writes it alone. Walking that text and matching each
    record against its previous JSON (a JSON object cannot be a proper prefix of another) finds
    the unchanged records by string comparison. Returns None where the text does not have the
    expected shape; the caller then dumps every record.
    """
    pos = 0
    texts: RecordTexts = {}
    for index, table in enumerate(TABLES):
        head = ("{" if index == 0 else ",") + f'"{table}":{{'
        if not whole.startswith(head, pos):
            return None
        pos += len(head)
        rows: dict[str, str] = {}
        known = previous[table]
        records: dict[str, BaseModel] = getattr(db, table)
        for number, (key, record) in enumerate(records.items()):
            label = ("," if number else "") + json.dumps(key, ensure_ascii=False) + ":"
            if not whole.startswith(label, pos):
                return None
            pos += len(label)
            text = known.get(key)
            if text is None or not whole.startswith(text, pos):
                text = record.model_dump_json()
                if not whole.startswith(text, pos):
                    return None
            rows[key] = text
            pos += len(text)
        if not whole.startswith("}", pos):
            return None
        pos += 1
        texts[table] = rows
    return texts if whole[pos:] == "}" else None


_benches: dict[int, tuple[weakref.ref[AirlineDB], Workbench]] = {}
_benches_lock = threading.Lock()


def workbench_for(pristine: AirlineDB) -> Workbench:
    """The workbench of a pristine DB, rebuilt if the DB changed since it was made.

    One workbench is kept per live pristine DB object (dropped when that object is).

    Args:
        pristine: The DB replays start from.

    Returns:
        A workbench whose pristine state is the DB's current content.
    """
    key = id(pristine)
    with _benches_lock:
        entry = _benches.get(key)
    if entry is not None and entry[0]() is pristine:
        bench = entry[1]
        if pristine.model_dump_json() == bench.pristine.whole:
            return bench
    bench = Workbench(pristine)
    ref = weakref.ref(pristine, lambda _: _forget(key))
    with _benches_lock:
        _benches[key] = (ref, bench)
    return bench


def _forget(key: int) -> None:
    with _benches_lock:
        _benches.pop(key, None)
