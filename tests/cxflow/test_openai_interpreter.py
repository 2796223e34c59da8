"""`OpenAIInterpreter` against a mocked HTTP transport: no network, no real model calls.

The canned bodies are shaped like what OpenAI's Responses API (JSON and SSE) and chat completions
return; the handler reads each request as the server would. Every test drives the real
`PlanUpgrade` flow through `Session`, so the engine's rejections and second attempts are real.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2
import openai
import pytest

from cxflow import RuleInterpreter, Session, Turn
from cxflow.errors import UsageError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.llm import STATIC, FallbackInterpreter, ModelSettings, cost_usd
from cxflow.llm.openai_interpreter import SCHEMA_NAME, OpenAIInterpreter, strict_schema_ok

MAYA = "555-014-3301"
LOCAL = "http://127.0.0.1:11434/v1"
PHONE = json.dumps({"commands": [{"type": "set_slot", "slot": "phone_number", "value": MAYA}]})

Answer = httpx2.Response | Callable[[httpx2.Request], Awaitable[httpx2.Response]]


# -- a fake OpenAI server -----------------------------------------------------------------------


class FakeOpenAI:
    """Answers each request with the next canned response (or raises what a transport would)."""

    def __init__(self, *answers: Answer | BaseException) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []
        self.sleeps: list[float] = []

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        return await answer(request)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, base_url: str | None = None) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key="test",
            base_url=base_url,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle)),
        )

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def _interpreter(
    fake: FakeOpenAI, *, model: str = "gpt-5-mini", base_url: str | None = None, **kw: Any
) -> OpenAIInterpreter:
    settings = kw.pop("settings", None) or ModelSettings(model=model, max_retries=2)
    return OpenAIInterpreter(
        settings, base_url=base_url, client=fake.client(base_url), sleep=fake.sleep, **kw
    )


def _turn(session: Session, text: str) -> Turn:
    return asyncio.run(session.turn(text))


def _usage(
    input_tokens: int = 1500, cached: int = 1280, output: int = 60, reasoning: int = 24
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output,
    }


def _response_object(
    content: list[dict[str, Any]],
    *,
    status: str = "completed",
    incomplete: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Responses API `response` object, as `POST /v1/responses` returns it."""
    output: list[dict[str, Any]] = [
        {"id": "rs_68c1f0a1b2", "type": "reasoning", "summary": []},
        {
            "id": "msg_68c1f0a1b3",
            "type": "message",
            "status": "incomplete" if incomplete else "completed",
            "role": "assistant",
            "content": content,
        },
    ]
    return {
        "id": "resp_68c1f0a1b1",
        "object": "response",
        "created_at": 1757540001,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": STATIC,
        "max_output_tokens": 1024,
        "max_tool_calls": None,
        "model": "gpt-5-mini-2025-08-07",
        "output": output if content else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": "cxflow:plan_upgrade.identify",
        "reasoning": {"effort": "medium", "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "json_schema", "name": SCHEMA_NAME}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def responses_json(
    text: str, *, status: str = "completed", incomplete: str | None = None, **usage: int
) -> httpx2.Response:
    body = _response_object(
        [_text(text)], status=status, incomplete=incomplete, usage=_usage(**usage)
    )
    return httpx2.Response(200, json=body, headers={"x-request-id": "req_1"})


def refusal_json(refusal: str) -> httpx2.Response:
    body = _response_object([{"type": "refusal", "refusal": refusal}], usage=_usage(output=12))
    return httpx2.Response(200, json=body)


def _sse(events: list[dict[str, Any]]) -> list[bytes]:
    return [
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': i})}\n\n".encode()
        for i, e in enumerate(events)
    ]


def responses_sse(text: str, *, pause_s: float = 0.0, **usage: int) -> Answer:
    """A streamed response: created, in_progress, the message item, text deltas, completed."""
    pending = _response_object([], status="in_progress")
    done = _response_object([_text(text)], usage=_usage(**usage))
    item = {"id": "msg_68c1f0a1b3", "type": "message", "status": "in_progress", "role": "assistant"}
    where = {"item_id": "msg_68c1f0a1b3", "output_index": 1, "content_index": 0}
    head = _sse(
        [
            {"type": "response.created", "response": pending},
            {"type": "response.in_progress", "response": pending},
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {**item, "content": []},
            },
            {"type": "response.content_part.added", **where, "part": _text("")},
        ]
    )
    third = len(text) // 3
    pieces = [text[:third], text[third : 2 * third], text[2 * third :]]
    deltas = [
        {"type": "response.output_text.delta", **where, "delta": p, "logprobs": []} for p in pieces
    ]
    tail = [
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": _text(text)},
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": {**item, "status": "completed", "content": [_text(text)]},
        },
        {"type": "response.completed", "response": done},
    ]
    frames = _sse([{"type": "x"}] * len(head) + deltas + tail)[len(head) :]
    delta_frames, tail_frames = frames[: len(deltas)], frames[len(deltas) :]

    async def body() -> AsyncIterator[bytes]:
        for frame in head:
            yield frame
        await asyncio.sleep(pause_s)  # the model thinks before its first token
        for frame in delta_frames:
            yield frame
        await asyncio.sleep(pause_s)
        for frame in tail_frames:
            yield frame

    async def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=body()
        )

    return answer


