"""Store.apply: verification of target files against the targets metadata, atomicity."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import StoreError
from agent.store import Store
from rc_protocol.cjson import canonical_json
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import build_signed_targets
from rc_protocol.tuf import build_root
from tests.agent.conftest import APM_PATH, FFE_PATH, FFE_RAW, Catalogue


def respond(cat: Catalogue) -> pb.LatestConfigsResponse:
    return cat(pb.LatestConfigsRequest())


def test_apply_stores_targets_files_and_custom() -> None:
    store = Store()
    store.apply(respond(Catalogue(agent_refresh_interval=5)))
    assert store.targets_version == 1_700_000_000
    assert store.files[FFE_PATH] == FFE_RAW
    assert store.opaque_backend_state == b'{"v": 1700000000}'
    assert store.agent_refresh_interval_s == 5
    assert store.versions(first_update=True).director_targets == 0
    assert store.versions(first_update=False).director_targets == 1_700_000_000


def test_sha256_mismatch_rejects_the_whole_update() -> None:
    store = Store()
    store.apply(respond(Catalogue()))
    bad = Catalogue(version=1_700_000_100, corrupt=FFE_PATH)
    with pytest.raises(StoreError, match="target file"):
        store.apply(respond(bad))
    assert store.targets_version == 1_700_000_000  # unchanged


def test_missing_file_is_taken_from_the_store_or_rejected() -> None:
    store = Store()
    store.apply(respond(Catalogue()))
    update = respond(Catalogue(version=1_700_000_100))
    kept = [f for f in update.target_files if f.path != APM_PATH]
    del update.target_files[:]
    update.target_files.extend(kept)
    store.apply(update)  # APM file unchanged and already stored: fine
    assert store.targets_version == 1_700_000_100
    fresh = Store()
    with pytest.raises(StoreError, match="not found"):
        fresh.apply(update)


def test_targets_version_cannot_go_backwards() -> None:
    store = Store()
    store.apply(respond(Catalogue(version=1_700_000_100)))
    with pytest.raises(StoreError, match="backwards"):
        store.apply(respond(Catalogue(version=1_700_000_000)))


def test_roots_are_stored_by_version() -> None:
    store = Store()
    store.apply(respond(Catalogue(roots=(2, 3))))
    assert store.director_root_version == 3
    assert len(store.roots_after(1)) == 2


@pytest.mark.parametrize("version", ['"two"', "{}", "2.5", "true"])
def test_root_with_a_non_integer_version_rejects_the_update(version: str) -> None:
    store = Store()
    update = respond(Catalogue())
    raw = ('{"signed": {"_type": "root", "version": ' + version + "}}").encode()
    update.director_metas.roots.append(pb.TopMeta(version=0, raw=raw))
    with pytest.raises(StoreError, match=r"director root: signed\.version must be an integer"):
        store.apply(update)
    assert store.targets_version == 0 and store.director_root_version == 1  # nothing applied


def test_targets_whose_signature_does_not_verify_are_rejected() -> None:
    store = Store()
    store.apply(respond(Catalogue()))
    update = respond(Catalogue(version=1_700_000_100))
    doc = json.loads(update.director_metas.targets.raw)
    doc["signatures"][0]["sig"] = "00" * 64
    update.director_metas.targets.raw = canonical_json(doc)
    with pytest.raises(StoreError, match="signatures do not verify with director root version 1"):
        store.apply(update)
    assert store.targets_version == 1_700_000_000  # unchanged


def test_targets_verify_against_the_keys_of_the_latest_director_root() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    cat = Catalogue()
    signed = build_signed_targets(
        {p: cat.meta(p) for p in cat.files}, version=1_700_000_000, key=other
    )
    response = respond(cat)
    response.director_metas.targets.raw = signed
    with pytest.raises(StoreError, match="do not verify"):  # the embedded root's key is not it
        Store().apply(response)
    response.director_metas.roots.append(pb.TopMeta(version=2, raw=build_root(2, key=other)))
    store = Store()
    store.apply(response)  # root v2 names the other key for the targets role
    assert store.director_root_version == 2 and store.targets_version == 1_700_000_000
