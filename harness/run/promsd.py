"""Prometheus file-based service discovery written by the harness.

Prometheus's ``file_sd_configs`` watches JSON files holding a list of target groups
(``[{"targets": ["host:port"], "labels": {...}}]``) and attaches each group's labels to every
series scraped from its targets. The harness writes one such file, ``targets.json``, in a
directory a Prometheus watches (``harness up`` mounts it; ``--prometheus-sd DIR`` or
``HARNESS_PROMETHEUS_SD_DIR`` points ``harness run`` at it), so that the tracers, the agent and the
backend of a run become Prometheus targets while the run lasts, labelled::

    run_id     the run's id (also exported as <prefix>_run_info{run_id})
    scenario   the scenario's name
    component  the component's name in the run (backend, agent, tracers-000, ...)
    role       backend | agent | tracer
    kind       tracers only: stub | ddtrace-py | dd-trace-js (dashboards can split by it)

Several writers share the file (the ``harness up`` stack and any number of runs): each owns the
groups carrying its ``run_id``, and :meth:`FileSD.update` replaces only those, under an exclusive
lock. Every write goes to a temporary file in the same directory (not matching ``*.json``) and is
renamed over ``targets.json``, so Prometheus never reads a half-written file.

Targets are the components' ``host_url`` (always 127.0.0.1): the Prometheus of ``harness up`` runs
in the host's network namespace, so the same addresses serve local and Docker runtimes.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from harness.errors import PromSDError
from harness.runtime.base import ComponentHandle

try:  # POSIX; without it (Windows) writers are not serialised against each other.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

SD_DIR_ENV = "HARNESS_PROMETHEUS_SD_DIR"
"""Environment variable naming the file-SD directory when ``--prometheus-sd`` is not given."""

TARGETS_FILE = "targets.json"

DISCOVERY_DELAY_S = 11.0
"""Worst-case time from a ``targets.json`` write to the first scrape of a new target: Prometheus's
discovery manager sends target updates at most every 5 s (``discovery/manager.go``, ``updatert``)
and its scrape manager applies them at most every 5 s (``scrape/manager.go``, ``reloader``), then
the first scrape comes within one 1 s interval. A run publishing its targets delays its boot
instant by this much so that the boot storm is on the record from its first second."""

DEFAULT_LINGER_S = 2.0
"""How long a run's targets stay published after the run: two scrapes at the review stack's 1 s
interval, so that Prometheus records every tracer's final outcome before the targets go."""


@dataclass(frozen=True)
class TargetGroup:
    """One file-SD target group: addresses (``host:port``) and the labels Prometheus adds."""

    targets: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> dict[str, Any]:
        return {"targets": list(self.targets), "labels": dict(self.labels)}

    @classmethod
    def from_json(cls, raw: object) -> TargetGroup:
        if not isinstance(raw, dict):
            raise PromSDError(f"file-SD target group is not an object: {raw!r}")
        targets = raw.get("targets")
        labels = raw.get("labels", {})
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise PromSDError(f"file-SD target group has no list of 'targets': {raw!r}")
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise PromSDError(f"file-SD target group 'labels' is not a string map: {raw!r}")
        return cls(tuple(targets), MappingProxyType(dict(labels)))


def target_address(url: str) -> str:
    """The ``host:port`` Prometheus scrapes for a component's base URL.

    >>> target_address("http://127.0.0.1:8126")
    '127.0.0.1:8126'
    """
    parts = urlsplit(url)
    if not parts.hostname or parts.port is None:
        raise PromSDError(f"cannot make a scrape target of {url!r}: expected http://host:port")
    return f"{parts.hostname}:{parts.port}"


def component_groups(
    handles: Sequence[ComponentHandle], *, run_id: str, scenario: str
) -> list[TargetGroup]:
    """One target group per component of a run, with the run's labels."""
    groups = []
    for h in handles:
        labels = {
            "run_id": run_id,
            "scenario": scenario,
            "component": h.spec.name,
            "role": h.spec.role,
        }
        if h.spec.role == "tracer":
            labels["kind"] = h.spec.kind
        groups.append(TargetGroup((target_address(h.host_url),), MappingProxyType(labels)))
    return groups


class FileSD:
    """The ``targets.json`` of a file-SD directory, shared by several writers (keyed by run id)."""

    def __init__(self, directory: Path, filename: str = TARGETS_FILE) -> None:
        self.directory = Path(directory)
        self.path = self.directory / filename
        self._lock_path = self.directory / f".{filename}.lock"

    def read(self) -> list[TargetGroup]:
        """Every group in the file (none when it does not exist yet)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise PromSDError(
                f"cannot read file-SD targets {self.path}: {exc}; delete the file to start afresh"
            ) from exc
        if not isinstance(raw, list):
            raise PromSDError(f"file-SD targets {self.path} is not a JSON list of target groups")
        return [TargetGroup.from_json(g) for g in raw]

    def update(self, run_id: str, groups: Sequence[TargetGroup]) -> None:
        """Replace the groups labelled ``run_id=<run_id>`` with ``groups`` (atomically)."""
        for g in groups:
            if g.labels.get("run_id") != run_id:
                raise PromSDError(f"target group {g.targets} is not labelled run_id={run_id!r}")
        with self._locked():
            kept = [g for g in self.read() if g.labels.get("run_id") != run_id]
            self._write([*kept, *groups])

    def remove_run(self, run_id: str) -> None:
        """Drop the groups of ``run_id``; Prometheus stops scraping them at its next reload."""
        self.update(run_id, [])

    def _write(self, groups: Sequence[TargetGroup]) -> None:
        payload = json.dumps([g.to_json() for g in groups], indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            # Readable by a Prometheus container running as another user.
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise PromSDError(f"cannot write file-SD targets {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock = open(self._lock_path, "a+")  # noqa: SIM115 (held for the block below)
        except OSError as exc:
            raise PromSDError(
                f"cannot use file-SD directory {self.directory}: {exc}; "
                f"pass a writable directory to --prometheus-sd or {SD_DIR_ENV}"
            ) from exc
        with lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield


def sd_dir_from_env(option: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The file-SD directory: the CLI option, else ``HARNESS_PROMETHEUS_SD_DIR``, else none."""
    if option is not None:
        return option
    value = environ.get(SD_DIR_ENV, "").strip()
    return Path(value) if value else None


@contextlib.contextmanager
def published_targets(
    sd_dir: Path | None,
    handles: Sequence[ComponentHandle],
    *,
    run_id: str,
    scenario: str,
    linger_s: float = DEFAULT_LINGER_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[FileSD | None]:
    """Publish a run's components as scrape targets for the duration of the block.

    Does nothing when ``sd_dir`` is ``None``. When the block completes, waits ``linger_s`` so that
    Prometheus takes a last scrape of the settled run; on every exit path, then removes the run's
    groups (at once after an error or Ctrl-C): the ports are about to be freed and may be reused
    by another run.
    """
    if sd_dir is None:
        yield None
        return
    sd = FileSD(sd_dir)
    sd.update(run_id, component_groups(handles, run_id=run_id, scenario=scenario))
    completed = False
    try:
        yield sd
        completed = True
    finally:
        try:
            if completed and linger_s > 0:
                sleep(linger_s)
        finally:
            sd.remove_run(run_id)
