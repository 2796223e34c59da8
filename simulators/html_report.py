"""A simulation run's JSON (`runner.report()`) as one self-contained HTML page.

No network at all: inline CSS, charts drawn here as inline SVG, no script. Every piece of text
from the run is escaped. Sections: pass^k curves, divergences per state and kind, transition
coverage, latency per turn kind, tokens and cost, tool-argument drift, conversations sorted by
failure (with collapsible transcripts for the first `MAX_TRANSCRIPTS`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from math import ceil, floor, log10
from typing import Any

from cxflow.simulators.results import DEFAULT_PRICES, TURN_KINDS, percentile

__all__ = ["DIVERGENCE_KINDS", "MAX_CONVERSATION_ROWS", "MAX_TRANSCRIPTS", "render_html"]

DIVERGENCE_KINDS = ("belief_error", "disagreement", "customer_misbelief", "commit_under_divergence")
MAX_TRANSCRIPTS = 200
"""Conversations (in failure order) that get a transcript; the rest are counted, not shown."""
MAX_CONVERSATION_ROWS = 1000
"""Rows of the conversation table; the rest are counted, not shown."""
MAX_STATE_BARS = 30
MAX_DRIFT_CASES = 100

# Okabe-Ito: distinguishable with common colour-vision deficiencies (yellow left out: too pale).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")
KIND_COLOURS = {
    "belief_error": "#D55E00",
    "disagreement": "#E69F00",
    "customer_misbelief": "#0072B2",
    "commit_under_divergence": "#CC79A7",
}
PERCENTILE_COLOURS = {"p50": "#56B4E9", "p95": "#0072B2", "p99": "#D55E00"}
TOKEN_COLOURS = {"uncached input": "#0072B2", "cached input": "#56B4E9", "output": "#E69F00"}

CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --bg:#ffffff; --soft:#f5f7fa;
  --bad:#b3261e; --good:#1b7f3b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
header { margin-bottom: 1rem; }
h1 { font-size: 1.7rem; margin: 0 0 .4rem; letter-spacing: -.01em; }
h2 { font-size: 1.3rem; margin: 2.6rem 0 .6rem; padding-top: .6rem;
  border-top: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p.lead, .muted { color: var(--muted); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .6rem 0;
  font-size: .92rem; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; font-variant-numeric: tabular-nums; }
nav.toc { font-size: .9rem; margin: .8rem 0 0; }
nav.toc a { color: #0b57d0; text-decoration: none; margin-right: 1rem; white-space: nowrap; }
nav.toc a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.failed td:first-child { box-shadow: inset 3px 0 0 var(--bad); }
.bad { color: var(--bad); font-weight: 600; }
.good { color: var(--good); }
code, pre { font: .85rem/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--soft); padding: .05rem .3rem; border-radius: 3px; }
pre { background: var(--soft); padding: .6rem .8rem; border-radius: 4px; overflow-x: auto;
  white-space: pre-wrap; word-break: break-word; margin: .2rem 0; }
ul.transitions { columns: 2 22rem; margin: .3rem 0 1rem; padding-left: 1.2rem; font-size: .9rem; }
ul.failures { margin: 0; padding-left: 1rem; }
table.conversations td:first-child { width: 32%; }
table.conversations td:last-child { width: 50%; overflow-wrap: anywhere; }
svg.chart { display: block; max-width: 100%; height: auto; margin: .6rem 0 .4rem; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  fill: #1d2330; }
.note { background: var(--soft); border-left: 3px solid #0072B2; padding: .6rem .9rem;
  margin: .8rem 0; }
details { margin: .1rem 0; }
details summary { cursor: pointer; color: #0b57d0; }
.turn { border-left: 2px solid var(--line); padding: .2rem 0 .4rem .7rem; margin: .4rem 0; }
.turn.diverged { border-left-color: var(--bad); }
.turn .who { font-weight: 600; color: var(--muted); font-size: .8rem; text-transform: uppercase;
  letter-spacing: .04em; }
.turn .head { font-size: .8rem; color: var(--muted); }
.variant { margin: .15rem 0; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
"""


