"""A model-driven customer, in the style of tau2-bench's user simulator.

`LLMCustomer` plays the customer with a model (Anthropic's Messages API, or OpenAI's Responses
API or chat completions). Its system prompt is tau2's: the simulation guidelines (read from a
tau2 data folder, `user_simulator/simulation_guidelines.md`, or `..._tools.md` when the customer
holds a phone), then the scenario in `<scenario>` tags. The history is the conversation seen from
the customer's side: the agent's messages are the other party's (`user`), the customer's own are
the model's (`assistant`).

Each `respond(reply)` makes one model call; the model answers with one message, or, when the
customer holds a telecom phone (`world`), with one call of a phone tool
(`cxflow.simulators.telecom.USER_TOOL_NAMES`), which runs on the customer's own phone
(`world.call("user", ...)`); its result goes back to the model, which is called again, until it
writes a message (at most `MAX_TOOL_CALLS` tool calls per turn; then tools are switched off for
one last call). tau2's stop tokens end the conversation: `###STOP###` (done), `###TRANSFER###`
(transferred) and `###OUT-OF-SCOPE###` (the scenario does not cover it); text before the token is
sent, and the customer ends at their next turn.

API failures (429, 5xx, 408/409, timeouts, dropped connections) are retried with
`cxflow.llm.call_with_retries` (the SDK's own retries are off); when the API stays down, or
refuses the request, `LLMCustomerError` is raised: a failing simulator is not a mistake of the
agent, and a runner reports the trial as an error. Token use and cost are summed on `usage`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import textwrap
import time
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import create_model

from cxflow._parsers import parse_yes_no
from cxflow.customer import CustomerTurn
from cxflow.errors import CxflowError, MissingExtraError, UsageError
from cxflow.llm import ModelSettings, call_with_retries, cost_usd
from cxflow.records import Reply, Usage
from cxflow.simulators.scenario import Scenario
from cxflow.simulators.telecom.environment import TelecomEnvironment
from cxflow.simulators.telecom.phone_tools import USER_TOOL_NAMES, TelecomUserTools

__all__ = [
    "BUILTIN_GUIDELINES",
    "BUILTIN_GUIDELINES_TOOLS",
    "MAX_TOOL_CALLS",
    "OUT_OF_SCOPE",
    "STOP",
    "STOP_TOKENS",
    "TRANSFER",
    "LLMCustomer",
    "LLMCustomerError",
    "PhoneToolSpec",
    "load_guidelines",
    "phone_tool_specs",
    "scenario_instructions",
    "system_prompt",
    "tau2_instructions",
]

STOP = "###STOP###"
"""The customer's goal is met."""
TRANSFER = "###TRANSFER###"
"""The customer was transferred to another agent."""
OUT_OF_SCOPE = "###OUT-OF-SCOPE###"
"""The scenario does not say how to go on."""
STOP_TOKENS: tuple[str, ...] = (STOP, TRANSFER, OUT_OF_SCOPE)

MAX_TOOL_CALLS = 5
"""Phone tool calls per customer turn before the model must write a message."""

Provider = Literal["anthropic", "openai"]

BUILTIN_GUIDELINES = f"""\
# Customer simulation
You play a customer talking to a customer-service agent. Follow the scenario below.
- Write one short message at a time, as a real customer would.
- Use only information the scenario gives you; anything else you do not know.
- Give information when the agent asks for it, not all at once, and in your own words.
- When your goal is met, reply with {STOP}. If you are transferred to another agent, reply \
with {TRANSFER}. If the scenario does not tell you how to go on, reply with {OUT_OF_SCOPE}."""
"""cxflow's own short guidelines, used when no tau2 data folder is given (`load_guidelines`)."""

BUILTIN_GUIDELINES_TOOLS = (
    BUILTIN_GUIDELINES
    + """
- You have tools to act on your own phone. Use one only when the agent asks you to do or check
  something, one action per turn; either call a tool or send a message, never both.
- Report only what the tools showed you; never make up a result."""
)
"""`BUILTIN_GUIDELINES` for a customer holding a phone."""


class LLMCustomerError(CxflowError):
    """The customer's model could not answer (its API stayed down or refused the request, or it
    broke the simulation's rules): the trial is an error, not a failure of the agent."""


# -- the system prompt ------------------------------------------------------------------------


