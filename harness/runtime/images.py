"""Images for the Docker runtime, built without a container registry.

Two steps, both driven from this machine and needing no registry:

1. :func:`bootstrap_base` makes a minimal Debian with Python 3 from Debian packages
   (``debootstrap --variant=minbase``) and imports it as an image (``docker import``). Users with
   a registry skip it: the Dockerfile's default base is ``python:3.11-slim``.
2. :func:`build_image` builds the project's wheel and every runtime dependency on the host into
   the build context (``pip wheel . -w compose/wheelhouse``), then builds ``compose/Dockerfile``
   with networking disabled, so that nothing inside the build reaches for the network.

Errors are :class:`ImageError` (a :class:`~harness.runtime.base.HarnessError`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ImageError

DEFAULT_IMAGE = "rc-fastlane:dev"
DEFAULT_BASE_TAG = "rc-fastlane-base:bookworm"
REGISTRY_BASE_IMAGE = "python:3.11-slim"
"""The Dockerfile's default base, for people who can pull from a registry."""
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = PROJECT_ROOT / "compose"


SERVICE_PACKAGES = ("rc_protocol", "fake_backend", "agent", "tracer_stub", "tracer_locust")
"""The packages that run inside containers: the image is stale when their sources change."""
SOURCE_DIGEST_LABEL = "rc-fastlane.source-digest"
SOURCE_SUFFIXES = (".py", ".proto", ".yaml", ".yml", ".json")


def source_digest(packages: Iterable[str] = SERVICE_PACKAGES) -> str:
    """SHA-256 over the sources of the packages that run in containers (paths and contents).

    Stored as a label on the image at build time; the Docker runtime compares it with this
    checkout's, so that a run never measures code older than the working tree without saying so.
    """
    digest = hashlib.sha256()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def image_digest_label(client: Any, tag: str) -> str | None:
    """The source digest an image was built from (None when it has no such label)."""
    labels = client.images.get(tag).attrs.get("Config", {}).get("Labels") or {}
    value = labels.get(SOURCE_DIGEST_LABEL)
    return None if value is None else str(value)


def build_command(tag: str = DEFAULT_IMAGE, base_image: str | None = None) -> str:
    """The exact command that builds the harness image (quoted in error messages)."""
    command = "harness image build"
    if base_image:
        command += f" --base-image {base_image}"
    if tag != DEFAULT_IMAGE:
        command += f" --tag {tag}"
    return command


# --- the Debian mirror apt uses -------------------------------------------------------------


def _deb822_mirrors(text: str, suite: str) -> Iterable[str]:
    """Mirrors of ``Types: deb`` stanzas serving ``suite`` with ``main`` (deb822 ``.sources``)."""
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        if suite not in fields.get("suites", "").split():
            continue
        if "main" not in fields.get("components", "").split():
            continue
        yield from fields.get("uris", "").split()


def _one_line_mirrors(text: str, suite: str) -> Iterable[str]:
    """Mirrors of ``deb URI SUITE main ...`` lines (classic ``sources.list``)."""
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 4 or words[0] != "deb":
            continue
        if words[1].startswith("["):  # options such as [signed-by=...]
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = ["deb", *words[1:]]
        if len(words) >= 4 and words[2] == suite and "main" in words[3:]:
            yield words[1]


def find_debian_mirror(apt_dir: Path = Path("/etc/apt"), suite: str = SUITE) -> str:
    """The Debian mirror apt is configured with for ``suite`` (read from sources.list*).

    Only enabled ``deb`` entries for exactly ``suite`` with the ``main`` component count, so
    ``bookworm-security`` and third-party repositories are never picked.
    """
    candidates: list[Path] = []
    if (apt_dir / "sources.list").is_file():
        candidates.append(apt_dir / "sources.list")
    sources_d = apt_dir / "sources.list.d"
    if sources_d.is_dir():
        candidates += sorted(sources_d.glob("*.list")) + sorted(sources_d.glob("*.sources"))
    for path in candidates:
        text = path.read_text(errors="replace")
        parse = _deb822_mirrors if path.suffix == ".sources" else _one_line_mirrors
        for uri in parse(text, suite):
            return uri
    raise ImageError(
        f"no Debian mirror for {suite!r} (component main) in {apt_dir}/sources.list*: "
        "pass one with --mirror"
    )


# --- base image -------------------------------------------------------------------------------


def _run(command: list[str], what: str) -> None:
    try:
        subprocess.run(command, check=True)
    except FileNotFoundError as exc:
        raise ImageError(
            f"{what}: {command[0]} is not installed (run compose/start-dockerd.sh as root, which "
            "installs docker.io and debootstrap)"
        ) from exc
    except subprocess.CalledProcessError as exc:
        raise ImageError(f"{what} failed with exit code {exc.returncode}: {command}") from exc


