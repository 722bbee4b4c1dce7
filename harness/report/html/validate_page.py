"""The HTML page of ``harness validate`` (``validate.html``): both provider-ready CDFs on one
plot, and the percentile table."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.html.page import PALETTE, esc, page
from harness.report.html.plots import cdf_plot, cdf_series
from harness.studies.validate import Validation, render_table


def validate_html(v: Validation, real_ms: Sequence[int], stub_ms: Sequence[int]) -> str:
    """The page: the two CDFs (each as a share of its own fleet), then the table."""
    series = [
        cdf_series(f"real {v.kind}", PALETTE[0], [float(x) for x in real_ms], v.real.tracers),
        cdf_series(f"stub ({v.profile})", PALETTE[1], [float(x) for x in stub_ms], v.stub.tracers),
    ]
    verdict = "PASS" if v.passed else "FAIL"
    return page(
        f"validate {v.kind}: {verdict}",
        [
            f"<h1>validate {esc(v.kind)} against the stub ({esc(v.profile)}): {verdict}</h1>",
            f"<p>scenario {esc(v.scenario)}, agent {esc(v.agent_policy)}, runtime "
            f"{esc(v.runtime)}; tolerance {esc(v.tolerance)}; Kolmogorov-Smirnov statistic "
            f"{v.ks_statistic:.3f}</p>",
            cdf_plot(series),
            f"<pre>{esc(render_table(v))}</pre>",
            f"<p>results: real <code>{esc(v.real.results)}</code>, stub "
            f"<code>{esc(v.stub.results)}</code></p>",
        ],
    )
