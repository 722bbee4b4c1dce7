"""Write the Grafana dashboards (``dashboards/*.json``) from their typed Python sources.

The JSON files are build outputs, committed because Grafana's provisioning, docker-compose and
``harness up`` mount this folder as it is. Edit the Python (``rc_fleet_boot/``, a module per row;
the panel kinds in ``panels.py``, the PromQL in ``promql.py``, the variables in ``variables.py``),
then::

    just dashboards                         # = python dashboards/build.py
    python dashboards/build.py --check      # exit 1 if a committed file differs (no writes)

The output is deterministic: keys sorted, two-space indent, UTF-8, a trailing newline.
``tests/dashboards/test_build.py`` regenerates every dashboard and compares it with the file.

The dashboards are built with Grafana's foundation SDK (``grafana-foundation-sdk``, its Grafana
11.2 types: the Grafana image of ``harness up`` and compose). Compared with the hand-written JSON
they replaced, the SDK also writes some of Grafana's own defaults, which change nothing on
screen: ``repeatDirection: "h"`` and ``transparent: false`` on panels; the stat panels'
``wideLayout``, ``showPercentChange`` and ``percentChangeColorMode``; the bar gauges'
``valueMode``, ``namePlacement``, ``sizing`` and ``min/maxViz*`` sizes; ``skipUrlSync`` and the
interval-variable fields ``auto``, ``auto_min``, ``auto_count`` on the query variables (which
Grafana ignores on them). It writes no ``timepicker`` (the empty one of the old file meant the
defaults too). The variables' ``definition``, which the SDK's model lacks, is added by
:mod:`dashboards.variables`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if not __package__:  # run as a script (`python dashboards/build.py`): import from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import rc_fleet_boot

DASHBOARDS_DIR = Path(__file__).resolve().parent
"""Where the JSON files go: this folder, which Grafana's file provider loads."""

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "rc-fleet-boot.json": rc_fleet_boot.dashboard_builder,
}
"""Every generated dashboard: its file name and the function that builds it."""


def render(builder: Dashboard) -> str:
    """The dashboard's JSON text as written to its file."""
    text = json.dumps(
        builder.build(), cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False
    )
    return text + "\n"


def rendered() -> dict[str, str]:
    """Every dashboard's file name and JSON text."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def stale(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """The dashboard files of ``directory`` that are missing or differ from their build."""
    return [
        directory / name
        for name, text in rendered().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    ]


def write(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """Write every dashboard that changed into ``directory``; the files written."""
    written = []
    for name, text in rendered().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) every dashboard; exit 1 when a file is stale."""
    parser = argparse.ArgumentParser(prog="python dashboards/build.py", description=main.__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file differs"
    )
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR, help="folder of the JSON files")
    args = parser.parse_args(argv)
    if args.check:
        differ = stale(args.out)
        for path in differ:
            print(f"{path} is not what dashboards/build.py makes: run `just dashboards`")
        return 1 if differ else 0
    for path in write(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
