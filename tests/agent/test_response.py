"""build_response: expired timestamp, version-only hasUpdate, roots, products, expires,
predicates, client_configs lists all matches, cached-file diff (length + common hash)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.errors import ResponseError
from agent.response import CONFIG_STATUS_EXPIRED, NO_UPDATE, ResponseCache, build_response
from agent.store import Store
from rc_protocol.targets import file_meta
from rc_protocol.wire import TargetFileHash, TargetFileMeta
from tests.agent.conftest import APM_PATH, APM_RAW, FFE_PATH, FFE_RAW, T0, Catalogue, request

V = 1_700_000_000


def store_for(cat: Catalogue) -> Store:
    store = Store()
    store.apply(cat(None))  # type: ignore[arg-type]
    return store


def test_no_update_when_versions_equal_even_with_new_products() -> None:
    store = store_for(Catalogue())
    resp = build_response(
        store, request(1, ["FFE_FLAGS", "APM_TRACING"], targets_version=V), now_wall=T0,
        initialized=True,
    )  # fmt: skip
    assert resp.is_empty


def test_update_matches_products_and_sends_files() -> None:
    store = store_for(Catalogue())
    resp = build_response(store, request(1, ["FFE_FLAGS"]), now_wall=T0, initialized=True)
    assert resp.client_configs == [FFE_PATH]
    assert [(f.path, f.raw) for f in resp.target_files] == [(FFE_PATH, FFE_RAW)]
    assert resp.targets == store.targets_raw and resp.config_status == 0
    assert resp.roots == []


def test_cached_file_with_same_length_and_hash_is_not_resent() -> None:
    store = store_for(Catalogue())
    req = request(
        1, ["FFE_FLAGS", "APM_TRACING"], targets_version=V - 5, cached={FFE_PATH: FFE_RAW}
    )
    resp = build_response(store, req, now_wall=T0, initialized=True)
    assert resp.client_configs == [APM_PATH, FFE_PATH]  # all matched paths
    assert [f.path for f in resp.target_files] == [APM_PATH]  # only the changed one


@pytest.mark.parametrize(
    ("length_delta", "algorithm", "digest_ok"),
    [(1, "sha256", True), (0, "sha512", True), (0, "sha256", False)],
)
def test_cached_file_differing_is_resent(
    length_delta: int, algorithm: str, digest_ok: bool
) -> None:
    store = store_for(Catalogue())
    meta = file_meta(FFE_RAW, 3)
    cached = TargetFileMeta(
        path=FFE_PATH,
        length=meta.length + length_delta,
        hashes=[TargetFileHash(algorithm=algorithm, hash=meta.sha256 if digest_ok else "00" * 32)],
    )
    req = request(1, ["FFE_FLAGS"])
    req.cached_target_files = [cached]
    resp = build_response(store, req, now_wall=T0, initialized=True)
    assert [f.path for f in resp.target_files] == [FFE_PATH]


def test_non_hex_cached_hash_fails_the_request() -> None:
    store = store_for(Catalogue())
    req = request(1, ["FFE_FLAGS"])
    req.cached_target_files = [
        TargetFileMeta(
            path=FFE_PATH, length=3, hashes=[TargetFileHash(algorithm="sha256", hash="zz")]
        )
    ]
    with pytest.raises(ResponseError, match="decode hash"):
        build_response(store, req, now_wall=T0, initialized=True)


def test_expired_config_is_not_matched() -> None:
    cat = Catalogue()
    cat.metas[FFE_PATH] = file_meta(FFE_RAW, 3, expires=int(T0) - 1)
    cat.metas[APM_PATH] = file_meta(APM_RAW, 3, expires=int(T0) + 100)
    store = store_for(cat)
    resp = build_response(store, request(1, ["FFE_FLAGS", "APM_TRACING"]), now_wall=T0,
                          initialized=True)  # fmt: skip
    assert resp.client_configs == [APM_PATH]


def test_tracer_predicates_select_targets() -> None:
    cat = Catalogue()
    cat.metas[FFE_PATH] = file_meta(FFE_RAW, 3, tracer_predicates=[{"service": "other"}])
    cat.metas[APM_PATH] = file_meta(
        APM_RAW, 3, tracer_predicates=[{"language": "python", "tracerVersion": ">=4.0"}]
    )
    store = store_for(cat)
    resp = build_response(store, request(1, ["FFE_FLAGS", "APM_TRACING"]), now_wall=T0,
                          initialized=True)  # fmt: skip
    assert resp.client_configs == [APM_PATH]


def test_roots_newer_than_the_clients() -> None:
    store = store_for(Catalogue(roots=(2, 3)))
    resp = build_response(store, request(1), now_wall=T0, initialized=True)
    assert len(resp.roots) == 2
    req = request(1)
    assert req.client is not None and req.client.state is not None
    req.client.state.root_version = 2
    assert len(build_response(store, req, now_wall=T0, initialized=True).roots) == 1


def test_expired_director_timestamp_flushes_only_after_the_first_update() -> None:
    cat = Catalogue(timestamp_expires=datetime.fromtimestamp(T0 - 10, UTC))
    store = store_for(cat)
    resp = build_response(store, request(1, targets_version=V), now_wall=T0, initialized=True)
    assert resp.config_status == CONFIG_STATUS_EXPIRED
    assert resp.targets == store.targets_raw and not resp.target_files
    early = build_response(store, request(1, targets_version=V), now_wall=T0, initialized=False)
    assert early.is_empty


# ---- ResponseCache: the encoded answers -------------------------------------------------------


def test_cache_answers_the_bytes_build_response_gives_and_reuses_them() -> None:
    store = store_for(Catalogue())
    cache = ResponseCache()
    first = cache.respond(store, request(1), now_wall=T0, initialized=True)
    second = cache.respond(store, request(2), now_wall=T0, initialized=True)
    built = build_response(store, request(1), now_wall=T0, initialized=True)
    assert first.body == built.to_json_bytes() and first.outcome == "update"
    assert second is first and (cache.hits, cache.misses) == (1, 1)


def test_cache_keys_on_products_cached_files_and_the_store_generation() -> None:
    cat = Catalogue()
    store = store_for(cat)
    cache = ResponseCache()
    ffe = cache.respond(store, request(1, ["FFE_FLAGS"]), now_wall=T0, initialized=True)
    both = cache.respond(store, request(1, ["FFE_FLAGS", "APM_TRACING"]), now_wall=T0,
                         initialized=True)  # fmt: skip
    cached = cache.respond(store, request(1, cached={FFE_PATH: FFE_RAW}), now_wall=T0,
                           initialized=True)  # fmt: skip
    assert both.response.client_configs == [APM_PATH, FFE_PATH]
    assert cached.response.target_files == [] and cached.response.client_configs == [FFE_PATH]
    assert ffe.response.target_files != [] and cache.misses == 3
    cat.files[FFE_PATH] = FFE_RAW.replace(b'"t"', b'"u"')
    cat.version += 1
    store.apply(cat(None))  # type: ignore[arg-type]
    after = cache.respond(store, request(1, ["FFE_FLAGS"]), now_wall=T0, initialized=True)
    assert after.response.target_files[0].raw == cat.files[FFE_PATH] and cache.misses == 4


def test_cache_never_holds_answers_that_depend_on_the_client_or_the_time() -> None:
    cat = Catalogue()
    cat.metas[FFE_PATH] = file_meta(FFE_RAW, 3, tracer_predicates=[{"service": "svc"}])
    store = store_for(cat)
    cache = ResponseCache()
    mine = cache.respond(store, request(1), now_wall=T0, initialized=True)
    other = cache.respond(store, request(2, service="other"), now_wall=T0, initialized=True)
    assert mine.response.target_files and not other.response.target_files
    assert (cache.hits, cache.misses) == (0, 0)


def test_cache_answers_no_update_and_expiry_without_an_entry() -> None:
    cat = Catalogue(timestamp_expires=datetime.fromtimestamp(T0 - 1, UTC))
    store = store_for(cat)
    cache = ResponseCache()
    expired = cache.respond(store, request(1), now_wall=T0, initialized=True)
    assert expired.outcome == "config_expired"
    current = cache.respond(store, request(1, targets_version=V), now_wall=T0, initialized=False)
    assert current is NO_UPDATE and current.body == b"{}" and current.outcome == "no_update"
    assert (cache.hits, cache.misses) == (0, 0)
