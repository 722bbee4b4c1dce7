"""The HTML reports: self-contained pages, plots with data, and what Chromium actually draws.

The Chromium tests render the page headless, as a person would open it, and count the pixels
of each series colour in the screenshot: a plot that is missing or blank has (almost) none.
They skip only when the ``chromium`` binary is missing and ``HARNESS_REQUIRE_CHROMIUM`` is
unset (CI sets it, so there a missing browser fails).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from pathlib import Path

import pytest

from harness.gates.thresholds import parse_thresholds
from harness.report.html.compare_page import write_compare_html
from harness.report.html.counters import agent_lane_figures
from harness.report.html.page import PALETTE
from harness.report.html.plots import nice_ticks
from harness.report.html.run_page import load_run, write_run_html
from harness.results.summary import Summary
from harness.results.validity import Figure, judge
from harness.scenario.validity_limits import ValidityLimits
from harness.studies.comparison import CompareInfo, run_compare, write_compare_json
from tests.harness.factories import make_run
from tests.harness.test_compare import spread

AGENT = {
    'agent_rc_requests_total{lane="fast",outcome="ok"}': 300.0,
    'agent_rc_requests_total{lane="standard",outcome="ok"}': 880.0,
    'agent_rc_requests_total{lane="standard",outcome="error"}': 20.0,
    'agent_rc_bypass_total{lane="fast",result="refreshed"}': 50.0,
    'agent_rc_bypass_total{lane="fast",result="rate_limited"}': 3.0,
    'agent_rc_bypass_total{lane="standard",result="refreshed"}': 5.0,
    'agent_rc_bypass_total{lane="standard",result="rate_limited"}': 95.0,
    'agent_rc_lock_wait_seconds_sum{lane="standard"}': 12.5,
    'agent_rc_lock_wait_seconds_count{lane="standard"}': 900.0,
    'agent_rc_lock_wait_seconds_bucket{lane="standard",le="0.1"}': 800.0,
}

SCENARIOS = {"baseline": (5_000, 22_400), "phase1": (3_000, 15_000), "phase3": (150, 950)}


def make_compare(out: Path, repeat: int = 2) -> Path:
    rng = random.Random(11)

    def run_one(scenario: str, index: int, run_dir: Path) -> Summary:
        low, high = SCENARIOS[scenario]
        ready = spread(rng, 95 if scenario == "phase1" else 100, low, high)
        return make_run(run_dir, scenario, ready, tracers=100, agent=AGENT)

    comparison = run_compare(
        list(SCENARIOS),
        repeat,
        out,
        run_one,
        parse_thresholds(["phase3: provider_ready.p99 < 1s", "success_ratio >= 1"]),
        info=CompareInfo(tracers=100, runtime="local", started_at="2026-11-29T17:00:00Z"),
    )
    write_compare_json(out, comparison)
    return write_compare_html(out, comparison)


def svg_paths(page: str, plot_id: str) -> list[dict[str, str]]:
    """The series paths of one plot, parsed as XML (the SVG is well-formed)."""
    match = re.search(rf'<svg id="{plot_id}".*?</svg>', page, re.S)
    assert match, f"no svg#{plot_id}"
    svg = ET.fromstring(match.group(0))
    return [dict(p.attrib) for p in svg.iter("path") if p.get("class") == "series"]


def steps(d: str) -> int:
    return d.count("V")


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    lowered = page.lower()
    for needle in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert needle not in lowered, needle


# --- the page's content (no browser) ---------------------------------------------------------


def test_run_page_is_self_contained_with_both_plots(tmp_path: Path) -> None:
    ready = spread(random.Random(1), 90, 5_000, 22_000)
    make_run(tmp_path, "baseline", ready, tracers=100, agent=AGENT)
    path = write_run_html(tmp_path)
    assert path == tmp_path / "report.html"
    page = path.read_text()
    assert_self_contained(page)
    [cdf] = svg_paths(page, "cdf")
    assert cdf["data-series"] == "baseline"
    assert cdf["data-points"] == "91"  # the origin and one point per ready tracer
    assert steps(cdf["d"]) == 90
    assert "90 of 100 ready" in page
    [timeline] = svg_paths(page, "timeline")
    assert steps(timeline["d"]) == 90
    assert "=== PROVIDER READY TIME" in page
    assert '<td class="num">95</td>' in page  # standard-lane bypasses rate-limited


def test_the_cdf_is_a_share_of_the_whole_fleet(tmp_path: Path) -> None:
    make_run(tmp_path, "baseline", [1_000, 2_000], tracers=4)
    [cdf] = svg_paths(write_run_html(tmp_path).read_text(), "cdf")
    # y of the last step: 2 of 4 ready = 50% of the plot height (top 34, height 294).
    last_y = float(re.findall(r"V([\d.]+)", cdf["d"])[-1])
    assert last_y == pytest.approx(34 + 294 * 0.5, abs=0.1)


def test_timeline_is_rebuilt_from_samples_when_the_summary_has_none(tmp_path: Path) -> None:
    make_run(tmp_path, "phase3", [300, 400, 500], tracers=3, with_timeline=False)
    run = load_run(tmp_path)
    assert [n for _, n in run.timeline] == [0.0, 1.0, 2.0, 3.0]
    assert run.timeline[1][0] == pytest.approx(0.3, abs=0.01)


def test_a_run_where_nobody_became_ready_renders_without_crashing(tmp_path: Path) -> None:
    make_run(tmp_path, "baseline", [], tracers=10)
    page = write_run_html(tmp_path).read_text()
    assert "no data: no tracer became ready" in page
    assert svg_paths(page, "cdf") == []
    assert "No agent counters were scraped" in page


def test_names_are_escaped(tmp_path: Path) -> None:
    make_run(tmp_path, "<script>alert(1)</script>", [100], tracers=1)
    page = write_run_html(tmp_path).read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_agent_figures_per_lane() -> None:
    figures = agent_lane_figures(AGENT)
    assert list(figures) == ["fast", "standard"]
    assert figures["standard"]["requests"] == 900.0
    assert figures["standard"]["bypass rate_limited"] == 95.0
    assert figures["fast"]["bypass refreshed"] == 50.0
    assert figures["fast"]["bypass timed_out"] is None
    assert figures["standard"]["lock mean"] == pytest.approx(12.5 * 1000 / 900)
    assert figures["fast"]["lock mean"] is None


def test_compare_page_has_a_curve_per_scenario_and_a_line_per_run(tmp_path: Path) -> None:
    page = make_compare(tmp_path, repeat=2).read_text()
    assert_self_contained(page)
    cdfs = svg_paths(page, "cdf")
    assert [p["data-series"] for p in cdfs] == list(SCENARIOS)
    assert [steps(p["d"]) for p in cdfs] == [200, 190, 200]  # both runs pooled
    assert [p["stroke"] for p in cdfs] == list(PALETTE[:3])
    lines = svg_paths(page, "timeline")
    assert [p["data-series"] for p in lines] == [s for s in SCENARIOS for _ in range(2)]
    assert 'class="fail">✗ [phase1] success_ratio &gt;= 1  breached: observed 0.95' in page
    assert 'class="pass">✓ phase3: provider_ready.p99 &lt; 1s' in page
    assert page.count("<details><summary>") == 6


def test_nice_ticks_cover_the_range() -> None:
    for high in (0.3, 1.0, 7.0, 22.4, 99.0, 1234.0):
        ticks = nice_ticks(high)
        assert ticks[0] == 0.0
        assert ticks[-1] >= high
        assert 3 <= len(ticks) <= 8


# --- what Chromium draws ---------------------------------------------------------------------


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("HARNESS_REQUIRE_CHROMIUM"):
        pytest.fail("HARNESS_REQUIRE_CHROMIUM is set but no chromium binary is on PATH")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def chromium(page: Path, tmp_path: Path, *mode: str, size: str = "1200,2400") -> str:
    """Run headless Chromium on a local file, offline, with a throw-away profile."""
    args = [
        chromium_binary(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={size}",
        *mode,
        page.resolve().as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) into pixel rows."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            corner = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line if bpp == 3 else _drop_alpha(line)))
        prev = line
    return width, height, rows


def _drop_alpha(line: bytearray) -> bytes:
    return bytes(b for i, b in enumerate(line) if i % 4 != 3)


def colour_rows(rows: list[bytes], colours: list[str], tolerance: int = 40) -> Counter[str]:
    """For each colour, how many screenshot rows contain a pixel close to it.

    A curve that rises across a plot touches hundreds of rows; a blank plot (or a flat line at
    zero, plus the legend swatch) only a handful. Anti-aliased edges are near, not equal.
    """
    targets = [(c, tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))) for c in colours]
    counts: Counter[str] = Counter()
    for row in rows:
        seen: set[str] = set()
        for x in range(0, len(row), 3):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if r > 235 and g > 235 and b > 235:
                continue
            for name, (tr, tg, tb) in targets:
                if abs(r - tr) + abs(g - tg) + abs(b - tb) <= tolerance:
                    seen.add(name)
                    break
        counts.update(seen)
    return counts


@pytest.mark.e2e
@pytest.mark.chromium
def test_chromium_draws_the_run_plots(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    make_run(run_dir, "baseline", spread(random.Random(2), 100, 5_000, 22_000), agent=AGENT)
    page = write_run_html(run_dir)
    shot = tmp_path / "run.png"
    chromium(page, tmp_path, f"--screenshot={shot}")
    width, height, rows = read_png(shot)
    assert (width, height) == (1200, 2400)
    counts = colour_rows(rows, [PALETTE[0]])
    # Two plots, each 294 px high, with a curve rising from 0 to 100% of the fleet.
    assert counts[PALETTE[0]] > 450, counts

    empty_dir = tmp_path / "empty"
    make_run(empty_dir, "baseline", [], tracers=10)
    empty_shot = tmp_path / "empty.png"
    chromium(write_run_html(empty_dir), tmp_path, f"--screenshot={empty_shot}")
    _, _, empty_rows = read_png(empty_shot)
    # Nobody ready: a flat line at zero on the timeline and the legend swatches, nothing else.
    assert colour_rows(empty_rows, [PALETTE[0]])[PALETTE[0]] < 40


@pytest.mark.e2e
@pytest.mark.chromium
def test_chromium_draws_every_scenario_of_a_compare(tmp_path: Path) -> None:
    page = make_compare(tmp_path / "cmp", repeat=2)
    shot = tmp_path / "compare.png"
    chromium(page, tmp_path, f"--screenshot={shot}", size="1200,1800")
    _, _, rows = read_png(shot)
    colours = list(PALETTE[: len(SCENARIOS)])
    counts = colour_rows(rows, colours)
    for colour in colours:
        assert counts[colour] > 300, (colour, counts)

    dom = chromium(page, tmp_path, "--dump-dom")
    assert dom.count('class="series"') == len(SCENARIOS) * 3  # 3 CDFs + 6 run timelines
    assert re.search(r'<svg id="cdf"[^>]*>', dom)
    assert 'data-series="phase3" data-points="201"' in dom


def test_the_run_page_shows_the_validity_verdict_and_figures(tmp_path: Path) -> None:
    summary = make_run(tmp_path, "instant", [100, 120], tracers=2)
    validity = judge({"machine_cpu_ratio": Figure(0.97)}, ValidityLimits())
    saved = summary.model_copy(update={"validity": validity})
    (tmp_path / "summary.json").write_text(json.dumps(saved.to_json()))
    page = write_run_html(tmp_path).read_text()
    assert '<h2>Measurement validity</h2><p class="warn">NOT VALID: 1 of 1 limits exceeded' in page
    assert "machine CPU busy (all cores)                     97%  limit 90%  EXCEEDED" in page
    make_run(tmp_path / "old", "instant", [100], tracers=1)
    assert "Measurement validity" not in write_run_html(tmp_path / "old").read_text()


def test_a_mixed_fleet_gets_a_table_and_a_cdf_per_kind(tmp_path: Path) -> None:
    import json
    from dataclasses import replace

    from harness.results.build import kind_figures
    from harness.results.folder import load_summary
    from harness.results.samples import read_samples, write_samples

    make_run(tmp_path, "baseline", [1_000, 2_000, 7_000, 8_000], tracers=4)
    rows = [
        replace(r, kind="stub" if r.tracer < 2 else "dd-trace-js")
        for r in read_samples(tmp_path / "samples.csv")
    ]
    write_samples(tmp_path / "samples.csv", rows)
    summary = load_summary(tmp_path).model_copy(update={"by_kind": kind_figures(rows)})
    (tmp_path / "summary.json").write_text(json.dumps(summary.to_json()))
    page = write_run_html(tmp_path).read_text()
    assert "Provider ready by tracer kind (ms)" in page
    assert [c["data-series"] for c in svg_paths(page, "cdf")] == [
        "baseline",
        "stub",
        "dd-trace-js",
    ]
    assert "<th>dd-trace-js</th><td>2/2</td>" in page
