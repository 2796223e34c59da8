"""`LLMCustomer` against mocked model APIs: no network, no real model.

Three fakes answer like the real servers (Anthropic's Messages API, OpenAI's Responses API and
chat completions: the JSON bodies, the error objects with their HTTP status) and keep every
request, so the tests read what the customer's model was sent: tau2's guidelines and the task in
the system prompt, the agent's messages as the other party's, the phone tools, and each tool's
output fed back before the customer speaks.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from cxflow.customer import CustomerSimulator, converse
from cxflow.errors import CxflowError
from cxflow.flows.fix_no_service import FixNoService
from cxflow.llm import ModelSettings, cost_usd
from cxflow.records import Reply
from cxflow.session import Session
from cxflow.simulators.llm_customer import (
    BUILTIN_GUIDELINES,
    MAX_TOOL_CALLS,
    STOP,
    LLMCustomer,
    LLMCustomerError,
    phone_tool_specs,
    scenario_instructions,
    system_prompt,
    tau2_instructions,
)
from cxflow.simulators.scenario import Scenario
from cxflow.simulators.telecom import USER_TOOL_NAMES, PhoneState, TelecomEnvironment
from cxflow.tools.telecom import TelecomTools

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
GUIDELINES = (TAU2_DATA / "user_simulator/simulation_guidelines.md").read_text()
GUIDELINES_TOOLS = (TAU2_DATA / "user_simulator/simulation_guidelines_tools.md").read_text()
AIRLINE_TASK: dict[str, Any] = json.loads((TAU2_DATA / "airline/tasks.json").read_text())[0]
MAYA = "555-014-3301"
GREETING = "Hi! How can I help you today?"
KINDS = ("anthropic", "responses", "chat")

Answer = httpx2.Response | Callable[[dict[str, Any]], httpx2.Response]


# -- the fake APIs ----------------------------------------------------------------------------


class FakeAPI:
    """One provider's API: canned answers in order (or functions of the request body)."""

    def __init__(self, kind: str, *answers: Answer) -> None:
        self.kind = kind
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self.sleeps: list[float] = []
        self.model = "claude-haiku-4-5" if kind == "anthropic" else "gpt-5-mini"

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = {"anthropic": "/v1/messages", "responses": "/v1/responses"}.get(
            self.kind, "/v1/chat/completions"
        )
        assert request.method == "POST" and request.url.path == path
        body = json.loads(request.content)
        self.requests.append(body)
        answer = self.answers.pop(0)
        return answer if isinstance(answer, httpx2.Response) else answer(body)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self) -> Any:
        """The provider's SDK client over this fake (its retries on: the customer turns them
        off)."""
        transport = httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))
        if self.kind == "anthropic":
            return anthropic.AsyncAnthropic(api_key="test", max_retries=2, http_client=transport)
        return openai.AsyncOpenAI(api_key="test", max_retries=2, http_client=transport)

    def customer(self, instructions: str = "You want help.", **kw: Any) -> LLMCustomer:
        client = self.client()
        settings = kw.pop("settings", None) or ModelSettings(model=self.model, max_retries=2)
        return LLMCustomer(
            instructions,
            settings,
            provider="anthropic" if self.kind == "anthropic" else "openai",
            client=client,
            sleep=self.sleep,
            tau2_data=kw.pop("tau2_data", TAU2_DATA),
            openai_api="chat" if self.kind == "chat" else "responses",
            **kw,
        )

    # -- answers, shaped like the real APIs ---------------------------------------------------

    def say(self, text: str) -> httpx2.Response:
        if self.kind == "anthropic":
            return self._message([{"type": "text", "text": text}], "end_turn")
        if self.kind == "responses":
            item = {
                "id": "msg_68c1f0a1b3",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "annotations": [], "text": text}],
            }
            return self._response([item])
        message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        return self._completion(message, "stop")

    def tool(self, name: str, arguments: dict[str, Any] | None = None) -> httpx2.Response:
        arguments = arguments or {}
        n = len(self.requests)
        if self.kind == "anthropic":
            block = {"type": "tool_use", "id": f"toolu_0{n}", "name": name, "input": arguments}
            return self._message([{"type": "text", "text": "Let me check."}, block], "tool_use")
        if self.kind == "responses":
            item = {
                "id": f"fc_68c1f0a1b{n}",
                "type": "function_call",
                "status": "completed",
                "call_id": f"call_{n}",
                "name": name,
                "arguments": json.dumps(arguments),
            }
            return self._response([{"id": "rs_1", "type": "reasoning", "summary": []}, item])
        call = {
            "id": f"call_{n}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
        return self._completion(message, "tool_calls")

    def error(self, status: int) -> httpx2.Response:
        if self.kind == "anthropic":
            kind = "rate_limit_error" if status == 429 else "api_error"
            body: dict[str, Any] = {
                "type": "error",
                "error": {"type": kind, "message": "Rate limited" if status == 429 else "boom"},
                "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
            }
        else:
            body = {
                "error": {
                    "message": "Rate limit reached" if status == 429 else "The server had an error",
                    "type": "requests" if status == 429 else "server_error",
                    "param": None,
                    "code": "rate_limit_exceeded" if status == 429 else None,
                }
            }
        return httpx2.Response(status, json=body, headers={"x-should-retry": "true"})

    def _message(self, content: list[dict[str, Any]], stop: str) -> httpx2.Response:
        body = {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 100,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 900,
                "output_tokens": 20,
                "service_tier": "standard",
            },
        }
        return httpx2.Response(200, json=body, headers={"request-id": "req_01"})

    def _response(self, output: list[dict[str, Any]]) -> httpx2.Response:
        body = {
            "id": "resp_68c1f0a1b1",
            "object": "response",
            "created_at": 1757540001,
            "status": "completed",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": "...",
            "max_output_tokens": 1024,
            "model": "gpt-5-mini-2025-08-07",
            "output": output,
            "parallel_tool_calls": False,
            "previous_response_id": None,
            "reasoning": {"effort": "medium", "summary": None},
            "service_tier": "default",
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": 1000,
                "input_tokens_details": {"cached_tokens": 900},
                "output_tokens": 20,
                "output_tokens_details": {"reasoning_tokens": 8},
                "total_tokens": 1020,
            },
            "user": None,
            "metadata": {},
        }
        return httpx2.Response(200, json=body, headers={"x-request-id": "req_1"})

    def _completion(self, message: dict[str, Any], finish: str) -> httpx2.Response:
        body = {
            "id": "chatcmpl-C9xyz",
            "object": "chat.completion",
            "created": 1757540001,
            "model": "gpt-5-mini-2025-08-07",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": {
                "prompt_tokens": 1000,
                "completion_tokens": 20,
                "total_tokens": 1020,
                "prompt_tokens_details": {"cached_tokens": 900, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 8, "audio_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": None,
        }
        return httpx2.Response(200, json=body)

    # -- reading a request --------------------------------------------------------------------

    def system(self, n: int) -> str:
        body = self.requests[n]
        if self.kind == "anthropic":
            return "".join(block["text"] for block in body["system"])
        if self.kind == "responses":
            return body["instructions"]
        assert body["messages"][0]["role"] == "system"
        return body["messages"][0]["content"]

    def _items(self, n: int) -> list[dict[str, Any]]:
        body = self.requests[n]
        return body["input"] if self.kind == "responses" else body["messages"]

    def agent_said(self, n: int) -> list[str]:
        """What the agent said, as the other party's (`user`) messages of request n."""
        return [
            m["content"]
            for m in self._items(n)
            if m.get("role") == "user" and isinstance(m["content"], str)
        ]

    def customer_said(self, n: int) -> list[str]:
        """The customer's own earlier messages (`assistant`) in request n."""
        said: list[str] = []
        for m in self._items(n):
            if m.get("role") != "assistant" or not m["content"]:
                continue
            content = m["content"]
            if isinstance(content, str):
                said.append(content)
            else:
                said += [b["text"] for b in content if b["type"] == "text"]
        return said

    def tool_outputs(self, n: int) -> list[str]:
        """The phone tool results fed back in request n."""
        items = self._items(n)
        if self.kind == "anthropic":
            return [
                b["content"]
                for m in items
                if m["role"] == "user" and isinstance(m["content"], list)
                for b in m["content"]
                if b["type"] == "tool_result"
            ]
        if self.kind == "responses":
            return [i["output"] for i in items if i.get("type") == "function_call_output"]
        return [m["content"] for m in items if m["role"] == "tool"]

    def tool_names(self, n: int) -> list[str]:
        tools = self.requests[n].get("tools", [])
        if self.kind == "chat":
            return [t["function"]["name"] for t in tools]
        return [t["name"] for t in tools]

    def tools_allowed(self, n: int) -> bool:
        choice = self.requests[n]["tool_choice"]
        return (choice["type"] if self.kind == "anthropic" else choice) == "auto"


def echo_last_tool_output(fake: FakeAPI) -> Answer:
    """An answer that says exactly what the last tool result fed back showed."""
    return lambda _body: fake.say(fake.tool_outputs(len(fake.requests) - 1)[-1])


def telecom_world() -> TelecomEnvironment:
    """`customer_for`'s set-up: FixNoService's CRM (without its auto-pay) and Maya's phone in
    airplane mode."""
    crm = TelecomTools(FixNoService.make_env().db)
    phone = PhoneState()
    phone.surroundings.phone_number = MAYA
    world = TelecomEnvironment(crm, phone)
    world.set_up("user", "turn_airplane_mode_on", {})
    return world


def respond(customer: LLMCustomer, text: str, **facts: Any) -> Any:
    return asyncio.run(customer.respond(Reply(text=text, stated_facts=facts)))


# -- the first message --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_first_message_comes_from_the_model_prompted_with_tau2_guidelines_and_the_task(
    kind: str,
) -> None:
    fake = FakeAPI(kind)
    fake.answers.append(fake.say("Hi, I'd like to cancel my reservation EHGLP3."))
    customer = LLMCustomer.from_tau2_task(
        AIRLINE_TASK,
        ModelSettings(model=fake.model),
        provider="anthropic" if kind == "anthropic" else "openai",
        client=fake.client(),
        sleep=fake.sleep,
        tau2_data=TAU2_DATA,
        openai_api="chat" if kind == "chat" else "responses",
    )
    assert isinstance(customer, CustomerSimulator)

    turn = respond(customer, GREETING)

    assert turn.text == "Hi, I'd like to cancel my reservation EHGLP3."
    assert not turn.done and turn.actions == ()
    system = fake.system(0)
    instructions = tau2_instructions(AIRLINE_TASK["user_scenario"])
    assert system == system_prompt(GUIDELINES, instructions)  # tau2's exact layout
    assert system.startswith("# User Simulation Guidelines")
    assert "<scenario>\nInstructions:\n\tDomain: airline\n\tReason for call:\n" in system
    assert "\t\tYou want to cancel reservation EHGLP3." in system
    assert "\tKnown info:\n\t\tYou are Emma Kim." in system
    assert fake.agent_said(0) == [GREETING]  # the agent is the other party
    assert "tools" not in fake.requests[0]  # no phone, no tools
    assert customer.guidelines_source.endswith("simulation_guidelines.md")