def load_guidelines(tau2_data: Path | str | None, *, tools: bool) -> tuple[str, str]:
    """tau2's customer simulation guidelines, and where they came from.

    Args:
        tau2_data: A tau2 data folder (with `user_simulator/`); None: the `CXFLOW_TAU2_DATA`
            environment variable, else cxflow's own `BUILTIN_GUIDELINES`.
        tools: The customer has tools (their phone): the `_tools` guidelines.

    Returns:
        The guidelines text, and its source ("builtin" or the file's path).

    Raises:
        UsageError: `tau2_data` was given but has no guidelines file.
    """
    folder = tau2_data if tau2_data is not None else os.environ.get("CXFLOW_TAU2_DATA")
    if not folder:
        return (BUILTIN_GUIDELINES_TOOLS if tools else BUILTIN_GUIDELINES), "builtin"
    name = "simulation_guidelines_tools.md" if tools else "simulation_guidelines.md"
    path = Path(folder) / "user_simulator" / name
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise UsageError(
            f"no customer simulation guidelines at {path} ({exc.strerror}); give the tau2 data "
            "folder laid out like tau2-bench's data/tau2/ (with user_simulator/)"
        ) from exc


def system_prompt(guidelines: str, instructions: str) -> str:
    """tau2's user simulator system prompt: the guidelines, then the scenario."""
    return f"{guidelines}\n\n<scenario>\n{instructions}\n</scenario>"


def tau2_instructions(user_scenario: Mapping[str, Any]) -> str:
    """A tau2 task's `user_scenario` as tau2 writes it into the prompt (`str(UserScenario)`)."""
    lines: list[str] = []
    persona = user_scenario.get("persona")
    if persona is not None:
        lines += ["Persona:", textwrap.indent(str(persona), "\t")]
    instructions = user_scenario.get("instructions")
    if isinstance(instructions, Mapping):
        text = _structured(typing.cast(Mapping[str, Any], instructions))
    else:
        text = str(instructions)
    lines += ["Instructions:", textwrap.indent(text, "\t")]
    return "\n".join(lines)


def _structured(i: Mapping[str, Any]) -> str:
    """tau2's `StructuredUserInstructions.__str__`."""
    tab = "\t"
    lines = [
        f"Domain: {i.get('domain', '')}",
        f"Reason for call:\n{textwrap.indent(str(i.get('reason_for_call', '')), tab)}",
    ]
    if i.get("known_info") is not None:
        lines.append(f"Known info:\n{textwrap.indent(str(i['known_info']), tab)}")
    if i.get("unknown_info") is not None:
        lines.append(f"Unknown info:\n{textwrap.indent(str(i['unknown_info']), tab)}")
    lines.append(f"Task instructions:\n{textwrap.indent(str(i.get('task_instructions', '')), tab)}")
    return "\n".join(lines)


def scenario_instructions(scenario: Scenario, *, domain: str = "customer service") -> str:
    """A short tau2-style instruction text from a scenario's identity, goals, knowledge and
    expectations."""

    def facts(values: Mapping[str, Any]) -> str:
        return "\n".join(f"Your {k.replace('_', ' ')} is {v}." for k, v in values.items())

    reason = "\n".join(scenario.goals) or scenario.description or "You need help with your account."
    known = facts(scenario.answers())
    unknown = "\n".join(f"You do not know your {s.replace('_', ' ')}." for s in scenario.unknown)
    rules = [
        f"Agree only if the agent states that the {k.replace('_', ' ')} is {v}; "
        "otherwise say no and ask about it."
        for k, v in scenario.expects.items()
    ]
    rules.append("When your request is handled, end the conversation.")
    structured: dict[str, Any] = {
        "domain": domain,
        "reason_for_call": reason,
        "known_info": known or None,
        "unknown_info": unknown or None,
        "task_instructions": "\n".join(rules),
    }
    return tau2_instructions({"persona": None, "instructions": structured})


