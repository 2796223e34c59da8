"""Scenarios: who a simulated customer is, what they want, know and believe, and what must happen.

A scenario file is YAML (documented in the README, "Scenario files"):

```yaml
flow: plan_upgrade
scenarios:
  - name: maya_moves_to_everyday_20
    identity: {phone_number: 555-014-3301}
    knows: {line_phone: 555-014-3301, target_plan_id: Everyday 20}
    believes: {line: 555-014-3301}
    expects: {quoted_price: "55.00"}
    expect: {outcome: completed, writes: [change_plan]}
```

Each flow's own library is `flows/scenarios/<flow id>.yaml` (`library(flow_id)`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cxflow.errors import DataFileError

__all__ = [
    "PERSONAS",
    "DeviceSetup",
    "Expectation",
    "Scenario",
    "ScenarioFile",
    "library",
    "load_scenarios",
]

PERSONAS: tuple[str, ...] = (
    "cooperative",
    "terse",
    "piecemeal",
    "changes_mind",
    "corrects",
    "forgets_action",
    "misreads_screen",
    "mishears_number",
    "false_belief",
    "impatient",
    "off_topic",
    "adversarial",
)
"""Every persona a scripted customer knows (a stable interface: runners and reports use them)."""

_STRICT = ConfigDict(extra="forbid")


class DeviceSetup(BaseModel):
    """One set-up call on the customer's side before the conversation (tau2's format).

    Attributes:
        func_name: A set-up function, e.g. "turn_airplane_mode_on" (telecom: `PHONE_SETUP`).
        arguments: Its keyword arguments.
        env_type: "user" (the customer's phone) or "assistant" (the agent's CRM).
    """

    model_config = _STRICT
    func_name: str
    arguments: dict[str, Any] = Field(default_factory=dict[str, Any])
    env_type: Literal["user", "assistant"] = "user"


class Expectation(BaseModel):
    """What must hold when the conversation ends (the scenario's pass/fail check).

    Attributes:
        outcome: The session's outcome ("completed", "declined", "handed_off", ...).
        state: The final state, when it matters.
        writes: The write tools that must have run (and no other), in any order.
        communicates: Texts the agent must have said (case-insensitive substrings).
        divergences: `"fact:kind"` pairs allowed to stay unrepaired; any other unrepaired
            divergence fails the conversation, and a commit under divergence always does.
    """

    model_config = _STRICT
    outcome: str | None = None
    state: str | None = None
    writes: list[str] | None = None
    communicates: list[str] = Field(default_factory=list[str])
    divergences: list[str] = Field(default_factory=list[str])


class Scenario(BaseModel):
    """What a simulated customer is, knows, wants and believes, and what must happen.

    Attributes:
        name: The scenario's id in reports.
        description: One line for people reading the report.
        identity: Identity facts (slot -> value): phone number, name, user id, ...
        goals: What the customer asks for, in order, where the agent asks how it can help
            (a front desk); a single flow started directly needs none.
        knows: Other slots the customer can answer (slot -> value; a list gives one item each
            time the slot is asked, e.g. the items to return, then `says` moves on).
        unknown: Slots the customer cannot answer ("I don't know").
        says: Event -> what the customer says to take it (e.g. "finish": "no, that's all").
        believes: Shared fact -> what the customer believes at the start (their view).
        expects: Shared fact -> the value the customer will agree to; a different stated
            value is declined.
        false_beliefs: Shared fact -> a wrong value the `false_belief` persona holds.
        alternatives: Slot -> another value: what `changes_mind` switches to, and what
            `corrects` says by mistake before correcting it.
        device: Set-up calls on the customer's device (telecom: tau2's set-up functions).
        personas: Persona -> probability that it acts at each chance it gets (seeded).
        expect: What must hold at the end.
    """

    model_config = _STRICT
    name: str = "scenario"
    description: str = ""
    identity: dict[str, Any] = Field(default_factory=dict[str, Any])
    goals: list[str] = Field(default_factory=list[str])
    knows: dict[str, Any] = Field(default_factory=dict[str, Any])
    unknown: list[str] = Field(default_factory=list[str])
    says: dict[str, str] = Field(default_factory=dict[str, str])
    believes: dict[str, Any] = Field(default_factory=dict[str, Any])
    expects: dict[str, Any] = Field(default_factory=dict[str, Any])
    false_beliefs: dict[str, Any] = Field(default_factory=dict[str, Any])
    alternatives: dict[str, Any] = Field(default_factory=dict[str, Any])
    device: list[DeviceSetup] = Field(default_factory=list[DeviceSetup])
    personas: dict[str, float] = Field(default_factory=dict[str, float])
    expect: Expectation = Field(default_factory=Expectation)

    @field_validator("personas")
    @classmethod
    def _known_personas(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(PERSONAS))
        if unknown:
            raise ValueError(f"unknown persona(s) {unknown}; known: {list(PERSONAS)}")
        bad = sorted(k for k, p in value.items() if not 0.0 <= p <= 1.0)
        if bad:
            raise ValueError(f"persona probabilities must be between 0 and 1: {bad}")
        return value

    def answers(self) -> dict[str, Any]:
        """Every slot the customer can answer: identity, then what else they know."""
        return {**self.identity, **self.knows}

    def with_personas(self, **personas: float) -> Scenario:
        """A copy with these persona probabilities (the others unchanged), validated."""
        return self.model_validate({**self.model_dump(), "personas": {**self.personas, **personas}})


class ScenarioFile(BaseModel):
    """A YAML scenario file: the flow it is for and its scenarios."""

    model_config = _STRICT
    flow: str
    scenarios: list[Scenario]


def load_scenarios(path: Path | str) -> ScenarioFile:
    """Read and validate a scenario file.

    Raises:
        DataFileError: The file is missing, is not UTF-8 YAML, or does not match the format
            (the error names the scenario and the field).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFileError(path, f"cannot read the scenario file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            path, f"not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        raise DataFileError(path, f"not valid YAML: {exc}") from exc
    except RecursionError:
        raise DataFileError(
            path, "nested too deeply to parse: this is not a scenario file, or it is corrupt"
        ) from None
    try:
        return ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = [str(p) for p in error["loc"]]
        record = None
        if len(where) >= 2 and where[0] == "scenarios" and isinstance(raw, dict):
            items = raw.get("scenarios")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            index = int(where[1])
            if isinstance(items, list) and index < len(items):  # pyright: ignore[reportUnknownArgumentType]
                item = items[index]  # pyright: ignore[reportUnknownVariableType]
                record = str(item.get("name", index)) if isinstance(item, dict) else str(index)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        raise DataFileError(
            path,
            f"{error['msg']}; see the README's 'Scenario files' for the format",
            record=record,
            field=".".join(where),
        ) from exc


def library(flow_id: str) -> ScenarioFile:
    """The scenario library shipped with a reference flow (`flows/scenarios/<flow_id>.yaml`).

    Raises:
        DataFileError: The flow has no library, or it is invalid.
    """
    found = resources.files("cxflow.flows").joinpath("scenarios", f"{flow_id}.yaml")
    with resources.as_file(found) as path:
        if not path.is_file():
            raise DataFileError(path, f"no scenario library for flow {flow_id!r}")
        return load_scenarios(path)
