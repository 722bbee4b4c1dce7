"""The frame of every HTML page: one self-contained document (inline CSS, no script, no font or
image from elsewhere, so that it opens offline from a CI artifact), and small formatting helpers.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
"""Series colours (distinct from each other and from the grey axes, for readers and tests)."""


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1100px;color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px}
h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid #ddd}
.meta{color:#555}.muted{color:#777}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.mono{font-family:monospace}
.pass{color:#1a7f37}.fail{color:#c62828;font-weight:bold}
pre{background:#f6f8fa;padding:12px;overflow-x:auto;font-size:13px}
svg.plot{max-width:100%;height:auto;font-family:system-ui,sans-serif}
svg .grid{stroke:#e5e5e5;stroke-width:1}svg .tick{font-size:12px;fill:#555}
svg .axis{font-size:13px;fill:#333}svg .plot-title{font-size:14px;font-weight:bold;fill:#222}
svg .legend{font-size:13px;fill:#222}svg .legend-note{font-size:11px;fill:#666}
svg .empty{font-size:14px;fill:#c62828}
.warn{background:#fff4e5;border-left:4px solid #ff9800;padding:8px}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def fmt_num(value: float | None, decimals: int = 0) -> str:
    """A number with thousands separators, ``-`` when there is none.

    >>> fmt_num(12345.678), fmt_num(0.5, 3), fmt_num(None)
    ('12,346', '0.500', '-')
    """
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}"