def render_html(
    report: Mapping[str, Any],
    *,
    sessions_per_day: int = 10_000,
    prices: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """The whole page for one run's JSON (the shape `runner.report()` returns).

    Args:
        report: The run's JSON.
        sessions_per_day: Sessions a day, for the projected monthly cost (30 days).
        prices: USD per million tokens per model (`input`, `cached_input`, `output`); defaults
            to `DEFAULT_PRICES`. Used when the run reports tokens but no cost, and shown.
    """
    flows: Mapping[str, Mapping[str, Any]] = report.get("flows") or {}
    price_table = {
        m: dict(p) for m, p in (prices if prices is not None else DEFAULT_PRICES).items()
    }
    run_id = str(report.get("run_id", "?"))
    sections = [
        _header(report, flows),
        _summary(flows),
        _pass_hat_k(flows, int(report.get("k") or 0)),
        _divergences(flows),
        _coverage(flows),
        _latency(flows),
        _budgets(flows),
        _comparison(report.get("comparison") or [], int(report.get("k") or 0)),
        _cost(flows, sessions_per_day, price_table, report.get("model")),
        _drift(flows),
        _conversations(flows),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cxflow simulation run {_e(run_id)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + "\n<footer>Generated by <code>cxflow.simulators.html_report</code> from the run's"
        " JSON. Self-contained: no scripts, no network.</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


# --- text helpers -------------------------------------------------------------------------


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _pct(share: float, digits: int = 1) -> str:
    return f"{100 * share:.{digits}f}%"


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _usd(value: float) -> str:
    if value == 0:
        return "$0.00"
    if abs(value) < 0.01:
        return f"${value:.6f}"
    if abs(value) < 1:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def _num(value: float) -> str:
    return f"{value:,.1f}"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """A table of already-escaped cells; columns in `numeric` are right-aligned."""
    ths = "".join(
        f'<th class="num">{h}</th>' if i in numeric else f"<th>{h}</th>" for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


def _budgets(flows: Mapping[str, Mapping[str, Any]]) -> str:
    """Turns over a flow's first-token budget (voice channels), or nothing when none is set."""
    budgeted = {f: d for f, d in flows.items() if d.get("first_token_budget_ms") is not None}
    if not budgeted:
        return ""
    rows = [
        (
            _e(flow),
            _ms(float(data["first_token_budget_ms"])),
            _e(b["scenario"]),
            _e(b["trial"]),
            _e(b["turn"]),
            _ms(float(b["first_token_ms"])),
        )
        for flow, data in budgeted.items()
        for b in data.get("budget_breaches") or []
    ]
    if not rows:
        body = '<p class="muted">Every turn met its flow\'s first-token budget.</p>'
    else:
        body = _table(
            ["flow", "budget", "scenario", "trial", "turn", "first token"], rows[:200], {1, 5}
        )
    return _section("budgets", "First-token budgets", body)


def _comparison(rows: Sequence[Mapping[str, Any]], k: int) -> str:
    """Interpreter configurations side by side on the same scenarios."""
    if not rows:
        return ""
    table = _table(
        [
            "interpreter",
            "pass^1",
            f"pass^{k}",
            "p50 (all)",
            "p99 (all)",
            "p50 policy",
            "p99 policy",
            "tokens/turn",
            "model calls/turn",
            "$/conversation",
            "$/month",
        ],
        [
            (
                _e(r["interpreter"]),
                _pct(float(r["pass_hat_k"].get("1", 0.0))),
                _pct(float(r["pass_hat_k"].get(str(k), 0.0))),
                _ms(float(r["latency_ms"]["all"]["p50"])),
                _ms(float(r["latency_ms"]["all"]["p99"])),
                _ms(float(r["latency_ms"]["policy"]["p50"])),
                _ms(float(r["latency_ms"]["policy"]["p99"])),
                _num(float(r["tokens_per_turn"])),
                f"{float(r['model_calls_per_turn']):.2f}",
                _usd(float(r["cost_per_conversation_usd"])),
                _usd(float(r["monthly_cost_usd"])),
            )
            for r in rows
        ],
        set(range(1, 11)),
    )
    return _section("comparison", "Interpreter configurations side by side", table)


def _conversations_of(flows: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(flow, c) for flow, data in flows.items() for c in data.get("conversations") or []]


def _failed(conversation: Mapping[str, Any]) -> bool:
    return float(conversation.get("reward", 0.0)) < 1.0 - 1e-6


# --- SVG helpers --------------------------------------------------------------------------


def _nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5, 5 x 10^n at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** floor(log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if value <= step * power * (1 + 1e-9))


def _axis(largest: float) -> tuple[float, list[float]]:
    """An axis from 0 covering `largest`: its end and about four round ticks."""
    step = _nice_step(largest / 4)
    end = step * max(1, ceil(largest / step - 1e-9))
    return end, [step * i for i in range(round(end / step) + 1)]


def _svg(width: int, height: int, label: str, body: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{_e(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{_e(label)}</title>{body}</svg>"
    )


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, extra: str = ""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>'
        f"{_e(text)}</text>"
    )


def _legend_positions(
    labels: Sequence[str], x: float, y: float, max_width: float
) -> list[tuple[float, float]]:
    """Where each legend entry goes when laid out left to right, wrapping at `max_width`."""
    out: list[tuple[float, float]] = []
    ix, iy = x, y
    for label in labels:
        width = 18 + 7.2 * len(label) + 22
        if ix > x and ix + width > x + max_width:
            ix, iy = x, iy + 18
        out.append((ix, iy))
        ix += width
    return out


def _legend(
    items: Sequence[tuple[str, str]],
    x: float,
    y: float,
    *,
    dashes: bool = False,
    max_width: float = 0,
) -> str:
    """Legend entries (label, colour) stacked from (x, y), or flowing across `max_width`."""
    if max_width:
        positions = _legend_positions([label for label, _ in items], x, y, max_width)
    else:
        positions = [(x, y + i * 18) for i in range(len(items))]
    out = []
    for i, ((label, colour), (ix, iy)) in enumerate(zip(items, positions, strict=True)):
        if dashes:
            dash = DASHES[i % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{ix:.1f}" y1="{iy - 4}" x2="{ix + 22:.1f}" y2="{iy - 4}" '
                f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
            )
            out.append(_text(ix + 28, iy, label))
        else:
            out.append(f'<rect x="{ix:.1f}" y="{iy - 10}" width="12" height="12" fill="{colour}"/>')
            out.append(_text(ix + 18, iy, label))
    return "".join(out)


def _line_chart(
    series: Sequence[tuple[str, Sequence[tuple[int, float]]]], k: int, label: str
) -> str:
    """Lines of (k, share 0..1) per series: x = 1..k, y = 0..100%."""
    width, left, top, plot_h = 760, 52, 18, 240
    legend_w = 200
    plot_w = width - left - legend_w - 20
    height = top + plot_h + 46

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if k <= 1 else (i - 1) * plot_w / (k - 1))

    def y_of(share: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, share)))

    parts = []
    for tick in range(0, 101, 25):
        y = y_of(tick / 100)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="#e3e6ec" stroke-width="1"/>'
        )
        parts.append(_text(left - 8, y + 4, f"{tick}%", anchor="end", size=11))
    step = max(1, (k + 11) // 12)
    for i in range(1, max(k, 1) + 1):
        if (i - 1) % step == 0 or i == k:
            parts.append(_text(x_of(i), top + plot_h + 18, str(i), anchor="middle", size=11))
    parts.append(
        _text(
            left + plot_w / 2,
            top + plot_h + 38,
            "k (trials that must all pass)",
            anchor="middle",
            size=12,
        )
    )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#5b6475" stroke-width="1"/>'
    )
    for index, (name, points) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        dash = DASHES[index % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in points)
        if len(points) > 1:
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5"'
                f'{dash_attr} stroke-linejoin="round"/>'
            )
        for i, v in points:
            parts.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3.5" fill="{colour}">'
                f"<title>{_e(name)}: pass^{i} = {_pct(v)}</title></circle>"
            )
    parts.append(
        _legend(
            [(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)],
            left + plot_w + 24,
            top + 12,
            dashes=True,
        )
    )
    return _svg(width, height, label, "".join(parts))


