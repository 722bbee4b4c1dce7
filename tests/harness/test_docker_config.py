"""How a run's network and containers are configured (harness.runtime.docker_config): isolation,
limits sized to what a container hosts, and where the harness reaches it."""

from __future__ import annotations

import pytest

from harness.errors import RuntimeErrorBase
from harness.runtime.base import ComponentSpec
from harness.runtime.docker_config import (
    choose_network,
    container_options,
    host_url_from_attrs,
    limits_for,
    network_options,
)

MIB = 1024 * 1024


def spec(role: str = "tracer", tracers: int = 0) -> ComponentSpec:
    return ComponentSpec(f"{role}-x", role, "tracer_stub", {"A": "1"}, tracers=tracers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requested", "base_url", "system", "platform", "chosen"),
    [
        ("auto", "http+docker://localhost", "Debian GNU/Linux 12 (bookworm)", "linux", "internal"),
        ("auto", "http+docker://localhost", "Docker Desktop", "linux", "published"),
        ("auto", "http+docker://localhost", "Docker Desktop", "darwin", "published"),
        ("auto", "tcp://10.0.0.5:2376", "Ubuntu 24.04", "linux", "published"),
        ("published", "http+docker://localhost", "Debian", "linux", "published"),
        ("internal", "tcp://10.0.0.5:2376", "Ubuntu", "linux", "internal"),
    ],
)
def test_the_network_is_internal_where_the_host_can_route_to_it(
    requested: str, base_url: str, system: str, platform: str, chosen: str
) -> None:
    assert (
        choose_network(requested, base_url=base_url, operating_system=system, platform=platform)
        == chosen
    )


def test_an_unknown_network_mode_names_the_variable() -> None:
    with pytest.raises(RuntimeErrorBase, match="HARNESS_DOCKER_NETWORK='bridge'"):
        choose_network("bridge", base_url="", operating_system="")


def test_every_container_drops_privileges_and_has_limits() -> None:
    options = container_options(
        spec("tracer", tracers=25),
        image="img",
        name="rcfl-r-tracers-000",
        network="rcfl-r",
        mode="internal",
        labels={"harness.run_id": "r"},
    )
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges:true"]
    assert options["pids_limit"] == 64 + 50 and options["mem_limit"] == 256 * MIB + 25 * MIB
    assert options["dns"] == ["127.0.0.1"] and options["network"] == "rcfl-r"
    assert "ports" not in options, "nothing is published on an internal network"


def test_published_mode_publishes_the_one_port_on_loopback_only() -> None:
    options = container_options(
        spec("agent"), image="i", name="n", network="w", mode="published", labels={}
    )
    assert options["ports"] == {"8000/tcp": ("127.0.0.1", None)}
    assert options["mem_limit"] == limits_for(spec("agent")).memory_bytes


def test_limits_grow_with_the_tracers_hosted_and_can_be_overridden() -> None:
    assert limits_for(spec("tracer", 1000)).pids == 2064
    assert limits_for(spec("backend")).pids == 512
    options = container_options(
        spec("tracer", 1), image="i", name="n", network="w", mode="internal", labels={},
        mem_limit="10m",
    )  # fmt: skip
    assert options["mem_limit"] == "10m"


def test_the_network_is_internal_in_internal_mode_only() -> None:
    assert network_options("rcfl-r", "internal", {"a": "b"})["internal"] is True
    assert network_options("rcfl-r", "published", {})["internal"] is False


def test_the_harness_reaches_a_container_at_its_address_or_its_published_port() -> None:
    attrs = {
        "NetworkSettings": {
            "Networks": {"rcfl-r": {"IPAddress": "172.20.0.5"}},
            "Ports": {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]},
        }
    }
    assert host_url_from_attrs(attrs, "internal", "rcfl-r") == "http://172.20.0.5:8000"
    assert host_url_from_attrs(attrs, "published", "rcfl-r") == "http://127.0.0.1:49153"
    assert host_url_from_attrs({}, "internal", "rcfl-r") is None
