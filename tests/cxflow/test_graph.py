"""Tests for flow diagrams in ``cxflow.graph``: Mermaid and DOT text, and Graphviz images."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.graph import (
    GraphvizNotFoundError,
    render_image,
    to_dot,
    to_mermaid,
)
from cxflow.machine import FlowSpec

SPEC: FlowSpec = PlanUpgrade.spec
DOT_EDGE = re.compile(r'^\s*"(?P<source>[^"]+)" -> "(?P<target>[^"]+)"(?: \[(?P<attrs>.*)\])?;$')
HAS_DOT = shutil.which("dot") is not None


def dot_edges(dot: str) -> dict[tuple[str, str, str], str]:
    """Return the DOT text's transitions as (source, target, label) -> attribute list."""
    edges: dict[tuple[str, str, str], str] = {}
    for line in dot.splitlines():
        found = DOT_EDGE.match(line)
        if found is None:
            continue
        attrs = found["attrs"] or ""
        label = re.search(r'label="([^"]*)"', attrs)
        edges[(found["source"], found["target"], label[1] if label else "")] = attrs
    return edges


def test_mermaid_starts_as_a_state_diagram_entering_the_initial_state() -> None:
    text = to_mermaid(PlanUpgrade)

    assert text.startswith("stateDiagram-v2\n")
    assert "    [*] --> identify\n" in text


def test_mermaid_names_every_state_and_event() -> None:
    text = to_mermaid(PlanUpgrade)

    for state in SPEC.states.values():
        assert state.id in text
        for t in state.transitions:
            assert t.event in text


def test_mermaid_labels_transitions_with_event_auto_mark_and_guards() -> None:
    lines = to_mermaid(PlanUpgrade).splitlines()

    assert "    identify --> lookup : identified (auto) [has_identity]" in lines
    assert "    awaiting_confirmation --> applying : confirm_price [price_quoted]" in lines
    assert "    awaiting_confirmation --> declined : decline_price" in lines
    assert (
        "    load --> line_not_active : loaded (auto) [line_loaded and not line_is_active]" in lines
    )


def test_mermaid_ends_every_final_state() -> None:
    lines = to_mermaid(PlanUpgrade).splitlines()

    finals = [s.id for s in SPEC.states.values() if s.final]
    assert finals
    for state_id in finals:
        assert f"    {state_id} --> [*]" in lines
    assert "    identify --> [*]" not in lines


def test_mermaid_highlights_states_that_run_write_tools() -> None:
    lines = to_mermaid(PlanUpgrade).splitlines()

    assert "    note right of applying : write tool change_plan" in lines
    assert "    class applying writeTool" in lines
    assert any(line.startswith("    classDef writeTool ") for line in lines)


def test_dot_is_a_digraph_with_every_transition() -> None:
    text = to_dot(PlanUpgrade)

    assert text.startswith('digraph "plan_upgrade" {\n')
    assert text.rstrip().endswith("}")
    edges = dot_edges(text)
    expected = {(t.source, t.target, t.event) for s in SPEC.states.values() for t in s.transitions}
    found = {(source, target, label.split(" ")[0]) for source, target, label in edges}
    assert found == expected | {("__start__", "identify", "")}


def test_dot_draws_finals_as_double_circles_and_auto_transitions_dashed() -> None:
    text = to_dot(PlanUpgrade)

    for state in SPEC.states.values():
        declared = next(line for line in text.splitlines() if line.startswith(f'    "{state.id}"'))
        assert ("shape=doublecircle" in declared) == state.final
    autos = {(t.source, t.target) for s in SPEC.states.values() for t in s.autos}
    dashed = {(src, dst) for (src, dst, _), attrs in dot_edges(text).items() if "dashed" in attrs}
    assert dashed == autos
    assert ("awaiting_confirmation", "applying") not in dashed


def test_dot_labels_write_tool_states_with_their_tools() -> None:
    applying = next(line for line in to_dot(PlanUpgrade).splitlines() if '"applying" [' in line)

    assert 'label="applying\\nwrite tool change_plan"' in applying
    assert "filled" in applying


def test_dot_escapes_quotes_in_titles() -> None:
    spec = dataclasses.replace(SPEC, title='Say "yes" \\ no')

    assert 'label="Say \\"yes\\" \\\\ no"' in to_dot(spec)


def test_diagrams_are_the_same_for_the_class_and_its_spec_every_time() -> None:
    assert to_mermaid(PlanUpgrade) == to_mermaid(SPEC) == to_mermaid(PlanUpgrade)
    assert to_dot(PlanUpgrade) == to_dot(SPEC) == to_dot(PlanUpgrade)


def test_something_that_is_not_a_flow_is_refused() -> None:
    with pytest.raises(TypeError, match="not a flow class or FlowSpec"):
        to_mermaid(object)  # pyright: ignore[reportArgumentType]


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_render_svg_with_graphviz() -> None:
    svg = render_image(PlanUpgrade, "svg")

    assert svg.lstrip().startswith((b"<?xml", b"<svg"))
    assert b"awaiting_confirmation" in svg


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_render_png_with_graphviz() -> None:
    assert render_image(PlanUpgrade, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_render_without_graphviz_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(GraphvizNotFoundError) as caught:
        render_image(PlanUpgrade, "svg")

    message = str(caught.value)
    assert "Graphviz's `dot` program" in message
    assert "apt-get install graphviz" in message
    assert "brew install graphviz" in message


def test_render_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="'jpg'"):
        render_image(PlanUpgrade, "jpg")  # pyright: ignore[reportArgumentType]
