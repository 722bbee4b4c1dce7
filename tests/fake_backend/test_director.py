from __future__ import annotations

import base64
import json

from fake_backend.catalogue import Catalogue
from fake_backend.director import Director, next_version

T0 = 1_700_000_000.0


def director(refresh: int | None = None) -> Director:
    return Director(agent_refresh_interval_s=refresh, expires_s=3600)


def test_next_version_is_epoch_seconds_and_strictly_increasing() -> None:
    assert next_version(T0 + 0.9, 0) == int(T0)
    assert next_version(T0 + 0.9, int(T0)) == int(T0) + 1
    assert next_version(T0 + 10, int(T0) + 1) == int(T0) + 10


def test_same_content_keeps_version(catalogue: Catalogue) -> None:
    d = director()
    entries = catalogue.entries(["FFE_FLAGS"])
    first = d.targets_for("agent", entries, T0)
    again = d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0 + 30)
    assert first.version == again.version == int(T0)
    assert again.raw == first.raw


def test_changes_within_one_second_never_reuse_a_version(catalogue: Catalogue) -> None:
    d = director()
    versions = [d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0).version]
    for i in range(3):
        catalogue.bump("FFE_FLAGS")
        versions.append(
            d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0 + 0.1 * i).version
        )
    assert versions == [int(T0), int(T0) + 1, int(T0) + 2, int(T0) + 3]
    catalogue.bump("FFE_FLAGS")
    later = d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0 + 60).version
    assert later == int(T0) + 60
    assert d.latest_version == later


def test_changes_between_calls_are_coalesced(catalogue: Catalogue) -> None:
    d = director()
    d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0)
    for _ in range(5):
        catalogue.bump("FFE_FLAGS")
    assert d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0 + 2).version == int(T0) + 2


def test_new_product_with_configs_gives_a_new_version(catalogue: Catalogue) -> None:
    d = director()
    before = d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0)
    after = d.targets_for("agent", catalogue.entries(["FFE_FLAGS", "ASM_DATA"]), T0 + 0.5)
    assert after.version == before.version + 1
    assert after.paths == (
        "datadog/2/ASM_DATA/rc-fastlane-asm-data/config",
        "datadog/2/FFE_FLAGS/rc-fastlane-flags/config",
    )


def test_new_product_without_configs_keeps_the_version(catalogue: Catalogue) -> None:
    d = director()
    before = d.targets_for("agent", catalogue.entries(["FFE_FLAGS"]), T0)
    after = d.targets_for("agent", catalogue.entries(["FFE_FLAGS", "LIVE_DEBUGGING"]), T0 + 5)
    assert after.version == before.version


def test_versions_are_per_agent_but_globally_increasing(catalogue: Catalogue) -> None:
    d = director()
    a = d.targets_for("a", catalogue.entries(["FFE_FLAGS"]), T0)
    b = d.targets_for("b", catalogue.entries(["FFE_FLAGS", "APM_TRACING"]), T0)
    a_again = d.targets_for("a", catalogue.entries(["FFE_FLAGS"]), T0 + 1)
    assert (a.version, b.version, a_again.version) == (int(T0), int(T0) + 1, int(T0))
    assert d.current("b") == b
    assert d.current("c") is None


def test_signed_custom_fields(catalogue: Catalogue) -> None:
    plain = json.loads(director().targets_for("x", catalogue.entries(["FFE_FLAGS"]), T0).raw)
    custom = plain["signed"]["custom"]
    assert "agent_refresh_interval" not in custom
    state = json.loads(base64.b64decode(custom["opaque_backend_state"]))
    assert state == {"products": ["FFE_FLAGS"], "version": int(T0)}
    with_refresh = json.loads(
        director(refresh=5).targets_for("x", catalogue.entries(["FFE_FLAGS"]), T0).raw
    )
    assert with_refresh["signed"]["custom"]["agent_refresh_interval"] == 5
    assert with_refresh["signed"]["version"] == int(T0)
    target = with_refresh["signed"]["targets"]["datadog/2/FFE_FLAGS/rc-fastlane-flags/config"]
    assert target["custom"]["v"] == 1
