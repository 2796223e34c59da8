"""OpenAI's models as a cxflow interpreter: the Responses API with structured output, or chat
completions for any OpenAI-compatible server (vLLM, Ollama, llama.cpp, ...).

One HTTP call per `interpret`: the shared static instructions first (`STATIC`, byte-identical on
every turn so OpenAI's automatic prefix caching applies), then this turn's situation, with the
output constrained to `turn_schema(view)` (`text.format` on the Responses API,
`response_format` on chat completions). Streaming by default, to time the first token.

Model mistakes are data: malformed JSON, a refusal or a truncated answer become an
`Interpretation.error`. API failures (429, 5xx, 408/409, timeouts, dropped connections, a
response that cannot be read) are retried here with backoff, honouring `Retry-After`
(`call_with_retries`; the SDK's own retries are off) and then reported
as `unavailable`, so a `FallbackInterpreter` can ask the next interpreter; other 4xx (a bad key,
a rejected request) are unavailable at once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import openai
from openai import AsyncOpenAI, Omit, omit
from openai.types import CompletionUsage
from openai.types.responses import Response
from openai.types.shared import ReasoningEffort
from openai.types.shared_params import Reasoning

from cxflow.errors import UsageError
from cxflow.interpreter import Interpretation, TurnView
from cxflow.llm import (
    STATIC,
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

__all__ = ["OpenAIInterpreter", "strict_schema_ok"]

SCHEMA_NAME = "cxflow_commands"
"""The `name` of the structured-output format (part of the cached prefix: keep it fixed)."""

_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
"""Reasoning models reject `temperature`; it is left out for them."""

_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "description",
        "title",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "$defs",
        "$ref",
    }
)
"""JSON Schema keywords OpenAI's strict structured outputs accept (a conservative list)."""

_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)


def strict_schema_ok(schema: Mapping[str, Any]) -> bool:
    """Whether OpenAI's strict structured-output mode would accept `schema`.

    Strict mode needs a type (or `anyOf`/`enum`/`const`/`$ref`) on every subschema, every
    object closed (`additionalProperties: false`) with every property required, and only a
    subset of keywords (no `minLength`/`maxLength`, no untyped `{}`). A schema outside that is
    sent with `strict: false` (the model is guided by it; the machine still checks everything).
    """
    return _strict_node(schema)


def _strict_node(node: object) -> bool:
    if not isinstance(node, Mapping):
        return False
    schema = cast(Mapping[str, Any], node)
    if not set(schema) <= _STRICT_KEYWORDS:
        return False
    if not any(k in schema for k in ("type", "anyOf", "enum", "const", "$ref")):
        return False
    if "format" in schema and schema["format"] not in _STRICT_FORMATS:
        return False
    kind = schema.get("type")
    kinds = cast(list[object], kind) if isinstance(kind, list) else [kind]
    children: list[object] = []
    if "object" in kinds or "properties" in schema:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping) or schema.get("additionalProperties") is not False:
            return False
        props = cast(Mapping[str, object], properties)
        required = schema.get("required")
        if not isinstance(required, list) or set(cast(list[object], required)) != set(props):
            return False
        children += props.values()
    if "items" in schema:
        children.append(schema["items"])
    if "anyOf" in schema:
        options = schema["anyOf"]
        if not isinstance(options, list) or not options:
            return False
        children += cast(list[object], options)
    if "$defs" in schema:
        defs = schema["$defs"]
        if not isinstance(defs, Mapping):
            return False
        children += cast(Mapping[str, object], defs).values()
    return all(_strict_node(child) for child in children)


class _Failed(Exception):
    """The API answered but the response failed (a streamed `error`, `response.failed`)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one successful HTTP call gave: the text (or why there is none) and the tokens."""

    text: str
    refusal: str | None = None
    incomplete: str | None = None
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    first_token_ms: float = 0.0


def _retryable(exc: BaseException) -> bool:
    """429 (but not an exhausted quota), 408, 409, 5xx, timeouts and connection errors."""
    if isinstance(exc, _Failed):
        return exc.retryable
    if isinstance(exc, TimeoutError | openai.APIConnectionError | UnreadableResponseError):
        return True
    if isinstance(exc, openai.APIStatusError):
        if exc.code == "insufficient_quota":
            return False
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    if isinstance(exc, openai.APIResponseValidationError):
        return False
    # An error event in the middle of a stream (the server gave up after the 200).
    return isinstance(exc, openai.APIError)


