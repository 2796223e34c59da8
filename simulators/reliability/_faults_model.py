"""Model API faults, through the real `AnthropicInterpreter` and `OpenAIInterpreter` on a mocked
HTTP transport: rate limits with `Retry-After`, 5xx and overload errors, timeouts, dropped
connections, bodies cut short or not JSON, malformed or truncated model output, empty output.

The customer is about to confirm a plan change, so a misread could write. Each fault must end
in a retry that succeeds (the write made once) or in a turn record that carries the failure
(the write not made); never an exception out of `session.turn`. The mock server keeps its own
count of the calls it answered, and the record's `usage.model_calls` must match it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anthropic
import httpx2
import openai

from cxflow.interpreter import Interpreter
from cxflow.llm import ModelSettings
from cxflow.llm.anthropic_interpreter import AnthropicInterpreter
from cxflow.llm.openai_interpreter import OpenAIInterpreter
from cxflow.simulators.reliability._faults_common import (
    CONFIRM,
    Found,
    LedgerCrm,
    at_confirmation,
    log_problems,
)
from cxflow.store import MemoryStore

__all__ = ["MODEL_FAULTS", "run_model_faults"]

CLAUDE = "claude-haiku-4-5"
GPT = "gpt-5-mini"
YES = {"commands": [{"type": "take", "event": "confirm_price"}]}
"""What a working model answers to "yes" at awaiting_confirmation."""

Answer = httpx2.Response | BaseException


@dataclass
class FakeServer:
    """Answers each request with `answer(n, clock)`; keeps the count and a simulated clock.

    The clock moves only by the interpreter's (injected) sleeps, so a rate limit that lifts
    after `Retry-After` seconds can be simulated without waiting.
    """

    answer: Callable[[int, float], Answer]
    requests: int = 0
    clock: float = 0.0
    waits: list[float] = field(default_factory=list[float])

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        """The transport's handler."""
        self.requests += 1
        result = self.answer(self.requests, self.clock)
        if isinstance(result, BaseException):
            raise result
        return result

    async def sleep(self, seconds: float) -> None:
        """The interpreter's wait between retries: advances the clock, returns at once."""
        self.waits.append(seconds)
        self.clock += seconds

    def http(self) -> httpx2.AsyncClient:
        """An HTTP client whose transport is this server."""
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))


# -- Anthropic's Messages API, as it answers ---------------------------------------------------

_A_USAGE = {
    "input_tokens": 150,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 900,
    "output_tokens": 40,
}


def a_message(tool_input: object = YES, *, stop_reason: str = "tool_use") -> httpx2.Response:
    """A whole Messages API response with one `commands` tool call (none if input is None)."""
    content = (
        []
        if tool_input is None
        else [{"type": "tool_use", "id": "toolu_01A", "name": "commands", "input": tool_input}]
    )
    body = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _A_USAGE,
    }
    return httpx2.Response(200, json=body)


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def a_stream(
    chunks: list[str] | None = None,
    *,
    stop_reason: str = "tool_use",
    cut_after: int | None = None,
    garbage: bool = False,
) -> httpx2.Response:
    """A streamed Messages API response, the tool input in JSON `chunks`; `cut_after` ends
    the stream after that many events (no `message_stop`); `garbage` sends a data line that
    is not JSON."""
    if chunks is None:
        chunks = ['{"commands": [{"type": "take", ', '"event": "confirm_price"}]}']
    start = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_A_USAGE, "output_tokens": 1},
    }
    block = {"type": "tool_use", "id": "toolu_01A", "name": "commands", "input": {}}
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
        *(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": chunk},
                },
            )
            for chunk in chunks
        ),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 40},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    if garbage:
        events.insert(2, b"event: content_block_delta\ndata: {not json\n\n")
    if cut_after is not None:
        events = events[:cut_after]

    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield event

    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())


def a_error(status: int, kind: str, **headers: str) -> httpx2.Response:
    """An error response as the Messages API sends it."""
    body = {"type": "error", "error": {"type": kind, "message": f"injected {kind}"}}
    return httpx2.Response(status, json=body, headers=headers)


# -- OpenAI's Responses API ----------------------------------------------------------------------


def o_response(
    text: str | None = json.dumps(YES), *, incomplete: str | None = None
) -> httpx2.Response:
    """A whole Responses API response: one message with `text` (no output if None)."""
    content = [{"type": "output_text", "annotations": [], "text": text}]
    output = (
        []
        if text is None
        else [
            {
                "id": "msg_1",
                "type": "message",
                "status": "incomplete" if incomplete else "completed",
                "role": "assistant",
                "content": content,
            }
        ]
    )
    body = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1757540001,
        "status": "incomplete" if incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": GPT,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 1500,
            "input_tokens_details": {"cached_tokens": 1280},
            "output_tokens": 60,
            "output_tokens_details": {"reasoning_tokens": 24},
            "total_tokens": 1560,
        },
    }
    return httpx2.Response(200, json=body)


