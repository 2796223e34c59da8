"""The HTTP service (`cxflow serve`, the `serve` extra): sessions and turns as JSON over HTTP.

```
POST /v1/sessions                {"flow": "plan_upgrade"}  -> 201 the session (session_id, reply)
POST /v1/sessions/{id}/turns     {"text": "..."}           -> the turn (reply, state, done, ...)
GET  /v1/sessions/{id}                                     -> the session
GET  /v1/sessions/{id}/turns                               -> its stored turn records
GET  /healthz   /docs   /openapi.json                      (no token needed)
```
Every `/v1` request carries `Authorization: Bearer TOKEN`; each token belongs to a tenant, a
session is stored with its tenant, and another tenant's session is answered like an unknown one.
A POST with an `Idempotency-Key` header runs once: a retry gets the first response again, even
from another replica, because the keys live in the sessions' database (`cxflow_requests`).
Errors are `application/problem+json` (RFC 9457). Handlers run on the event loop: a turn is
awaited (model calls do not block other requests) and store calls are short and synchronous.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import random
import sys
import time
import tomllib
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field

from cxflow.errors import (
    ConcurrencyError,
    CxflowError,
    DataFileError,
    MissingExtraError,
    SessionNotFoundError,
    StoreError,
    UnknownFlowError,
    UsageError,
)
from cxflow.records import Divergence, Rejected, TurnRecord
from cxflow.session import ConversationEndedError, Session, Turn

try:
    from fastapi import Depends, FastAPI, Header, Request, Response
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from starlette.exceptions import HTTPException
except ImportError as exc:  # pragma: no cover - exercised with fastapi hidden by the tests
    raise MissingExtraError("`cxflow serve`", "serve", "fastapi") from exc

from cxflow._idempotency import KeyInUseError, KeyReusedError, Once, request_log_for

if TYPE_CHECKING:
    from cxflow.engine import Engine

__all__ = ["DEFAULT_TENANT", "create_app", "load_tokens", "serve_command"]

DEFAULT_TENANT = "default"
"""The tenant of `CXFLOW_API_TOKEN`, of `--no-auth`, and of sessions stored without one."""
TENANT_KEY = "tenant"
"""The session meta key holding the tenant that created the session."""
PROBLEM = "application/problem+json"
MAX_TEXT = 10_000
"""Longest customer message accepted, in characters."""

log = logging.getLogger("cxflow.service")


# -- request and response bodies (they also make the OpenAPI page) ----------------------------


class NewSession(BaseModel):
    """Start a conversation with one of the service's flows."""

    model_config = ConfigDict(extra="forbid")
    flow: str = Field(description="The flow id (404 lists the known ones).", min_length=1)
    meta: dict[str, str] = Field(
        default_factory=dict[str, str],
        description="Notes stored with the session (e.g. your channel or user id).",
    )


class CustomerMessage(BaseModel):
    """What the customer said."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The customer's message.")


class SessionOut(BaseModel):
    """A conversation as it stands."""

    session_id: str
    flow: str = Field(description="The flow running now (a digression's, while one runs).")
    root_flow: str = Field(description="The flow the session was started with.")
    state: str
    slots: dict[str, Any]
    done: bool
    outcome: str | None
    version: int = Field(description="Number of turns taken.")
    reply: str = Field(description="The agent's last reply (the opening prompt at first).")
    meta: dict[str, str]


class TurnOut(BaseModel):
    """The result of one customer turn."""

    session_id: str
    turn: int = Field(description="The turn's number, from 1.")
    reply: str
    state: str
    flow: str
    slots: dict[str, Any]
    done: bool
    outcome: str | None
    rejected: list[Rejected] = Field(description="Commands the flow refused (model mistakes).")
    divergences: list[Divergence]


class TurnsOut(BaseModel):
    """A session's turn records, oldest first (`cxflow.records.TurnRecord`)."""

    session_id: str
    turns: list[TurnRecord]