def _hbar_chart(
    rows: Sequence[tuple[str, Sequence[float]]],
    keys: Sequence[tuple[str, str]],
    label: str,
    *,
    maximum: float | None = None,
    value_text: Sequence[str] | None = None,
    track: bool = False,
    grouped: bool = False,
    axis_format: str = "{:g}",
) -> str:
    """Horizontal bars, one row per (label, values); stacked by `keys` (name, colour), or one
    bar per key side by side when `grouped`. `value_text` is written after each row's bar."""
    label_w, width = 250, 760
    plot_w = width - label_w - 90
    bar_h = 14 if grouped else 18
    row_h = (bar_h * len(keys) + 10) if grouped else 26
    legend_rows = (
        len({y for _, y in _legend_positions([k for k, _ in keys], label_w, 0, plot_w)})
        if len(keys) > 1
        else 0
    )
    legend_h = 18 * legend_rows + 8 if legend_rows else 0
    top = 10 + legend_h
    height = top + row_h * max(len(rows), 1) + 30
    largest = max((max(v) if grouped else sum(v)) for _, v in rows) if rows else 0.0
    if maximum is not None:
        scale_max, ticks = maximum, [maximum * i / 4 for i in range(5)]
    else:
        scale_max, ticks = _axis(largest)
    parts = []
    if len(keys) > 1:
        parts.append(_legend(keys, label_w, 18, max_width=plot_w))
    for value in ticks:
        x = label_w + plot_w * value / scale_max
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + row_h * len(rows)}" '
            'stroke="#e3e6ec" stroke-width="1"/>'
        )
        parts.append(
            _text(
                x, top + row_h * len(rows) + 16, axis_format.format(value), anchor="middle", size=11
            )
        )
    for r, (name, values) in enumerate(rows):
        y = top + r * row_h
        shown = name if len(name) <= 38 else name[:36] + "…"
        parts.append(_text(label_w - 8, y + row_h / 2 + 4, shown, anchor="end"))
        if track:
            parts.append(
                f'<rect x="{label_w}" y="{y + (row_h - bar_h) / 2:.1f}" width="{plot_w}" '
                f'height="{bar_h}" fill="#eef1f5"/>'
            )
        x = float(label_w)
        end = x
        for i, ((key, colour), value) in enumerate(zip(keys, values, strict=True)):
            w = plot_w * value / scale_max if scale_max else 0.0
            if grouped:
                by = y + 5 + i * bar_h
                parts.append(
                    f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h - 2}" '
                    f'fill="{colour}"><title>{_e(name)} · {_e(key)}: {value:g}</title></rect>'
                )
                end = max(end, label_w + w)
            else:
                if value > 0:
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y + (row_h - bar_h) / 2:.1f}" width="{w:.1f}" '
                        f'height="{bar_h}" fill="{colour}"><title>{_e(name)} · {_e(key)}: '
                        f"{value:g}</title></rect>"
                    )
                x += w
                end = x
        if value_text is not None:
            parts.append(_text(end + 6, y + row_h / 2 + 4, value_text[r], size=11))
    return _svg(width, height, label, "".join(parts))


