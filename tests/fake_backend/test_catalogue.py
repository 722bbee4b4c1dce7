from __future__ import annotations

import hashlib

import pytest

from fake_backend.catalogue import Catalogue
from fake_backend.errors import CatalogueError
from fake_backend.payloads import default_builders


def test_defaults_one_config_per_product_at_snapshot_1(catalogue: Catalogue) -> None:
    assert catalogue.snapshot_version == 1
    paths = [str(e.path) for e in catalogue.entries()]
    assert paths == [
        "datadog/2/APM_TRACING/rc-fastlane-apm-tracing/config",
        "datadog/2/ASM_DATA/rc-fastlane-asm-data/config",
        "datadog/2/FFE_FLAGS/rc-fastlane-flags/config",
    ]
    for entry in catalogue.entries():
        assert (entry.version, entry.snapshot) == (1, 1)
        assert entry.meta.length == len(entry.raw)
        assert entry.meta.sha256 == hashlib.sha256(entry.raw).hexdigest()


def test_entries_filters_by_product(catalogue: Catalogue) -> None:
    assert [e.product for e in catalogue.entries(["FFE_FLAGS", "LIVE_DEBUGGING"])] == ["FFE_FLAGS"]
    assert catalogue.entries([]) == []


def test_bump_builtin_changes_bytes_version_and_snapshot(catalogue: Catalogue) -> None:
    before = catalogue.entries(["FFE_FLAGS"])[0]
    after = catalogue.bump("FFE_FLAGS")
    assert after.path == before.path
    assert (after.version, after.snapshot) == (2, 2)
    assert after.raw != before.raw
    assert after.meta.version == 2
    assert catalogue.snapshot_version == 2
    # other configs keep their snapshot
    assert catalogue.entries(["ASM_DATA"])[0].snapshot == 1


def test_put_custom_payload_then_bump_keeps_bytes(catalogue: Catalogue) -> None:
    put = catalogue.put("APM_TRACING", b'{"x":1}')
    assert (put.version, put.revision, put.raw) == (2, None, b'{"x":1}')
    bumped = catalogue.bump("APM_TRACING")
    assert (bumped.version, bumped.raw, bumped.snapshot) == (3, b'{"x":1}', 3)
    assert bumped.meta.version == 3


def test_new_product_and_new_config_id() -> None:
    builders = default_builders("f", "prod", 1024)
    catalogue = Catalogue.with_defaults(2, ["FFE_FLAGS"], builders)
    created = catalogue.bump("APM_TRACING")
    assert (created.version, created.snapshot) == (1, 2)
    second = catalogue.put("FFE_FLAGS", b"{}", config_id="second")
    assert str(second.path) == "datadog/2/FFE_FLAGS/second/config"
    assert catalogue.products() == ["APM_TRACING", "FFE_FLAGS"]
    # default config id is the product's first config
    assert catalogue.bump("FFE_FLAGS").config_id == "rc-fastlane-flags"


def test_errors_name_the_product() -> None:
    builders = default_builders("f", "prod", 1024)
    with pytest.raises(CatalogueError, match="NOPE"):
        Catalogue.with_defaults(2, ["NOPE"], builders)
    catalogue = Catalogue.with_defaults(2, ["FFE_FLAGS"], builders)
    with pytest.raises(CatalogueError, match="LIVE_DEBUGGING has no built-in payload"):
        catalogue.bump("LIVE_DEBUGGING")
    with pytest.raises(CatalogueError, match="config id"):
        catalogue.put("FFE_FLAGS", b"{}", config_id="a/b")
    with pytest.raises(CatalogueError, match="NOPE"):
        catalogue.bump("NOPE")
    # a refused change leaves the catalogue as it was: no snapshot move, no new entry
    assert catalogue.snapshot_version == 1
    assert catalogue.products() == ["FFE_FLAGS"]
    # a custom payload is fine for any known product
    assert catalogue.put("LIVE_DEBUGGING", b"{}").version == 1