class FieldProblem(BaseModel):
    """One invalid part of a request."""

    field: str
    location: str
    message: str


class Problem(BaseModel):
    """An error, as `application/problem+json` (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None
    known_flows: list[str] | None = None


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}}
    for code in (400, 401, 404, 409, 422, 500, 503)
}


class _Problem(Exception):
    """An error response; raised anywhere in a handler, rendered by `_problem_response`."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def _problem_response(request: Request, problem: _Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:cxflow:problem:{problem.kind}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extra,
    }
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM)


def _not_found(session_id: str) -> _Problem:
    # the same answer for an unknown session and another tenant's: existence is not revealed
    return _Problem(
        404,
        "session-not-found",
        "Session not found",
        f"no session {session_id!r}. Start one with POST /v1/sessions.",
    )


def _problem_for(exc: Exception) -> _Problem:
    """The problem a cxflow error stands for (unexpected ones are 500s that reveal nothing)."""
    if isinstance(exc, _Problem):
        return exc
    if isinstance(exc, KeyReusedError):
        return _Problem(422, "idempotency-key-reused", "Idempotency key reused", str(exc))
    if isinstance(exc, KeyInUseError):
        return _Problem(
            409,
            "request-in-progress",
            "Request in progress",
            str(exc),
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, SessionNotFoundError):
        return _not_found(exc.session_id)
    if isinstance(exc, UnknownFlowError):
        return _Problem(
            404,
            "unknown-flow",
            "Unknown flow",
            f"unknown flow {exc.flow_id!r}; this service runs: {', '.join(exc.known)}.",
            known_flows=exc.known,
        )
    if isinstance(exc, ConversationEndedError):
        return _Problem(409, "conversation-ended", "Conversation ended", str(exc))
    if isinstance(exc, ConcurrencyError):
        return _Problem(
            409,
            "conflict",
            "Concurrent turn",
            f"another request kept changing session {exc.session_id!r} while this turn ran; "
            "nothing was applied. Retry the request.",
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, StoreError):
        log.error("session store unavailable: %s", exc)
        return _Problem(
            503,
            "store-unavailable",
            "Session store unavailable",
            "the session store could not be read or written; nothing was applied. Retry shortly.",
            headers={"Retry-After": "2"},
        )
    log.error("internal error", exc_info=exc)
    return _internal()


def _internal() -> _Problem:
    return _Problem(
        500,
        "internal",
        "Internal error",
        "the service failed unexpectedly; the error is in the service's log.",
    )


# -- tokens and tenants ------------------------------------------------------------------------


def load_tokens(path: str | Path) -> dict[str, str]:
    """Read a tokens file: a JSON object or a TOML table mapping each token to its tenant.

    Raises:
        DataFileError: The file is missing, unreadable, or not a token -> tenant mapping.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(path, f"cannot read it ({exc.strerror or exc})") from exc
    try:
        data: object = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise DataFileError(path, f"not valid {kind}: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise DataFileError(path, 'expected a mapping of token to tenant, e.g. "s3cret" = "acme"')
    tokens: dict[str, str] = {}
    for token, tenant in cast("dict[object, object]", data).items():
        if not isinstance(token, str) or not token.strip():
            raise DataFileError(path, "a token is empty; every key must be a token")
        if not isinstance(tenant, str) or not tenant.strip():
            raise DataFileError(path, "every token must map to a tenant name (a string)")
        tokens[token] = tenant
    return tokens


@dataclass(frozen=True, slots=True)
class _Auth:
    """The app's tokens (as SHA-256 digests) and their tenants."""

    digests: tuple[tuple[bytes, str], ...]
    anonymous: bool

    def tenant(self, credentials: HTTPAuthorizationCredentials | None) -> str:
        """The tenant of the request's bearer token, or a 401 problem."""
        if self.anonymous:
            return DEFAULT_TENANT
        if credentials is None:
            raise _Problem(
                401,
                "unauthorized",
                "Missing token",
                "send `Authorization: Bearer TOKEN` with a token the service was given.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # compare against every token, each in constant time, so timing reveals nothing
        given = hashlib.sha256(credentials.credentials.encode()).digest()
        found: str | None = None
        for digest, name in self.digests:
            if hmac.compare_digest(given, digest):
                found = name
        if found is None:
            raise _Problem(
                401,
                "unauthorized",
                "Invalid token",
                "the bearer token is not one of the service's tokens.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return found


_BEARER = HTTPBearer(
    auto_error=False, description="A token from CXFLOW_API_TOKEN or the tokens file."
)


async def _tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> str:
    auth = cast(_Auth, request.app.state.auth)
    return auth.tenant(credentials)


Tenant = Annotated[str, Depends(_tenant)]
"""A route parameter: the tenant of the request's bearer token (401 without a valid one)."""
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Makes a retried POST return the first response instead of running again "
        "(per tenant, kept a day).",
    ),
]