# -- the phone tools --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneToolSpec:
    """One phone tool as the model sees it: name, description and JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@functools.cache
def phone_tool_specs() -> tuple[PhoneToolSpec, ...]:
    """Every phone tool (`USER_TOOL_NAMES`), its schema built from the `TelecomUserTools`
    method's signature and its description from the docstring (as tau2 builds its tools)."""
    specs: list[PhoneToolSpec] = []
    for name in USER_TOOL_NAMES:
        method = getattr(TelecomUserTools, name)
        hints = typing.get_type_hints(method)
        fields: dict[str, Any] = {}
        for param in list(inspect.signature(method).parameters.values())[1:]:  # no self
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (hints.get(param.name, Any), default)
        schema = create_model(f"{name}_arguments", **fields).model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        doc = inspect.getdoc(method) or name.replace("_", " ")
        description = doc.split("\n\nRaises:")[0].split("\n\nArgs:")[0].strip()
        specs.append(PhoneToolSpec(name, description, schema))
    return tuple(specs)


# -- one model call, independent of the provider ----------------------------------------------


@dataclass(frozen=True, slots=True)
class _ToolCall:
    id: str
    name: str
    arguments: str
    """The arguments as JSON text (as the model wrote them)."""


@dataclass(frozen=True, slots=True)
class _Agent:
    text: str


@dataclass(frozen=True, slots=True)
class _Customer:
    text: str
    calls: tuple[_ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class _Result:
    call_id: str
    output: str
    error: bool = False


_Entry = _Agent | _Customer | _Result


@dataclass(frozen=True, slots=True)
class _Answer:
    text: str
    calls: tuple[_ToolCall, ...] = ()
    refusal: str | None = None
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0


class _Backend(Protocol):
    name: str

    async def call(
        self, system: str, history: Sequence[_Entry], tools: bool, allow_tools: bool
    ) -> _Answer: ...

    def retryable(self, exc: BaseException) -> bool: ...

    def failure(self, exc: BaseException) -> str | None:
        """A description of an API failure, or None when `exc` is not one (a bug)."""
        ...


_RETRY_STATUS = frozenset({408, 409, 429})


class _AnthropicBackend:
    """The Messages API: system block, alternating turns, phone tools as custom tools."""

    def __init__(self, settings: ModelSettings, client: Any) -> None:
        try:
            import anthropic
        except ImportError as exc:
            raise MissingExtraError("the anthropic customer", "anthropic", "anthropic") from exc
        self._sdk = anthropic
        self.settings = settings
        self.name = f"anthropic:{settings.model}"
        if client is None:
            client = anthropic.AsyncAnthropic(max_retries=0, timeout=settings.timeout_s)
            if all(
                getattr(client, a, None) is None for a in ("api_key", "auth_token", "credentials")
            ):
                raise UsageError(
                    f"the anthropic customer ({settings.model}) needs an API key: set "
                    "ANTHROPIC_API_KEY (or pass client=anthropic.AsyncAnthropic(...))"
                )
            self.client = client
        else:
            self.client = client.with_options(max_retries=0)

    async def call(
        self, system: str, history: Sequence[_Entry], tools: bool, allow_tools: bool
    ) -> _Answer:
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = [
                {"name": s.name, "description": s.description, "input_schema": s.parameters}
                for s in phone_tool_specs()
            ]
            options["tool_choice"] = (
                {"type": "auto", "disable_parallel_tool_use": True}
                if allow_tools
                else {"type": "none"}
            )
        message = await self.client.messages.create(
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=[{"type": "text", "text": system}],
            messages=_anthropic_messages(history),
            cache_control={"type": "ephemeral"},  # caches the conversation so far
            **options,
        )
        text = "".join(b.text for b in message.content if b.type == "text")
        calls = tuple(
            _ToolCall(b.id, b.name, json.dumps(b.input))
            for b in message.content
            if b.type == "tool_use"
        )
        refusal = None
        if message.stop_reason == "refusal":
            stop = message.stop_details
            refusal = (stop.explanation if stop else None) or text or "no explanation"
        usage = message.usage
        cache_read = usage.cache_read_input_tokens or 0
        total_in = usage.input_tokens + cache_read + (usage.cache_creation_input_tokens or 0)
        return _Answer(
            text=text,
            calls=calls,
            refusal=refusal,
            input_tokens=total_in,
            cached_input_tokens=cache_read,
            output_tokens=usage.output_tokens,
            thinking_tokens=_count(usage.output_tokens_details, "thinking_tokens"),
        )

    def retryable(self, exc: BaseException) -> bool:
        sdk = self._sdk
        if isinstance(exc, TimeoutError | sdk.APIConnectionError):
            return True
        if isinstance(exc, sdk.APIStatusError):
            should = exc.response.headers.get("x-should-retry")
            if should in ("true", "false"):
                return should == "true"
            return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
        return _transport_error(exc)

    def failure(self, exc: BaseException) -> str | None:
        sdk = self._sdk
        if isinstance(exc, sdk.APIStatusError):
            return f"HTTP {exc.status_code}: {exc.message}"
        if isinstance(exc, TimeoutError | sdk.APITimeoutError):
            return f"timed out (timeout {self.settings.timeout_s:g} s)"
        if isinstance(exc, sdk.AnthropicError) or _transport_error(exc):
            return f"{type(exc).__name__}: {exc}"
        return None


def _anthropic_messages(history: Sequence[_Entry]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for entry in history:
        if isinstance(entry, _Agent):
            messages.append({"role": "user", "content": entry.text})
        elif isinstance(entry, _Customer):
            blocks: list[dict[str, Any]] = (
                [{"type": "text", "text": entry.text}] if entry.text else []
            )
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _json_object(c.arguments)}
                for c in entry.calls
            ]
            messages.append({"role": "assistant", "content": blocks})
        else:
            block = {
                "type": "tool_result",
                "tool_use_id": entry.call_id,
                "content": entry.output,
                "is_error": entry.error,
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].append(block)  # every result of one turn in one message
            else:
                messages.append({"role": "user", "content": [block]})
    return messages