def _vbar_groups(
    groups: Sequence[tuple[str, Sequence[float]]],
    keys: Sequence[tuple[str, str]],
    label: str,
    unit: str,
) -> str:
    """Vertical bars grouped by `groups` (name, one value per key)."""
    width, left, top, plot_h = 760, 64, 34, 220
    plot_w = width - left - 20
    height = top + plot_h + 44
    largest = max((max(v) for _, v in groups if v), default=0.0)
    scale_max, ticks = _axis(largest)
    parts = [_legend(keys, left, 16, max_width=plot_w)]
    for value in ticks:
        y = top + plot_h * (1 - value / scale_max)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            'stroke="#e3e6ec" stroke-width="1"/>'
        )
        parts.append(_text(left - 8, y + 4, f"{value:g}", anchor="end", size=11))
    parts.append(
        _text(
            14,
            top + plot_h / 2,
            unit,
            anchor="middle",
            size=11,
            extra=f' transform="rotate(-90 14 {top + plot_h / 2:.1f})"',
        )
    )
    group_w = plot_w / max(len(groups), 1)
    bar_w = min(48.0, group_w * 0.7 / max(len(keys), 1))
    for g, (name, values) in enumerate(groups):
        gx = left + g * group_w + (group_w - bar_w * len(keys)) / 2
        for i, ((key, colour), value) in enumerate(zip(keys, values, strict=True)):
            h = plot_h * value / scale_max
            x = gx + i * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 3:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{_e(name)} {_e(key)}: '
                f"{value:,.2f} {_e(unit)}</title></rect>"
            )
            if h > 0:
                parts.append(
                    _text(
                        x + (bar_w - 3) / 2,
                        top + plot_h - h - 4,
                        _ms(value),
                        anchor="middle",
                        size=10,
                    )
                )
        parts.append(
            _text(left + g * group_w + group_w / 2, top + plot_h + 18, name, anchor="middle")
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#5b6475" stroke-width="1"/>'
    )
    return _svg(width, height, label, "".join(parts))


# --- sections -----------------------------------------------------------------------------


def _personas_text(personas: Any) -> str:
    if isinstance(personas, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in personas.items())
    if isinstance(personas, list | tuple):
        return ", ".join(str(p) for p in personas)
    return str(personas)


def _header(report: Mapping[str, Any], flows: Mapping[str, Mapping[str, Any]]) -> str:
    conversations = _conversations_of(flows)
    failed = sum(1 for _, c in conversations if _failed(c))
    turns = sum(len(c.get("turns") or []) for _, c in conversations)
    meta: list[tuple[str, str]] = [
        ("Run", str(report.get("run_id", "?"))),
        ("Created", str(report.get("created_at", "?"))),
        ("k (trials per task)", str(report.get("k", "?"))),
    ]
    if "personas" in report:
        meta.append(("Personas", _personas_text(report["personas"])))
    if "seed" in report:
        meta.append(("Seed", str(report["seed"])))
    known = {"run_id", "created_at", "k", "personas", "seed", "flows"}
    meta += [(str(key), _personas_text(value)) for key, value in report.items() if key not in known]
    meta += [
        ("Flows", ", ".join(flows) or "none"),
        (
            "Conversations",
            f"{len(conversations):,} ({failed:,} failed), {turns:,} turns",
        ),
    ]
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta)
    toc = "".join(
        f'<a href="#{anchor}">{_e(title)}</a>'
        for anchor, title in (
            ("summary", "Summary"),
            ("pass-hat-k", "pass^k"),
            ("divergences", "Divergences"),
            ("coverage", "Coverage"),
            ("latency", "Latency"),
            ("cost", "Tokens & cost"),
            ("drift", "Argument drift"),
            ("conversations", "Conversations"),
        )
    )
    return (
        f"<header><h1>Simulation run {_e(report.get('run_id', '?'))}</h1>"
        '<p class="lead">How reliably the flows held up across simulated conversations: every '
        "task (scenario &times; persona) was played k times.</p>"
        f'<dl class="meta">{rows}</dl><nav class="toc">{toc}</nav></header>'
    )


def _summary(flows: Mapping[str, Mapping[str, Any]]) -> str:
    if not flows:
        return _section("summary", "Summary", '<p class="muted">No flow in this run.</p>')
    rows = []
    for flow, data in flows.items():
        conversations = data.get("conversations") or []
        passes = data.get("pass_hat_k") or {}
        ks = sorted(passes, key=int)
        failed = sum(1 for c in conversations if _failed(c))
        rewards = [float(c.get("reward", 0.0)) for c in conversations]
        divergences = sum(len(c.get("divergences") or []) for c in conversations)
        cov = data.get("coverage") or {}
        turns = sum(len(c.get("turns") or []) for c in conversations)
        rows.append(
            [
                f"<strong>{_e(flow)}</strong>",
                _e(data.get("tasks", "?")),
                f"{len(conversations):,}",
                _pct(passes[ks[0]]) if ks else "&ndash;",
                _pct(passes[ks[-1]]) + f" <span class='muted'>(k={_e(ks[-1])})</span>"
                if ks
                else "&ndash;",
                f"{sum(rewards) / len(rewards):.3f}" if rewards else "&ndash;",
                f'<span class="bad">{failed:,}</span>' if failed else '<span class="good">0</span>',
                f"{divergences:,}",
                f"{_pct(float(cov.get('share', 0.0)))} ({_e(cov.get('covered', 0))}/"
                f"{_e(cov.get('transitions', 0))})"
                if cov
                else "&ndash;",
                f"{turns / len(conversations):.1f}" if conversations else "&ndash;",
            ]
        )
    table = _table(
        [
            "Flow",
            "Tasks",
            "Conversations",
            "pass^1",
            "pass^k",
            "Mean reward",
            "Failed",
            "Divergences",
            "Coverage",
            "Turns / conv.",
        ],
        rows,
        {1, 2, 3, 4, 5, 6, 7, 8, 9},
    )
    return _section("summary", "Summary", table)


