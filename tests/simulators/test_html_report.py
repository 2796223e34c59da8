"""The run's HTML page: self-contained, every section there, text escaped, the facts it must list
(uncovered transitions, argument drift, the offline note), and charts that a real browser draws."""

from __future__ import annotations

import copy
import json
import re
import shutil
import struct
import subprocess
import zlib
from html import escape
from pathlib import Path
from typing import Any

import pytest

from cxflow.simulators.html_report import MAX_TRANSCRIPTS, render_html

SECTIONS = ("pass-hat-k", "divergences", "coverage", "latency", "cost", "drift", "conversations")


def _turn(
    turn: int,
    before: str,
    after: str,
    *,
    kind: str = "tool",
    latency: float = 2.0,
    text: str = "hello",
    reply: str = "hi",
    calls: list[dict[str, Any]] | None = None,
    tokens: tuple[int, int, int] = (0, 0, 0),
    cost: float = 0.0,
) -> dict[str, Any]:
    return {
        "turn": turn,
        "flow": "plan_upgrade",
        "state_before": before,
        "state_after": after,
        "kind": kind,
        "latency_ms": latency,
        "input_tokens": tokens[0],
        "cached_input_tokens": tokens[1],
        "output_tokens": tokens[2],
        "cost_usd": cost,
        "customer_text": text,
        "reply": reply,
        "transitions": [[before, "went", after]],
        "tool_calls": calls or [],
    }


def _conversation(
    trial: int,
    line: str,
    *,
    reward: float = 1.0,
    divergences: list[dict[str, Any]] | None = None,
    text: str = "the number is 555-0001",
    tokens: tuple[int, int, int] = (0, 0, 0),
    scenario: str = "maya_upgrades",
) -> dict[str, Any]:
    # keys in a different order in trial 1: the same arguments, so no drift for find_customer
    find = (
        {"full_name": None, "phone_number": "555-0001"}
        if trial == 1
        else {"phone_number": "555-0001", "full_name": None}
    )
    return {
        "scenario": scenario,
        "trial": trial,
        "persona": "cooperative",
        "seed": trial,
        "reward": reward,
        "failures": [] if reward >= 1 else ["turn 2: disagreement on 'line'"],
        "session_id": f"s{trial}",
        "outcome": "completed",
        "first_divergent_turn": divergences[0]["turn"] if divergences else None,
        "divergences": divergences or [],
        "turns": [
            _turn(
                1,
                "identify",
                "choose_line",
                text=text,
                calls=[{"tool": "find_customer", "arguments": find, "refused": None}],
                latency=3.0 + trial,
                tokens=tokens,
            ),
            _turn(
                2,
                "choose_line",
                "choose_plan",
                text=f"line {line}",
                calls=[
                    {
                        "tool": "load_line",
                        "arguments": {"customer_id": "C1", "line_phone": line},
                        "refused": None,
                    }
                ],
                latency=5.0 + trial,
                tokens=tokens,
            ),
            _turn(3, "choose_plan", "choose_plan", kind="small_talk", latency=1.0, tokens=tokens),
        ],
    }


def _report(*, tokens: tuple[int, int, int] = (0, 0, 0), divergent: bool = True) -> dict[str, Any]:
    divergence = {
        "turn": 2,
        "fact": "line",
        "kind": "disagreement",
        "agent": "555-0002",
        "customer": "555-0001",
        "truth": "555-0001",
        "repaired": False,
    }
    conversations = [
        _conversation(0, "555-0001", text="<script>alert('x')</script> my number", tokens=tokens),
        _conversation(1, "555-0001", tokens=tokens),
        _conversation(
            2,
            "555-0002",
            reward=0.0,
            divergences=[divergence] if divergent else [],
            tokens=tokens,
        ),
    ]
    return {
        "run_id": "run<1>",
        "created_at": "2026-01-02T03:04:05+00:00",
        "k": 3,
        "personas": ["cooperative"],
        "seed": 0,
        "flows": {
            "plan_upgrade": {
                "pass_hat_k": {"1": 0.666667, "2": 0.333333, "3": 0.0},
                "tasks": 1,
                "coverage": {
                    "transitions": 4,
                    "covered": 3,
                    "share": 0.75,
                    "uncovered": [["applying", "applied", "change_refused"]],
                },
                "conversations": conversations,
            }
        },
    }


