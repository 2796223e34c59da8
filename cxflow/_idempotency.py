"""Idempotency keys for the HTTP service: a POST with a key runs at most once per tenant.

The first request with a key claims it (a row with no response yet), runs, and stores its
response; a retry with the same key and the same request gets that response back without
running anything. A retry that arrives while the first still runs waits for it. A request that
fails releases its key (nothing was applied, so a retry may run it again).

The keys live where the sessions live: in the `cxflow_requests` table of a `SqlStore`'s database,
so every replica sharing the database honours them, or in process memory for other stores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, SQLModel
from starlette.responses import Response

from cxflow.errors import StoreError
from cxflow.store import Store

__all__ = [
    "KeyInUseError",
    "KeyReusedError",
    "MemoryRequestLog",
    "Once",
    "RequestLog",
    "RequestRow",
    "SqlRequestLog",
    "request_log_for",
]


class KeyReusedError(Exception):
    """The key was first used for a different request (answered 422)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"Idempotency-Key {key!r} was used for a different request; use a new key for "
            "each new request."
        )


class KeyInUseError(Exception):
    """The first request with this key is still running after the wait (answered 409)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"a request with Idempotency-Key {key!r} is still running; retry shortly.")


class RequestRow(SQLModel, table=True):
    """A POST made with an Idempotency-Key: its fingerprint and, once done, its response."""

    __tablename__ = "cxflow_requests"  # pyright: ignore[reportAssignmentType]
    tenant: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    fingerprint: str
    status: int | None = None
    """The response's HTTP status; None while the request runs."""
    response: str | None = None
    claimed_at: float = Field(index=True)
    """When the request started (Unix time); the lease and the retention count from it."""


_Q = cast(Table, RequestRow.__table__)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


@dataclass(frozen=True, slots=True)
class Seen:
    """A request already made with the same key."""

    fingerprint: str
    status: int | None
    response: str | None
    claimed_at: float


class RequestLog(Protocol):
    """Where the keys are kept."""

    def claim(self, tenant: str, key: str, fingerprint: str, now: float) -> Seen | None:
        """Record the key as running: None when this call claimed it, else what holds it."""
        ...

    def take_over(self, tenant: str, key: str, seen: Seen, now: float) -> bool:
        """Claim a key whose request ran too long (its replica died); True if claimed."""
        ...

    def complete(self, tenant: str, key: str, status: int, response: str) -> None:
        """Store the response a retry will get."""
        ...

    def release(self, tenant: str, key: str) -> None:
        """Forget the key."""
        ...

    def purge(self, before: float) -> None:
        """Forget the keys claimed before this time."""
        ...