@pytest.mark.parametrize("kind", KINDS)
def test_the_history_alternates_the_agents_messages_and_the_customers_own(kind: str) -> None:
    fake = FakeAPI(kind)
    fake.answers += [fake.say("My phone has no service."), fake.say("It's 555-014-3301.")]
    customer = fake.customer()

    respond(customer, GREETING)
    respond(customer, "What is your phone number?")

    assert fake.agent_said(1) == [GREETING, "What is your phone number?"]
    assert fake.customer_said(1) == ["My phone has no service."]


# -- ending -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_stop_token_ends_the_conversation(kind: str) -> None:
    fake = FakeAPI(kind)
    fake.answers.append(fake.say(STOP))
    session = Session.start(FixNoService, env=TelecomTools(FixNoService.make_env().db))

    records = asyncio.run(converse(session, fake.customer()))

    assert records == []
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "token", ["###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"], ids=str.strip
)
def test_text_before_a_stop_token_is_sent_and_the_customer_ends_next_turn(token: str) -> None:
    fake = FakeAPI("anthropic")
    fake.answers.append(fake.say(f"Thanks, that's all. {token}"))
    customer = fake.customer()

    first = respond(customer, "Anything else?")
    second = respond(customer, "Goodbye!")

    assert (first.text, first.done) == ("Thanks, that's all.", False)
    assert (second.text, second.done) == ("", True)
    assert len(fake.requests) == 1  # the last turn asks no model