def test_page_is_self_contained_with_every_section_and_chart() -> None:
    page = render_html(_report())
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    charts = re.findall(r"<svg [^>]*>", page)
    assert len(charts) >= 4  # pass^k, divergences, coverage, latency (no tokens: no token chart)
    for svg in charts:
        assert 'class="chart"' in svg and 'role="img"' in svg and 'aria-label="' in svg


def test_text_from_the_run_is_escaped() -> None:
    page = render_html(_report())
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; my number" in page
    assert "run&lt;1&gt;" in page


def test_uncovered_transitions_are_listed() -> None:
    page = render_html(_report())
    assert "applying —applied→ change_refused" in page
    assert "75.0% (3/4)" in page


def test_divergences_are_counted_at_the_state_of_their_turn() -> None:
    page = render_html(_report())
    divergences = page.split('<section id="divergences">')[1].split("</section>")[0]
    assert "<td>plan_upgrade</td><td>choose_plan</td>" in divergences  # turn 2's state_after
    assert "<svg" in divergences
    quiet = render_html(_report(divergent=False))
    assert "No divergences" in quiet.split('<section id="divergences">')[1].split("</section>")[0]


def test_tool_argument_drift_lists_variants_and_trial_counts() -> None:
    page = render_html(_report())
    drift = page.split('<section id="drift">')[1].split("</section>")[0]
    assert "<code>load_line</code>" in drift
    assert "find_customer" not in drift  # same arguments, only the key order differed
    for line in ("555-0001", "555-0002"):
        variant = json.dumps({"customer_id": "C1", "line_phone": line}, sort_keys=True)
        assert escape(variant) in drift
    assert "2 trials" in drift and "1 trial" in drift
    assert "maya_upgrades" in drift


def test_offline_runs_say_there_are_no_tokens() -> None:
    page = render_html(_report(), sessions_per_day=500)
    cost = page.split('<section id="cost">')[1].split("</section>")[0]
    assert "offline interpreter: no model tokens" in cost
    assert "<svg" not in cost
    assert "claude-sonnet-4-5" in cost  # the default price table is shown
    assert "500 sessions a day" in cost


def test_tokens_without_cost_are_priced_with_the_given_table() -> None:
    prices = {"house-model": {"input": 2.0, "cached_input": 1.0, "output": 10.0}}
    page = render_html(_report(tokens=(1000, 200, 100)), sessions_per_day=1000, prices=prices)
    cost = page.split('<section id="cost">')[1].split("</section>")[0]
    assert "offline interpreter" not in cost
    assert "<svg" in cost and "house-model" in cost and "claude-sonnet-4-5" not in cost
    # per turn: 800 x $2 + 200 x $1 + 100 x $10 per million = $0.0028; 3 turns a conversation
    per_conversation = 3 * (800 * 2.0 + 200 * 1.0 + 100 * 10.0) / 1e6
    assert "$0.002800" in cost
    assert f"${per_conversation * 1000 * 30:,.2f}" in cost


def test_reported_costs_are_used_as_they_are() -> None:
    report = _report(tokens=(10, 0, 5))
    for c in report["flows"]["plan_upgrade"]["conversations"]:
        for t in c["turns"]:
            t["cost_usd"] = 0.01
    page = render_html(report, sessions_per_day=100)
    cost = page.split('<section id="cost">')[1].split("</section>")[0]
    assert "$0.0100" in cost and "$0.0300" in cost and "$90.00" in cost  # 0.03 x 100 x 30