def _pass_hat_k(flows: Mapping[str, Mapping[str, Any]], k: int) -> str:
    series: list[tuple[str, list[tuple[int, float]]]] = []
    top_k = k
    for flow, data in flows.items():
        passes = data.get("pass_hat_k") or {}
        points = sorted((int(i), float(v)) for i, v in passes.items())
        series.append((flow, points))
        top_k = max([top_k, *(i for i, _ in points)])
    if not series or top_k < 1:
        return _section("pass-hat-k", "pass^k curves", '<p class="muted">No pass^k values.</p>')
    intro = (
        "<p>pass^k is the chance that <em>all</em> of k trials of a task succeed (tau2-bench's "
        "estimator, averaged over tasks). A flat curve means failures are consistent per task; a "
        "falling one means the same task sometimes passes and sometimes fails.</p>"
    )
    chart = _line_chart(series, top_k, "pass^k by k for each flow, 0 to 100 percent")
    head = ["Flow", *(f"pass^{i}" for i in range(1, top_k + 1))]
    rows = []
    for flow, points in series:
        values = dict(points)
        rows.append(
            [
                _e(flow),
                *(_pct(values[i]) if i in values else "&ndash;" for i in range(1, top_k + 1)),
            ]
        )
    table = _table(head, rows, set(range(1, top_k + 1)))
    return _section("pass-hat-k", "pass^k curves", intro + chart + table)


@dataclass(frozen=True, slots=True)
class _StateKey:
    flow: str
    state: str

    @property
    def label(self) -> str:
        return f"{self.flow} · {self.state}"


def _divergence_state(conversation: Mapping[str, Any], flow: str, turn: Any) -> _StateKey:
    """The state the conversation was in after the divergent turn (its `state_after`)."""
    turns = conversation.get("turns") or []
    for t in turns:
        if t.get("turn") == turn:
            return _StateKey(str(t.get("flow") or flow), str(t.get("state_after")))
    if turns and isinstance(turn, int) and turn < int(turns[0].get("turn", 0)):
        first = turns[0]
        return _StateKey(str(first.get("flow") or flow), str(first.get("state_before")))
    return _StateKey(flow, f"(turn {turn} not recorded)")


def _divergences(flows: Mapping[str, Mapping[str, Any]]) -> str:
    counts: dict[_StateKey, Counter[str]] = {}
    repaired = 0
    total = 0
    for flow, c in _conversations_of(flows):
        for d in c.get("divergences") or []:
            key = _divergence_state(c, flow, d.get("turn"))
            counts.setdefault(key, Counter())[str(d.get("kind"))] += 1
            total += 1
            repaired += bool(d.get("repaired"))
    title = "Divergences per state and kind"
    if not total:
        return _section(
            "divergences",
            title,
            '<p class="note">No divergences: in every conversation the agent, the customer and '
            "the truth agreed on every fact.</p>",
        )
    extra = sorted({k for counter in counts.values() for k in counter} - set(DIVERGENCE_KINDS))
    kinds = [*DIVERGENCE_KINDS, *extra]
    colours = [
        (kind, KIND_COLOURS.get(kind, PALETTE[(i + 5) % len(PALETTE)]))
        for i, kind in enumerate(kinds)
    ]
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0].label))
    shown = ordered[:MAX_STATE_BARS]
    chart = _hbar_chart(
        [(key.label, [float(counter[k]) for k in kinds]) for key, counter in shown],
        colours,
        "Divergence counts per state (state after the divergent turn), stacked by kind",
        value_text=[str(sum(counter.values())) for _, counter in shown],
        axis_format="{:g}",
    )
    more = (
        f'<p class="muted">The chart shows the {MAX_STATE_BARS} states with the most divergences; '
        f"the table lists all {len(ordered)}.</p>"
        if len(ordered) > MAX_STATE_BARS
        else ""
    )
    intro = (
        f"<p>{total:,} divergences ({repaired:,} repaired later in the conversation), placed at "
        "the state the conversation reached on the divergent turn.</p>"
    )
    rows = [
        [_e(key.flow), _e(key.state), *(str(counter[k]) for k in kinds), str(sum(counter.values()))]
        for key, counter in ordered
    ]
    table = _table(
        ["Flow", "State", *(_e(k) for k in kinds), "Total"],
        rows,
        set(range(2, len(kinds) + 3)),
    )
    return _section("divergences", title, intro + chart + more + table)


def _transition(source: Any, event: Any, target: Any) -> str:
    return f"<code>{_e(source)} —{_e(event)}→ {_e(target)}</code>"


def _coverage(flows: Mapping[str, Mapping[str, Any]]) -> str:
    title = "Transition coverage"
    items = [(flow, data.get("coverage") or {}) for flow, data in flows.items()]
    if not items:
        return _section("coverage", title, '<p class="muted">No flow in this run.</p>')
    chart = _hbar_chart(
        [(flow, [float(cov.get("share", 0.0))]) for flow, cov in items],
        [("covered", "#009E73")],
        "Share of each flow's transitions taken at least once",
        maximum=1.0,
        value_text=[
            f"{_pct(float(cov.get('share', 0.0)))} "
            f"({cov.get('covered', 0)}/{cov.get('transitions', 0)})"
            for _, cov in items
        ],
        track=True,
        axis_format="{:.0%}",
    )
    parts = [
        "<p>Which of each flow's own transitions (source —event→ target) any conversation took. "
        "Uncovered transitions are paths no scenario exercised.</p>",
        chart,
    ]
    for flow, cov in items:
        uncovered = cov.get("uncovered") or []
        if not uncovered:
            parts.append(f"<h3>{_e(flow)}</h3><p class='good'>Every transition was taken.</p>")
            continue
        lis = "".join(f"<li>{_transition(*t)}</li>" for t in uncovered)
        parts.append(
            f'<h3>{_e(flow)}: {len(uncovered)} uncovered</h3><ul class="transitions">{lis}</ul>'
        )
    return _section("coverage", title, "".join(parts))