_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
"""OpenAI reasoning models reject `temperature`."""


class _OpenAIBackend:
    """The Responses API (default) or chat completions (OpenAI-compatible servers)."""

    def __init__(
        self, settings: ModelSettings, client: Any, api: Literal["responses", "chat"]
    ) -> None:
        try:
            import openai
        except ImportError as exc:
            raise MissingExtraError("the openai customer", "openai", "openai") from exc
        self._sdk = openai
        self.settings = settings
        self.api = api
        self.name = f"openai:{settings.model}"
        if client is None:
            if not os.environ.get("OPENAI_API_KEY"):
                raise UsageError(
                    f"the openai customer ({settings.model}) needs an API key: set "
                    "OPENAI_API_KEY (or pass client=openai.AsyncOpenAI(...))"
                )
            client = openai.AsyncOpenAI(max_retries=0, timeout=settings.timeout_s)
        else:
            client = client.with_options(max_retries=0)
        self.client = client
        self._openai_host = "api.openai.com" in str(client.base_url)

    def _temperature(self) -> Any:
        if self.settings.model.startswith(_REASONING_PREFIXES):
            return self._sdk.omit
        return self.settings.temperature

    async def call(
        self, system: str, history: Sequence[_Entry], tools: bool, allow_tools: bool
    ) -> _Answer:
        if self.api == "chat":
            return await self._chat(system, history, tools, allow_tools)
        return await self._responses(system, history, tools, allow_tools)

    async def _responses(
        self, system: str, history: Sequence[_Entry], tools: bool, allow_tools: bool
    ) -> _Answer:
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = [
                {
                    "type": "function",
                    "name": s.name,
                    "description": s.description,
                    "parameters": s.parameters,
                    "strict": False,
                }
                for s in phone_tool_specs()
            ]
            options["tool_choice"] = "auto" if allow_tools else "none"
            options["parallel_tool_calls"] = False
        response = await self.client.responses.create(
            model=self.settings.model,
            instructions=system,
            input=_responses_input(history),
            max_output_tokens=self.settings.max_tokens,
            temperature=self._temperature(),
            store=False,
            **options,
        )
        if response.status == "failed":
            error = response.error
            raise _Failed(
                f"response failed ({error.code if error else 'unknown'}): "
                f"{error.message if error else 'no details'}",
                retryable=bool(error and error.code in ("server_error", "rate_limit_exceeded")),
            )
        calls = tuple(
            _ToolCall(item.call_id, item.name, item.arguments)
            for item in response.output
            if item.type == "function_call"
        )
        refusals = [
            part.refusal
            for item in response.output
            if item.type == "message"
            for part in item.content
            if part.type == "refusal"
        ]
        usage = response.usage
        return _Answer(
            text=response.output_text,
            calls=calls,
            refusal="".join(refusals) if refusals else None,
            input_tokens=usage.input_tokens if usage else 0,
            cached_input_tokens=_count(usage and usage.input_tokens_details, "cached_tokens"),
            output_tokens=usage.output_tokens if usage else 0,
            thinking_tokens=_count(usage and usage.output_tokens_details, "reasoning_tokens"),
        )

    async def _chat(
        self, system: str, history: Sequence[_Entry], tools: bool, allow_tools: bool
    ) -> _Answer:
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": s.name,
                        "description": s.description,
                        "parameters": s.parameters,
                    },
                }
                for s in phone_tool_specs()
            ]
            options["tool_choice"] = "auto" if allow_tools else "none"
            options["parallel_tool_calls"] = False
        if self._openai_host:
            options["max_completion_tokens"] = self.settings.max_tokens
        else:
            options["max_tokens"] = self.settings.max_tokens
        completion = await self.client.chat.completions.create(
            model=self.settings.model,
            messages=[{"role": "system", "content": system}, *_chat_messages(history)],
            temperature=self._temperature(),
            **options,
        )
        if not completion.choices:
            raise _Failed("the completion has no choices", retryable=True)
        message = completion.choices[0].message
        calls = tuple(
            _ToolCall(c.id, c.function.name, c.function.arguments)
            for c in message.tool_calls or ()
            if c.type == "function"
        )
        usage = completion.usage
        return _Answer(
            text=message.content or "",
            calls=calls,
            refusal=message.refusal or None,
            input_tokens=usage.prompt_tokens if usage else 0,
            cached_input_tokens=_count(usage and usage.prompt_tokens_details, "cached_tokens"),
            output_tokens=usage.completion_tokens if usage else 0,
            thinking_tokens=_count(usage and usage.completion_tokens_details, "reasoning_tokens"),
        )

    def retryable(self, exc: BaseException) -> bool:
        sdk = self._sdk
        if isinstance(exc, _Failed):
            return exc.retryable
        if isinstance(exc, TimeoutError | sdk.APIConnectionError):
            return True
        if isinstance(exc, sdk.APIStatusError):
            if exc.code == "insufficient_quota":
                return False
            return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
        return _transport_error(exc)

    def failure(self, exc: BaseException) -> str | None:
        sdk = self._sdk
        if isinstance(exc, sdk.APIStatusError):
            return f"HTTP {exc.status_code}: {exc.message}"
        if isinstance(exc, TimeoutError | sdk.APITimeoutError):
            return f"timed out (timeout {self.settings.timeout_s:g} s)"
        if isinstance(exc, _Failed | sdk.OpenAIError) or _transport_error(exc):
            return f"{type(exc).__name__}: {exc}"
        return None