class MemoryRequestLog:
    """Keys in this process (for a `MemoryStore`, which only one process can hold anyway)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Seen] = {}

    def claim(self, tenant: str, key: str, fingerprint: str, now: float) -> Seen | None:
        """Record the key as running unless it is known."""
        found = self._rows.get((tenant, key))
        if found is None:
            self._rows[tenant, key] = Seen(fingerprint, None, None, now)
        return found

    def take_over(self, tenant: str, key: str, seen: Seen, now: float) -> bool:
        """Claim the key if it still holds what was seen."""
        if self._rows.get((tenant, key)) != seen:
            return False
        self._rows[tenant, key] = Seen(seen.fingerprint, None, None, now)
        return True

    def complete(self, tenant: str, key: str, status: int, response: str) -> None:
        """Store the response."""
        seen = self._rows.get((tenant, key))
        if seen is not None:
            self._rows[tenant, key] = Seen(seen.fingerprint, status, response, seen.claimed_at)

    def release(self, tenant: str, key: str) -> None:
        """Forget the key."""
        self._rows.pop((tenant, key), None)

    def purge(self, before: float) -> None:
        """Forget old keys."""
        for old in [k for k, seen in self._rows.items() if seen.claimed_at < before]:
            del self._rows[old]


class SqlRequestLog:
    """Keys in the `cxflow_requests` table; the primary key makes a claim atomic."""

    def __init__(self, engine: Engine) -> None:
        """Use (and create, if needed) the table in this database."""
        self.engine = engine
        with _sql_errors():
            SQLModel.metadata.create_all(engine, tables=[_Q])  # pyright: ignore[reportUnknownArgumentType]

    def claim(self, tenant: str, key: str, fingerprint: str, now: float) -> Seen | None:
        """Insert the key's row; when it exists, return what it holds."""
        for _ in range(3):  # the row may be released between our insert and our read
            try:
                with _sql_errors(), self.engine.begin() as conn:
                    conn.execute(
                        insert(_Q).values(
                            tenant=tenant, key=key, fingerprint=fingerprint, claimed_at=now
                        )
                    )
                return None
            except IntegrityError:  # the key is taken: read what it holds
                pass
            with _sql_errors(), self.engine.begin() as conn:
                row = conn.execute(
                    select(_Q.c.fingerprint, _Q.c.status, _Q.c.response, _Q.c.claimed_at).where(
                        _Q.c.tenant == tenant, _Q.c.key == key
                    )
                ).first()
            if row is not None:
                return Seen(row.fingerprint, row.status, row.response, row.claimed_at)
        raise StoreError(f"could not claim Idempotency-Key {key!r}: it keeps changing; retry.")

    def take_over(self, tenant: str, key: str, seen: Seen, now: float) -> bool:
        """Claim the key if no other replica took it over or finished meanwhile."""
        with _sql_errors(), self.engine.begin() as conn:
            done = conn.execute(
                update(_Q)
                .where(
                    _Q.c.tenant == tenant,
                    _Q.c.key == key,
                    _Q.c.status.is_(None),
                    _Q.c.claimed_at == seen.claimed_at,
                )
                .values(claimed_at=now)
            )
        return done.rowcount == 1

    def complete(self, tenant: str, key: str, status: int, response: str) -> None:
        """Store the response."""
        with _sql_errors(), self.engine.begin() as conn:
            conn.execute(
                update(_Q)
                .where(_Q.c.tenant == tenant, _Q.c.key == key)
                .values(status=status, response=response)
            )

    def release(self, tenant: str, key: str) -> None:
        """Forget the key."""
        with _sql_errors(), self.engine.begin() as conn:
            conn.execute(delete(_Q).where(_Q.c.tenant == tenant, _Q.c.key == key))

    def purge(self, before: float) -> None:
        """Forget old keys."""
        with _sql_errors(), self.engine.begin() as conn:
            conn.execute(delete(_Q).where(_Q.c.claimed_at < before))


@contextmanager
def _sql_errors() -> Generator[None]:
    """A database failure becomes a `StoreError` (answered 503), as in the session store."""
    try:
        yield
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        raise StoreError(f"the idempotency key table failed: {exc}") from exc


def request_log_for(store: Store) -> RequestLog:
    """The keys go to the sessions' database when it is SQL, so every replica sees them."""
    engine = getattr(store, "engine", None)
    return SqlRequestLog(engine) if isinstance(engine, Engine) else MemoryRequestLog()


@dataclass
class Once:
    """Runs a request at most once per (tenant, key)."""

    requests: RequestLog
    wait_s: float = 10.0
    """How long a retry waits for the first request with its key to finish."""
    lease_s: float = 120.0
    """After this long a request still running is presumed dead and its key taken over."""
    retention_s: float = 86_400.0
    """How long keys are kept."""
    poll_s: float = 0.02
    purged_at: float = 0.0

    def purge(self) -> None:
        """Forget the keys older than the retention (done at start-up and hourly)."""
        self.purged_at = time.time()
        self.requests.purge(self.purged_at - self.retention_s)

    async def run(
        self,
        tenant: str,
        key: str | None,
        fingerprint: str,
        handler: Callable[[], Awaitable[Response]],
    ) -> Response:
        """The handler's response, or the stored one when the key was used for this request.

        Raises:
            KeyReusedError: The key was used for a request with another fingerprint.
            KeyInUseError: The first request with the key did not finish within `wait_s`.
        """
        if key is None:
            return await handler()
        if time.time() - self.purged_at > 3600:
            self.purge()
        deadline = time.monotonic() + self.wait_s
        while (seen := self.requests.claim(tenant, key, fingerprint, time.time())) is not None:
            if seen.fingerprint != fingerprint:
                raise KeyReusedError(key)
            if seen.status is not None and seen.response is not None:
                return Response(
                    seen.response,
                    seen.status,
                    headers={"Idempotent-Replayed": "true"},
                    media_type="application/json",
                )
            stale = time.time() - seen.claimed_at > self.lease_s
            if stale and self.requests.take_over(tenant, key, seen, time.time()):
                break
            if time.monotonic() > deadline:
                raise KeyInUseError(key)
            await asyncio.sleep(self.poll_s)
        try:
            response = await handler()
        except BaseException:
            with suppress(StoreError):  # the handler's error is the one to report
                self.requests.release(tenant, key)
            raise
        self.requests.complete(tenant, key, response.status_code, bytes(response.body).decode())
        return response
