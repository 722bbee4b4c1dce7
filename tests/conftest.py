"""Shared test set-up: the ``docker`` marker.

Tests marked ``docker`` need a Docker engine. They skip when none answers, unless
``HARNESS_REQUIRE_DOCKER`` is set (CI sets it): then they fail with a clear message, so that
Docker tests can never skip silently where an engine is expected.
"""

from __future__ import annotations

import functools
import os

import pytest


@functools.cache
def _docker_engine_answers() -> bool:
    from harness.runtime.docker import engine_answers

    return engine_answers()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None or _docker_engine_answers():
        return
    if os.environ.get("HARNESS_REQUIRE_DOCKER"):
        pytest.fail(
            "HARNESS_REQUIRE_DOCKER is set but no Docker engine answers: start one with "
            "compose/start-dockerd.sh (as root)",
            pytrace=False,
        )
    pytest.skip("no Docker engine answers (compose/start-dockerd.sh starts one)")


@pytest.fixture(scope="session")
def harness_image() -> str:
    """The harness image tag (``HARNESS_IMAGE``, default rc-fastlane:dev), present in the engine.

    Missing: skip, or fail when ``HARNESS_REQUIRE_DOCKER`` is set, naming the build command.
    """
    from harness.runtime.docker import connect
    from harness.runtime.images import DEFAULT_IMAGE, build_command

    tag = os.environ.get("HARNESS_IMAGE", DEFAULT_IMAGE)
    client = connect()
    try:
        client.images.get(tag)
    except Exception:
        message = f"image {tag} not found: build it with `{build_command(tag)}`"
        if os.environ.get("HARNESS_REQUIRE_DOCKER"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        client.close()
    return tag
