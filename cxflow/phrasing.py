"""Optional model phrasing of replies, held to the template's facts.

Replies are templates by default (no model latency, nothing the slots do not hold). A session
given a `Phraser` asks it to reword each reply; the wording is used only when every figure in
it (numbers, prices, ids, codes, dates) appears in the template's text. Otherwise the template
is sent and the rejection is recorded on the reply (`phrasing_rejected`), so a model can never
add an order number, a price or a return window the flow did not state.

```python
session = Session.start(ReturnItems, phraser=ModelPhraser(anthropic_completion(settings)))
```
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from cxflow.records import Usage

__all__ = [
    "PHRASING_PROMPT",
    "ModelPhraser",
    "Phraser",
    "anthropic_completion",
    "openai_completion",
    "unsupported_figures",
]

PHRASING_PROMPT = """\
Reword the customer-service reply below so it sounds natural and warm. Keep its meaning and
every number, price, id, code and date exactly as written; add no new facts, numbers, ids,
dates, promises or policies; keep questions as questions. Answer with the reworded reply only."""


@runtime_checkable
class Phraser(Protocol):
    """Rewords a reply; returns the new text and the usage of the call."""

    name: str

    async def phrase(self, text: str) -> tuple[str, Usage]:
        """The reworded reply (the caller checks it against the template's figures)."""
        ...


_FIGURE = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # ISO dates
    r"|\$?\d[\d,]*(?:\.\d+)?"  # numbers and prices
    r"|#?[A-Za-z]*\d[A-Za-z0-9-]*"  # ids with digits: #W1000002, L2001, B2EC9N
    r"|\b[A-Z]{6}\b"  # six-letter codes (reservation ids like HATHAT)
)


def _figures(text: str) -> set[str]:
    found: set[str] = set()
    for match in _FIGURE.finditer(text):
        token = match.group().strip(",.")
        if not token:
            continue
        plain = token.lstrip("$").replace(",", "")
        try:
            found.add(str(Decimal(plain).normalize()))
        except InvalidOperation:
            found.add(token.lstrip("#").upper())
    return found


def unsupported_figures(template: str, phrased: str) -> list[str]:
    """The figures of `phrased` (numbers, prices, ids, codes, dates) not in `template`."""
    allowed = _figures(template)
    return sorted(_figures(phrased) - allowed)


Completion = Callable[[str, str], Awaitable[tuple[str, Usage]]]
"""`complete(system, user) -> (text, usage)`: one model call."""


class ModelPhraser:
    """A phraser calling a model through a completion function (see `anthropic_completion`,
    `openai_completion`)."""

    def __init__(self, complete: Completion, *, name: str = "model") -> None:
        """Phrase with `complete(system, user)`."""
        self.complete = complete
        self.name = name

    async def phrase(self, text: str) -> tuple[str, Usage]:
        """One call: the template text in, the reworded text out."""
        reworded, usage = await self.complete(PHRASING_PROMPT, text)
        return reworded.strip(), usage


def anthropic_completion(settings: Any, client: Any = None) -> Completion:
    """A completion function over Anthropic's Messages API (`cxflow[anthropic]`)."""
    from cxflow.llm import cost_usd

    if client is None:
        import anthropic

        client = anthropic.AsyncAnthropic(max_retries=2, timeout=settings.timeout_s)

    async def complete(system: str, user: str) -> tuple[str, Usage]:
        message: Any = await client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=system,
            messages=[{"role": "user", "content": user}],
        )
        text = "".join(b.text for b in message.content if getattr(b, "type", "") == "text")
        used = message.usage
        cached = int(getattr(used, "cache_read_input_tokens", 0) or 0)
        total_in = int(used.input_tokens) + cached
        return text, Usage(
            model_calls=1,
            input_tokens=total_in,
            cached_input_tokens=cached,
            output_tokens=int(used.output_tokens),
            cost_usd=cost_usd(
                settings.model,
                input_tokens=total_in,
                cached_input_tokens=cached,
                output_tokens=int(used.output_tokens),
                prices=settings.prices,
            ),
            model=settings.model,
        )

    return complete


def openai_completion(settings: Any, client: Any = None, base_url: str | None = None) -> Completion:
    """A completion function over chat completions (OpenAI or any compatible server)."""
    from cxflow.llm import cost_usd

    if client is None:
        import openai

        client = openai.AsyncOpenAI(max_retries=2, timeout=settings.timeout_s, base_url=base_url)

    async def complete(system: str, user: str) -> tuple[str, Usage]:
        answer: Any = await client.chat.completions.create(
            model=settings.model,
            temperature=settings.temperature,
            max_completion_tokens=settings.max_tokens,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        )
        text = answer.choices[0].message.content or ""
        used = answer.usage
        details = getattr(used, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        return text, Usage(
            model_calls=1,
            input_tokens=int(used.prompt_tokens),
            cached_input_tokens=cached,
            output_tokens=int(used.completion_tokens),
            cost_usd=cost_usd(
                settings.model,
                input_tokens=int(used.prompt_tokens),
                cached_input_tokens=cached,
                output_tokens=int(used.completion_tokens),
                prices=settings.prices,
            ),
            model=settings.model,
        )

    return complete