def api_error(status: int, message: str, kind: str, code: str | None) -> httpx2.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return httpx2.Response(status, json=body, headers={"x-request-id": "req_err"})


def rate_limited() -> httpx2.Response:
    return api_error(
        429,
        "Rate limit reached for gpt-5-mini in organization org-test on tokens per min (TPM): "
        "Limit 200000, Used 199800, Requested 1500. Please try again in 390ms.",
        "tokens",
        "rate_limit_exceeded",
    )


def server_error() -> httpx2.Response:
    return api_error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    )


def chat_json(
    text: str | None, *, refusal: str | None = None, finish: str = "stop"
) -> httpx2.Response:
    body = {
        "id": "chatcmpl-7a1",
        "object": "chat.completion",
        "created": 1757540001,
        "model": "llama3.1",
        "system_fingerprint": "fp_local",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": 1400,
            "completion_tokens": 30,
            "total_tokens": 1430,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 8,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    }
    return httpx2.Response(200, json=body)


def chat_sse(text: str, *, pause_s: float = 0.0) -> Answer:
    """A streamed chat completion: role, content deltas, finish, a usage chunk, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-7a2",
            "object": "chat.completion.chunk",
            "created": 1757540001,
            "model": "llama3.1",
            "system_fingerprint": "fp_local",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    half = len(text) // 2
    usage = {
        "id": "chatcmpl-7a2",
        "object": "chat.completion.chunk",
        "created": 1757540001,
        "model": "llama3.1",
        "choices": [],
        "usage": {"prompt_tokens": 900, "completion_tokens": 25, "total_tokens": 925},
    }
    first = [chunk({"role": "assistant", "content": ""})]
    rest = [chunk({"content": text[:half]}), chunk({"content": text[half:]}), chunk({}, "stop")]

    async def body() -> AsyncIterator[bytes]:
        for c in first:
            yield f"data: {json.dumps(c)}\n\n".encode()
        await asyncio.sleep(pause_s)
        for c in [*rest, usage]:
            yield f"data: {json.dumps(c)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    async def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return answer


def _slot_names(schema: dict[str, Any]) -> set[str]:
    variants = schema["properties"]["commands"]["items"]["anyOf"]
    return {
        v["properties"]["slot"]["const"]
        for v in variants
        if v["properties"]["type"].get("const") == "set_slot"
    }


# -- Responses API ------------------------------------------------------------------------------


def test_structured_output_fills_a_slot_and_usage_lands_on_the_record() -> None:
    fake = FakeOpenAI(
        responses_json(PHONE),
        responses_json(
            json.dumps({"commands": [{"type": "set_slot", "slot": "line_phone", "value": MAYA}]})
        ),
    )
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, stream=False))

    turn = _turn(session, f"hi, my number is {MAYA}")

    assert turn.state == "choose_line" and turn.slots["phone_number"] == MAYA
    record = turn.record
    assert record.interpreter == "openai:gpt-5-mini"
    assert record.rejected == []
    usage = record.usage
    assert (usage.model_calls, usage.input_tokens, usage.cached_input_tokens) == (1, 1500, 1280)
    assert (usage.output_tokens, usage.thinking_tokens) == (60, 24)
    assert usage.cost_usd == cost_usd(
        "gpt-5-mini", input_tokens=1500, cached_input_tokens=1280, output_tokens=60
    )
    assert usage.cost_usd > 0
    assert usage.model == "gpt-5-mini" and usage.model_ms > 0 and usage.first_token_ms == 0

    request = fake.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v1/responses")
    assert request.headers["authorization"] == "Bearer test"
    body = fake.bodies()[0]
    assert body["model"] == "gpt-5-mini" and body.get("stream") in (None, False)
    assert body["instructions"] == STATIC  # the cached prefix comes first
    assert STATIC not in body["input"]
    assert body["input"].startswith("Flow: plan_upgrade. State: identify.")
    assert body["input"].endswith(f"Customer's message: 'hi, my number is {MAYA}'")
    fmt = body["text"]["format"]
    assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", SCHEMA_NAME, True)
    assert _slot_names(fmt["schema"]) == {"phone_number", "full_name", "date_of_birth"}
    assert body["max_output_tokens"] == 1024 and body["store"] is False
    assert body["prompt_cache_key"] == "cxflow:plan_upgrade.identify"
    assert "temperature" not in body  # reasoning models reject it
    # only this state's situation: no other state's text, events or tools
    sent = request.content.decode()
    for elsewhere in ("only an active line", "decline_price", "confirm_price", "change_plan"):
        assert elsewhere not in sent

    second = _turn(session, "the first one")
    assert second.state == "choose_plan"
    first_body, second_body = fake.bodies()
    assert second_body["instructions"].encode() == first_body["instructions"].encode()
    assert second_body["input"] != first_body["input"]
    schema = second_body["text"]["format"]["schema"]
    assert _slot_names(schema) == {"line_phone", "phone_number"}
    line = next(
        v
        for v in schema["properties"]["commands"]["items"]["anyOf"]
        if v["properties"].get("slot", {}).get("const") == "line_phone"
    )
    assert line["properties"]["value"] == {"enum": [MAYA, "555-014-3302"]}


def test_streamed_output_records_the_time_to_the_first_token() -> None:
    fake = FakeOpenAI(responses_sse(PHONE, pause_s=0.03, input_tokens=1300, cached=1152))
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake))

    turn = _turn(session, f"it's {MAYA}")

    assert turn.state == "choose_line"
    usage = turn.record.usage
    assert usage.first_token_ms >= 25  # measured at the first text delta, not at the end
    assert usage.model_ms >= usage.first_token_ms + 25
    assert (usage.input_tokens, usage.cached_input_tokens, usage.thinking_tokens) == (
        1300,
        1152,
        24,
    )
    assert fake.bodies()[0]["stream"] is True


def test_malformed_json_is_recorded_and_the_engine_asks_again() -> None:
    fake = FakeOpenAI(
        responses_json('{"commands": [{"type": "set_slot", "slot": '), responses_json(PHONE)
    )
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, stream=False))

    turn = _turn(session, MAYA)

    assert [r.reason.split(":")[0] for r in turn.record.rejected] == ["malformed JSON"]
    assert len(fake.requests) == 2 and turn.record.usage.model_calls == 2
    assert turn.state == "choose_line"
    assert "refused: malformed JSON" in fake.bodies()[1]["input"]


def test_a_transition_that_is_not_enabled_is_rejected_and_the_retry_says_why() -> None:
    take = json.dumps({"commands": [{"type": "take", "event": "confirm_price"}]})
    fake = FakeOpenAI(responses_json(take), responses_json(PHONE))
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, stream=False))

    turn = _turn(session, f"yes go ahead, {MAYA}")

    [rejected] = turn.record.rejected
    assert rejected.command == {"type": "take", "event": "confirm_price"}
    assert "'confirm_price' is not enabled in state 'identify'" in rejected.reason
    assert turn.record.attempts[0] == [{"type": "take", "event": "confirm_price"}]
    retry = fake.bodies()[1]["input"]
    assert "Your previous answer for this message was refused" in retry
    assert rejected.reason in retry
    assert turn.state == "choose_line" and not turn.done


def test_a_slot_value_of_the_wrong_type_is_rejected() -> None:
    bad = json.dumps(
        {"commands": [{"type": "set_slot", "slot": "date_of_birth", "value": "last spring"}]}
    )
    noop = json.dumps({"commands": [{"type": "noop"}]})
    fake = FakeOpenAI(responses_json(bad), responses_json(noop))
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, stream=False))

    turn = _turn(session, "born last spring")

    [rejected] = turn.record.rejected
    assert rejected.reason.startswith("invalid value for 'date_of_birth'")
    assert turn.slots["date_of_birth"] is None and turn.state == "identify"
    assert rejected.reason in fake.bodies()[1]["input"]


def test_a_refusal_is_recorded_as_an_error() -> None:
    sorry = "I'm sorry, but I can't assist with that request."
    fake = FakeOpenAI(refusal_json(sorry), responses_json(PHONE))
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, stream=False))

    turn = _turn(session, MAYA)

    assert turn.record.rejected[0].reason == f"model refused: {sorry}"
    assert turn.state == "choose_line"


def test_an_incomplete_answer_is_recorded_as_an_error() -> None:
    cut = responses_json(
        '{"commands": [{"type"', status="incomplete", incomplete="max_output_tokens"
    )
    fake = FakeOpenAI(cut, responses_json(PHONE))
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, stream=False))

    turn = _turn(session, MAYA)

    assert turn.record.rejected[0].reason == "incomplete output (max_output_tokens)"
    assert turn.state == "choose_line"


def test_a_429_is_retried_with_backoff_and_both_calls_are_counted() -> None:
    fake = FakeOpenAI(rate_limited(), responses_sse(PHONE))
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake))

    turn = _turn(session, MAYA)

    assert turn.state == "choose_line" and turn.record.rejected == []
    assert turn.record.usage.model_calls == 2 and len(fake.requests) == 2
    [wait] = fake.sleeps
    assert 0.5 <= wait <= 0.5 * 1.25  # settings.backoff_s, with jitter
    assert turn.record.usage.input_tokens == 1500  # only the answered call has tokens


def test_5xx_until_retries_run_out_falls_back_to_the_rules() -> None:
    fake = FakeOpenAI(server_error(), server_error(), server_error())
    chain = FallbackInterpreter([_interpreter(fake), RuleInterpreter()])
    session = Session.start(PlanUpgrade, interpreter=chain)

    turn = _turn(session, f"my number is {MAYA}")

    assert turn.state == "choose_line" and turn.slots["phone_number"] == MAYA
    record = turn.record
    assert record.interpreter == "openai:gpt-5-mini > rules"
    assert record.rejected == []
    assert record.usage.model_calls == 3 == len(fake.requests)  # max_retries=2
    assert len(fake.sleeps) == 2 and fake.sleeps[1] > fake.sleeps[0]  # exponential backoff


@pytest.mark.parametrize("slow", ["transport", "deadline"], ids=["read-timeout", "timeout_s"])
def test_a_timeout_is_retried_then_the_interpreter_is_unavailable(slow: str) -> None:
    async def hang(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(5)
        raise AssertionError("the deadline should have cancelled this")

    def answer() -> Answer | BaseException:
        return httpx2.ReadTimeout("timed out") if slow == "transport" else hang

    fake = FakeOpenAI(*(answer() for _ in range(4)))
    settings = ModelSettings(model="gpt-5-mini", max_retries=1, timeout_s=0.05)
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake, settings=settings))

    turn = _turn(session, MAYA)

    reasons = [r.reason for r in turn.record.rejected]
    assert reasons and all(r == "openai unavailable: timed out (timeout_s=0.05)" for r in reasons)
    # each interpreter attempt: the call and its retry; the engine's second attempt does the same
    assert turn.record.usage.model_calls == len(fake.requests) == 2 * len(reasons)
    assert turn.state == "identify" and turn.slots["phone_number"] is None


def test_other_4xx_errors_are_unavailable_at_once() -> None:
    bad = api_error(
        400,
        "Invalid schema for response_format 'cxflow_commands': context=(), 'foo' is not permitted.",
        "invalid_request_error",
        "invalid_json_schema",
    )
    fake = FakeOpenAI(bad)
    chain = FallbackInterpreter([_interpreter(fake), RuleInterpreter()])
    session = Session.start(PlanUpgrade, interpreter=chain)

    turn = _turn(session, MAYA)

    assert len(fake.requests) == 1 and fake.sleeps == []  # no retry: the rules answered
    assert turn.state == "choose_line" and turn.record.rejected == []
    assert turn.record.usage.model_calls == 1


def test_a_bad_request_without_fallback_is_an_unavailable_error() -> None:
    fake = FakeOpenAI(
        api_error(
            401, "Incorrect API key provided: sk-test.", "invalid_request_error", "invalid_api_key"
        ),
        api_error(
            401, "Incorrect API key provided: sk-test.", "invalid_request_error", "invalid_api_key"
        ),
    )
    session = Session.start(PlanUpgrade, interpreter=_interpreter(fake))

    turn = _turn(session, MAYA)

    reasons = [r.reason for r in turn.record.rejected]
    assert reasons == ["openai unavailable: Error code: 401 - Incorrect API key provided: sk-test."]
    # unavailable: the engine does not ask a second time (it would fail the same way)
    assert fake.sleeps == [] and turn.record.usage.model_calls == 1


def test_no_api_key_for_openai_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        OpenAIInterpreter(ModelSettings(model="gpt-5-mini"))
    local = OpenAIInterpreter(ModelSettings(model="llama3.1"), base_url=LOCAL)
    assert (local.name, local.api, local.synchronous) == (f"openai:llama3.1@{LOCAL}", "chat", False)
    assert str(local.client.base_url).rstrip("/") == LOCAL and local.client.max_retries == 0
    asyncio.run(local.aclose())
    from cxflow.llm.spec import interpreter_from_spec

    built = interpreter_from_spec(f"openai:llama3.1@{LOCAL}", max_retries=1)
    assert isinstance(built, OpenAIInterpreter) and built.name == local.name
    assert built.settings.max_retries == 1
    asyncio.run(built.aclose())


def test_strict_mode_needs_a_closed_schema_and_the_turn_schema_is_one() -> None:
    closed = {
        "type": "object",
        "properties": {"commands": {"type": "array", "items": {"anyOf": [
            {"type": "object", "properties": {"type": {"const": "noop"}},
             "required": ["type"], "additionalProperties": False},
        ]}}},
        "required": ["commands"],
        "additionalProperties": False,
    }  # fmt: skip
    assert strict_schema_ok(closed)
    assert not strict_schema_ok({**closed, "required": []})
    untyped_value = {"type": "object", "properties": {"value": {}}, "required": ["value"]}
    assert not strict_schema_ok({**untyped_value, "additionalProperties": False})
    length = {"type": "string", "maxLength": 500}
    assert not strict_schema_ok(length)


# -- chat completions (any OpenAI-compatible server) ------------------------------------------


def test_chat_completions_on_a_local_server() -> None:
    fake = FakeOpenAI(chat_json(PHONE))
    interpreter = _interpreter(fake, model="llama3.1", base_url=LOCAL, stream=False)
    session = Session.start(PlanUpgrade, interpreter=interpreter)

    turn = _turn(session, f"my number is {MAYA}")

    assert turn.state == "choose_line"
    record = turn.record
    assert record.interpreter == f"openai:llama3.1@{LOCAL}"
    usage = record.usage
    assert (usage.model_calls, usage.input_tokens, usage.cached_input_tokens) == (1, 1400, 1024)
    assert (usage.output_tokens, usage.thinking_tokens, usage.cost_usd) == (30, 8, 0.0)
    request = fake.requests[0]
    assert str(request.url) == f"{LOCAL}/chat/completions"
    body = fake.bodies()[0]
    assert body["messages"][0] == {"role": "system", "content": STATIC}
    assert body["messages"][1]["role"] == "user"
    assert body["messages"][1]["content"].startswith("Flow: plan_upgrade. State: identify.")
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == SCHEMA_NAME
    assert _slot_names(fmt["json_schema"]["schema"]) == {
        "phone_number",
        "full_name",
        "date_of_birth",
    }
    assert body["max_tokens"] == 1024 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.0 and "prompt_cache_key" not in body


def test_chat_completions_streamed_with_usage_chunk() -> None:
    fake = FakeOpenAI(chat_sse(PHONE, pause_s=0.02))
    session = Session.start(
        PlanUpgrade, interpreter=_interpreter(fake, model="llama3.1", base_url=LOCAL)
    )

    turn = _turn(session, MAYA)

    assert turn.state == "choose_line"
    usage = turn.record.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (900, 0, 25)
    assert usage.first_token_ms >= 15
    body = fake.bodies()[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_chat_refusal_and_truncation_are_errors() -> None:
    fake = FakeOpenAI(
        chat_json(None, refusal="I can't help with that."),
        chat_json('{"commands": [', finish="length"),
    )
    session = Session.start(
        PlanUpgrade,
        interpreter=_interpreter(fake, model="llama3.1", base_url=LOCAL, stream=False),
    )

    turn = _turn(session, MAYA)

    reasons = [r.reason for r in turn.record.rejected]
    assert reasons == ["model refused: I can't help with that.", "incomplete output (max_tokens)"]
