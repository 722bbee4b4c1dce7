"""Remote Configuration config paths.

``datadog/<org_id>/<PRODUCT>/<config_id>/<name>`` or ``employee/<PRODUCT>/<config_id>/<name>``
(libdatadog `path.rs` ``RemoteConfigPath::try_parse``; datadog-agent
`pkg/remoteconfig/state/path.go`). Like the agent, any non-empty product segment is accepted;
compare ``path.product`` with a `Product` member (a str enum) to test it.

>>> p = ConfigPath.parse("datadog/2/FFE_FLAGS/flags-1/config")
>>> (p.org_id, p.product, p.config_id, p.name)
(2, 'FFE_FLAGS', 'flags-1', 'config')
>>> str(p)
'datadog/2/FFE_FLAGS/flags-1/config'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rc_protocol.errors import PathError
from rc_protocol.products import Product

__all__ = ["ConfigPath", "PathError"]

Source = Literal["datadog", "employee"]


@dataclass(frozen=True, slots=True)
class ConfigPath:
    """A parsed config path. `org_id` is ``None`` for the ``employee`` source."""

    source: Source
    org_id: int | None
    product: str
    config_id: str
    name: str

    @classmethod
    def datadog(cls, org_id: int, product: str, config_id: str, name: str = "config") -> ConfigPath:
        """Build a ``datadog/<org_id>/...`` path (validated like `parse`)."""
        return cls.parse(f"datadog/{org_id}/{product}/{config_id}/{name}")

    @classmethod
    def employee(cls, product: str, config_id: str, name: str = "config") -> ConfigPath:
        """Build an ``employee/...`` path (validated like `parse`)."""
        return cls.parse(f"employee/{product}/{config_id}/{name}")

    @classmethod
    def parse(cls, path: str) -> ConfigPath:
        """Parse a config path.

        Raises:
            PathError: naming `path` and what is wrong with it.
        """
        parts = path.split("/")
        source = parts[0]
        if source == "datadog":
            if len(parts) != 5:
                raise PathError(
                    f"config path {path!r}: a 'datadog' path has exactly 5 segments "
                    f"(datadog/<org_id>/<PRODUCT>/<config_id>/<name>), got {len(parts)}"
                )
            org = parts[1]
            if not org.isascii() or not org.isdigit():
                raise PathError(f"config path {path!r}: org id {org!r} is not a number")
            org_id: int | None = int(org)
        elif source == "employee":
            if len(parts) != 4:
                raise PathError(
                    f"config path {path!r}: an 'employee' path has exactly 4 segments "
                    f"(employee/<PRODUCT>/<config_id>/<name>), got {len(parts)}"
                )
            org_id = None
        else:
            raise PathError(
                f"config path {path!r}: unknown source {source!r} "
                "(expected 'datadog' or 'employee')"
            )
        product, config_id, name = parts[-3], parts[-2], parts[-1]
        for label, value in (("product", product), ("config id", config_id), ("name", name)):
            if not value:
                raise PathError(f"config path {path!r}: empty {label}")
        return cls(source, org_id, product, config_id, name)  # type: ignore[arg-type]

    @property
    def known_product(self) -> Product | None:
        """The product as a `Product` member, or ``None`` if it is not in libdatadog's list."""
        try:
            return Product(self.product)
        except ValueError:
            return None

    def __str__(self) -> str:
        if self.source == "datadog":
            return f"datadog/{self.org_id}/{self.product}/{self.config_id}/{self.name}"
        return f"employee/{self.product}/{self.config_id}/{self.name}"
