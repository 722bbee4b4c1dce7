"""The Docker image variant with the real tracers (``rc-fastlane-real:dev``), built offline.

On the host: Debian's ``nodejs`` and what it needs beyond the harness image (``apt-get
install --download-only`` against the harness image's own dpkg status, so exactly the missing
packages), the pinned ddtrace-py wheels (``pip download --require-hashes``) and the pinned
dd-trace-js ``node_modules`` (the local install, :func:`harness.runtime.tracer_apps.
ensure_installed`); then ``compose/Dockerfile.real`` on top of the harness image, networking
off. The apps run there as :data:`harness.run.kinds.IN_IMAGE` says.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ImageError
from harness.runtime.images import COMPOSE_DIR, DEFAULT_IMAGE, BuildResult, build_log_tail
from harness.runtime.tracer_apps import app_file, ensure_installed, lock_file
from tracer_apps import ROOT as APPS_ROOT

REAL_IMAGE = "rc-fastlane-real:dev"
NODE_PACKAGE = "nodejs"
"""Debian's Node.js (bookworm: 18.x; dd-trace 5.132 needs 18 or newer)."""

Run = Callable[[Sequence[str]], str]
"""Runs a host command and returns its stdout; raises ImageError naming it on failure."""


def _run(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise ImageError(f"{argv[0]} is not installed (needed for: {' '.join(argv)})") from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip()[-1500:]
        raise ImageError(
            f"`{' '.join(argv)}` failed with exit code {exc.returncode}: {detail}"
        ) from exc
    return done.stdout


def _node_modules(say: Callable[[str], None]) -> Path:
    return Path(ensure_installed("dd-trace-js", say=say).env["NODE_PATH"])


def prepare_context(
    context: Path,
    harness_image: str,
    *,
    run: Run = _run,
    say: Callable[[str], None] = print,
    node_modules: Callable[[Callable[[str], None]], Path] = _node_modules,
) -> None:
    """Fill ``context`` with debs/, wheels/, node_modules/ and tracers/ (see the module doc);
    ``node_modules`` gives the installed dd-trace-js packages (installing them if needed)."""
    status = context / "dpkg-status"
    status.write_text(
        run(["docker", "run", "--rm", "--entrypoint", "cat", harness_image, "/var/lib/dpkg/status"])
    )
    debs = context / "debs"
    (debs / "partial").mkdir(parents=True)
    say(f"downloading Debian's {NODE_PACKAGE} and what {harness_image} lacks for it")
    run([
        "apt-get", "install", "--download-only", "-y", "-qq", "--no-install-recommends",
        "-o", f"Dir::State::status={status}", "-o", f"Dir::Cache::archives={debs}",
        "-o", "Debug::NoLocking=1", NODE_PACKAGE,
    ])  # fmt: skip
    shutil.rmtree(debs / "partial", ignore_errors=True)
    if not list(debs.glob("nodejs_*.deb")):
        raise ImageError(
            f"apt-get downloaded no {NODE_PACKAGE} package into {debs}: run `apt-get update` "
            "(Debian's package lists) and retry"
        )
    say("downloading the pinned ddtrace-py wheels")
    run([
        sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
        "--require-hashes", "--only-binary=:all:", "-r", str(lock_file("ddtrace-py")),
        "-d", str(context / "wheels"),
    ])  # fmt: skip
    shutil.copytree(node_modules(say), context / "node_modules", symlinks=True)
    tracers = context / "tracers"
    tracers.mkdir()
    for source in (
        app_file("ddtrace-py"),
        app_file("dd-trace-js"),
        APPS_ROOT / "python" / "preload.txt",
        APPS_ROOT / "node" / "preload.json",
        lock_file("ddtrace-py"),
    ):
        shutil.copyfile(source, tracers / source.name)
    shutil.copyfile(COMPOSE_DIR / "Dockerfile.real", context / "Dockerfile")


def build_real_image(
    client: Any,
    tag: str = REAL_IMAGE,
    harness_image: str = DEFAULT_IMAGE,
    *,
    run: Run = _run,
    say: Callable[[str], None] = print,
) -> BuildResult:
    """Prepare the context in a temporary folder and build the variant, networking off."""
    import docker.errors

    try:
        client.images.get(harness_image)
    except docker.errors.ImageNotFound:
        raise ImageError(
            f"harness image {harness_image} not found: build it first (`harness image build`)"
        ) from None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rcfl-real-") as tmp:
        context = Path(tmp)
        prepare_context(context, harness_image, run=run, say=say)
        say(f"building {tag} on {harness_image} (networking off)")
        try:
            client.images.build(
                path=str(context),
                dockerfile="Dockerfile",
                tag=tag,
                buildargs={"HARNESS_IMAGE": harness_image},
                network_mode="none",
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            raise ImageError(
                f"docker build of {tag} on {harness_image} failed: {exc.msg}\n{build_log_tail(exc)}"
            ) from exc
    size = int(client.images.get(tag).attrs.get("Size", 0))
    return BuildResult(tag, time.monotonic() - started, size)