def _latency(flows: Mapping[str, Mapping[str, Any]]) -> str:
    title = "Latency per turn kind"
    overall: dict[str, list[float]] = {kind: [] for kind in TURN_KINDS}
    per_flow: dict[tuple[str, str], list[float]] = {}
    for flow, c in _conversations_of(flows):
        for t in c.get("turns") or []:
            kind = str(t.get("kind"))
            value = float(t.get("latency_ms") or 0.0)
            overall.setdefault(kind, []).append(value)
            per_flow.setdefault((flow, kind), []).append(value)
    if not any(overall.values()):
        return _section("latency", title, '<p class="muted">No turns recorded.</p>')
    kinds = [k for k in overall if overall[k] or k in TURN_KINDS]
    keys = [(p, PERCENTILE_COLOURS[p]) for p in ("p50", "p95", "p99")]
    groups = [
        (f"{kind} ({len(overall[kind]):,})", [percentile(overall[kind], q) for q in (50, 95, 99)])
        for kind in kinds
    ]
    chart = _vbar_groups(
        groups, keys, "Turn latency p50, p95 and p99 in milliseconds per turn kind", "ms"
    )
    intro = (
        "<p>Wall time per turn in milliseconds. <em>tool</em>: a tool ran; <em>policy</em>: a "
        "transition fired or something was refused, no tool ran; <em>small_talk</em>: neither. "
        "Number of turns in brackets.</p>"
    )

    def row(name: str, values: list[float]) -> list[str]:
        if not values:
            return [name, "0", "&ndash;", "&ndash;", "&ndash;", "&ndash;"]
        return [
            name,
            f"{len(values):,}",
            _ms(percentile(values, 50)),
            _ms(percentile(values, 95)),
            _ms(percentile(values, 99)),
            _ms(max(values)),
        ]

    rows = [row(f"<strong>all flows</strong> · {_e(kind)}", overall[kind]) for kind in kinds]
    rows += [
        row(f"{_e(flow)} · {_e(kind)}", per_flow[(flow, kind)])
        for flow in flows
        for kind in kinds
        if (flow, kind) in per_flow
    ]
    table = _table(
        ["Flow · kind", "Turns", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows, {1, 2, 3, 4, 5}
    )
    return _section("latency", title, intro + chart + table)


@dataclass(frozen=True, slots=True)
class _Usage:
    turns: int
    conversations: int
    input: int
    cached: int
    output: int
    cost: float

    def per_turn(self, value: float) -> float:
        return value / self.turns if self.turns else 0.0

    def per_conversation(self, value: float) -> float:
        return value / self.conversations if self.conversations else 0.0

    def priced(self, price: Mapping[str, float]) -> float:
        """USD for these tokens at `price` (per million); cached input is part of the input
        and billed at the cached rate (the input rate when the table has none)."""
        cached = min(self.cached, self.input)
        return (
            (self.input - cached) * float(price.get("input", 0.0))
            + cached * float(price.get("cached_input", price.get("input", 0.0)))
            + self.output * float(price.get("output", 0.0))
        ) / 1_000_000


def _usage(conversations: Sequence[Mapping[str, Any]]) -> _Usage:
    turns = [t for c in conversations for t in c.get("turns") or []]
    return _Usage(
        turns=len(turns),
        conversations=len(conversations),
        input=sum(int(t.get("input_tokens") or 0) for t in turns),
        cached=sum(int(t.get("cached_input_tokens") or 0) for t in turns),
        output=sum(int(t.get("output_tokens") or 0) for t in turns),
        cost=sum(float(t.get("cost_usd") or 0.0) for t in turns),
    )


def _cost(
    flows: Mapping[str, Mapping[str, Any]],
    sessions_per_day: int,
    prices: Mapping[str, Mapping[str, float]],
    model: Any,
) -> str:
    title = "Tokens and cost per turn"
    usages = {flow: _usage(data.get("conversations") or []) for flow, data in flows.items()}
    monthly = sessions_per_day * 30
    price_rows = [
        [
            _e(name) + (" <span class='muted'>(this run's model)</span>" if name == model else ""),
            f"${float(p.get('input', 0.0)):g}",
            f"${float(p.get('cached_input', p.get('input', 0.0))):g}",
            f"${float(p.get('output', 0.0)):g}",
        ]
        for name, p in prices.items()
    ]
    price_table = (
        "<h3>Price table used (USD per million tokens)</h3>"
        + _table(["Model", "Input", "Cached input", "Output"], price_rows, {1, 2, 3})
        if price_rows
        else '<p class="muted">No price table given.</p>'
    )
    basis = (
        "<p>Projection: mean cost per conversation &times; "
        f"{sessions_per_day:,} sessions a day &times; 30 days = {monthly:,} conversations a "
        "month.</p>"
    )
    tokens = sum(u.input + u.output for u in usages.values())
    reported = sum(u.cost for u in usages.values())
    if not tokens and not reported:
        note = (
            '<p class="note"><strong>offline interpreter: no model tokens.</strong> Every turn '
            "was interpreted without a model, so there is nothing to price: the projected "
            f"monthly model cost is $0.00 at {sessions_per_day:,} sessions a day.</p>"
        )
        return _section("cost", title, note + basis + price_table)

    rows = []
    for flow, u in usages.items():
        rows.append(
            [
                _e(flow),
                f"{u.turns:,}",
                _num(u.per_turn(u.input)),
                _num(u.per_turn(u.cached)),
                _num(u.per_turn(u.output)),
                _usd(u.per_turn(u.cost)) if reported else "&ndash;",
                _usd(u.per_conversation(u.cost)) if reported else "&ndash;",
                _usd(u.per_conversation(u.cost) * monthly) if reported else "&ndash;",
            ]
        )
    table = _table(
        [
            "Flow",
            "Turns",
            "Input tok / turn",
            "Cached tok / turn",
            "Output tok / turn",
            "Cost / turn",
            "Cost / conv.",
            "Projected / month",
        ],
        rows,
        set(range(1, 8)),
    )
    chart = _hbar_chart(
        [
            (
                flow,
                [
                    u.per_turn(u.input - min(u.cached, u.input)),
                    u.per_turn(u.cached),
                    u.per_turn(u.output),
                ],
            )
            for flow, u in usages.items()
        ],
        list(TOKEN_COLOURS.items()),
        "Mean tokens per turn per flow: uncached input, cached input and output",
        grouped=True,
        value_text=[
            f"{u.per_turn(u.input + u.output):,.0f} tokens a turn" for u in usages.values()
        ],
    )
    parts = [
        "<p>Mean tokens per turn (uncached input, cached input, output) per flow.</p>",
        chart,
        table,
    ]
    if reported:
        parts.append(
            "<p>Costs as the interpreter reported them (<code>cost_usd</code> per turn).</p>"
        )
    else:
        parts.append(
            '<p class="note">The run reports tokens but no cost: below, the same tokens priced at '
            "each model of the price table.</p>"
        )
        estimate_rows = [
            [
                _e(flow),
                _e(name),
                _usd(u.per_turn(u.priced(p))),
                _usd(u.per_conversation(u.priced(p))),
                _usd(u.per_conversation(u.priced(p)) * monthly),
            ]
            for flow, u in usages.items()
            for name, p in prices.items()
        ]
        parts.append(
            _table(
                ["Flow", "Priced as", "Cost / turn", "Cost / conv.", "Projected / month"],
                estimate_rows,
                {2, 3, 4},
            )
        )
    parts += [basis, price_table]
    return _section("cost", title, "".join(parts))


def _canonical(arguments: Any) -> str:
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


def _drift(flows: Mapping[str, Mapping[str, Any]]) -> str:
    title = "Tool-argument drift"
    # task -> tool -> variant (the distinct argument sets of one trial) -> trials
    tasks: dict[tuple[str, str, str], dict[str, dict[tuple[str, ...], list[Any]]]] = {}
    trials_per_task: Counter[tuple[str, str, str]] = Counter()
    for flow, c in _conversations_of(flows):
        task = (flow, str(c.get("scenario")), str(c.get("persona")))
        trials_per_task[task] += 1
        per_tool: dict[str, set[str]] = {}
        for t in c.get("turns") or []:
            for call in t.get("tool_calls") or []:
                per_tool.setdefault(str(call.get("tool")), set()).add(
                    _canonical(call.get("arguments"))
                )
        for tool, argsets in per_tool.items():
            variant = tuple(sorted(argsets))
            tasks.setdefault(task, {}).setdefault(tool, {}).setdefault(variant, []).append(
                c.get("trial")
            )
    cases = [
        (task, tool, variants)
        for task, tools in tasks.items()
        for tool, variants in sorted(tools.items())
        if len(variants) > 1
    ]
    intro = (
        "<p>For every task (flow, scenario, persona) and tool: the distinct argument sets the "
        "tool was called with across the task's trials (JSON, keys sorted). A task is listed "
        "when the same tool got different arguments in different trials.</p>"
    )
    if not cases:
        return _section(
            "drift",
            title,
            intro + '<p class="note">No drift: every tool got the same arguments in every trial '
            "of its task.</p>",
        )
    parts = [intro, f"<p><strong>{len(cases):,}</strong> task/tool pairs drifted.</p>"]
    rows = []
    for (flow, scenario, persona), tool, variants in cases[:MAX_DRIFT_CASES]:
        ordered = sorted(variants.items(), key=lambda item: (-len(item[1]), item[0]))
        cells = []
        for variant, trials in ordered:
            calls = "".join(f"<pre>{_e(v)}</pre>" for v in variant)
            trial_list = ", ".join(_e(t) for t in sorted(trials, key=str))
            cells.append(
                f'<div class="variant"><strong>{len(trials)} trial'
                f"{'s' if len(trials) != 1 else ''}</strong> "
                f'<span class="muted">(trial {trial_list})</span>{calls}</div>'
            )
        called = sum(len(t) for t in variants.values())
        missing = trials_per_task[(flow, scenario, persona)] - called
        rows.append(
            [
                f"{_e(flow)}<br>{_e(scenario)}<br><span class='muted'>{_e(persona)}</span>",
                f"<code>{_e(tool)}</code>"
                + (f"<br><span class='muted'>not called in {missing}</span>" if missing else ""),
                str(len(variants)),
                "".join(cells),
            ]
        )
    parts.append(_table(["Task", "Tool", "Variants", "Argument sets (trials)"], rows, {2}))
    if len(cases) > MAX_DRIFT_CASES:
        parts.append(
            f'<p class="muted">{len(cases) - MAX_DRIFT_CASES:,} more drift cases left out.</p>'
        )
    return _section("drift", title, "".join(parts))


def _transcript(conversation: Mapping[str, Any]) -> str:
    diverged = {d.get("turn") for d in conversation.get("divergences") or []}
    parts = []
    for t in conversation.get("turns") or []:
        tools = ", ".join(
            str(call.get("tool")) + (" (refused)" if call.get("refused") is not None else "")
            for call in t.get("tool_calls") or []
        )
        head = (
            f"turn {_e(t.get('turn'))} · {_e(t.get('state_before'))} → {_e(t.get('state_after'))}"
            f" · {_e(t.get('kind'))} · {_ms(float(t.get('latency_ms') or 0.0))} ms"
            + (f" · tools: {_e(tools)}" if tools else "")
            + (' · <span class="bad">divergence</span>' if t.get("turn") in diverged else "")
        )
        klass = "turn diverged" if t.get("turn") in diverged else "turn"
        parts.append(
            f'<div class="{klass}"><div class="head">{head}</div>'
            f'<div><span class="who">Customer</span> {_e(t.get("customer_text") or "")}</div>'
            f'<div><span class="who">Agent</span> {_e(t.get("reply") or "")}</div></div>'
        )
    for d in conversation.get("divergences") or []:
        parts.append(
            f'<div class="muted">divergence at turn {_e(d.get("turn"))}: {_e(d.get("kind"))} on '
            f"<code>{_e(d.get('fact'))}</code> (agent {_e(d.get('agent'))}, customer "
            f"{_e(d.get('customer'))}, truth {_e(d.get('truth'))})"
            f"{' · repaired' if d.get('repaired') else ''}</div>"
        )
    turns = len(conversation.get("turns") or [])
    return f"<details><summary>{turns} turns</summary>{''.join(parts)}</details>"


def _conversations(flows: Mapping[str, Mapping[str, Any]]) -> str:
    title = "Conversations sorted by failure"
    items = _conversations_of(flows)
    if not items:
        return _section("conversations", title, '<p class="muted">No conversation.</p>')
    ordered = sorted(
        items,
        key=lambda item: (
            not _failed(item[1]),
            float(item[1].get("reward", 0.0)),
            item[0],
            str(item[1].get("scenario")),
            str(item[1].get("persona")),
            int(item[1].get("trial") or 0),
        ),
    )
    failed = sum(1 for _, c in items if _failed(c))
    body_rows = []
    for index, (flow, c) in enumerate(ordered[:MAX_CONVERSATION_ROWS]):
        failures = c.get("failures") or []
        failure_cell = (
            '<ul class="failures">' + "".join(f"<li>{_e(f)}</li>" for f in failures) + "</ul>"
            if failures
            else '<span class="muted">&ndash;</span>'
        )
        first = c.get("first_divergent_turn")
        reward = float(c.get("reward", 0.0))
        transcript = _transcript(c) if index < MAX_TRANSCRIPTS else ""
        cells = [
            f"<strong>{_e(c.get('scenario'))}</strong><br>"
            f'<span class="muted">{_e(flow)} · {_e(c.get("persona"))} · trial '
            f"{_e(c.get('trial'))}</span>",
            f'<span class="{"bad" if _failed(c) else "good"}">{reward:g}</span>',
            _e(c.get("outcome")) if c.get("outcome") is not None else "&ndash;",
            _e(first) if first is not None else "&ndash;",
            failure_cell + transcript,
        ]
        klass = ' class="failed"' if _failed(c) else ""
        body_rows.append(
            f"<tr{klass}>"
            + "".join(
                f'<td class="num">{cell}</td>' if i in {1, 3} else f"<td>{cell}</td>"
                for i, cell in enumerate(cells)
            )
            + "</tr>"
        )
    head = (
        "<th>Scenario <span class='muted'>(flow · persona · trial)</span></th>"
        '<th class="num">Reward</th><th>Outcome</th><th class="num">First divergent turn</th>'
        "<th>Failures and transcript</th>"
    )
    notes = [
        f"<p>{len(items):,} conversations, {failed:,} failed (reward &lt; 1), failed first.</p>"
    ]
    left_rows = len(ordered) - MAX_CONVERSATION_ROWS
    left_transcripts = len(ordered) - MAX_TRANSCRIPTS
    if left_transcripts > 0:
        notes.append(
            f'<p class="muted">Transcripts for the first {MAX_TRANSCRIPTS:,} conversations only; '
            f"{left_transcripts:,} left out.</p>"
        )
    if left_rows > 0:
        notes.append(
            f'<p class="muted">The table lists the first {MAX_CONVERSATION_ROWS:,} conversations; '
            f"{left_rows:,} left out.</p>"
        )
    table = (
        f'<table class="conversations"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body_rows)}</tbody></table>"
    )
    return _section("conversations", title, "".join(notes) + table)
