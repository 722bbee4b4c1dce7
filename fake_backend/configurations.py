"""`POST /api/v0.1/configurations`: a `LatestConfigsRequest` in, a `LatestConfigsResponse` out.

Pure: the app decodes the body and passes the wall time; nothing here does I/O.

Response, field by field:

- `director_metas.targets`: the director targets signed for this agent (`fake_backend.director`:
  configs of `products` + `new_products`, version rules, the new-product decision);
  `director_metas.timestamp` / `snapshot`: TUF documents pointing at that version;
  `director_metas.roots`: the director root v1 when the agent's
  `current_director_root_version` is below 1.
- `config_metas`: the config repository, whose snapshot version is the catalogue's
  `snapshot_version` (moves on each config change): `roots` (v1, when the agent's
  `current_config_root_version` is below 1), `timestamp`, `snapshot` and `top_targets` listing
  every config of the org.
- `target_files` (decision, setting `target_files`):
  - `changed` (default): every file of a product in `new_products`, plus every file of the
    requested products that changed after the agent's `current_config_snapshot_version`
    (all of them when that is 0, or ahead of ours, e.g. after a backend restart). The backend's
    code is not public, so this is inferred from the agent side, which is built for an
    incremental answer: it reports its config snapshot version and its new products
    (`buildLatestConfigsRequest`), keeps the files it received in its target store across
    updates and only prunes those no longer in the director targets (datadog-agent
    `pkg/config/remote/uptane/client.go` `Update` → `storeTargetFiles`, `pruneTargetFiles`).
    The difference matters for payload size only (a 300 KiB ASM_DATA is not re-sent on each
    refresh), not for which configs the agent ends up holding.
  - `all`: every file of the requested products on every call (simplest, heaviest).

`top_targets` is named `topTargets` in the proto, as in datadog-agent's `remoteconfig.proto`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fake_backend.catalogue import Catalogue, ConfigEntry
from fake_backend.corrupt import bad_signature, has_ffe, wrong_hashes
from fake_backend.director import Director, SignedTargets
from fake_backend.settings import Settings
from rc_protocol.proto import remoteconfig_pb2 as pb
from rc_protocol.targets import build_signed_targets
from rc_protocol.tuf import build_root, build_snapshot, build_timestamp

ROOT_VERSION = 1


def agent_key(request: pb.LatestConfigsRequest) -> str:
    """Which agent a request comes from: `agent_uuid`, else `hostname` (may be empty)."""
    return str(request.agent_uuid or request.hostname)


def select_target_files(
    entries: Sequence[ConfigEntry],
    *,
    new_products: Iterable[str],
    current_snapshot: int,
    latest_snapshot: int,
    mode: str,
) -> list[ConfigEntry]:
    """The files to send (see the module docstring for the `changed` and `all` modes)."""
    if mode == "all" or current_snapshot <= 0 or current_snapshot > latest_snapshot:
        return list(entries)
    fresh = set(new_products)
    return [e for e in entries if e.product in fresh or e.snapshot > current_snapshot]


def answer_configurations(
    request: pb.LatestConfigsRequest,
    catalogue: Catalogue,
    director: Director,
    settings: Settings,
    *,
    now: float,
    corruption: str | None = None,
    refresh_interval_s: int | None = None,
) -> pb.LatestConfigsResponse:
    """The backend's answer to `request` at wall time `now`; with ``corruption`` (`hash` or
    `signature`, a `bad_payload` window) its FFE_FLAGS target is corrupt (`fake_backend.corrupt`;
    `ufc` is a catalogue change, made before this is called); `refresh_interval_s`: an
    ``agent_refresh_interval`` replacing the configured one, see `fake_backend.capacity`."""
    reported = set(request.products) | set(request.new_products)
    entries = catalogue.entries(reported)
    signed_entries = wrong_hashes(entries) if corruption == "hash" else entries
    signed = director.targets_for(agent_key(request), signed_entries, now, refresh_interval_s)
    if corruption == "signature" and has_ffe(entries):
        signed = bad_signature(signed)
    files = select_target_files(
        entries,
        new_products=request.new_products,
        current_snapshot=request.current_config_snapshot_version,
        latest_snapshot=catalogue.snapshot_version,
        mode=settings.target_files,
    )
    response = pb.LatestConfigsResponse()
    _director_metas(response.director_metas, request, signed)
    _config_metas(response.config_metas, request, catalogue, signed.expires)
    response.target_files.extend(pb.File(path=str(e.path), raw=e.raw) for e in files)
    return response


def _director_metas(
    metas: pb.DirectorMetas, request: pb.LatestConfigsRequest, signed: SignedTargets
) -> None:
    if request.current_director_root_version < ROOT_VERSION:
        metas.roots.append(pb.TopMeta(version=ROOT_VERSION, raw=build_root(ROOT_VERSION)))
    _timestamp_and_snapshot(metas, signed.version, signed.expires)
    metas.targets.CopyFrom(pb.TopMeta(version=signed.version, raw=signed.raw))


def _config_metas(
    metas: pb.ConfigMetas,
    request: pb.LatestConfigsRequest,
    catalogue: Catalogue,
    expires: int,
) -> None:
    version = catalogue.snapshot_version
    if request.current_config_root_version < ROOT_VERSION:
        metas.roots.append(pb.TopMeta(version=ROOT_VERSION, raw=build_root(ROOT_VERSION)))
    _timestamp_and_snapshot(metas, version, expires)
    all_targets = {str(e.path): e.meta for e in catalogue.entries()}
    metas.topTargets.CopyFrom(
        pb.TopMeta(
            version=version,
            raw=build_signed_targets(all_targets, version=version, expires=expires),
        )
    )


def _timestamp_and_snapshot(
    metas: pb.DirectorMetas | pb.ConfigMetas, version: int, expires: int
) -> None:
    # TUF moves timestamp, snapshot and targets versions together in these repos (the proto's
    # comment on current_config_snapshot_version: "timestamp and snapshot versions move in
    # tandem").
    snapshot = build_snapshot(version, expires)
    metas.snapshot.CopyFrom(pb.TopMeta(version=version, raw=snapshot))
    timestamp = build_timestamp(version, expires, snapshot=snapshot)
    metas.timestamp.CopyFrom(pb.TopMeta(version=version, raw=timestamp))
