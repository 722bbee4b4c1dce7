from __future__ import annotations

import hashlib
import json

from fake_backend.catalogue import Catalogue
from fake_backend.configurations import agent_key, answer_configurations, select_target_files
from fake_backend.director import Director
from fake_backend.settings import Settings
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import parse_signed_targets
from rc_protocol.tuf import verify_signatures

T0 = 1_700_000_000.0


def ask(
    catalogue: Catalogue,
    director: Director,
    settings: Settings | None = None,
    now: float = T0,
    **fields: object,
) -> pb.LatestConfigsResponse:
    request = pb.LatestConfigsRequest(hostname="host", agent_uuid="uuid-1", **fields)
    return answer_configurations(request, catalogue, director, settings or Settings(), now=now)


def make_director() -> Director:
    return Director(agent_refresh_interval_s=None, expires_s=3600)


def targets_of(response: pb.LatestConfigsResponse) -> dict[str, dict[str, object]]:
    signed = json.loads(response.director_metas.targets.raw)
    return signed["signed"]["targets"]  # type: ignore[no-any-return]


def test_lists_only_reported_products_and_files_match_metadata(catalogue: Catalogue) -> None:
    response = ask(catalogue, make_director(), new_products=["FFE_FLAGS", "APM_TRACING"])
    targets = targets_of(response)
    assert sorted(p.split("/")[2] for p in targets) == ["APM_TRACING", "FFE_FLAGS"]
    files = {f.path: f.raw for f in response.target_files}
    assert set(files) == set(targets)
    for path, raw in files.items():
        meta = targets[path]
        assert meta["length"] == len(raw)
        assert meta["hashes"] == {"sha256": hashlib.sha256(raw).hexdigest()}
    assert response.director_metas.targets.version == int(T0)


def test_roots_only_below_version_1(catalogue: Catalogue) -> None:
    d = make_director()
    first = ask(catalogue, d, products=["FFE_FLAGS"])
    assert [r.version for r in first.director_metas.roots] == [1]
    assert [r.version for r in first.config_metas.roots] == [1]
    later = ask(
        catalogue,
        d,
        products=["FFE_FLAGS"],
        current_director_root_version=1,
        current_config_root_version=1,
    )
    assert len(later.director_metas.roots) == 0
    assert len(later.config_metas.roots) == 0


def test_config_metas_carry_the_snapshot_version(catalogue: Catalogue) -> None:
    catalogue.bump("ASM_DATA")
    response = ask(catalogue, make_director(), products=["FFE_FLAGS"])
    assert response.config_metas.snapshot.version == 2
    assert response.config_metas.timestamp.version == 2
    top = json.loads(response.config_metas.topTargets.raw)
    assert len(top["signed"]["targets"]) == 3  # the config repo lists the whole org


def test_changed_mode_sends_new_products_and_changes_since_snapshot(
    catalogue: Catalogue,
) -> None:
    d = make_director()
    first = ask(catalogue, d, new_products=["FFE_FLAGS"])
    assert [f.path.split("/")[2] for f in first.target_files] == ["FFE_FLAGS"]
    snapshot = first.config_metas.snapshot.version
    # nothing changed: targets listed, no file
    steady = ask(catalogue, d, products=["FFE_FLAGS"], current_config_snapshot_version=snapshot)
    assert len(steady.target_files) == 0
    assert steady.director_metas.targets.version == first.director_metas.targets.version
    # a new product: its files, and a new targets version
    grown = ask(
        catalogue,
        d,
        now=T0 + 5,
        products=["FFE_FLAGS"],
        new_products=["APM_TRACING"],
        current_config_snapshot_version=snapshot,
    )
    assert [f.path.split("/")[2] for f in grown.target_files] == ["APM_TRACING"]
    assert grown.director_metas.targets.version == int(T0) + 5
    # a change to a listed config: that file only
    catalogue.bump("FFE_FLAGS")
    changed = ask(
        catalogue,
        d,
        now=T0 + 6,
        products=["FFE_FLAGS", "APM_TRACING"],
        current_config_snapshot_version=snapshot,
    )
    assert [f.path.split("/")[2] for f in changed.target_files] == ["FFE_FLAGS"]
    assert changed.director_metas.targets.version == int(T0) + 6


def test_all_mode_sends_every_requested_file(catalogue: Catalogue) -> None:
    settings = Settings(target_files="all")
    response = ask(
        catalogue,
        make_director(),
        settings,
        products=["FFE_FLAGS", "ASM_DATA"],
        current_config_snapshot_version=1,
    )
    assert len(response.target_files) == 2


def test_select_target_files_sends_all_when_snapshot_unknown_or_ahead(
    catalogue: Catalogue,
) -> None:
    entries = catalogue.entries()
    for current in (0, 99):
        chosen = select_target_files(
            entries, new_products=[], current_snapshot=current, latest_snapshot=1, mode="changed"
        )
        assert chosen == entries
    assert (
        select_target_files(
            entries, new_products=[], current_snapshot=1, latest_snapshot=1, mode="changed"
        )
        == []
    )


def test_agent_key_prefers_uuid() -> None:
    assert agent_key(pb.LatestConfigsRequest(hostname="h", agent_uuid="u")) == "u"
    assert agent_key(pb.LatestConfigsRequest(hostname="h")) == "h"


def test_metadata_is_what_strict_clients_accept(catalogue: Catalogue) -> None:
    response = ask(catalogue, make_director(), new_products=["FFE_FLAGS"])
    director = response.director_metas
    parsed = parse_signed_targets(director.targets.raw)
    assert parsed.version == director.targets.version
    assert parsed.expires.timestamp() == T0 + 3600
    for raw in (
        director.targets.raw,
        director.snapshot.raw,
        director.timestamp.raw,
        director.roots[0].raw,
        response.config_metas.topTargets.raw,
    ):
        assert verify_signatures(raw)
    snapshot = json.loads(director.snapshot.raw)["signed"]
    timestamp = json.loads(director.timestamp.raw)["signed"]
    assert snapshot["meta"]["targets.json"]["version"] == director.targets.version
    assert timestamp["meta"]["snapshot.json"]["version"] == director.snapshot.version
    assert timestamp["meta"]["snapshot.json"]["hashes"]["sha256"] == (
        hashlib.sha256(director.snapshot.raw).hexdigest()
    )
