"""Prompt tokens per turn: cxflow's model interpreter against a tau2-style agent prompt.

The scenario libraries of nine reference flows (telecom, retail, airline) are played offline
with a recording rule interpreter. For every model call the interpreter would have made, the
prompt cxflow's model interpreters send (`cxflow.llm.build_prompt`: the static prefix, the
turn's text and the turn's JSON schema) is counted with the o200k_base tokenizer; for the same
turn, so is the prompt a tau2-bench `LLMAgent` gets: its system prompt with the domain's whole
policy, every tool schema of the domain, and the conversation so far. Then a daily cost at list
prices. `python bench/prompt_tokens.py --help`; bench/README.md explains every figure and the
method.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _machine import version
from pydantic import BaseModel, Field, create_model

from cxflow import RuleInterpreter
from cxflow.interpreter import Interpretation, TurnView
from cxflow.llm import DEFAULT_PRICES, STATIC, build_prompt, cost_usd
from cxflow.registry import get_flow
from cxflow.simulators.run import simulate
from cxflow.simulators.scenario import library

DOMAINS: dict[str, tuple[str, ...]] = {
    "telecom": ("plan_upgrade", "refuel_data", "fix_mobile_data"),
    "retail": ("return_items", "exchange_items", "cancel_order"),
    "airline": ("change_flight", "cancel_reservation", "update_baggage"),
}
"""The flows played per domain (each with its shipped scenario library)."""
TAU2_DEFAULT = Path(__file__).resolve().parents[2] / "shared/tau2-data"
"""Where tau2's data is looked for when neither `--tau2-data` nor `CXFLOW_TAU2_DATA` is set."""
ENCODING = "o200k_base"
FLOW_MODULES = ("cxflow.flows.",)
"""Tool calls made from these modules are what an agent would have called."""
RATIO_TARGET = 0.25
"""Design goal: cxflow's prompt tokens per turn at most a quarter of a tau2-style agent's."""

# tau2-bench's LLMAgent system prompt (src/tau2/agent/llm_agent.py, AGENT_INSTRUCTION and
# SYSTEM_PROMPT), filled with the domain policy as tau2's environments build it.
TAU2_AGENT_INSTRUCTION = """\
You are a customer service agent that helps the user according to the <policy> provided below.
In each turn you can either:
- Send a message to the user.
- Make a tool call.
You cannot do both at the same time.

Try to be helpful and always follow the policy. Always make sure you generate valid JSON only."""
TAU2_SYSTEM_PROMPT = """\
<instructions>
{agent_instruction}
</instructions>
<policy>
{domain_policy}
</policy>"""

WORKLOAD = {"sessions_per_day": 10_000, "turns_per_session": 6}
"""The contact-center workload of the cost projection."""
OUTPUT_TOKENS_PER_CALL = {"cxflow": 60, "tau2_style": 150, "tau2_style_tool_call": 40}
"""Assumed, not measured: cxflow's answer is a short command JSON; a tau2-style agent writes
the reply to the customer, or, in a call that makes a tool call, the call's name and
arguments."""
COST_MODELS = ("claude-haiku-4-5", "gpt-5-mini")
MIN_CACHEABLE_TOKENS = {"claude-haiku-4-5": 4096, "gpt-5-mini": 1024}
"""The shortest prefix each provider caches at all (Anthropic's table for Claude Haiku 4.5;
OpenAI: 1,024 tokens for every model); a shorter prefix is billed at the full input price."""


# -- tokens ------------------------------------------------------------------------------------


class Counter:
    """Token counts with the o200k_base tokenizer, memoized by text (histories repeat)."""

    def __init__(self) -> None:
        import bpe_openai

        self.encoding = bpe_openai.get_encoding(ENCODING)
        self.version = version("bpe-openai")
        self._seen: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        """The number of tokens of `text`."""
        found = self._seen.get(text)
        if found is None:
            found = self._seen[text] = len(self.encoding.encode(text))
        return found


# -- cxflow's side: recording what the interpreter is asked ------------------------------------


class RecordingInterpreter:
    """The rule interpreter, recording every call's view and text and the prompt a model
    interpreter would have been sent for it.

    The prompt is built during the call: a view reads its recent turns from the store on
    demand, and the store moves on after the turn.
    """

    name = "rules"
    synchronous = True
    """Like the rule interpreter: offline, so the session drives the turn without a loop."""

    def __init__(self) -> None:
        self.inner = RuleInterpreter()
        self.calls: list[tuple[TurnView, str]] = []
        self.prompts: list[tuple[str, str, str]] = []
        """(static, turn text, schema JSON) per call."""
        self.compact: list[str] = []
        """The schema JSON without spaces after separators, per call."""

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        """Record the call and its prompt, then answer as the rule interpreter."""
        self.calls.append((view, text))
        prompt = build_prompt(view, text)
        self.prompts.append((prompt.static, prompt.turn, json.dumps(prompt.schema)))
        self.compact.append(json.dumps(prompt.schema, separators=(",", ":")))
        return await self.inner.interpret(view, text)


