"""`AnthropicInterpreter`: the Messages API with one forced tool whose input is the turn's commands.

One call per interpretation: the static prefix (`STATIC`) goes in a cached system block, the
turn's situation in one user message, and `turn_schema(view)` is the `input_schema` of a single
tool the model must call (`tool_choice={"type": "tool", ...}`), so the model can only name this
state's slots and events. Replies stream by default (time to first token is recorded).

Model mistakes are data: malformed JSON, a missing tool call, a refusal or a reply cut off at
`max_tokens` become `Interpretation.error` and the turn records them. API failures (including a
response that cannot be read: a body cut short, an HTML page with status 200) are retried by
`call_with_retries`, which honours `Retry-After` (the SDK's own retries are off, so they are
counted here); when they run out, or the API refuses the request itself (a 4xx other than
429), the answer is `unavailable=True`, and a `FallbackInterpreter` asks the next interpreter in
its chain.

API version 2026-10-21 (the one SDK 2.x sends) has no sampling parameters: `temperature`,
`top_p` and `top_k` are rejected with a 400 even at their defaults, so
`ModelSettings.temperature` is not sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anthropic
import httpx2
from anthropic.types import (
    InputJSONDelta,
    Message,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RefusalStopDetails,
    TextBlock,
    TextBlockParam,
    TextDelta,
    ToolChoiceToolParam,
    ToolParam,
    ToolUseBlock,
)

from cxflow.errors import UsageError
from cxflow.interpreter import Interpretation, TurnView
from cxflow.llm import (
    ModelSettings,
    Prompt,
    UnreadableResponseError,
    build_prompt,
    call_with_retries,
    cost_usd,
    elapsed_ms,
    parse_model_output,
    read_response,
)
from cxflow.records import Usage

__all__ = ["TOOL_NAME", "AnthropicInterpreter", "StreamCutError", "is_retryable"]

TOOL_NAME = "commands"
"""The one tool the model is made to call; its input is `{"commands": [...]}`."""

_TOOL_DESCRIPTION = (
    "Report the commands for the customer's latest message in the current state: only the "
    "slots and events this schema lists."
)
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_RETRYABLE_TYPES = frozenset({"rate_limit_error", "overloaded_error", "api_error", "timeout_error"})


class StreamCutError(Exception):
    """The event stream ended before `message_stop` (a dropped connection): worth a retry."""


@dataclass(slots=True)
class _Reply:
    """What one successful call returned, independent of streaming."""

    tool_input: object = None
    """The forced tool's input: a dict (non-streaming) or the accumulated JSON text (streamed);
    None when the reply had no call of the tool."""
    text: str = ""
    stop_reason: str | None = None
    refusal: str = ""
    input_tokens: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    first_token_ms: float = 0.0


class AnthropicInterpreter:
    """An interpreter backed by Anthropic's Messages API (see the module doc).

    Attributes:
        settings: Model, token limit, timeout, retries and prices.
        client: The `anthropic.AsyncAnthropic` client used for every call.
        stream: Stream replies (records time to first token) or wait for whole messages.
    """

    synchronous = False
    """Awaits network I/O: `turn_sync` runs it on an event loop."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        client: anthropic.AsyncAnthropic | None = None,
        stream: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Set the interpreter up; no call is made here.

        Args:
            settings: How to call the model.
            client: A configured client (tests pass one with a mock transport); its own retries
                are turned off (ours count them). By default one is built from the environment.
            stream: Stream the reply (default) or ask for the whole message.
            sleep: Waits between retries (tests inject one that does not wait).

        Raises:
            UsageError: No client was given and no Anthropic credentials are configured.
        """
        self.settings = settings
        self.name = f"anthropic:{settings.model}"
        self.stream = stream
        self._sleep = sleep
        self._owns_client = client is None
        # our retries count the calls: the SDK's own would hide some of them
        self.client = (
            client.with_options(max_retries=0) if client is not None else _default_client(settings)
        )

    async def aclose(self) -> None:
        """Close the HTTP client, when this interpreter built it."""
        if self._owns_client:
            await self.client.close()

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """One Messages API call (plus retries): the commands, or why there are none."""
        request = self._request(build_prompt(view, text))
        calls = 0
        model_s = 0.0

        async def once() -> _Reply:
            nonlocal calls, model_s
            calls += 1
            started = time.perf_counter()
            try:
                return await read_response(
                    lambda: self._streamed(request) if self.stream else self._whole(request)
                )
            finally:
                model_s += time.perf_counter() - started

        try:
            reply, _ = await call_with_retries(
                once, self.settings, is_retryable=is_retryable, sleep=self._sleep
            )
        except (
            anthropic.AnthropicError,
            httpx2.HTTPError,
            StreamCutError,
            UnreadableResponseError,
        ) as exc:
            usage = Usage(model_calls=calls, model_ms=round(model_s * 1000, 3))
            tried = f" (after {calls} calls)" if calls > 1 else ""
            return Interpretation(
                commands=[],
                error=f"anthropic unavailable: {_describe(exc, self.settings)}{tried}",
                usage=usage,
                unavailable=True,
            )
        return self._interpretation(reply, calls, round(model_s * 1000, 3))

    # -- the request ---------------------------------------------------------------------------

    def _request(self, prompt: Prompt) -> _Request:
        system: list[TextBlockParam] = [
            {"type": "text", "text": prompt.static, "cache_control": {"type": "ephemeral"}}
        ]
        messages: list[MessageParam] = [{"role": "user", "content": prompt.turn}]
        tools: list[ToolParam] = [
            {"name": TOOL_NAME, "description": _TOOL_DESCRIPTION, "input_schema": prompt.schema}
        ]
        choice: ToolChoiceToolParam = {
            "type": "tool",
            "name": TOOL_NAME,
            "disable_parallel_tool_use": True,
        }
        return _Request(system=system, messages=messages, tools=tools, tool_choice=choice)

    async def _whole(self, r: _Request) -> _Reply:
        message: Message = await self.client.messages.create(
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=r.system,
            messages=r.messages,
            tools=r.tools,
            tool_choice=r.tool_choice,
        )
        reply = _Reply(stop_reason=message.stop_reason)
        for block in message.content:
            if isinstance(block, ToolUseBlock) and block.name == TOOL_NAME:
                if reply.tool_input is None:
                    reply.tool_input = block.input
            elif isinstance(block, TextBlock):
                reply.text += block.text
        reply.refusal = _refusal(message.stop_details)
        usage = message.usage
        reply.input_tokens = usage.input_tokens
        reply.cache_read = usage.cache_read_input_tokens or 0
        reply.cache_creation = usage.cache_creation_input_tokens or 0
        reply.output_tokens = usage.output_tokens
        if usage.output_tokens_details is not None:
            reply.thinking_tokens = usage.output_tokens_details.thinking_tokens
        return reply

    async def _streamed(self, r: _Request) -> _Reply:
        started = time.perf_counter()
        stream = await self.client.messages.create(
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=r.system,
            messages=r.messages,
            tools=r.tools,
            tool_choice=r.tool_choice,
            stream=True,
        )
        reply = _Reply()
        tool_index: int | None = None
        start_input: dict[str, object] = {}
        partial: list[str] = []
        finished = False
        async with stream:
            async for event in stream:
                if isinstance(event, RawMessageStartEvent):
                    usage = event.message.usage
                    reply.input_tokens = usage.input_tokens
                    reply.cache_read = usage.cache_read_input_tokens or 0
                    reply.cache_creation = usage.cache_creation_input_tokens or 0
                    reply.output_tokens = usage.output_tokens
                elif isinstance(event, RawContentBlockStartEvent):
                    block = event.content_block
                    if (
                        isinstance(block, ToolUseBlock)
                        and block.name == TOOL_NAME
                        and tool_index is None
                    ):
                        tool_index, start_input = event.index, block.input
                    elif isinstance(block, TextBlock):
                        reply.text += block.text
                elif isinstance(event, RawContentBlockDeltaEvent):
                    if not reply.first_token_ms:
                        reply.first_token_ms = elapsed_ms(started)
                    delta = event.delta
                    if isinstance(delta, InputJSONDelta) and event.index == tool_index:
                        partial.append(delta.partial_json)
                    elif isinstance(delta, TextDelta):
                        reply.text += delta.text
                elif isinstance(event, RawMessageDeltaEvent):
                    reply.stop_reason = event.delta.stop_reason
                    reply.refusal = _refusal(event.delta.stop_details) or reply.refusal
                    usage = event.usage  # cumulative counts; input ones only when given
                    reply.output_tokens = usage.output_tokens
                    if usage.input_tokens is not None:
                        reply.input_tokens = usage.input_tokens
                    if usage.cache_read_input_tokens is not None:
                        reply.cache_read = usage.cache_read_input_tokens
                    if usage.cache_creation_input_tokens is not None:
                        reply.cache_creation = usage.cache_creation_input_tokens
                    if usage.output_tokens_details is not None:
                        reply.thinking_tokens = usage.output_tokens_details.thinking_tokens
                elif isinstance(event, RawMessageStopEvent):
                    finished = True
        if not finished:
            raise StreamCutError("the event stream ended before message_stop")
        if tool_index is not None:
            reply.tool_input = "".join(partial) if partial else start_input
        return reply

    # -- the answer ----------------------------------------------------------------------------

    def _interpretation(self, reply: _Reply, calls: int, model_ms: float) -> Interpretation:
        total_in = reply.input_tokens + reply.cache_read + reply.cache_creation
        usage = Usage(
            model_calls=calls,
            input_tokens=total_in,
            cached_input_tokens=reply.cache_read,
            output_tokens=reply.output_tokens,
            thinking_tokens=reply.thinking_tokens,
            cost_usd=cost_usd(
                self.settings.model,
                input_tokens=total_in,
                cached_input_tokens=reply.cache_read,
                output_tokens=reply.output_tokens,
                prices=self.settings.prices,
            ),
            first_token_ms=reply.first_token_ms,
            model_ms=model_ms,
            model=self.settings.model,
        )
        raw = reply.tool_input if reply.tool_input is not None else reply.text[:2000]
        error: str | None = None
        if reply.stop_reason == "refusal":
            error = f"model refused: {reply.refusal or reply.text[:300] or 'no explanation given'}"
        elif reply.stop_reason == "max_tokens":
            error = f"output cut off at max_tokens ({self.settings.max_tokens}): truncated JSON"
        elif reply.stop_reason == "model_context_window_exceeded":
            error = "output cut off: the model's context window is full"
        elif reply.tool_input is None:
            said = f" (it wrote: {reply.text[:200]!r})" if reply.text else ""
            error = f"no {TOOL_NAME!r} tool call in the reply{said}"
        if error is not None:
            if isinstance(raw, str):
                raw = raw[:2000]
            return Interpretation(commands=[], raw=raw, error=error, usage=usage)
        if isinstance(reply.tool_input, str) and not reply.tool_input.strip():
            return Interpretation(commands=[], raw="", error="empty tool input", usage=usage)
        # parse_model_output drops the usage of an empty answer: put it back either way
        return dataclasses.replace(parse_model_output(reply.tool_input, usage), usage=usage)


@dataclass(frozen=True, slots=True)
class _Request:
    system: list[TextBlockParam]
    messages: list[MessageParam]
    tools: list[ToolParam]
    tool_choice: ToolChoiceToolParam


def _refusal(details: RefusalStopDetails | None) -> str:
    if details is None:
        return ""
    if details.explanation:
        return details.explanation
    return f"{details.category} policy" if details.category else ""


def is_retryable(exc: BaseException) -> bool:
    """A 408/409/429/5xx, an overloaded or rate-limit error in the stream, a timeout, a lost
    connection or a cut stream: worth another try. Other 4xx (bad request, auth) are not."""
    if isinstance(
        exc,
        anthropic.APIConnectionError
        | httpx2.TransportError
        | StreamCutError
        | UnreadableResponseError,
    ):
        return True
    if isinstance(exc, anthropic.APIStatusError):
        should = exc.response.headers.get("x-should-retry")
        if should in ("true", "false"):
            return should == "true"
        if exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500:
            return True
        return exc.type in _RETRYABLE_TYPES  # an error event inside a 200 stream
    return False


def _describe(exc: BaseException, settings: ModelSettings) -> str:
    if isinstance(exc, anthropic.APIStatusError):
        where = f"HTTP {exc.status_code}" if exc.status_code != 200 else "error event in the stream"
        kind = f" {exc.type}" if exc.type else ""
        said = exc.api_message or exc.message
        return f"{where}{kind}: {said}"
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return f"request timed out (timeout {settings.timeout_s:g} s)"
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        return f"connection error ({type(cause).__name__}: {cause})" if cause else exc.message
    if isinstance(exc, UnreadableResponseError):
        return f"unreadable response ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _default_client(settings: ModelSettings) -> anthropic.AsyncAnthropic:
    """A client from the environment's credentials, with the SDK's retries off."""
    advice = (
        f"the anthropic interpreter ({settings.model}) needs an API key: set ANTHROPIC_API_KEY "
        "(or pass `client=anthropic.AsyncAnthropic(...)`), or use `--interpreter rules`"
    )
    try:
        client = anthropic.AsyncAnthropic(max_retries=0, timeout=settings.timeout_s)
    except anthropic.CredentialsError as exc:  # a configured profile that cannot be read
        raise UsageError(f"{advice}. The SDK said: {exc}") from exc
    if client.api_key is None and client.auth_token is None and client.credentials is None:
        raise UsageError(advice)
    return client