class _Failed(Exception):
    """The API answered 200 but the answer failed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _responses_input(history: Sequence[_Entry]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for entry in history:
        if isinstance(entry, _Agent):
            items.append({"role": "user", "content": entry.text})
        elif isinstance(entry, _Customer):
            if entry.text:
                items.append({"role": "assistant", "content": entry.text})
            items += [
                {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
                for c in entry.calls
            ]
        else:
            items.append(
                {"type": "function_call_output", "call_id": entry.call_id, "output": entry.output}
            )
    return items


def _chat_messages(history: Sequence[_Entry]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for entry in history:
        if isinstance(entry, _Agent):
            messages.append({"role": "user", "content": entry.text})
        elif isinstance(entry, _Customer):
            message: dict[str, Any] = {"role": "assistant", "content": entry.text or None}
            if entry.calls:
                message["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for c in entry.calls
                ]
            messages.append(message)
        else:
            messages.append(
                {"role": "tool", "tool_call_id": entry.call_id, "content": entry.output}
            )
    return messages


def _transport_error(exc: BaseException) -> bool:
    """A connection-level failure of the HTTP library under the SDKs (httpx2)."""
    try:
        import httpx2
    except ImportError:  # pragma: no cover - both SDKs depend on it
        return False
    return isinstance(exc, httpx2.TransportError)


def _count(details: object, name: str) -> int:
    value = getattr(details, name, None) if details else None
    return value if isinstance(value, int) else 0


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return typing.cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _split_stop(text: str) -> tuple[str, bool]:
    """The text before the first stop token, and whether there was one."""
    cut = min((i for i in (text.find(t) for t in STOP_TOKENS) if i >= 0), default=-1)
    if cut < 0:
        return text.strip(), False
    return text[:cut].strip(), True


# -- the customer -----------------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    history: list[_Entry] = field(default_factory=list[_Entry])
    pending: dict[str, Any] = field(default_factory=dict[str, Any])
    agreed: dict[str, Any] = field(default_factory=dict[str, Any])
    ending: bool = False


class LLMCustomer:
    """A customer played by a model (see the module doc).

    Attributes:
        instructions: The scenario, as written into the system prompt.
        settings: Model, token limit, timeout, retries and prices.
        provider: "anthropic" or "openai".
        world: The telecom world whose phone the customer holds (None: no phone, no tools).
        system: The whole system prompt (guidelines, then the scenario).
        guidelines_source: Where the guidelines came from ("builtin" or a file path).
        usage: Every model call so far, summed (retries included in `model_calls`).
    """

    def __init__(
        self,
        instructions: str,
        settings: ModelSettings,
        *,
        provider: Provider,
        client: Any = None,
        world: TelecomEnvironment | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tau2_data: Path | str | None = None,
        openai_api: Literal["responses", "chat"] = "responses",
    ) -> None:
        """Set the customer up; no call is made here.

        Args:
            instructions: The scenario (e.g. `tau2_instructions(task["user_scenario"])`).
            settings: How to call the model.
            provider: Which API to call.
            client: A configured `anthropic.AsyncAnthropic` or `openai.AsyncOpenAI` (tests pass
                one with a mock transport); its own retries are turned off. By default one is
                built from the environment's API key.
            world: A telecom world: the customer holds its phone and gets the phone tools.
            sleep: Waits between retries (tests inject one that does not wait).
            tau2_data: The tau2 data folder whose guidelines to use (see `load_guidelines`).
            openai_api: "responses" (OpenAI) or "chat" (chat completions, e.g. a local server).

        Raises:
            UsageError: Unknown provider, no API key, or no guidelines in `tau2_data`.
            MissingExtraError: The provider's SDK is not installed.
        """
        self.instructions = instructions
        self.settings = settings
        self.provider: Provider = provider
        self.world = world
        self._sleep = sleep
        guidelines, self.guidelines_source = load_guidelines(tau2_data, tools=world is not None)
        self.system = system_prompt(guidelines, instructions)
        self.usage = Usage()
        self._state = _State()
        self._backend: _Backend
        if provider == "anthropic":
            self._backend = _AnthropicBackend(settings, client)
        elif provider == "openai":
            self._backend = _OpenAIBackend(settings, client, openai_api)
        else:
            raise UsageError(f"unknown customer provider {provider!r}; use anthropic or openai")
        self.name = f"llm-customer:{self._backend.name}"

    @classmethod
    def from_tau2_task(
        cls,
        task: Mapping[str, Any],
        settings: ModelSettings,
        *,
        provider: Provider,
        client: Any = None,
        world: TelecomEnvironment | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tau2_data: Path | str | None = None,
        openai_api: Literal["responses", "chat"] = "responses",
    ) -> LLMCustomer:
        """The customer of a tau2 task: its `user_scenario`, formatted as tau2 does."""
        return cls(
            tau2_instructions(task["user_scenario"]),
            settings,
            provider=provider,
            client=client,
            world=world,
            sleep=sleep,
            tau2_data=tau2_data,
            openai_api=openai_api,
        )

    @classmethod
    def from_scenario(
        cls,
        scenario: Scenario,
        settings: ModelSettings,
        *,
        provider: Provider,
        client: Any = None,
        world: TelecomEnvironment | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tau2_data: Path | str | None = None,
        openai_api: Literal["responses", "chat"] = "responses",
    ) -> LLMCustomer:
        """The customer of a cxflow scenario (`scenario_instructions`)."""
        return cls(
            scenario_instructions(scenario),
            settings,
            provider=provider,
            client=client,
            world=world,
            sleep=sleep,
            tau2_data=tau2_data,
            openai_api=openai_api,
        )

    # -- the CustomerSimulator protocol -------------------------------------------------------

    async def respond(self, reply: Reply) -> CustomerTurn:
        """Read the agent's reply, act on the phone if the model wants to, and answer.

        Raises:
            LLMCustomerError: The model's API stayed down or refused the request, the model
                refused, or it wrote nothing.
        """
        state = self._state
        if state.ending:
            return CustomerTurn(text="", done=True)
        state.pending = dict(reply.stated_facts)
        state.history.append(_Agent(reply.text.strip() or "(the agent said nothing)"))
        if self.world is not None:
            self.world.sync()  # what the agent changed in the CRM reaches the phone
        actions: list[str] = []
        tools = self.world is not None
        while True:
            answer = await self._call(tools=tools, allow_tools=len(actions) < MAX_TOOL_CALLS)
            if answer.refusal is not None:
                raise LLMCustomerError(f"the customer model refused: {answer.refusal[:300]}")
            if answer.calls:
                if not tools or len(actions) >= MAX_TOOL_CALLS:
                    raise LLMCustomerError(
                        f"the customer model called {answer.calls[0].name!r} when no tool "
                        "call was allowed"
                    )
                state.history.append(_Customer(answer.text.strip(), answer.calls))
                for call in answer.calls:
                    state.history.append(self._run(call))
                    actions.append(call.name)
                continue
            said, stop = _split_stop(answer.text)
            if not said and not stop:
                raise LLMCustomerError("the customer model wrote an empty message")
            state.history.append(_Customer(answer.text.strip()))
            if said:
                self._agree(said)
            if stop and not said:
                return CustomerTurn(text="", actions=tuple(actions), done=True)
            state.ending = stop  # text before a stop token is sent; the next turn ends
            return CustomerTurn(text=said, actions=tuple(actions))

    def view(self) -> Mapping[str, Any]:
        """The facts the agent stated and the customer then said yes to (a model's beliefs are
        otherwise unknown)."""
        return dict(self._state.agreed)

    def truth(self) -> Mapping[str, Any]:
        """What the customer's phone shows (its status bar), when they hold one."""
        if self.world is None:
            return {}
        from cxflow.flows._phone_reports import read_status_bar

        return {"status_bar": read_status_bar(self.world.phone.check_status_bar())}

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._backend_client().close()

    # -- internals ----------------------------------------------------------------------------

    def _backend_client(self) -> Any:
        return typing.cast(Any, self._backend).client

    def _agree(self, said: str) -> None:
        state = self._state
        if not state.pending:
            return
        answer = parse_yes_no(said)
        if answer is True:
            state.agreed.update(state.pending)
        elif answer is False:
            for fact in state.pending:
                state.agreed.pop(fact, None)
        state.pending = {}

    def _run(self, call: _ToolCall) -> _Result:
        """Run one phone tool call on the customer's phone (never the CRM)."""
        assert self.world is not None
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return _Result(call.id, f"Error: the arguments are not valid JSON ({exc.msg})", True)
        if not isinstance(arguments, dict):
            return _Result(call.id, "Error: the arguments must be a JSON object", True)
        result = self.world.call("user", call.name, typing.cast(dict[str, Any], arguments))
        return _Result(call.id, result.output, result.error)

    async def _call(self, *, tools: bool, allow_tools: bool) -> _Answer:
        backend = self._backend
        settings = self.settings
        history = list(self._state.history)
        calls = 0

        async def once() -> _Answer:
            nonlocal calls
            calls += 1
            async with asyncio.timeout(settings.timeout_s):
                return await backend.call(self.system, history, tools, allow_tools)

        started = time.perf_counter()
        try:
            answer, _ = await call_with_retries(
                once, settings, is_retryable=backend.retryable, sleep=self._sleep
            )
        except Exception as exc:
            said = backend.failure(exc)
            if said is None:
                raise
            self.usage = self.usage.plus(
                Usage(model_calls=calls, model_ms=_ms(started), model=settings.model)
            )
            tried = f" after {calls} calls" if calls > 1 else ""
            raise LLMCustomerError(
                f"the customer model {backend.name} is unavailable{tried}: {said}. The "
                "simulated customer cannot go on; this trial is an error, not the agent's fault"
            ) from exc
        self.usage = self.usage.plus(
            Usage(
                model_calls=calls,
                input_tokens=answer.input_tokens,
                cached_input_tokens=answer.cached_input_tokens,
                output_tokens=answer.output_tokens,
                thinking_tokens=answer.thinking_tokens,
                cost_usd=cost_usd(
                    settings.model,
                    input_tokens=answer.input_tokens,
                    cached_input_tokens=answer.cached_input_tokens,
                    output_tokens=answer.output_tokens,
                    prices=settings.prices,
                ),
                model_ms=_ms(started),
                model=settings.model,
            )
        )
        return answer


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