def _describe(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, openai.APIStatusError):
        return exc.message
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return f"timed out (timeout_s={timeout_s:g})"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"connection error ({type(cause).__name__})" if cause else "connection error"
    if isinstance(exc, UnreadableResponseError):
        return f"unreadable response ({exc})"
    return str(exc) or type(exc).__name__


class OpenAIInterpreter:
    """An interpreter backed by OpenAI (Responses API) or an OpenAI-compatible server (chat).

    `OpenAIInterpreter(ModelSettings("gpt-5-mini"))` calls OpenAI with `OPENAI_API_KEY`;
    `OpenAIInterpreter(ModelSettings("llama3.1"), base_url="http://127.0.0.1:11434/v1")` calls
    chat completions on a local server (no key needed). `Usage.output_tokens` includes the
    reasoning tokens, which are also reported as `thinking_tokens`.
    """

    synchronous = False
    """Awaits HTTP calls: `turn_sync` runs it on an event loop."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        base_url: str | None = None,
        api: Literal["responses", "chat"] | None = None,
        client: AsyncOpenAI | None = None,
        stream: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        reasoning_effort: ReasoningEffort = None,
    ) -> None:
        """Configure the interpreter.

        Args:
            settings: Model, temperature, output budget, timeout, retries, prices.
            base_url: An OpenAI-compatible server (`http://HOST:PORT/v1`); default: OpenAI.
            api: "responses" (default for OpenAI) or "chat" (default with `base_url`).
            client: A ready `AsyncOpenAI` (tests, proxies); its own retries should be off.
            stream: Stream the answer (records the time to the first token).
            sleep: How to wait between retries (tests inject a fake).
            reasoning_effort: For reasoning models ("minimal", "low", ...); default: the
                model's own.

        Raises:
            UsageError: No API key for OpenAI (set OPENAI_API_KEY).
        """
        self.settings = settings
        self.base_url = base_url
        self.api: Literal["responses", "chat"] = api or ("chat" if base_url else "responses")
        self.stream = stream
        self.reasoning_effort: ReasoningEffort = reasoning_effort
        self._sleep = sleep
        self.name = f"openai:{settings.model}" + (f"@{base_url}" if base_url else "")
        self._owns_client = client is None
        self.client = client if client is not None else _make_client(settings, base_url)

    async def aclose(self) -> None:
        """Close the HTTP client, when this interpreter made it."""
        if self._owns_client:
            await self.client.close()

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """One model call (retried on API failures) for this message in this state."""
        prompt = build_prompt(view, text)
        schema_state = f"{view.flow}.{view.state}"
        settings = self.settings
        calls = 0

        async def once() -> _Answer:
            nonlocal calls
            calls += 1
            started = time.perf_counter()
            async with asyncio.timeout(settings.timeout_s):
                if self.api == "chat":
                    return await read_response(lambda: self._chat(prompt, schema_state, started))
                return await read_response(lambda: self._responses(prompt, schema_state, started))

        started = time.perf_counter()
        try:
            answer, _ = await call_with_retries(
                once, settings, is_retryable=_retryable, sleep=self._sleep
            )
        except (openai.OpenAIError, TimeoutError, _Failed, UnreadableResponseError) as exc:
            usage = Usage(model_calls=calls, model_ms=elapsed_ms(started), model=settings.model)
            return Interpretation(
                commands=[],
                error=f"openai unavailable: {_describe(exc, settings.timeout_s)}",
                usage=usage,
                unavailable=True,
            )
        usage = Usage(
            model_calls=calls,
            input_tokens=answer.input_tokens,
            cached_input_tokens=answer.cached_input_tokens,
            output_tokens=answer.output_tokens,
            thinking_tokens=answer.reasoning_tokens,
            cost_usd=cost_usd(
                settings.model,
                input_tokens=answer.input_tokens,
                cached_input_tokens=answer.cached_input_tokens,
                output_tokens=answer.output_tokens,
                prices=settings.prices,
            ),
            first_token_ms=answer.first_token_ms,
            model_ms=elapsed_ms(started),
            model=settings.model,
        )
        if answer.refusal is not None:
            return Interpretation(
                commands=[],
                raw=answer.refusal,
                error=f"model refused: {answer.refusal}",
                usage=usage,
            )
        if answer.incomplete is not None:
            return Interpretation(
                commands=[],
                raw=answer.text[:2000],
                error=f"incomplete output ({answer.incomplete})",
                usage=usage,
            )
        return parse_model_output(answer.text, usage)

    # -- request options ------------------------------------------------------------------------

    def _temperature(self) -> float | Omit:
        if self.settings.model.startswith(_REASONING_PREFIXES):
            return omit
        return self.settings.temperature

    def _format(self, prompt: Prompt) -> tuple[dict[str, Any], bool]:
        return prompt.schema, strict_schema_ok(prompt.schema)

    # -- Responses API --------------------------------------------------------------------------

    async def _responses(self, prompt: Prompt, state: str, started: float) -> _Answer:
        schema, strict = self._format(prompt)
        cache_key = f"cxflow:{state}" if self.base_url is None else omit
        reasoning: Reasoning | Omit = (
            {"effort": self.reasoning_effort} if self.reasoning_effort else omit
        )
        if not self.stream:
            response = await self.client.responses.create(
                model=self.settings.model,
                instructions=STATIC,
                input=prompt.turn,
                text={
                    "format": {
                        "type": "json_schema",
                        "name": SCHEMA_NAME,
                        "schema": schema,
                        "strict": strict,
                    }
                },
                max_output_tokens=self.settings.max_tokens,
                temperature=self._temperature(),
                reasoning=reasoning,
                prompt_cache_key=cache_key,
                store=False,
            )
            return _from_response(response, first_token_ms=0.0)
        events = await self.client.responses.create(
            model=self.settings.model,
            instructions=STATIC,
            input=prompt.turn,
            text={
                "format": {
                    "type": "json_schema",
                    "name": SCHEMA_NAME,
                    "schema": schema,
                    "strict": strict,
                }
            },
            max_output_tokens=self.settings.max_tokens,
            temperature=self._temperature(),
            reasoning=reasoning,
            prompt_cache_key=cache_key,
            store=False,
            stream=True,
        )
        first_token_ms = 0.0
        deltas: list[str] = []
        refusal: list[str] = []
        async with events:
            async for event in events:
                if event.type == "response.output_text.delta":
                    if not first_token_ms:
                        first_token_ms = elapsed_ms(started)
                    deltas.append(event.delta)
                elif event.type == "response.refusal.delta":
                    if not first_token_ms:
                        first_token_ms = elapsed_ms(started)
                    refusal.append(event.delta)
                elif event.type == "response.completed" or event.type == "response.incomplete":
                    answer = _from_response(event.response, first_token_ms=first_token_ms)
                    if not answer.text and deltas:
                        answer = replace(answer, text="".join(deltas))
                    if answer.refusal is None and refusal:
                        answer = replace(answer, refusal="".join(refusal))
                    return answer
                elif event.type == "response.failed":
                    error = event.response.error
                    code = error.code if error else "unknown"
                    message = error.message if error else "the response failed"
                    raise _Failed(
                        f"response failed ({code}): {message}",
                        retryable=code in ("server_error", "rate_limit_exceeded"),
                    )
                elif event.type == "error":
                    raise _Failed(
                        f"stream error ({event.code or 'unknown'}): {event.message}",
                        retryable=True,
                    )
        raise _Failed("the stream ended before the response completed", retryable=True)

    # -- chat completions -----------------------------------------------------------------------

    async def _chat(self, prompt: Prompt, state: str, started: float) -> _Answer:
        schema, strict = self._format(prompt)
        local = self.base_url is not None
        max_tokens = self.settings.max_tokens if local else omit
        max_completion_tokens = omit if local else self.settings.max_tokens
        cache_key = omit if local else f"cxflow:{state}"
        effort = self.reasoning_effort if self.reasoning_effort else omit
        if not self.stream:
            completion = await self.client.chat.completions.create(
                model=self.settings.model,
                messages=[
                    {"role": "system", "content": STATIC},
                    {"role": "user", "content": prompt.turn},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": strict},
                },
                max_tokens=max_tokens,
                max_completion_tokens=max_completion_tokens,
                temperature=self._temperature(),
                reasoning_effort=effort,
                prompt_cache_key=cache_key,
            )
            text = refusal = incomplete = None
            if completion.choices:
                choice = completion.choices[0]
                text, refusal = choice.message.content, choice.message.refusal
                incomplete = _chat_incomplete(choice.finish_reason)
            return _chat_answer(text, refusal, incomplete, completion.usage, first_token_ms=0.0)
        chunks = await self.client.chat.completions.create(
            model=self.settings.model,
            messages=[
                {"role": "system", "content": STATIC},
                {"role": "user", "content": prompt.turn},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": strict},
            },
            max_tokens=max_tokens,
            max_completion_tokens=max_completion_tokens,
            temperature=self._temperature(),
            reasoning_effort=effort,
            prompt_cache_key=cache_key,
            stream=True,
            stream_options={"include_usage": True},
        )
        first_token_ms = 0.0
        parts: list[str] = []
        refusals: list[str] = []
        finish: str | None = None
        usage: CompletionUsage | None = None
        async with chunks:
            async for chunk in chunks:
                if chunk.usage is not None:
                    usage = chunk.usage
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta.content:
                    if not first_token_ms:
                        first_token_ms = elapsed_ms(started)
                    parts.append(choice.delta.content)
                if choice.delta.refusal:
                    refusals.append(choice.delta.refusal)
                if choice.finish_reason is not None:
                    finish = choice.finish_reason
        if finish is None:
            raise _Failed("the stream ended before the answer finished", retryable=True)
        return _chat_answer(
            "".join(parts),
            "".join(refusals) or None,
            _chat_incomplete(finish),
            usage,
            first_token_ms=first_token_ms,
        )


def _make_client(settings: ModelSettings, base_url: str | None) -> AsyncOpenAI:
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        if base_url is None:
            raise UsageError(
                f"openai:{settings.model} needs an API key: set OPENAI_API_KEY (or pass "
                "base_url=... for an OpenAI-compatible server that needs none)"
            )
        key = "not-needed"
    return AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=settings.timeout_s)


def _from_response(response: Response, *, first_token_ms: float) -> _Answer:
    """Read a Responses API response: its text or refusal, status and token counts."""
    if response.status == "failed":
        error = response.error
        code = error.code if error else "unknown"
        raise _Failed(
            f"response failed ({code}): {error.message if error else 'no details'}",
            retryable=code in ("server_error", "rate_limit_exceeded"),
        )
    refusals = [
        part.refusal
        for item in response.output
        if item.type == "message"
        for part in item.content
        if part.type == "refusal"
    ]
    incomplete: str | None = None
    if response.status == "incomplete":
        details = response.incomplete_details
        incomplete = (details.reason if details else None) or "unknown reason"
    usage = response.usage
    return _Answer(
        text=response.output_text,
        refusal="".join(refusals) if refusals else None,
        incomplete=incomplete,
        input_tokens=usage.input_tokens if usage else 0,
        cached_input_tokens=_int(usage.input_tokens_details, "cached_tokens") if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        reasoning_tokens=_int(usage.output_tokens_details, "reasoning_tokens") if usage else 0,
        first_token_ms=first_token_ms,
    )


def _chat_incomplete(finish_reason: str | None) -> str | None:
    if finish_reason == "length":
        return "max_tokens"
    if finish_reason == "content_filter":
        return "content_filter"
    return None


def _chat_answer(
    text: str | None,
    refusal: str | None,
    incomplete: str | None,
    usage: CompletionUsage | None,
    *,
    first_token_ms: float,
) -> _Answer:
    return _Answer(
        text=text or "",
        refusal=refusal or None,
        incomplete=incomplete,
        input_tokens=usage.prompt_tokens if usage else 0,
        cached_input_tokens=_int(usage.prompt_tokens_details, "cached_tokens") if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
        reasoning_tokens=(
            _int(usage.completion_tokens_details, "reasoning_tokens") if usage else 0
        ),
        first_token_ms=first_token_ms,
    )


def _int(details: object, field: str) -> int:
    """A count from a usage details object that may be missing, or hold None."""
    value = getattr(details, field, None) if details is not None else None
    return value if isinstance(value, int) else 0