def o_error(status: int, code: str, **headers: str) -> httpx2.Response:
    """An error response as OpenAI sends it."""
    body = {"error": {"message": f"injected {code}", "type": code, "param": None, "code": code}}
    return httpx2.Response(status, json=body, headers=headers)


# -- answers shared by both ------------------------------------------------------------------


def cut_body() -> httpx2.Response:
    """A 200 whose JSON body was cut short (a proxy dropped the rest)."""
    return httpx2.Response(
        200, content=b'{"id": "msg_01XFDUDYJ", "type": "mess', headers={"content-type": "json"}
    )


def html_page() -> httpx2.Response:
    """A 200 with an HTML page instead of JSON (a captive portal, a misrouted proxy)."""
    return httpx2.Response(
        200, content=b"<html><body>Bad gateway</body></html>", headers={"content-type": "text/html"}
    )


def wrong_shape() -> httpx2.Response:
    """Valid JSON that is not the API's response object."""
    return httpx2.Response(200, json={"ok": True, "detail": "maintenance"})


def _first_then(first: Callable[[], Answer], then: Callable[[], Answer]) -> Callable[..., Answer]:
    return lambda n, _clock: first() if n == 1 else then()


def _always(make: Callable[[], Answer]) -> Callable[..., Answer]:
    return lambda _n, _clock: make()


def _rate_limited(
    limited: Callable[[], httpx2.Response], ok: Callable[[], Answer], lifts_at: float
) -> Callable[..., Answer]:
    """429 until the simulated clock reaches `lifts_at` seconds, then answers."""
    return lambda _n, clock: limited() if clock < lifts_at else ok()


@dataclass(frozen=True)
class ModelFault:
    """One injected API behaviour and what must come of it."""

    provider: str
    """"anthropic", "anthropic-stream", "openai" or "openai-stream"."""
    answer: Callable[[int, float], Answer]
    recovers: bool
    """True: a retry succeeds and the plan changes once. False: the turn records the failure."""
    reason: str = ""
    """A text the recorded rejection must contain (when it does not recover)."""
    min_wait_s: float = 0.0
    """The interpreter must have waited at least this long in total (Retry-After honoured)."""


def _faults() -> dict[str, ModelFault]:
    timeout = httpx2.ReadTimeout("injected: read timed out")
    refused = httpx2.ConnectError("injected: connection refused")
    truncated = ['{"commands": [{"type": "take", "ev']
    return {
        # Anthropic, whole messages
        "a/429-retry-after": ModelFault(
            "anthropic",
            _rate_limited(
                lambda: a_error(429, "rate_limit_error", **{"retry-after": "3"}), a_message, 3.0
            ),
            recovers=True,
            min_wait_s=3.0,
        ),
        "a/500-then-ok": ModelFault(
            "anthropic", _first_then(lambda: a_error(500, "api_error"), a_message), True
        ),
        "a/529-overloaded-then-ok": ModelFault(
            "anthropic", _first_then(lambda: a_error(529, "overloaded_error"), a_message), True
        ),
        "a/503-always": ModelFault(
            "anthropic",
            _always(lambda: a_error(503, "api_error")),
            False,
            "anthropic unavailable: HTTP 503",
        ),
        "a/timeout-always": ModelFault(
            "anthropic", _always(lambda: timeout), False, "request timed out"
        ),
        "a/connect-error-then-ok": ModelFault(
            "anthropic", _first_then(lambda: refused, a_message), True
        ),
        "a/cut-body-then-ok": ModelFault("anthropic", _first_then(cut_body, a_message), True),
        "a/html-200-always": ModelFault(
            "anthropic", _always(html_page), False, "unreadable response"
        ),
        "a/wrong-shape-always": ModelFault(
            "anthropic", _always(wrong_shape), False, "unreadable response"
        ),
        "a/no-tool-call": ModelFault(
            "anthropic",
            _always(lambda: a_message(None, stop_reason="end_turn")),
            False,
            "no 'commands' tool call",
        ),
        "a/empty-commands": ModelFault(
            "anthropic", _always(lambda: a_message({"commands": []})), False, "empty output"
        ),
        "a/max-tokens": ModelFault(
            "anthropic",
            _always(lambda: a_message({"commands": []}, stop_reason="max_tokens")),
            False,
            "cut off at max_tokens",
        ),
        # Anthropic, streamed
        "as/truncated-json-max-tokens": ModelFault(
            "anthropic-stream",
            _always(lambda: a_stream(truncated, stop_reason="max_tokens")),
            False,
            "cut off at max_tokens",
        ),
        "as/malformed-json": ModelFault(
            "anthropic-stream",
            _always(lambda: a_stream(['{"commands": [{"type": "take", "event": confirm}]}'])),
            False,
            "malformed JSON",
        ),
        "as/empty-tool-input": ModelFault(
            "anthropic-stream", _always(lambda: a_stream([""])), False, "empty tool input"
        ),
        "as/stream-cut-then-ok": ModelFault(
            "anthropic-stream", _first_then(lambda: a_stream(cut_after=3), a_stream), True
        ),
        "as/garbage-event-then-ok": ModelFault(
            "anthropic-stream", _first_then(lambda: a_stream(garbage=True), a_stream), True
        ),
        "as/timeout-then-ok": ModelFault(
            "anthropic-stream", _first_then(lambda: timeout, a_stream), True
        ),
        # OpenAI, Responses API
        "o/429-retry-after-ms": ModelFault(
            "openai",
            _rate_limited(
                lambda: o_error(429, "rate_limit_exceeded", **{"retry-after-ms": "2500"}),
                o_response,
                2.5,
            ),
            recovers=True,
            min_wait_s=2.5,
        ),
        "o/500-then-ok": ModelFault(
            "openai", _first_then(lambda: o_error(500, "server_error"), o_response), True
        ),
        "o/503-always": ModelFault(
            "openai",
            _always(lambda: o_error(503, "server_error")),
            False,
            "openai unavailable",
        ),
        "o/timeout-always": ModelFault("openai", _always(lambda: timeout), False, "timed out"),
        "o/cut-body-then-ok": ModelFault("openai", _first_then(cut_body, o_response), True),
        "o/html-200-always": ModelFault("openai", _always(html_page), False, "unreadable response"),
        "o/malformed-json": ModelFault(
            "openai",
            _always(lambda: o_response('{"commands": [{"type": "take", "event": ')),
            False,
            "malformed JSON",
        ),
        "o/truncated-incomplete": ModelFault(
            "openai",
            _always(lambda: o_response('{"commands": [', incomplete="max_output_tokens")),
            False,
            "incomplete output (max_output_tokens)",
        ),
        "o/empty-output": ModelFault("openai", _always(lambda: o_response(None)), False, "JSON"),
        "os/html-200-always": ModelFault(
            "openai-stream", _always(html_page), False, "openai unavailable"
        ),
    }


