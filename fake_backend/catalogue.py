"""The catalogue: the configs the backend holds, per product, with versions.

Each config lives at `datadog/<org_id>/<PRODUCT>/<config_id>/config` and carries:

- `version`: the config's own version (`custom.v` in targets metadata), 1 at creation, + 1 on
  each change;
- `snapshot`: the config repository snapshot version at which it last changed. The catalogue's
  `snapshot_version` is the config repo's snapshot version (what the real agent echoes as
  `current_config_snapshot_version`, datadog-agent `buildLatestConfigsRequest` in
  `pkg/config/remote/service/util.go`); every change moves it by one, so the backend can send
  only the files changed since the agent's snapshot.

A change is either a new payload (`put`) or a `bump`: with a built-in payload builder the
revision moves and the bytes change (new hash, so tracers re-download it); for a custom payload
the bytes stay and only `custom.v` moves (new targets version, same file).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from fake_backend.errors import CatalogueError
from fake_backend.payloads import DEFAULT_CONFIG_IDS, PayloadBuilder
from rc_protocol.paths import ConfigPath
from rc_protocol.products import Product
from rc_protocol.targets import TargetMeta, file_meta


@dataclass(frozen=True)
class ConfigEntry:
    """One config of the catalogue, with its precomputed targets metadata."""

    path: ConfigPath
    raw: bytes
    version: int
    snapshot: int
    revision: int | None
    """Payload-builder revision; None for a payload set through the admin API."""
    meta: TargetMeta

    @property
    def product(self) -> str:
        """The product segment of the path."""
        return self.path.product

    @property
    def config_id(self) -> str:
        """The config id segment of the path."""
        return self.path.config_id


class Catalogue:
    """Configs per product. Mutable through `put` / `bump`; readers get immutable entries."""

    def __init__(self, org_id: int, builders: Mapping[str, PayloadBuilder]) -> None:
        self.org_id = org_id
        self._builders = dict(builders)
        self._entries: dict[str, dict[str, ConfigEntry]] = {}
        self.snapshot_version = 0

    @classmethod
    def with_defaults(
        cls, org_id: int, products: Iterable[str], builders: Mapping[str, PayloadBuilder]
    ) -> Catalogue:
        """One default config per product in `products`, all at snapshot version 1.

        Raises `CatalogueError` for a product without a built-in payload.
        """
        catalogue = cls(org_id, builders)
        catalogue.snapshot_version = 1
        for product in products:
            catalogue._check_buildable(product)
            entry = catalogue._entry(product, DEFAULT_CONFIG_IDS[product], None, 1, 0, snapshot=1)
            catalogue._entries.setdefault(product, {})[entry.config_id] = entry
        return catalogue

    def products(self) -> list[str]:
        """Products that have at least one config, sorted."""
        return sorted(p for p, configs in self._entries.items() if configs)

    def entries(self, products: Iterable[str] | None = None) -> list[ConfigEntry]:
        """Configs of `products` (all when None), sorted by path."""
        wanted = set(self._entries) if products is None else set(products)
        found = [e for p in wanted for e in self._entries.get(p, {}).values()]
        return sorted(found, key=lambda e: str(e.path))

    def put(self, product: str, raw: bytes, config_id: str | None = None) -> ConfigEntry:
        """Set the payload of `product`'s config `config_id` (created when missing)."""
        self._check_product(product)
        config_id = config_id or self._default_config_id(product)
        previous = self._entries.get(product, {}).get(config_id)
        version = 1 if previous is None else previous.version + 1
        entry = self._entry(product, config_id, raw, version, None)
        self._store(entry)
        return entry

    def bump(self, product: str, config_id: str | None = None) -> ConfigEntry:
        """A new version of `product`'s config (created from the built-in payload if missing)."""
        self._check_product(product)
        config_id = config_id or self._default_config_id(product)
        previous = self._entries.get(product, {}).get(config_id)
        if previous is None:
            self._check_buildable(product)
            entry = self._entry(product, config_id, None, 1, 0)
        elif previous.revision is None:
            entry = replace(
                previous,
                version=previous.version + 1,
                snapshot=self.snapshot_version + 1,
                meta=file_meta(previous.raw, previous.version + 1),
            )
        else:
            entry = self._entry(
                product, config_id, None, previous.version + 1, previous.revision + 1
            )
        self._store(entry)
        return entry

    def describe(self) -> list[dict[str, object]]:
        """JSON-able view for `/admin/state`."""
        return [
            {
                "path": str(e.path),
                "product": e.product,
                "length": e.meta.length,
                "sha256": e.meta.sha256,
                "version": e.version,
                "snapshot": e.snapshot,
                "revision": e.revision,
            }
            for e in self.entries()
        ]

    def _store(self, entry: ConfigEntry) -> None:
        """Commit a change built by `put`/`bump`: only now does the snapshot version move, so a
        change that failed validation leaves the catalogue exactly as it was."""
        self.snapshot_version = entry.snapshot
        self._entries.setdefault(entry.product, {})[entry.config_id] = entry

    def _entry(
        self,
        product: str,
        config_id: str,
        raw: bytes | None,
        version: int,
        revision: int | None,
        *,
        snapshot: int | None = None,
    ) -> ConfigEntry:
        """A new entry at `snapshot` (default: the next snapshot version); stores nothing."""
        if raw is None:
            assert revision is not None
            raw = self._builders[product](revision)
        try:
            path = ConfigPath.datadog(self.org_id, product, config_id)
        except ValueError as exc:
            raise CatalogueError(f"config id {config_id!r} of {product}: {exc}") from None
        at = self.snapshot_version + 1 if snapshot is None else snapshot
        return ConfigEntry(path, raw, version, at, revision, file_meta(raw, version))

    def _default_config_id(self, product: str) -> str:
        existing = self._entries.get(product)
        if existing:
            return sorted(existing)[0]
        return DEFAULT_CONFIG_IDS.get(product, f"rc-fastlane-{product.lower().replace('_', '-')}")

    def _check_product(self, product: str) -> None:
        if product not in Product.__members__:
            known = ", ".join(Product.__members__)
            raise CatalogueError(f"unknown product {product!r}: expected one of {known}")

    def _check_buildable(self, product: str) -> None:
        self._check_product(product)
        if product not in self._builders:
            raise CatalogueError(
                f"product {product} has no built-in payload (built-in: "
                f"{', '.join(sorted(self._builders))}); set one with "
                f"POST /admin/configs/{product} {{'payload': ...}}"
            )
