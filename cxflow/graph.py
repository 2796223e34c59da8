"""Diagrams of a flow: Mermaid and Graphviz DOT text, and SVG/PNG images rendered by Graphviz.

Both texts show the same things: the initial and final states, every transition labelled with
its event and guards (`[has_identity]`, `[not line_is_active]`), automatic transitions marked
`(auto)` (dashed in DOT), and the states that run write tools (`Tool.side_effect`) highlighted
and annotated with the tools' names. Output follows the flow's declaration order, so the same
flow always gives the same text (diagrams can be committed and diffed).

Mermaid and DOT text need nothing installed; images need Graphviz's `dot` program.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING, Any, Literal

from cxflow.errors import CxflowError
from cxflow.machine import FlowSpec, StateSpec, TransitionSpec, guard_name

if TYPE_CHECKING:
    from cxflow.flow import Flow

__all__ = [
    "GraphvizNotFoundError",
    "GraphvizRenderError",
    "render_image",
    "to_dot",
    "to_mermaid",
]

ImageFormat = Literal["svg", "png"]
RENDER_TIMEOUT_S = 30.0
"""Longest time `dot` may take to render one diagram."""

_WRITE_FILL = "#fde2e2"
_WRITE_STROKE = "#c0392b"
_DOT_START = "__start__"


class GraphvizNotFoundError(CxflowError, FileNotFoundError):
    """Graphviz's `dot` program, needed for SVG and PNG images, is not on PATH."""

    def __init__(self) -> None:
        super().__init__(
            "rendering SVG/PNG needs Graphviz's `dot` program. Install it with: "
            "apt-get install graphviz (or brew install graphviz); Mermaid and DOT text need "
            "nothing."
        )


class GraphvizRenderError(CxflowError, RuntimeError):
    """Graphviz's `dot` program failed or timed out while rendering a diagram."""

    def __init__(self, fmt: str, detail: str) -> None:
        self.fmt = fmt
        self.detail = detail
        super().__init__(
            f"Graphviz's `dot` could not render {fmt}: {detail}. Check the Graphviz "
            "installation (`dot -V`), or export DOT text and render it elsewhere."
        )


def flow_spec(flow: FlowSpec | type[Flow[Any]]) -> FlowSpec:
    """Return the compiled spec of a flow class, or the spec itself."""
    if isinstance(flow, FlowSpec):
        return flow
    spec = getattr(flow, "spec", None)
    if not isinstance(spec, FlowSpec):
        raise TypeError(f"{flow!r} is not a flow class or FlowSpec; pass e.g. PlanUpgrade.")
    return spec


def to_mermaid(flow: FlowSpec | type[Flow[Any]]) -> str:
    """Return the flow as a Mermaid `stateDiagram-v2`.

    Args:
        flow: A flow class (`PlanUpgrade`) or its compiled `FlowSpec`.
    """
    spec = flow_spec(flow)
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial}"]
    for state in spec.states.values():
        for t in state.transitions:
            lines.append(f"    {t.source} --> {t.target} : {_edge_label(t)}")
        if state.starts:
            back = state.returns_to or state.id
            lines.append(f"    {state.id} --> {back} : after {' | '.join(state.starts)}")
    for state in spec.states.values():
        if state.final:
            lines.append(f"    {state.id} --> [*]")
    writers = [s for s in spec.states.values() if _write_tools(s)]
    for state in writers:
        lines.append(f"    note right of {state.id} : write tool {', '.join(_write_tools(state))}")
    if writers:
        lines.append(f"    classDef writeTool fill:{_WRITE_FILL},stroke:{_WRITE_STROKE}")
        lines.append(f"    class {','.join(s.id for s in writers)} writeTool")
    return "\n".join(lines) + "\n"


def to_dot(flow: FlowSpec | type[Flow[Any]]) -> str:
    """Return the flow as a Graphviz DOT `digraph`.

    Final states are double circles, automatic transitions dashed, and states that run write
    tools filled and labelled with the tools' names.

    Args:
        flow: A flow class (`PlanUpgrade`) or its compiled `FlowSpec`.
    """
    spec = flow_spec(flow)
    lines = [
        f"digraph {_quote(spec.flow_id)} {{",
        f"    graph [rankdir=LR, labelloc=t, fontname=Helvetica, label={_quote(spec.title)}];",
        "    node [shape=box, style=rounded, fontname=Helvetica, fontsize=11];",
        "    edge [fontname=Helvetica, fontsize=9];",
        f'    {_quote(_DOT_START)} [shape=point, width=0.15, label=""];',
    ]
    for state in spec.states.values():
        attrs: list[str] = []
        writes = _write_tools(state)
        if state.final:
            attrs.append("shape=doublecircle")
        if writes:
            label = f"{state.id}\nwrite tool {', '.join(writes)}"
            attrs += [
                f"label={_quote(label)}",
                'style="rounded,filled"',
                f"fillcolor={_quote(_WRITE_FILL)}",
                f"color={_quote(_WRITE_STROKE)}",
            ]
        if state.purpose:
            attrs.append(f"tooltip={_quote(state.purpose)}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {_quote(state.id)}{suffix};")
    lines.append(f"    {_quote(_DOT_START)} -> {_quote(spec.initial)};")
    for state in spec.states.values():
        for t in state.transitions:
            attrs = [f"label={_quote(_edge_label(t))}"]
            if t.auto:
                attrs.append("style=dashed")
            lines.append(f"    {_quote(t.source)} -> {_quote(t.target)} [{', '.join(attrs)}];")
        if state.starts:
            back = _quote(state.returns_to or state.id)
            label = _quote(f"after {' | '.join(state.starts)}")
            lines.append(f"    {_quote(state.id)} -> {back} [label={label}, style=dotted];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(flow: FlowSpec | type[Flow[Any]], fmt: ImageFormat) -> bytes:
    """Render the flow's DOT diagram to an SVG or PNG image with Graphviz's `dot`.

    Args:
        flow: A flow class (`PlanUpgrade`) or its compiled `FlowSpec`.
        fmt: "svg" or "png".

    Raises:
        GraphvizNotFoundError: `dot` is not on PATH.
        GraphvizRenderError: `dot` failed or took longer than `RENDER_TIMEOUT_S`.
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"unknown image format {fmt!r}; use 'svg' or 'png'.")
    source = to_dot(flow)
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFoundError()
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=source.encode(),
            capture_output=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GraphvizRenderError(fmt, f"timed out after {RENDER_TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise GraphvizRenderError(fmt, str(exc)) from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        raise GraphvizRenderError(fmt, detail)
    return done.stdout


def _edge_label(t: TransitionSpec) -> str:
    """Return `event (auto) [guard and not other]`, omitting the parts a transition lacks."""
    label = t.event + (" (auto)" if t.auto else "")
    guards = [guard_name(g) for g in t.conds] + [f"not {guard_name(g)}" for g in t.unless]
    if guards:
        label += f" [{' and '.join(guards)}]"
    return label


def _write_tools(state: StateSpec) -> list[str]:
    return [t.name for t in state.tools if t.side_effect]


def _quote(text: str) -> str:
    """Quote a DOT identifier or label; a newline in the text becomes a line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
