"""Scenario sections derived from the services' settings: each setting is declared once.

:func:`derive` builds a pydantic section from a service's settings dataclass
(:class:`rc_protocol.settings.EnvSettings`): every field the harness does not set itself
becomes a key with the field's default and help, a ``tuple[str, ...]`` becomes a YAML list, an
``Enum`` its values. Each value is then checked by the service's own rules (its
``__post_init__``), so a scenario fails to load, naming the key, whenever the service would
refuse the value; :meth:`ServiceSection.to_env` gives the variables the service reads.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from rc_protocol.errors import SettingsError
from rc_protocol.settings import EnvSettings, Spec


class Section(BaseModel):
    """A scenario section: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSection(Section):
    """A section made by :func:`derive` from a service's settings."""

    #: The service's settings dataclass.
    settings_class: ClassVar[type[EnvSettings]]
    #: Section key → settings field (the same name but for renamed fields).
    field_map: ClassVar[Mapping[str, str]]

    if TYPE_CHECKING:  # the fields are made at run time: mypy reads them as Any

        def __getattr__(self, name: str) -> Any: ...

    @field_validator("*")
    @classmethod
    def _service_accepts(cls, value: Any, info: ValidationInfo) -> Any:
        """The service's own rules for this one value (every other field at its default)."""
        assert info.field_name is not None
        try:
            cls.settings_class(**{cls.field_map[info.field_name]: _to_service(value)})
        except SettingsError as exc:
            raise ValueError(_reason(exc)) from None
        return value

    @model_validator(mode="after")
    def _service_accepts_all(self) -> Self:
        """The service's rules for the values together."""
        try:
            self.settings_class(**self.settings_values())
        except SettingsError as exc:
            raise ValueError(_reason(exc)) from None
        return self

    def settings_values(self) -> dict[str, Any]:
        """The section's values as the service's settings fields."""
        return {field: _to_service(getattr(self, key)) for key, field in self.field_map.items()}

    def to_env(self) -> dict[str, str]:
        """The service's variables for the values that are set (``None`` is not passed)."""
        out: dict[str, str] = {}
        for key, value in self.model_dump(mode="json").items():
            if value is None:
                continue
            if isinstance(value, list):
                text = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            out[self.settings_class.spec(self.field_map[key]).env[0]] = text
        return out


def derive(
    name: str,
    settings: type[EnvSettings],
    *,
    doc: str,
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
    rename: Mapping[str, str] | None = None,
    module: str = __name__,
) -> type[ServiceSection]:
    """A section named ``name`` (a class of ``module``) with the fields of ``settings`` in their
    order, but those in ``exclude`` (or only those in ``only``), keys renamed by ``rename``."""
    rename = rename or {}
    definitions: dict[str, Any] = {}
    field_map: dict[str, str] = {}
    for spec in settings.specs():
        if spec.name in exclude or (only is not None and spec.name not in only):
            continue
        key = rename.get(spec.name, spec.name)
        if hasattr(ServiceSection, key):
            raise TypeError(f"{name}: key {key!r} would shadow ServiceSection.{key}: rename it")
        definitions[key] = (_annotation(spec), _field(spec))
        field_map[key] = spec.name
    unknown = set(exclude) | set(only or ()) | set(rename)
    unknown -= {spec.name for spec in settings.specs()}
    if unknown:
        raise TypeError(f"{name}: {sorted(unknown)} are not fields of {settings.__qualname__}")
    model = create_model(
        name, __base__=ServiceSection, __doc__=doc, __module__=module, **definitions
    )
    model.settings_class = settings
    model.field_map = field_map
    return model


def _annotation(spec: Spec) -> Any:
    kind = spec.kind
    if typing.get_origin(kind) is tuple:
        kind = list[str]
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        literal: Any = Literal
        kind = literal[tuple(member.value for member in kind)]
    return kind | None if spec.optional else kind


def _field(spec: Spec) -> Any:
    default = spec.default
    if isinstance(default, tuple):
        items = list(default)
        return Field(default_factory=lambda: list(items), description=spec.help)
    if isinstance(default, enum.Enum):
        default = default.value
    return Field(default=default, description=spec.help)


def _to_service(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _reason(exc: SettingsError) -> str:
    return f"expected {exc.expected}" if exc.expected else str(exc)