class ToolTap:
    """Records the tau2 tool calls made by flow code while active, with the text tau2 would
    show an agent as the result (calls a tool makes itself, or the customer's simulated side,
    are not the agent's and are not recorded).

    The flows call the same toolkit methods a tau2 agent calls (`get_customer_by_phone`,
    `get_order_details`, ...); each call is logged with the number of interpreter calls made
    so far, which places it in its turn. The tool classes are patched inside the `with` block
    only.
    """

    def __init__(self, classes: Mapping[type, Sequence[str]]) -> None:
        self.classes = classes
        self.log: list[tuple[int, str, str, str]] = []
        """(interpreter calls so far, tool, arguments JSON, output text) per call."""
        self.recorder: RecordingInterpreter | None = None
        self._saved: list[tuple[type, str, object | None]] = []

    def __enter__(self) -> ToolTap:
        for cls, names in self.classes.items():
            for name in names:
                self._saved.append((cls, name, cls.__dict__.get(name)))
                setattr(cls, name, self._wrap(name, getattr(cls, name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for cls, name, original in reversed(self._saved):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        self._saved.clear()

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)

        def tapped(*args: Any, **kwargs: Any) -> Any:
            caller = str(sys._getframe(1).f_globals.get("__name__", ""))  # pyright: ignore[reportPrivateUsage]
            if not caller.startswith(FLOW_MODULES) or self.recorder is None:
                return fn(*args, **kwargs)  # the tools' own or the customer side's calls
            arguments = signature.bind(*args, **kwargs).arguments
            arguments.pop("self", None)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                self._note(name, arguments, f"Error: {exc}")
                raise
            self._note(name, arguments, _tool_output(result))
            return result

        return tapped

    def _note(self, name: str, arguments: Mapping[str, Any], output: str) -> None:
        assert self.recorder is not None
        calls = len(self.recorder.calls)
        text = json.dumps(dict(arguments), default=_jsonable)
        self.log.append((calls, name, text, output))


def _jsonable(value: object) -> object:
    """Tool arguments as a model would write them (pydantic models as their fields)."""
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else str(value)


def _tool_output(result: object) -> str:
    """tau2's rendering of a tool result (`Environment.to_json_str`)."""
    from cxflow.tools.telecom import to_tool_output

    try:
        return to_tool_output(result)
    except ValueError:
        return json.dumps(result, default=str)


@dataclass(slots=True)
class TurnTokens:
    """One customer turn's prompt tokens on both sides."""

    flow: str
    calls: int
    """Model calls cxflow made this turn (attempts in the record)."""
    cxflow_static: int
    """The static prefix, summed over the turn's calls (providers may cache it)."""
    cxflow_turn_text: int
    cxflow_schema: int
    cxflow_schema_compact: int
    """The schema serialized without spaces (what the ratio would be with a compact JSON)."""
    cxflow_max_call: int
    history: int
    """Tokens of the conversation so far (messages only), as the tau2-style agent sees it."""
    new_history: int
    """Of which the messages added since the agent's previous call."""
    tool_calls: list[tuple[int, int]]
    """The tau2-style agent with tool traffic: per model call this turn, (conversation so far
    with tool calls and results, of which new since the previous call)."""

    @property
    def cxflow_total(self) -> int:
        return self.cxflow_static + self.cxflow_turn_text + self.cxflow_schema

    @property
    def cxflow_uncached(self) -> int:
        return self.cxflow_turn_text + self.cxflow_schema


@dataclass(slots=True)
class Played:
    """What the conversations of one flow gave."""

    conversations: int = 0
    failed: int = 0
    turns: list[TurnTokens] = field(default_factory=list[TurnTokens])


def play(
    flows: Mapping[str, Sequence[str]], seeds: Sequence[int], scenarios: int | None, count: Counter
) -> dict[str, Played]:
    """Play every scenario of every flow with every seed and count each turn's tokens."""
    out: dict[str, Played] = {}
    for domain, flow_ids in flows.items():
        cls, names, reads = toolkit(domain)
        for flow_id in flow_ids:
            flow = get_flow(flow_id)
            played = out[flow_id] = Played()
            items = list(library(flow_id).scenarios)[:scenarios]
            for seed in seeds:
                for scenario in items:
                    recorder = RecordingInterpreter()
                    with ToolTap({cls: names}) as tap:
                        tap.recorder = recorder
                        conv = simulate(flow, scenario, seed=seed, interpreter=recorder)
                    played.conversations += 1
                    played.failed += bool(conv.failures)
                    played.turns += _turns(flow_id, conv.records, recorder, tap.log, reads, count)
    return out


def _turns(
    flow_id: str,
    records: Sequence[Any],
    recorder: RecordingInterpreter,
    tools: Sequence[tuple[int, str, str, str]],
    reads: frozenset[str],
    count: Counter,
) -> list[TurnTokens]:
    """Each record's calls (its attempts, in order) matched with the recorded prompts, and the
    conversation so far as a tau2-style agent would hold it before answering the turn.

    With tool traffic, a tool call belongs to the turn whose interpreter call came last before
    it; a read repeated with the same arguments in one conversation is counted once (an agent
    has the first answer in its history), every write is counted.
    """
    attempts = [len(r.attempts) for r in records]
    if sum(attempts) != len(recorder.prompts):
        raise RuntimeError(
            f"{flow_id}: {sum(attempts)} attempts in the records but "
            f"{len(recorder.prompts)} interpreter calls recorded"
        )
    greeting = recorder.calls[0][0].prompt if recorder.calls else ""
    history = with_tools = count(greeting)
    new = new_tools = history
    seen: set[tuple[str, str]] = set()
    turns: list[TurnTokens] = []
    at = 0
    for record, n in zip(records, attempts, strict=True):
        prompts = recorder.prompts[at : at + n]
        at += n
        customer = count(record.customer_text)
        history += customer
        new += customer
        with_tools += customer
        new_tools += customer
        per_call = [count(s) + count(t) + count(j) for s, t, j in prompts]
        agent_calls = [(with_tools, new_tools)]
        for _, name, arguments, output in (c for c in tools if at - n < c[0] <= at):
            if name in reads:
                if (name, arguments) in seen:
                    continue
                seen.add((name, arguments))
            step = count(f"{name} {arguments}") + count(output)
            with_tools += step
            agent_calls.append((with_tools, step))
        turns.append(
            TurnTokens(
                flow=flow_id,
                calls=n,
                cxflow_static=sum(count(s) for s, _, _ in prompts),
                cxflow_turn_text=sum(count(t) for _, t, _ in prompts),
                cxflow_schema=sum(count(j) for _, _, j in prompts),
                cxflow_schema_compact=sum(count(j) for j in recorder.compact[at - n : at]),
                cxflow_max_call=max(per_call, default=0),
                history=history,
                new_history=new,
                tool_calls=agent_calls,
            )
        )
        reply = count(record.reply.text)
        history += reply
        with_tools += reply
        new = new_tools = reply
    return turns


# -- the tau2-style side -----------------------------------------------------------------------


def tau2_data_dir(given: str | None) -> Path:
    """`--tau2-data`, else `CXFLOW_TAU2_DATA`, else the shared folder next to the checkout."""
    return Path(given or os.environ.get("CXFLOW_TAU2_DATA") or TAU2_DEFAULT)


POLICY_FILES: dict[str, tuple[str, ...]] = {
    "telecom": ("main_policy.md", "tech_support_manual.md"),
    "retail": ("policy.md",),
    "airline": ("policy.md",),
}
"""tau2-bench's default environments: telecom's `get_environment` (policy_type "manual",
the `telecom` domain) joins the main policy and the tech-support manual; the others have one
policy file."""


def tau2_missing(data_dir: Path) -> str | None:
    """Why tau2's policies cannot be read from `data_dir` (None: they can)."""
    for domain, files in POLICY_FILES.items():
        for name in files:
            if not (data_dir / domain / name).is_file():
                return (
                    f"no tau2 data: {data_dir / domain / name} does not exist "
                    "(give --tau2-data or CXFLOW_TAU2_DATA)"
                )
    return None


def domain_policy(data_dir: Path, domain: str) -> str:
    """The policy text tau2's environment gives its agent for `domain`."""
    if domain == "telecom":
        main, manual = (
            (data_dir / "telecom" / n).read_text(encoding="utf-8") for n in POLICY_FILES[domain]
        )
        return (
            "<main_policy>\n"
            + main
            + "\n</main_policy>\n<tech_support_policy>\n"
            + manual
            + "\n</tech_support_policy>"
        )
    return (data_dir / domain / "policy.md").read_text(encoding="utf-8")


def toolkit(domain: str) -> tuple[type, Sequence[str], frozenset[str]]:
    """The domain's tool class, its tau2 tool names, and which of them only read."""
    if domain == "telecom":
        from cxflow.tools.telecom import TOOL_TYPES, TelecomTools

        cls, types = TelecomTools, TOOL_TYPES
    elif domain == "retail":
        from cxflow.tools.retail import TOOL_TYPES, RetailTools

        cls, types = RetailTools, TOOL_TYPES
    else:
        from cxflow.tools.airline import TOOL_TYPES, AirlineTools

        cls, types = AirlineTools, TOOL_TYPES
    return cls, tuple(types), frozenset(n for n, t in types.items() if t == "read")


def tool_schemas(domain: str) -> list[dict[str, Any]]:
    """Every tool of the domain in OpenAI function format, built as tau2's `Tool` builds it:
    description = the docstring's short description (+ a blank line + its long description),
    parameters = the JSON schema of a pydantic model of the method's annotated parameters,
    each described by its `Args:` entry."""
    cls, names, _ = toolkit(domain)
    return [_tool_schema(getattr(cls, name)) for name in names]


def _tool_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    short, long, args = _docstring(fn.__doc__ or "")
    hints = typing.get_type_hints(fn)
    params: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if name == "self":
            continue
        default: Any = ... if param.default is param.empty else param.default
        if name in args:
            default = Field(default, description=args[name])
        params[name] = (hints.get(name, Any), default)
    model = create_model("parameters", **params)
    description = short + ("\n\n" + long if long else "") if short else fn.__name__
    return {
        "type": "function",
        "function": {
            "name": fn.__name__,
            "description": description,
            "parameters": model.model_json_schema(),
        },
    }


def _docstring(doc: str) -> tuple[str, str, dict[str, str]]:
    """Short description, long description and argument descriptions of a docstring
    (`docstring_parser`, which tau2 uses, when installed; else a Google-style reading)."""
    try:
        from docstring_parser import parse
    except ImportError:
        return _google_docstring(doc)
    parsed = parse(doc)
    args = {p.arg_name: p.description or "" for p in parsed.params}
    return parsed.short_description or "", parsed.long_description or "", args


def _google_docstring(doc: str) -> tuple[str, str, dict[str, str]]:
    text = inspect.cleandoc(doc)
    sections = ("Args:", "Returns:", "Raises:", "Yields:", "Examples:", "Example:")
    body: list[str] = []
    args: dict[str, str] = {}
    section = ""
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in sections:
            section = stripped
            continue
        if not section:
            body.append(line)
        elif section == "Args:" and stripped:
            if not line.startswith("        ") and ":" in stripped:
                current, _, rest = stripped.partition(":")
                current = current.split(" ")[0]
                args[current] = rest.strip()
            elif current:
                args[current] += " " + stripped
    paragraphs = "\n".join(body).strip().split("\n\n", 1)
    return paragraphs[0].strip(), (paragraphs[1].strip() if len(paragraphs) > 1 else ""), args


@dataclass(frozen=True, slots=True)
class Tau2Prompt:
    """The per-domain static part of a tau2-style agent's prompt, counted."""

    system_tokens: int
    tools_tokens: int
    tools: int
    policy_files: tuple[str, ...]

    @property
    def static_tokens(self) -> int:
        return self.system_tokens + self.tools_tokens


def tau2_prompts(data_dir: Path, count: Counter) -> dict[str, Tau2Prompt]:
    """System prompt (instructions + policy) and tool schemas per domain, counted."""
    out: dict[str, Tau2Prompt] = {}
    for domain in DOMAINS:
        system = TAU2_SYSTEM_PROMPT.format(
            agent_instruction=TAU2_AGENT_INSTRUCTION, domain_policy=domain_policy(data_dir, domain)
        )
        tools = tool_schemas(domain)
        out[domain] = Tau2Prompt(
            system_tokens=count(system),
            tools_tokens=count(json.dumps(tools)),
            tools=len(tools),
            policy_files=POLICY_FILES[domain],
        )
    return out


# -- figures -----------------------------------------------------------------------------------


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return round(statistics.fmean(items), 1) if items else 0.0


def figures(
    turns: Sequence[TurnTokens],
    conversations: int,
    failed: int,
    tau2: Tau2Prompt | Mapping[str, Tau2Prompt] | None,
) -> dict[str, Any]:
    """The means over `turns` (each customer turn weighs the same), JSON-ready.

    `tau2` is the domain's static prompt part, or (for figures pooled over domains) every
    domain's, looked up through each turn's flow.
    """
    calls = sum(t.calls for t in turns)
    cx: dict[str, Any] = {
        "prompt_tokens_per_turn": _mean(t.cxflow_total for t in turns),
        "prompt_tokens_per_call": round(sum(t.cxflow_total for t in turns) / calls, 1),
        "cached_prefix_tokens_per_turn": _mean(t.cxflow_static for t in turns),
        "uncached_tokens_per_turn": _mean(t.cxflow_uncached for t in turns),
        "turn_text_tokens_per_call": round(sum(t.cxflow_turn_text for t in turns) / calls, 1),
        "schema_tokens_per_call": round(sum(t.cxflow_schema for t in turns) / calls, 1),
        "compact_schema_tokens_per_call": round(
            sum(t.cxflow_schema_compact for t in turns) / calls, 1
        ),
        "prompt_tokens_per_turn_compact_schema": _mean(
            t.cxflow_total - t.cxflow_schema + t.cxflow_schema_compact for t in turns
        ),
        "max_prompt_tokens_per_call": max(t.cxflow_max_call for t in turns),
    }
    r: dict[str, Any] = {
        "conversations": conversations,
        "failed_conversations": failed,
        "turns": len(turns),
        "model_calls": calls,
        "model_calls_per_turn": round(calls / len(turns), 4),
        "turns_with_second_attempt": sum(t.calls > 1 for t in turns),
        "cxflow": cx,
        "tau2_style": None,
        "tau2_style_with_tools": None,
        "ratio": None,
        "uncached_ratio": None,
        "ratio_with_tools": None,
        "ratio_compact_schema": None,
    }
    if tau2 is None:
        return r

    def static(t: TurnTokens) -> Tau2Prompt:
        if isinstance(tau2, Tau2Prompt):
            return tau2
        return tau2[domain_of(t.flow)]

    totals = [static(t).static_tokens + t.history for t in turns]
    ta: dict[str, Any] = {
        "prompt_tokens_per_turn": _mean(totals),
        "cached_prefix_tokens_per_turn": _mean(static(t).static_tokens for t in turns),
        "uncached_tokens_per_turn": _mean(t.history for t in turns),
        "uncached_tokens_per_turn_with_history_cache": _mean(t.new_history for t in turns),
        "max_prompt_tokens_per_call": max(totals),
    }
    if isinstance(tau2, Tau2Prompt):
        ta |= {
            "system_prompt_tokens": tau2.system_tokens,
            "tool_schema_tokens": tau2.tools_tokens,
            "tools": tau2.tools,
            "policy_files": list(tau2.policy_files),
        }
    agent_calls = sum(len(t.tool_calls) for t in turns)
    per_turn = [sum(static(t).static_tokens + h for h, _ in t.tool_calls) for t in turns]
    wt: dict[str, Any] = {
        "prompt_tokens_per_turn": _mean(per_turn),
        "model_calls_per_turn": round(agent_calls / len(turns), 4),
        "prompt_tokens_per_call": round(sum(per_turn) / agent_calls, 1),
        "cached_prefix_tokens_per_turn": _mean(
            static(t).static_tokens * len(t.tool_calls) for t in turns
        ),
        "uncached_tokens_per_turn": _mean(sum(h for h, _ in t.tool_calls) for t in turns),
        "uncached_tokens_per_turn_with_history_cache": _mean(
            sum(n for _, n in t.tool_calls) for t in turns
        ),
        "tool_calls_per_turn": round((agent_calls - len(turns)) / len(turns), 4),
        "max_prompt_tokens_per_call": max(
            static(t).static_tokens + h for t in turns for h, _ in t.tool_calls
        ),
    }
    r["tau2_style"] = ta
    r["tau2_style_with_tools"] = wt
    r["ratio"] = round(cx["prompt_tokens_per_turn"] / ta["prompt_tokens_per_turn"], 4)
    r["uncached_ratio"] = round(cx["uncached_tokens_per_turn"] / ta["uncached_tokens_per_turn"], 4)
    r["ratio_with_tools"] = round(cx["prompt_tokens_per_turn"] / wt["prompt_tokens_per_turn"], 4)
    r["ratio_compact_schema"] = round(
        cx["prompt_tokens_per_turn_compact_schema"] / ta["prompt_tokens_per_turn"], 4
    )
    return r


def domain_of(flow_id: str) -> str:
    """The domain a played flow belongs to."""
    return next(d for d, flows in DOMAINS.items() if flow_id in flows)


def cost_projection(domains: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """USD per day for the workload at list prices, per side and model.

    Costed per domain (a provider caches a prefix only when it reaches its minimum length,
    and the domains' prefixes differ), then mixed in proportion to the turns each domain had
    here. Three billing cases: no cache; the static prefix cached; and, for the tau2-style
    agent, the growing conversation cached as well (each call then pays full price only for
    the messages added since its previous call). cxflow rebuilds its turn part every turn, so
    the third case does not apply to it. Cache writes (Anthropic bills them at 1.25x input)
    are left out.
    """
    turns_per_day = WORKLOAD["sessions_per_day"] * WORKLOAD["turns_per_session"]
    played = sum(f["turns"] for f in domains.values())
    share = {d: f["turns"] / played for d, f in domains.items()}
    measured = all(f["tau2_style"] is not None for f in domains.values())
    out: dict[str, Any] = {
        "workload": {**WORKLOAD, "turns_per_day": turns_per_day},
        "domain_mix": {d: round(x, 4) for d, x in share.items()},
        "output_tokens_per_call": dict(OUTPUT_TOKENS_PER_CALL),
        "assumptions": (
            "input tokens per turn as measured (means per domain, o200k_base tokenizer), "
            "domains mixed as in the conversations played; output tokens per model call "
            "assumed, not measured; cxflow makes model_calls_per_turn calls per turn as "
            "measured; tau2_style: one agent call per customer turn (the reply); "
            "tau2_style_with_tools: one more call per tool call the flows made, each resending "
            "the whole prompt; a prefix is cached only where it reaches the provider's minimum "
            "cacheable length; list prices from cxflow.llm.DEFAULT_PRICES; cache writes not "
            "billed"
        ),
        "models": {},
    }
    sides = ("cxflow", "tau2_style", "tau2_style_with_tools") if measured else ("cxflow",)
    for model in COST_MODELS:
        entry: dict[str, Any] = {
            "prices_usd_per_million_tokens": dict(DEFAULT_PRICES[model]),
            "min_cacheable_prefix_tokens": MIN_CACHEABLE_TOKENS[model],
        }
        for side in sides:
            per_domain = {d: _turn_costs(model, side, f) for d, f in domains.items()}
            mixed: dict[str, Any] = {
                "prefix_cacheable": {d: c.pop("prefix_cacheable") for d, c in per_domain.items()}
            }
            for case in per_domain[next(iter(per_domain))]:
                usd = sum(share[d] * c[case] for d, c in per_domain.items()) * turns_per_day
                mixed[f"{case}_usd_per_day"] = round(usd, 2)
            mixed["per_domain_usd_per_day"] = {
                d: {f"{k}": round(v * turns_per_day, 2) for k, v in c.items()}
                for d, c in per_domain.items()
            }
            entry[side] = mixed
        if measured:
            cx = entry["cxflow"]["prefix_cache_usd_per_day"]
            entry["cxflow_vs_tau2_style"] = {
                "no_cache": round(
                    entry["cxflow"]["no_cache_usd_per_day"]
                    / entry["tau2_style"]["no_cache_usd_per_day"],
                    4,
                ),
                "best_case_each": round(
                    cx / entry["tau2_style"]["prefix_and_history_cache_usd_per_day"], 4
                ),
                "best_case_each_with_tools": round(
                    cx / entry["tau2_style_with_tools"]["prefix_and_history_cache_usd_per_day"],
                    4,
                ),
            }
        out["models"][model] = entry
    return out


def _turn_costs(model: str, side: str, f: Mapping[str, Any]) -> dict[str, Any]:
    """USD per customer turn of one side in one domain, per billing case."""
    figures = f[side]
    if side == "cxflow":
        calls = f["model_calls_per_turn"]
        output = OUTPUT_TOKENS_PER_CALL["cxflow"] * calls
    elif side == "tau2_style":
        calls = 1.0
        output = OUTPUT_TOKENS_PER_CALL["tau2_style"]
    else:
        calls = figures["model_calls_per_turn"]
        output = (
            OUTPUT_TOKENS_PER_CALL["tau2_style"]
            + OUTPUT_TOKENS_PER_CALL["tau2_style_tool_call"] * figures["tool_calls_per_turn"]
        )
    minimum = MIN_CACHEABLE_TOKENS[model]
    total = figures["prompt_tokens_per_turn"]
    prefix = figures["cached_prefix_tokens_per_turn"]
    cacheable = prefix / calls >= minimum

    def usd(cached: float) -> float:
        per_million = cost_usd(
            model,
            input_tokens=round(total * 1_000_000),
            cached_input_tokens=round(cached * 1_000_000),
            output_tokens=round(output * 1_000_000),
            prices=DEFAULT_PRICES[model],
        )
        return per_million / 1_000_000

    costs: dict[str, Any] = {
        "prefix_cacheable": cacheable,
        "no_cache": usd(0),
        "prefix_cache": usd(prefix if cacheable else 0),
    }
    if side != "cxflow":
        history = total - figures["uncached_tokens_per_turn_with_history_cache"]
        costs["prefix_and_history_cache"] = usd(history if history / calls >= minimum else 0)
    return costs


def results(
    played: Mapping[str, Played],
    tau2: Mapping[str, Tau2Prompt] | None,
    skipped: str | None,
    data_dir: Path,
    seeds: Sequence[int],
    count: Counter,
) -> dict[str, Any]:
    """Every figure in one JSON-ready dict (the keys are documented in bench/README.md)."""
    domains: dict[str, Any] = {}
    for domain, flow_ids in DOMAINS.items():
        static = None if tau2 is None else tau2[domain]
        turns = [t for f in flow_ids for t in played[f].turns]
        domains[domain] = figures(
            turns,
            sum(played[f].conversations for f in flow_ids),
            sum(played[f].failed for f in flow_ids),
            static,
        )
        domains[domain]["flows"] = {
            f: figures(played[f].turns, played[f].conversations, played[f].failed, static)
            for f in flow_ids
        }
    every = [t for p in played.values() for t in p.turns]
    overall = figures(
        every,
        sum(p.conversations for p in played.values()),
        sum(p.failed for p in played.values()),
        tau2,
    )
    cx, ta, wt = overall["cxflow"], overall["tau2_style"], overall["tau2_style_with_tools"]
    r: dict[str, Any] = {
        "cxflow_prompt_tokens_per_turn": cx["prompt_tokens_per_turn"],
        "tau2_style_prompt_tokens_per_turn": None if ta is None else ta["prompt_tokens_per_turn"],
        "ratio": overall["ratio"],
        "model_calls_per_turn": overall["model_calls_per_turn"],
        "cxflow_uncached_prompt_tokens_per_turn": cx["uncached_tokens_per_turn"],
        "tau2_style_uncached_prompt_tokens_per_turn": (
            None if ta is None else ta["uncached_tokens_per_turn"]
        ),
        "tau2_style_with_tools_prompt_tokens_per_turn": (
            None if wt is None else wt["prompt_tokens_per_turn"]
        ),
        "tau2_style_with_tools_model_calls_per_turn": (
            None if wt is None else wt["model_calls_per_turn"]
        ),
        "ratio_with_tools": overall["ratio_with_tools"],
        "tau2_measured": tau2 is not None,
        "tau2_skipped": skipped,
        "target": {
            "ratio_at_most": RATIO_TARGET,
            "measured": overall["ratio"],
            "met": None if overall["ratio"] is None else overall["ratio"] <= RATIO_TARGET,
        },
        "overall": overall,
        "domains": domains,
        "cost_projection": cost_projection(domains),
        "tau2_prompt": {
            "data_dir": str(data_dir) if tau2 is not None else None,
            "system_prompt": "tau2-bench LLMAgent SYSTEM_PROMPT with AGENT_INSTRUCTION",
            "policy_files": {d: list(f) for d, f in POLICY_FILES.items()},
            "tools": (
                "every TOOL_NAMES method of the domain's cxflow tool class, OpenAI function "
                "format, built like tau2's Tool (docstring + pydantic schema of the annotated "
                "parameters), serialized with json.dumps"
            ),
            "history": (
                "tau2_style: the flow's greeting, then every customer message and agent reply "
                "so far, message contents only; tau2_style_with_tools: the same plus each tau2 "
                "tool call the flows made (name + arguments JSON) and its result as tau2 renders "
                "it, one agent call per tool call, repeated reads counted once"
            ),
        },
        "cxflow_prompt": {
            "static_prefix_tokens": count(STATIC),
            "parts": "cxflow.llm.build_prompt(view, text): static + turn text + json.dumps(schema)",
        },
        "tokenizer": {"encoding": ENCODING, "package": f"bpe-openai {count.version}"},
        "seeds": list(seeds),
        "flows": {d: list(f) for d, f in DOMAINS.items()},
        "python": platform.python_version(),
        "versions": {d: version(d) for d in ("cxflow", "pydantic", "bpe-openai")},
    }
    return r


def table(r: dict[str, Any]) -> str:
    """Render the figures as plain text."""
    head = (
        f"{'':<22}{'turns':>6}{'calls':>7}{'cxflow':>8}{'uncached':>9}"
        f"{'tau2':>8}{'uncached':>9}{'ratio':>7}{'+tools':>8}{'calls':>7}{'ratio':>7}"
    )
    lines = [
        "prompt tokens per customer turn (means); calls = model calls per turn; tau2 = "
        "tau2-style, +tools = with tool traffic",
        head,
    ]

    def row(label: str, f: dict[str, Any]) -> None:
        cx, ta, wt = f["cxflow"], f["tau2_style"], f["tau2_style_with_tools"]
        tau = (
            f"{ta['prompt_tokens_per_turn']:>8,.0f}{ta['uncached_tokens_per_turn']:>9,.0f}"
            f"{f['ratio']:>7.3f}{wt['prompt_tokens_per_turn']:>8,.0f}"
            f"{wt['model_calls_per_turn']:>7.2f}{f['ratio_with_tools']:>7.3f}"
            if ta is not None
            else f"{'-':>8}{'-':>9}{'-':>7}{'-':>8}{'-':>7}{'-':>7}"
        )
        lines.append(
            f"{label:<22}{f['turns']:>6,}{f['model_calls_per_turn']:>7.3f}"
            f"{cx['prompt_tokens_per_turn']:>8,.0f}{cx['uncached_tokens_per_turn']:>9,.0f}" + tau
        )

    for domain, f in r["domains"].items():
        row(domain, f)
        for flow, ff in f["flows"].items():
            row(f"  {flow}", ff)
    row("overall", r["overall"])
    lines.append("")
    if not r["tau2_measured"]:
        lines.append(f"tau2-style side not measured: {r['tau2_skipped']}")
    else:
        t = r["target"]
        verdict = "PASS" if t["met"] else "MISS"
        lines.append(
            f"{'ratio (cxflow / tau2-style)':<32}{'≤' + format(t['ratio_at_most'], 'g'):>8}"
            f"{t['measured']:>10.4f}  {verdict}"
        )
        lines.append("")
        lines.append("static part of the tau2-style prompt (its cached prefix), tokens:")
        for domain, f in r["domains"].items():
            ta = f["tau2_style"]
            lines.append(
                f"  {domain:<9} system+policy {ta['system_prompt_tokens']:>6,}, "
                f"{ta['tools']} tools {ta['tool_schema_tokens']:>6,} "
                f"({', '.join(ta['policy_files'])})"
            )
    lines.append(
        f"cxflow static prefix: {r['cxflow_prompt']['static_prefix_tokens']} tokens per call"
    )
    c = r["cost_projection"]
    w = c["workload"]
    out = c["output_tokens_per_call"]
    lines += [
        "",
        f"cost, USD/day: {w['sessions_per_day']:,} sessions x {w['turns_per_session']} turns "
        f"= {w['turns_per_day']:,} turns; output tokens per call assumed: {out['cxflow']} "
        f"(cxflow), {out['tau2_style']} (tau2 reply), {out['tau2_style_tool_call']} (tau2 "
        "tool call)",
        f"{'model':<18}{'side':<14}{'no cache':>10}{'prefix':>10}{'+history':>10}",
    ]
    labels = {"cxflow": "cxflow", "tau2_style": "tau2-style", "tau2_style_with_tools": "+tools"}
    for model, m in c["models"].items():
        first = True
        for side, label in labels.items():
            if side not in m:
                continue
            costs = m[side]
            history = costs.get("prefix_and_history_cache_usd_per_day")
            short = [d for d, ok in costs["prefix_cacheable"].items() if not ok]
            note = f"  (prefix below the cache minimum: {', '.join(short)})" if short else ""
            lines.append(
                f"{model if first else '':<18}{label:<14}{costs['no_cache_usd_per_day']:>10,.2f}"
                f"{costs['prefix_cache_usd_per_day']:>10,.2f}"
                f"{'-' if history is None else format(history, ',.2f'):>10}{note}"
            )
            first = False
    failed = r["overall"]["failed_conversations"]
    lines += [
        "",
        f"{r['overall']['conversations']} conversations ({failed} failed their checks), seeds "
        f"{r['seeds']}; tokenizer {r['tokenizer']['encoding']} ({r['tokenizer']['package']}); "
        f"python {r['python']}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement; print a table, or one JSON object with `--json`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--quick", action="store_true", help="seed 0 and two scenarios per flow (smoke test)"
    )
    parser.add_argument(
        "--tau2-data",
        metavar="DIR",
        help="tau2's data folder (default: $CXFLOW_TAU2_DATA, else ../shared/tau2-data)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        help="play each scenario with seeds 0..N-1 (default 3; --quick: 1)",
    )
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    count = Counter()
    played = play(DOMAINS, seeds, 2 if args.quick else None, count)
    data_dir = tau2_data_dir(args.tau2_data)
    skipped = tau2_missing(data_dir)
    tau2 = None if skipped else tau2_prompts(data_dir, count)
    r = results(played, tau2, skipped, data_dir, seeds, count)
    print(json.dumps(r, indent=2) if args.json else table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