MODEL_FAULTS = _faults()
"""Every model API fault injected, by case name."""


def _interpreter(provider: str, server: FakeServer) -> Interpreter:
    settings = ModelSettings(model=CLAUDE if provider.startswith("a") else GPT, max_retries=2)
    if provider.startswith("anthropic"):
        client = anthropic.AsyncAnthropic(api_key="test", http_client=server.http())
        return AnthropicInterpreter(
            settings, client=client, stream=provider.endswith("stream"), sleep=server.sleep
        )
    oclient = openai.AsyncOpenAI(api_key="test", max_retries=0, http_client=server.http())
    return OpenAIInterpreter(
        settings, client=oclient, stream=provider.endswith("stream"), sleep=server.sleep
    )


def _case(found: Found, name: str, fault: ModelFault, folder: Path) -> None:
    crm = LedgerCrm(folder / f"{name.replace('/', '_')}.jsonl")
    store = MemoryStore()
    session = at_confirmation(store, crm)
    server = FakeServer(fault.answer)
    session.interpreter = _interpreter(fault.provider, server)
    found.cases += 1
    try:
        turn = asyncio.run(session.turn(CONFIRM))
    except Exception as exc:
        found.broke(name, f"turn raised {type(exc).__name__}: {exc}")
        return
    record = turn.record
    if server.requests == 0:
        found.broke(name, "the interpreter never called the API")
    if record.usage.model_calls != server.requests:
        found.broke(
            name, f"record counts {record.usage.model_calls} calls, the API got {server.requests}"
        )
    if sum(server.waits) < fault.min_wait_s:
        found.broke(
            name, f"retried after {sum(server.waits):.2f} s; the API asked for {fault.min_wait_s} s"
        )
    if fault.recovers:
        if turn.state != "changed" or record.rejected:
            reasons = [r.reason for r in record.rejected]
            found.broke(name, f"did not recover: {turn.state}, rejected {reasons}")
        found.writes(name, len(crm.changes()), 1)
        found.count("model_api_faults.recovered")
    else:
        reasons = " | ".join(r.reason for r in record.rejected)
        if fault.reason not in reasons:
            found.broke(name, f"the failure is not on the record as {fault.reason!r}: {reasons!r}")
        if turn.state != "awaiting_confirmation":
            found.broke(name, f"moved to {turn.state} on a failed model call")
        found.writes(name, len(crm.changes()), 0)
        found.count("model_api_faults.recorded_as_failure")
    found.count("model_api_faults.api_calls", server.requests)
    for problem in log_problems(store, session.id):
        found.broke(name, problem)


def run_model_faults(budget: str) -> Found:
    """Inject every model API fault once (the same set for both budgets: it is deterministic)."""
    found = Found()
    with TemporaryDirectory(prefix="cxflow-faults-") as folder:
        for name, fault in MODEL_FAULTS.items():
            _case(found, name, fault, Path(folder))
    return found
