"""Build an interpreter from a command-line string (`--interpreter`).

```
rules                                   the offline RuleInterpreter (default)
anthropic:claude-haiku-4-5              Anthropic's Messages API
openai:gpt-5-mini                       OpenAI's Responses API
openai:llama3.1@http://127.0.0.1:11434/v1   chat completions on any OpenAI-compatible server
anthropic:claude-haiku-4-5>rules        a fallback chain: the next one when an API keeps failing
awaiting_confirmation=anthropic:claude-sonnet-4-6,*=anthropic:claude-haiku-4-5>rules
                                        per-state routing ("flow.state", "state", "flow.*", "*")
```
"""

from __future__ import annotations

import importlib
from typing import Any

from cxflow.errors import MissingExtraError, UsageError
from cxflow.interpreter import Interpreter
from cxflow.llm import FallbackInterpreter, ModelSettings, RoutedInterpreter

__all__ = ["interpreter_from_spec"]

_PROVIDERS = {
    "anthropic": ("cxflow.llm.anthropic_interpreter", "AnthropicInterpreter", "anthropic"),
    "openai": ("cxflow.llm.openai_interpreter", "OpenAIInterpreter", "openai"),
}


def interpreter_from_spec(spec: str, **settings: Any) -> Interpreter:
    """The interpreter a spec names (see the module doc).

    Args:
        spec: The spec string.
        **settings: `ModelSettings` fields for every model in it (temperature, timeout_s, ...).

    Raises:
        UsageError: The spec is malformed or names an unknown provider.
        MissingExtraError: The provider's SDK is not installed (the message says how).
    """
    spec = spec.strip()
    if not spec:
        raise UsageError("empty --interpreter; use `rules`, `anthropic:MODEL` or `openai:MODEL`")
    if "=" in spec:
        routes: dict[str, Interpreter] = {}
        default: Interpreter | None = None
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise UsageError(f"routing entry {part!r} must be STATE=SPEC (or *=SPEC)")
            chosen = _chain(value.strip(), settings)
            if key.strip() == "*":
                default = chosen
            else:
                routes[key.strip()] = chosen
        if default is None:
            raise UsageError("a routing table needs a default: add `*=SPEC` (e.g. `*=rules`)")
        return RoutedInterpreter(routes, default)
    return _chain(spec, settings)


def _chain(spec: str, settings: dict[str, Any]) -> Interpreter:
    links = [_one(part.strip(), settings) for part in spec.split(">")]
    return links[0] if len(links) == 1 else FallbackInterpreter(links)


def _one(spec: str, settings: dict[str, Any]) -> Interpreter:
    if spec == "rules":
        from cxflow.rule_interpreter import RuleInterpreter

        return RuleInterpreter()
    provider, sep, model = spec.partition(":")
    if not sep or not model:
        raise UsageError(
            f"unknown interpreter {spec!r}; use `rules`, `anthropic:MODEL` or `openai:MODEL` "
            "(`openai:MODEL@BASE_URL` for an OpenAI-compatible server)"
        )
    if provider not in _PROVIDERS:
        raise UsageError(f"unknown provider {provider!r}; known: {', '.join(_PROVIDERS)}")
    module_name, class_name, extra = _PROVIDERS[provider]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingExtraError(f"the {provider} interpreter", extra, extra) from exc
    base_url = None
    if provider == "openai" and "@" in model:
        model, base_url = model.split("@", 1)
    interpreter_class: Any = getattr(module, class_name)
    options: dict[str, Any] = {"base_url": base_url} if base_url else {}
    interpreter: Interpreter = interpreter_class(ModelSettings(model=model, **settings), **options)
    return interpreter