# -- the customer's phone -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_phone_tool_call_runs_on_the_customers_phone_and_its_result_goes_back_first(
    kind: str,
) -> None:
    world = telecom_world()
    crm_before = world.crm.db.model_dump()
    assert world.phone.device.airplane_mode
    fake = FakeAPI(kind)
    fake.answers += [fake.tool("toggle_airplane_mode"), fake.say("Done, airplane mode is off.")]
    customer = fake.customer(world=world)

    turn = respond(customer, "Please turn Airplane Mode off.")

    assert turn.text == "Done, airplane mode is off."
    assert turn.actions == ("toggle_airplane_mode",)
    assert not world.phone.device.airplane_mode  # the customer's phone changed
    assert world.crm.db.model_dump() == crm_before  # the agent's CRM did not
    assert fake.tool_outputs(0) == []
    [output] = fake.tool_outputs(1)  # fed back before the customer speaks
    assert output.startswith("Airplane Mode is now OFF.\nStatus Bar: ")
    assert sorted(fake.tool_names(0)) == sorted(USER_TOOL_NAMES)
    assert fake.system(0) == system_prompt(GUIDELINES_TOOLS, "You want help.")
    assert customer.truth() == {"status_bar": "signal"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_tool_call_is_an_error_result_and_the_model_goes_on(kind: str) -> None:
    world = telecom_world()
    fake = FakeAPI(kind)
    fake.answers += [fake.tool("format_the_crm"), fake.say("Sorry, I can't do that.")]

    turn = respond(fake.customer(world=world), "Please check the CRM.")

    assert turn.text == "Sorry, I can't do that."
    assert fake.tool_outputs(1) == ["Error: Tool 'format_the_crm' not found."]


def test_the_tool_loop_is_capped_then_the_model_must_write() -> None:
    world = telecom_world()
    fake = FakeAPI("anthropic")
    fake.answers += [fake.tool("check_status_bar") for _ in range(MAX_TOOL_CALLS)]
    fake.answers.append(fake.say("It still shows airplane mode."))

    turn = respond(fake.customer(world=world), "What does your status bar show?")

    assert turn.actions == ("check_status_bar",) * MAX_TOOL_CALLS
    assert [fake.tools_allowed(n) for n in range(len(fake.requests))] == [True] * 5 + [False]


def test_without_a_phone_the_customer_holds_no_truth_and_sends_no_tools() -> None:
    fake = FakeAPI("responses")
    fake.answers.append(fake.say("Hello."))
    customer = fake.customer()
    respond(customer, GREETING)
    assert customer.truth() == {}
    assert "tools" not in fake.requests[0]


# -- usage, retries and failures ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_usage_is_summed_over_every_call(kind: str) -> None:
    world = telecom_world()
    fake = FakeAPI(kind)
    fake.answers += [fake.tool("check_status_bar"), fake.say("Airplane mode."), fake.say("Ok.")]
    customer = fake.customer(world=world)

    respond(customer, "What does the status bar show?")
    respond(customer, "Thanks.")

    usage = customer.usage
    assert usage.model_calls == 3
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (3000, 2700, 60)
    one = cost_usd(fake.model, input_tokens=1000, cached_input_tokens=900, output_tokens=20)
    assert one > 0
    assert usage.cost_usd == pytest.approx(3 * one)
    assert usage.model == fake.model


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_is_retried_after_a_wait(kind: str) -> None:
    fake = FakeAPI(kind)
    fake.answers += [fake.error(429), fake.say("Hi, my phone has no service.")]
    customer = fake.customer()

    turn = respond(customer, GREETING)

    assert turn.text == "Hi, my phone has no service."
    assert len(fake.sleeps) == 1 and 0.5 <= fake.sleeps[0] <= 0.625
    assert customer.usage.model_calls == 2
    assert len(fake.requests) == 2  # the SDK's own retries are off


@pytest.mark.parametrize("kind", KINDS)
def test_an_api_that_stays_down_raises_a_clear_simulator_error(kind: str) -> None:
    fake = FakeAPI(kind)
    fake.answers += [fake.error(500) for _ in range(3)]
    customer = fake.customer()

    with pytest.raises(LLMCustomerError, match=r"unavailable after 3 calls: HTTP 500") as caught:
        respond(customer, GREETING)

    assert isinstance(caught.value, CxflowError)
    assert "not the agent's fault" in str(caught.value)
    assert len(fake.sleeps) == 2
    assert customer.usage.model_calls == 3


def test_a_rejected_request_is_not_retried() -> None:
    fake = FakeAPI("chat")
    body = {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}
    fake.answers.append(httpx2.Response(401, json=body))
    with pytest.raises(LLMCustomerError, match="HTTP 401"):
        respond(fake.customer(), GREETING)
    assert fake.sleeps == []


def test_an_empty_message_is_a_simulator_error() -> None:
    fake = FakeAPI("anthropic")
    fake.answers.append(fake.say("  "))
    with pytest.raises(LLMCustomerError, match="empty message"):
        respond(fake.customer(), GREETING)


# -- what the customer agreed to ----------------------------------------------------------------


def test_the_view_holds_the_stated_facts_the_customer_said_yes_to() -> None:
    fake = FakeAPI("anthropic")
    fake.answers += [fake.say("Yes, that's right."), fake.say("No, that's not my line.")]
    customer = fake.customer()

    respond(customer, "Your new price is $55.00. Shall I go ahead?", quoted_price="55.00")
    assert customer.view() == {"quoted_price": "55.00"}

    respond(customer, "I'll use the line 555-000-0000, ok?", line="555-000-0000")
    assert customer.view() == {"quoted_price": "55.00"}
    assert customer.truth() == {}


# -- prompts ------------------------------------------------------------------------------------


def test_phone_tool_schemas_come_from_the_phone_tools_signatures() -> None:
    specs = {s.name: s for s in phone_tool_specs()}
    assert set(specs) == set(USER_TOOL_NAMES)
    grant = specs["grant_app_permission"]
    assert grant.parameters["required"] == ["app_name", "permission"]
    assert grant.parameters["properties"]["app_name"] == {"type": "string"}
    assert specs["toggle_airplane_mode"].parameters == {"properties": {}, "type": "object"}
    assert specs["toggle_airplane_mode"].description.startswith("Turn airplane mode on or off")
    assert "Raises" not in specs["set_apn_settings"].description


def test_a_scenario_becomes_short_tau2_style_instructions() -> None:
    scenario = Scenario(
        identity={"phone_number": MAYA, "full_name": "Maya Chen"},
        goals=["You want to move to the Everyday 20 plan."],
        unknown=["date_of_birth"],
        expects={"quoted_price": "55.00"},
    )
    text = scenario_instructions(scenario)
    assert text.startswith("Instructions:\n\tDomain: customer service\n\tReason for call:\n")
    assert "\t\tYou want to move to the Everyday 20 plan." in text
    assert f"\t\tYour phone number is {MAYA}." in text
    assert "\t\tYou do not know your date of birth." in text
    assert "quoted price is 55.00" in text
    fake = FakeAPI("anthropic")
    customer = LLMCustomer.from_scenario(
        scenario,
        ModelSettings(model=fake.model),
        provider="anthropic",
        client=fake.client(),
        tau2_data=None,
    )
    assert customer.instructions == text


def test_without_tau2_data_the_builtin_guidelines_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CXFLOW_TAU2_DATA", raising=False)
    customer = FakeAPI("anthropic").customer(tau2_data=None)
    assert customer.guidelines_source == "builtin"
    assert customer.system.startswith(BUILTIN_GUIDELINES)
    assert all(t in customer.system for t in ("###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE"))


# -- end to end ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_customer_fixes_airplane_mode_with_the_fix_no_service_flow(kind: str) -> None:
    world = telecom_world()
    crm_before = world.crm.db.model_dump()
    fake = FakeAPI(kind)
    fake.answers += [
        fake.say(f"Hi, my phone has no service at all. My number is {MAYA}."),
        fake.tool("check_status_bar"),
        echo_last_tool_output(fake),  # reads the status bar out
        fake.tool("toggle_airplane_mode"),
        echo_last_tool_output(fake),
    ]
    customer = fake.customer(world=world)
    session = Session.start(FixNoService, env=world.crm)

    records = asyncio.run(converse(session, customer))

    transcript = [(r.customer_text, r.reply.text) for r in records]
    assert session.done and session.outcome == "completed", transcript
    assert session.state == "fixed"
    assert not world.phone.device.airplane_mode
    assert world.crm.db.model_dump() == crm_before
    assert records[1].customer_text == "Status Bar: ✈️ Airplane Mode | 🔋 80%"
    assert records[2].customer_text.startswith("Airplane Mode is now OFF.")
    assert records[-1].truth == {"status_bar": "signal"}
    assert len(fake.requests) == 5 and fake.answers == []
    assert customer.usage.model_calls == 5
