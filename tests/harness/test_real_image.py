"""harness.runtime.real_image: the offline build context of rc-fastlane-real (fake commands)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.errors import ImageError
from harness.runtime.real_image import prepare_context


class FakeHost:
    def __init__(self, debs: bool = True) -> None:
        self.debs = debs
        self.commands: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.commands.append(list(argv))
        if argv[0] == "docker":
            return "Package: python3\nStatus: install ok installed\n"
        if argv[0] == "apt-get" and self.debs:
            archives = next(a.split("=", 1)[1] for a in argv if a.startswith("Dir::Cache::"))
            (Path(archives) / "nodejs_18.20.4+dfsg-1~deb12u3_amd64.deb").write_text("")
        if "download" in argv:
            Path(argv[argv.index("-d") + 1]).mkdir(parents=True, exist_ok=True)
        return ""


def fake_modules(tmp_path: Path) -> Path:
    (tmp_path / "nm" / "dd-trace").mkdir(parents=True)
    return tmp_path / "nm"


def test_the_context_holds_debian_node_the_locked_packages_and_the_apps(tmp_path: Path) -> None:
    host, context = FakeHost(), tmp_path / "ctx"
    context.mkdir()
    modules = fake_modules(tmp_path)
    prepare_context(context, "rc-fastlane:dev", run=host, say=lambda _: None,
                    node_modules=lambda say: modules)  # fmt: skip
    apt = host.commands[1]
    assert apt[:3] == ["apt-get", "install", "--download-only"] and apt[-1] == "nodejs"
    assert f"Dir::State::status={context / 'dpkg-status'}" in apt  # only what the image lacks
    pip = host.commands[2]
    assert "--require-hashes" in pip and pip[pip.index("-r") + 1].endswith("requirements.txt")
    assert (context / "node_modules" / "dd-trace").is_dir()
    names = sorted(p.name for p in (context / "tracers").iterdir())
    assert names == ["app.js", "app.py", "preload.json", "preload.txt", "requirements.txt"]
    assert "FROM ${HARNESS_IMAGE}" in (context / "Dockerfile").read_text()


def test_no_nodejs_downloaded_says_to_update_the_package_lists(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="apt-get update"):
        prepare_context(tmp_path, "img", run=FakeHost(debs=False), say=lambda _: None,
                        node_modules=lambda say: fake_modules(tmp_path))  # fmt: skip