def _docker_import(stream: Any, tag: str) -> None:
    """``docker import - TAG`` reading the root file system tarball from ``stream``."""
    try:
        subprocess.run(["docker", "import", "-", tag], stdin=stream, check=True)
    except FileNotFoundError as exc:
        raise ImageError("docker import: the docker client is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise ImageError(f"docker import - {tag} failed with exit code {exc.returncode}") from exc


@dataclass(frozen=True)
class BuildResult:
    """What a build made and how long it took."""

    tag: str
    seconds: float
    size_bytes: int


def bootstrap_base(
    client: Any,
    tag: str = DEFAULT_BASE_TAG,
    mirror: str | None = None,
    suite: str = SUITE,
    workdir: Path | None = None,
    *,
    run: Callable[[list[str], str], None] = _run,
    docker_import: Callable[[Any, str], None] = _docker_import,
) -> BuildResult:
    """Make a minimal Debian with Python 3 and import it into the engine as ``tag``.

    ``client`` is a ``docker.DockerClient``. Needs root (debootstrap) and the Debian mirror.
    ``run`` runs debootstrap and ``docker_import`` the import of the tarball (tests pass fakes).
    """
    mirror = mirror or find_debian_mirror(suite=suite)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rcfl-rootfs-", dir=workdir) as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(BASE_PACKAGES),
                suite,
                str(rootfs),
                mirror,
            ],
            f"debootstrap {suite} from {mirror}",
        )
        # Trim what a runtime image never uses (apt lists, docs); keeps the import small.
        for sub in ("var/lib/apt/lists", "var/cache/apt/archives", "usr/share/doc"):
            shutil.rmtree(rootfs / sub, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        try:
            docker_import(tar.stdout, tag)
        finally:
            # Waited for on every path; its exit code is only reported when the import
            # succeeded: after a failed import tar dies of the closed pipe, and a "tar failed"
            # raised here would replace the import's own error.
            tar.stdout.close()
            tar.wait()
        if tar.returncode != 0:
            raise ImageError(f"tar of {rootfs} failed with exit code {tar.returncode}")
    return BuildResult(tag, time.monotonic() - started, _image_size(client, tag))


def build_log_tail(exc: Any, chars: int = 3000) -> str:
    """The last ``chars`` characters of a ``docker.errors.BuildError``'s build output."""
    return "".join(str(chunk.get("stream", "")) for chunk in exc.build_log)[-chars:]


def _image_size(client: Any, tag: str) -> int:
    return int(client.images.get(tag).attrs.get("Size", 0))


# --- harness image ----------------------------------------------------------------------------


def build_wheelhouse(dest: Path, project: Path = PROJECT_ROOT) -> list[Path]:
    """``pip wheel PROJECT -w DEST``: the project's wheel and every runtime dependency.

    Runs on the host (pip's indexes and caches), so that the image build needs no network.
    Wheels left from an earlier build of the project are replaced; dependencies are kept.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("rc_fastlane_harness-*.whl"):
        old.unlink()
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", str(project), "-w", str(dest)],
        f"pip wheel {project}",
    )
    return sorted(dest.glob("*.whl"))


def build_image(
    client: Any,
    tag: str = DEFAULT_IMAGE,
    base_image: str = DEFAULT_BASE_TAG,
    context: Path = COMPOSE_DIR,
) -> BuildResult:
    """Build the wheelhouse, then ``compose/Dockerfile`` on ``base_image``, networking off."""
    import docker.errors  # the SDK is a runtime dependency; imported here to keep import cheap

    try:
        client.images.get(base_image)
    except docker.errors.ImageNotFound:
        hint = (
            f"make it with `harness image bootstrap-base --tag {base_image}`"
            if base_image.startswith("rc-fastlane-base")
            else f"pull it (`docker pull {base_image}`) or use --base-image {DEFAULT_BASE_TAG}"
        )
        raise ImageError(f"base image {base_image} not found: {hint}") from None
    started = time.monotonic()
    build_wheelhouse(context / "wheelhouse")
    try:
        client.images.build(
            path=str(context),
            dockerfile="Dockerfile",
            tag=tag,
            buildargs={"BASE_IMAGE": base_image},
            network_mode="none",
            labels={SOURCE_DIGEST_LABEL: source_digest()},
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as exc:
        raise ImageError(
            f"docker build of {tag} on {base_image} failed: {exc.msg}\n{build_log_tail(exc)}"
        ) from exc
    return BuildResult(tag, time.monotonic() - started, _image_size(client, tag))