def test_conversations_list_failures_first_and_cap_transcripts() -> None:
    report = _report()
    page = render_html(report)
    conversations = page.split('<section id="conversations">')[1]
    rows = conversations.split("<tbody>")[1].split("<tr")[1:]
    assert 'class="failed"' in rows[0] and "trial 2" in rows[0]
    assert "<details><summary>3 turns</summary>" in rows[0]
    assert "disagreement on &#x27;line&#x27;" in rows[0]

    flow = report["flows"]["plan_upgrade"]
    base = flow["conversations"][1]
    flow["conversations"] = [copy.deepcopy(base) | {"trial": i} for i in range(MAX_TRANSCRIPTS + 5)]
    page = render_html(report)
    assert page.count("<details>") == MAX_TRANSCRIPTS
    assert "5 left out" in page


def test_empty_run_still_renders() -> None:
    page = render_html({"run_id": "x", "created_at": "now", "k": 1, "flows": {}})
    for section in SECTIONS:
        assert f'<section id="{section}">' in page


# --- a real browser --------------------------------------------------------------------------

_MEASURE = """<pre id="chart-sizes"></pre><script>
document.getElementById("chart-sizes").textContent = JSON.stringify(
  Array.from(document.querySelectorAll("svg.chart")).map(function (svg) {
    var box = svg.getBoundingClientRect();
    return [svg.getAttribute("aria-label"), box.width, box.height, svg.childElementCount];
  }));
</script>"""


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail(
            "no chromium on PATH: install Debian's chromium (apt-get install chromium) to run "
            "the browser test of the HTML report"
        )
    return binary


def _png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, unfiltered rows) of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = bytearray()
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        out += line
        previous = line
    return width, height, bpp, bytes(out)


@pytest.mark.slow
def test_charts_render_in_a_headless_browser(tmp_path: Path) -> None:
    chromium = _chromium()
    page = render_html(_report(tokens=(1200, 300, 80)))
    expected = page.count('<svg class="chart"')
    assert expected == 5  # pass^k, divergences, coverage, latency, tokens
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    plain = tmp_path / "report.html"
    plain.write_text(page, encoding="utf-8")
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1100,900",
    ]

    dom = subprocess.run(
        [*flags, "--dump-dom", measured.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = re.search(r'<pre id="chart-sizes">(.*?)</pre>', dom, re.S)
    assert found, dom[:2000]
    sizes = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert len(sizes) == expected
    for label, width, height, children in sizes:
        assert width > 300 and height > 60, (label, width, height)
        assert children > 3, label

    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", plain.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    width, height, bpp, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1100, 900)
    colours = {pixels[i : i + 3] for i in range(0, len(pixels), bpp * 7)}
    ink = sum(1 for i in range(0, len(pixels), bpp * 7) if pixels[i : i + 3] != b"\xff\xff\xff")
    assert len(colours) > 20, "the screenshot is blank"
    # the pass^k chart's first line (and its points) in the first palette colour
    blue = sum(1 for i in range(0, len(pixels), bpp) if pixels[i : i + 3] == b"\x00\x72\xb2")
    assert blue > 200, "no pass^k line in the screenshot"
    assert ink > len(pixels) // (bpp * 7) // 50, "the screenshot is almost blank"


def test_interpreter_configurations_and_budget_breaches_have_their_sections(
    tmp_path: Path,
) -> None:
    from cxflow.cli import main

    out = tmp_path / "c.json"
    argv = ["simulate", "refuel_data", "-k", "1", "--interpreter", "rules"]
    argv += ["--interpreter", "rules>rules", "--db", str(tmp_path / "c.db"), "--json", str(out)]
    assert main([*argv, "--quiet", "--workers", "1"]) == 0
    report = json.loads(out.read_text())
    page = render_html(report)
    assert 'id="comparison"' in page and "rules&gt;rules" in page
    assert 'id="budgets"' not in page  # no flow sets a first-token budget
    flow = report["flows"]["refuel_data"]
    flow["first_token_budget_ms"] = 800.0
    flow["budget_breaches"] = [
        {"scenario": "maya_adds_two_gb", "trial": 0, "turn": 2, "first_token_ms": 950.0}
    ]
    page = render_html(report)
    assert 'id="budgets"' in page and "maya_adds_two_gb" in page
