"""The bugs the fault injection found, each pinned by a direct test: Retry-After ignored, an
unreadable API response raised out of the turn, data files that crashed their loader or loaded
half a database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest

from cxflow.errors import DataFileError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.interpreter import Interpretation, TurnView
from cxflow.llm import ModelSettings, call_with_retries, retry_after_s
from cxflow.llm.anthropic_interpreter import AnthropicInterpreter
from cxflow.llm.openai_interpreter import OpenAIInterpreter
from cxflow.session import Session
from cxflow.simulators.reliability._faults_model import FakeServer, a_message, html_page
from cxflow.simulators.scenario import load_scenarios
from cxflow.simulators.telecom.state import load_phone_state
from cxflow.tools.airline.db import load_airline_db
from cxflow.tools.telecom.db import load_telecom_db, sample_db_path


def identify_view() -> TurnView:
    """What an interpreter sees on PlanUpgrade's first turn."""
    views: list[TurnView] = []

    class Capture:
        name = "capture"
        synchronous = True

        async def interpret(self, view: TurnView, text: str) -> Interpretation:
            views.append(view)
            return Interpretation(commands=[])

    Session.start(PlanUpgrade, interpreter=Capture()).turn_sync("hello")
    return views[0]


def _failure(**headers: str) -> Exception:
    request = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
    response = httpx2.Response(429, headers=headers, request=request)
    return anthropic.RateLimitError("slow down", response=response, body=None)


def test_retry_after_is_read_in_seconds_milliseconds_and_as_a_date() -> None:
    assert retry_after_s(_failure(**{"retry-after": "3"})) == 3.0
    assert retry_after_s(_failure(**{"retry-after-ms": "2500", "retry-after": "9"})) == 2.5
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    waited = retry_after_s(_failure(**{"retry-after": soon}))
    assert waited is not None and 25 < waited <= 30
    assert retry_after_s(_failure(**{"retry-after": "600"})) is None  # past the cap: backoff
    assert retry_after_s(_failure(**{"retry-after": "soon"})) is None
    assert retry_after_s(_failure()) is None
    assert retry_after_s(TimeoutError()) is None


def test_a_retry_waits_as_long_as_the_api_asked() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = 0

    async def limited() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise _failure(**{"retry-after": "4"})
        return "ok"

    settings = ModelSettings("m", max_retries=2, backoff_s=0.5)
    result = asyncio.run(
        call_with_retries(limited, settings, is_retryable=lambda e: True, sleep=sleep)
    )
    assert result == ("ok", 2)
    assert waits == [4.0]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_an_html_page_with_status_200_is_retried_then_unavailable_not_raised(stream: bool) -> None:
    server = FakeServer(lambda _n, _clock: html_page())
    client = anthropic.AsyncAnthropic(api_key="test", http_client=server.http())
    interpreter = AnthropicInterpreter(
        ModelSettings("claude-haiku-4-5", max_retries=1),
        client=client,
        stream=stream,
        sleep=server.sleep,
    )
    answer = asyncio.run(interpreter.interpret(identify_view(), "hi"))
    assert answer.unavailable and answer.commands == []
    assert server.requests == 2 and answer.usage.model_calls == 2
    assert answer.error is not None and answer.error.startswith("anthropic unavailable")


def test_a_json_body_cut_short_is_retried_and_the_retry_answers() -> None:
    cut = httpx2.Response(200, content=b'{"id": "resp_1", "obj', headers={"content-type": "json"})

    def answer(n: int, _clock: float) -> httpx2.Response:
        return cut if n == 1 else _openai_ok()

    server = FakeServer(answer)
    client = openai.AsyncOpenAI(api_key="test", max_retries=0, http_client=server.http())
    interpreter = OpenAIInterpreter(
        ModelSettings("gpt-5-mini", max_retries=2), client=client, stream=False, sleep=server.sleep
    )
    got = asyncio.run(interpreter.interpret(identify_view(), "555-014-3301"))
    assert got.error is None and [c.model_dump()["type"] for c in got.commands] == ["noop"]
    assert server.requests == 2 and got.usage.model_calls == 2


def _openai_ok() -> httpx2.Response:
    from cxflow.simulators.reliability._faults_model import o_response

    return o_response('{"commands": [{"type": "noop"}]}')


def test_anthropic_whole_message_still_answers() -> None:
    server = FakeServer(lambda _n, _clock: a_message({"commands": [{"type": "noop"}]}))
    client = anthropic.AsyncAnthropic(api_key="test", http_client=server.http())
    interpreter = AnthropicInterpreter(
        ModelSettings("claude-haiku-4-5"), client=client, stream=False, sleep=server.sleep
    )
    got = asyncio.run(interpreter.interpret(identify_view(), "hi"))
    assert got.error is None and server.requests == 1


# -- data files -----------------------------------------------------------------------------------


def test_json_nested_past_the_parsers_stack_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(DataFileError, match=r"db\.json: nested too deeply"):
        load_airline_db(path)


def test_telecom_db_cut_between_records_is_refused_naming_the_dangling_id(tmp_path: Path) -> None:
    text = sample_db_path().read_text()
    cut = text[: text.rindex("[[bills]]")]  # the last bill is gone; a customer still names it
    path = tmp_path / "crm.toml"
    path.write_text(cut)
    with pytest.raises(DataFileError) as info:
        load_telecom_db(path)
    assert info.value.field == "bill_ids"
    assert info.value.record is not None and info.value.record.startswith("customers[")
    assert "cut short" in str(info.value) and "crm.toml" in str(info.value)


def test_telecom_db_without_a_table_is_refused(tmp_path: Path) -> None:
    text = sample_db_path().read_text()
    path = tmp_path / "crm.toml"
    path.write_text(text[: text.index("[[lines]]")])  # plans and devices only
    with pytest.raises(DataFileError, match="no customers, lines, bills table"):
        load_telecom_db(path)
    path.write_text("")
    with pytest.raises(DataFileError, match="no plans, customers, lines, bills, devices table"):
        load_telecom_db(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe flow: x\n", "not UTF-8 text"),
        (b"- " * 1_500 + b"x\n", "nested too deeply"),
    ],
    ids=["not-utf8", "too-deep"],
)
def test_scenario_files_that_are_not_yaml_text_are_data_file_errors(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=problem) as info:
        load_scenarios(path)
    assert info.value.path == path


def test_phone_state_nested_too_deeply_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "user_db.toml"
    path.write_bytes(b"x = " + b"[" * 5_000 + b"]" * 5_000 + b"\n")
    with pytest.raises(DataFileError, match=r"user_db\.toml"):
        load_phone_state(path)
