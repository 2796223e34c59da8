"""Model phrasing of replies is held to the template's figures: a wording that adds a number,
price, id or date is refused and the template is sent, with the refusal on the record."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest

from cxflow import Session
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.llm import ModelSettings
from cxflow.phrasing import (
    PHRASING_PROMPT,
    ModelPhraser,
    anthropic_completion,
    openai_completion,
    unsupported_figures,
)
from cxflow.records import Usage


class Rewording:
    """Rewords with a fixed function; counts tokens like a model would."""

    name = "fake"
    synchronous = True

    def __init__(self, reword: object) -> None:
        self.reword = reword

    async def phrase(self, text: str) -> tuple[str, Usage]:
        assert callable(self.reword)
        return self.reword(text), Usage(model_calls=1, input_tokens=50, output_tokens=20)


def _quote(phraser: object) -> Session:
    session = Session.start(PlanUpgrade)
    session.phraser = phraser  # type: ignore[assignment]
    for text in ("555-014-3301", "555-014-3301", "Everyday 20"):
        session.turn_sync(text)
    return session


@pytest.mark.parametrize(
    ("template", "phrased", "extra"),
    [
        ("Everyday 20 costs $55.00 a month.", "Everyday 20 is just $55 monthly.", []),
        ("Everyday 20 costs $55.00 a month.", "Everyday 20 is $45.00 a month.", ["45"]),
        ("Your order #W1000002 is cancelled.", "Order #W1000003 is cancelled.", ["W1000003"]),
        ("Reservation HATHAT is booked.", "Booking XYZXYZ confirmed.", ["XYZXYZ"]),
        ("Refund in 5 days.", "Refund by 2024-05-19.", ["2024-05-19"]),
        ("Returns take 5-7 business days.", "Returns take 5-7 business days.", []),
    ],
)
def test_figures_not_in_the_template_are_found(
    template: str, phrased: str, extra: list[str]
) -> None:
    assert unsupported_figures(template, phrased) == extra


def test_a_faithful_wording_is_sent_and_the_template_kept_on_the_record() -> None:
    session = _quote(Rewording(lambda t: "Great choice! " + t.replace("Shall I", "Should I")))
    record = session.turns()[-1]
    assert record.reply.text.startswith("Great choice! Everyday 20 costs $55.00")
    assert record.reply.template is not None and record.reply.template.startswith("Everyday 20")
    assert record.reply.phrasing_rejected is None
    assert record.usage.model_calls == 1 and record.usage.output_tokens == 20


def test_a_wording_with_an_invented_price_is_refused_and_the_template_sent() -> None:
    session = _quote(Rewording(lambda t: t.replace("$55.00", "$45.00")))
    record = session.turns()[-1]
    assert record.reply.text.startswith("Everyday 20 costs $55.00 a month")
    assert record.reply.phrasing_rejected == "figures not in the template: 45"


def test_a_failing_phraser_never_fails_the_turn() -> None:
    def boom(text: str) -> str:
        raise RuntimeError("model down")

    session = _quote(Rewording(boom))
    record = session.turns()[-1]
    assert record.reply.text.startswith("Everyday 20 costs $55.00")
    assert record.reply.phrasing_rejected == "phraser failed: RuntimeError: model down"


def test_anthropic_and_openai_completions_over_mocked_apis() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        if request.url.path.endswith("/messages"):
            return httpx2.Response(
                200,
                json={
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-haiku-4-5",
                    "content": [{"type": "text", "text": "Sure! It costs $55.00 a month."}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 100,
                        "output_tokens": 12,
                        "cache_read_input_tokens": 0,
                        "cache_creation_input_tokens": 0,
                    },
                },
            )
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-5-mini",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "It's $55.00 a month."},
                    }
                ],
                "usage": {
                    "prompt_tokens": 90,
                    "completion_tokens": 10,
                    "total_tokens": 100,
                    "prompt_tokens_details": {"cached_tokens": 64},
                },
            },
        )

    import anthropic
    import openai

    transport = httpx2.MockTransport(handler)
    a = anthropic.AsyncAnthropic(
        api_key="test", http_client=httpx2.AsyncClient(transport=transport)
    )
    o = openai.AsyncOpenAI(api_key="test", http_client=httpx2.AsyncClient(transport=transport))
    by_anthropic = ModelPhraser(anthropic_completion(ModelSettings("claude-haiku-4-5"), a))
    by_openai = ModelPhraser(openai_completion(ModelSettings("gpt-5-mini"), o))
    text, usage = asyncio.run(by_anthropic.phrase("It costs $55.00 a month."))
    assert text == "Sure! It costs $55.00 a month." and usage.input_tokens == 100
    assert usage.cost_usd > 0
    text, usage = asyncio.run(by_openai.phrase("It costs $55.00 a month."))
    assert text == "It's $55.00 a month." and usage.cached_input_tokens == 64
    assert seen[0]["system"] == PHRASING_PROMPT
    assert seen[1]["messages"][0] == {"role": "system", "content": PHRASING_PROMPT}  # type: ignore[index]