def _fingerprint(request: Request, body: BaseModel) -> str:
    text = f"{request.method} {request.url.path}\n{body.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()


# -- the app -----------------------------------------------------------------------------------


def _session_json(session: Session) -> dict[str, Any]:
    snap = session.snapshot
    return SessionOut(
        session_id=snap.session_id,
        flow=snap.flow,
        root_flow=snap.root_flow,
        state=snap.state,
        slots=snap.slots,
        done=snap.done,
        outcome=snap.outcome,
        version=snap.version,
        reply=snap.last_reply,
        meta=snap.meta,
    ).model_dump(mode="json")


def _turn_json(session_id: str, turn: Turn) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "turn": turn.record.turn,
        "reply": turn.reply,
        "state": turn.state,
        "flow": turn.flow,
        "slots": dict(turn.slots),
        "done": turn.done,
        "outcome": turn.outcome,
        "rejected": [r.model_dump(mode="json") for r in turn.rejected],
        "divergences": [d.model_dump(mode="json") for d in turn.divergences],
    }


def create_app(
    engine: Engine,
    *,
    tokens: Mapping[str, str] | None = None,
    allow_anonymous: bool = False,
    turn_attempts: int = 5,
    idempotency_wait_s: float = 10.0,
    idempotency_lease_s: float = 120.0,
    idempotency_retention_s: float = 86_400.0,
) -> FastAPI:
    """Build the FastAPI app serving an engine's flows, sessions and turns.

    Args:
        engine: The flows, the store and the interpreter to serve (`Engine`). With a `SqlStore`
            several replicas can share one database.
        tokens: Bearer token -> tenant. Each tenant sees only the sessions it started.
        allow_anonymous: Serve without tokens, every request as the default tenant (local
            development only).
        turn_attempts: How often a turn is tried when another replica commits a turn of the
            same session first, before answering 409.
        idempotency_wait_s: How long a retry waits for the first request with its key.
        idempotency_lease_s: After how long a request still running under a key is presumed
            dead (its replica stopped), so a retry runs it again.
        idempotency_retention_s: How long keys are kept.

    Raises:
        UsageError: No tokens and not `allow_anonymous`, or tokens with `allow_anonymous`.
    """
    if not tokens and not allow_anonymous:
        raise UsageError(
            "the service needs at least one API token (set CXFLOW_API_TOKEN, or give a tokens "
            "file); serving without one needs allow_anonymous=True (`--no-auth`)."
        )
    if tokens and allow_anonymous:
        raise UsageError("give tokens or allow anonymous access, not both.")
    if turn_attempts < 1:
        raise UsageError(f"turn_attempts must be at least 1, not {turn_attempts}.")
    once = Once(
        request_log_for(engine.store),
        wait_s=idempotency_wait_s,
        lease_s=idempotency_lease_s,
        retention_s=idempotency_retention_s,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncGenerator[None]:
        once.purge()
        yield

    app = FastAPI(
        title="cxflow",
        summary="Customer-service conversations as explicit state graphs, over HTTP.",
        version="1",
        lifespan=lifespan,
    )
    app.state.auth = _Auth(
        tuple((hashlib.sha256(t.encode()).digest(), name) for t, name in (tokens or {}).items()),
        allow_anonymous,
    )
    _add_error_handlers(app)

    def load(session_id: str, tenant: str) -> Session:
        try:
            session = engine.session(session_id)
        except (SessionNotFoundError, UnknownFlowError) as exc:
            raise _not_found(session_id) from exc
        if session.meta.get(TENANT_KEY, DEFAULT_TENANT) != tenant:
            raise _not_found(session_id)
        return session

    async def take_turn(session_id: str, tenant: str, text: str) -> Turn:
        for attempt in range(1, turn_attempts + 1):
            session = load(session_id, tenant)
            try:
                return await session.turn(text)
            except ConcurrencyError:
                if attempt == turn_attempts:
                    raise
                # another replica is applying a turn to this session: let it finish
                await asyncio.sleep(0.01 * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/v1/sessions",
        status_code=201,
        response_model=SessionOut,
        responses=_PROBLEMS,
        summary="Start a session",
    )
    async def create_session(
        body: NewSession,
        request: Request,
        tenant: Tenant,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        """Start a conversation with a flow; the reply is the flow's opening prompt."""
        if TENANT_KEY in body.meta:
            raise _Problem(
                422,
                "invalid-request",
                "Invalid request",
                f"meta key {TENANT_KEY!r} is set by the service from your token; remove it.",
                errors=[{"field": f"meta.{TENANT_KEY}", "location": "body", "message": "reserved"}],
            )

        async def start() -> JSONResponse:
            session = engine.start(body.flow, meta={**body.meta, TENANT_KEY: tenant})
            return JSONResponse(
                _session_json(session), 201, headers={"Location": f"/v1/sessions/{session.id}"}
            )

        return await once.run(tenant, idempotency_key, _fingerprint(request, body), start)

    @app.post(
        "/v1/sessions/{session_id}/turns",
        response_model=TurnOut,
        responses=_PROBLEMS,
        summary="Send a customer message",
    )
    async def post_turn(
        session_id: str,
        body: CustomerMessage,
        request: Request,
        tenant: Tenant,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        """Run one customer turn and return the agent's reply and the new situation."""

        async def turn() -> JSONResponse:
            started = time.perf_counter()
            result = await take_turn(session_id, tenant, body.text)
            # what the same turn costs in process (load, run, commit), for the client to compare
            took_ms = (time.perf_counter() - started) * 1000
            return JSONResponse(
                _turn_json(session_id, result),
                headers={"Server-Timing": f"turn;dur={took_ms:.3f}"},
            )

        return await once.run(tenant, idempotency_key, _fingerprint(request, body), turn)

    @app.get(
        "/v1/sessions/{session_id}",
        response_model=SessionOut,
        responses=_PROBLEMS,
        summary="Read a session",
    )
    async def get_session(session_id: str, tenant: Tenant) -> Response:
        """The session's flow, state, slots, last reply and whether it ended."""
        return JSONResponse(_session_json(load(session_id, tenant)))

    @app.get(
        "/v1/sessions/{session_id}/turns",
        response_model=TurnsOut,
        responses=_PROBLEMS,
        summary="Read a session's turns",
    )
    async def get_turns(session_id: str, tenant: Tenant) -> Response:
        """Every stored turn record of the session, oldest first (replayable without a model)."""
        records = load(session_id, tenant).turns()
        return JSONResponse(
            {"session_id": session_id, "turns": [r.model_dump(mode="json") for r in records]}
        )

    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Render every error, expected or not, as `application/problem+json`."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        return _problem_response(request, _problem_for(exc))

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Starlette re-raises the exception after this response, and uvicorn logs it
        return _problem_response(request, _internal())

    async def on_invalid(request: Request, exc: Exception) -> Response:
        errors = cast(RequestValidationError, exc).errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _problem_response(
                request,
                _Problem(400, "malformed-json", "Malformed JSON", "the body is not valid JSON."),
            )
        fields = [
            {
                "field": ".".join(str(part) for part in e.get("loc", ())[1:]) or "body",
                "location": str(e.get("loc", ("body",))[0]),
                "message": str(e.get("msg", "invalid")),
            }
            for e in errors
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        problem = _Problem(422, "invalid-request", "Invalid request", detail, errors=fields)
        return _problem_response(request, problem)

    async def on_http(request: Request, exc: Exception) -> Response:
        http = cast(HTTPException, exc)
        title = {404: "Not found", 405: "Method not allowed"}.get(http.status_code, "HTTP error")
        detail = str(http.detail) if http.status_code != 404 else f"no route {request.url.path}"
        problem = _Problem(http.status_code, "http", title, detail, headers=http.headers)
        return _problem_response(request, problem)

    app.add_exception_handler(_Problem, on_problem)
    for kind in (CxflowError, KeyReusedError, KeyInUseError):
        app.add_exception_handler(kind, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


# -- `cxflow serve` ----------------------------------------------------------------------------


def serve_command(args: argparse.Namespace) -> int:
    """Run `cxflow serve` (see `cxflow serve --help`) until interrupted."""
    from cxflow.engine import Engine
    from cxflow.llm.spec import interpreter_from_spec
    from cxflow.registry import get_flow, reference_flows
    from cxflow.sql_store import SqlStore

    try:
        import uvicorn
    except ImportError as exc:
        raise MissingExtraError("`cxflow serve`", "serve", "uvicorn") from exc

    tokens = _tokens(args.tokens or os.environ.get("CXFLOW_API_TOKENS_FILE"))
    if args.no_auth and tokens:
        raise UsageError(
            "--no-auth serves without tokens, but a token is set (CXFLOW_API_TOKEN or a tokens "
            "file); drop one of them."
        )
    if not args.no_auth and not tokens:
        raise UsageError(
            "set CXFLOW_API_TOKEN (a token for the default tenant) or give --tokens FILE "
            "(token -> tenant); for local development only, --no-auth serves without tokens."
        )
    flows = [get_flow(f) for f in args.flow] if args.flow else list(reference_flows().values())
    interpreter = interpreter_from_spec(args.interpreter)
    store = SqlStore(args.db)
    try:
        app = create_app(
            Engine(flows, store=store, interpreter=interpreter),
            tokens=tokens,
            allow_anonymous=args.no_auth,
        )
        tenants = sorted(set(tokens.values()))
        print(
            f"cxflow serve: {len(flows)} flows, sessions in {_redacted(store.url)}, "
            f"interpreter {args.interpreter}, tenants: {', '.join(tenants) or '(no auth)'}; "
            f"API docs at http://{args.host}:{args.port}/docs",
            file=sys.stderr,
            flush=True,
        )
        if args.no_auth:
            print(
                "cxflow serve: WARNING: --no-auth: anyone who can reach this port can read and "
                "write every session. Use it for local development only.",
                file=sys.stderr,
                flush=True,
            )
        config = uvicorn.Config(
            app, host=args.host, port=args.port, log_level=args.log_level, ws="none"
        )
        server = uvicorn.Server(config)
        try:
            server.run()
        except SystemExit as exc:  # uvicorn exits when it cannot listen
            if server.started:
                raise
            raise CxflowError(
                f"cannot listen on {args.host}:{args.port} (see the log above); is another "
                "program using the port? Choose another with --port."
            ) from exc
    finally:
        store.close()
    return 0


def _tokens(file: str | None) -> dict[str, str]:
    tokens = load_tokens(file) if file else {}
    single = os.environ.get("CXFLOW_API_TOKEN", "").strip()
    if single:
        tokens[single] = DEFAULT_TENANT
    return tokens


def _redacted(url: str) -> str:
    """The store URL without a password."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("://", 1)[-1]:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}:***@{tail}"
