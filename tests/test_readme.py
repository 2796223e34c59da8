"""The README's code runs, and its diagram is the one the reference flow draws today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.graph import to_mermaid

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_examples_run_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples may write a database file in the current directory
    blocks = _blocks("python")
    assert len(blocks) >= 2
    for code in blocks:
        exec(compile(code, str(README), "exec", dont_inherit=True), {"__name__": "readme"})


def test_readme_mermaid_diagram_is_generated_from_the_real_flow() -> None:
    (diagram,) = _blocks("mermaid")
    assert diagram.strip() == to_mermaid(PlanUpgrade).strip()


def test_readme_gives_exactly_two_setup_commands() -> None:
    commands = _blocks("bash")
    assert len(commands) == 2
    assert "cxflow chat plan_upgrade" in commands[0]
    assert "pytest --cov" in commands[1]
