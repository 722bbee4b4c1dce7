"""harness.runtime.images: the Debian mirror apt uses, and the build commands quoted in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ImageError, ImageMissingError
from harness.runtime.images import bootstrap_base, build_command, find_debian_mirror

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def write(apt: Path, name: str, text: str) -> None:
    (apt / "sources.list.d").mkdir(parents=True, exist_ok=True)
    target = apt / name if name == "sources.list" else apt / "sources.list.d" / name
    target.write_text(text)


def test_deb822_picks_the_suite_with_main(tmp_path: Path) -> None:
    write(tmp_path, "debian.sources", DEB822)
    assert find_debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_deb822_skips_disabled_and_deb_src_stanzas(tmp_path: Path) -> None:
    write(
        tmp_path,
        "debian.sources",
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"
        "Components: main\n\n" + DEB822,
    )
    assert find_debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_one_line_format_with_options_and_third_party_repos(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list",
        "# comment\n"
        "deb https://packages.cloud.example/apt cloud-sdk-bookworm main\n"
        "deb http://sec.example/debian-security bookworm-security main\n"
        "deb [signed-by=/usr/share/keyrings/k.gpg arch=amd64] http://one.example/debian "
        "bookworm main contrib\n",
    )
    assert find_debian_mirror(tmp_path) == "http://one.example/debian"


def test_no_mirror_says_what_to_do(tmp_path: Path) -> None:
    write(tmp_path, "other.list", "deb http://x.example/debian trixie main\n")
    with pytest.raises(ImageError, match="--mirror"):
        find_debian_mirror(tmp_path)


def test_this_machine_has_a_mirror() -> None:
    if not Path("/etc/apt").is_dir():
        pytest.skip("not a Debian machine")
    assert find_debian_mirror().startswith(("http://", "https://"))


def test_build_command_names_non_default_options() -> None:
    assert build_command() == "harness image build"
    assert build_command("x:1") == "harness image build --tag x:1"
    assert (
        build_command("rc-fastlane:dev", "rc-fastlane-base:bookworm")
        == "harness image build --base-image rc-fastlane-base:bookworm"
    )


def test_missing_image_error_names_the_build_command() -> None:
    message = str(ImageMissingError("rc-fastlane:xyz", build_command("rc-fastlane:xyz")))
    assert "harness image build --tag rc-fastlane:xyz" in message
    assert "harness image bootstrap-base" in message
    assert "--base-image python:3.11-slim" in message


@pytest.mark.e2e
def test_bootstrap_base_reports_the_import_failure_not_the_tar_it_broke(tmp_path: Path) -> None:
    """A failed ``docker import`` stops reading, so tar dies of the closed pipe: the error
    raised must still be the import's, which says what failed."""

    def fake_debootstrap(command: list[str], what: str) -> None:
        rootfs = Path(command[-2])
        rootfs.mkdir(parents=True)
        (rootfs / "big").write_bytes(b"x" * (4 << 20))  # more than a pipe buffer

    def failing_import(stream: object, tag: str) -> None:
        raise ImageError(f"docker import - {tag} failed with exit code 1")

    with pytest.raises(ImageError, match="docker import - base:test failed"):
        bootstrap_base(
            object(),
            tag="base:test",
            mirror="http://m",
            workdir=tmp_path,
            run=fake_debootstrap,
            docker_import=failing_import,
            euid=0,
        )


def test_bootstrap_base_as_a_user_says_it_needs_root_and_what_else() -> None:
    with pytest.raises(ImageError) as info:
        bootstrap_base(object(), mirror="http://m", euid=1000)
    message = str(info.value)
    assert "sudo harness image bootstrap-base" in message
    assert "apt-get install -y debootstrap" in message
    assert "--base-image python:3.11-slim" in message


def test_a_missing_debootstrap_names_its_package_not_the_engine_script() -> None:
    from harness.runtime.images import _run

    with pytest.raises(ImageError) as info:
        _run(["/nonexistent/debootstrap", "--variant=minbase"], "debootstrap bookworm")
    message = str(info.value)
    assert "apt-get install -y debootstrap" in message and "start-dockerd" not in message


def test_build_log_tail_keeps_the_end_of_the_streamed_output() -> None:
    import docker.errors

    from harness.runtime.images import build_log_tail

    error = docker.errors.BuildError(
        "boom", [{"stream": "Step 1/4\n"}, {"aux": {"ID": "x"}}, {"stream": "pip failed\n"}]
    )
    assert build_log_tail(error) == "Step 1/4\npip failed\n"
    assert build_log_tail(error, 7) == "failed\n"
