"""One settings machinery for the three services: frozen dataclasses read at the edge.

A service declares its settings as a frozen dataclass deriving from :class:`EnvSettings`, each
field declared with :func:`setting` (its help text, its real ``DD_*`` aliases, optionally its own
parser, whether it is a secret), and names its environment prefix (``RC_AGENT_``,
``RC_BACKEND_``, ``RC_STUB_``) and its package's ``SettingsError``. It then has:

- ``from_env(environ, **overrides)``: field ``f`` from ``<PREFIX><F>`` (upper-cased), else from
  its first alias present: a prefixed variable wins over its alias; typed ``overrides`` win over
  both.
- ``build_parser(prog=..., description=..., environ=...)``: one ``--field-name`` flag per field,
  the help showing the default, the variables read and the value in force from them (neither
  for a secret); ``from_args(args, environ)``: the environment, then the flags given on top.

Values are parsed by the field's type (:mod:`rc_protocol.setting_values`): ``bool`` (``1 true
yes on`` / ``0 false no off``), ``int``, ``float``, ``str``, ``Literal[...]``, an ``Enum`` (by
value), ``tuple[str, ...]`` (a comma list, blanks dropped) and ``X | None``, or by the field's
own parser (which raises ``ValueError``). Surrounding blanks are ignored. One unset rule: an
empty value is ``None`` for an optional field (``X | None``), the empty text for a ``str``
field (a text setting has no other way to be empty), and an error for any other. Every bad value
raises the class's ``SettingsError`` naming the variable or flag, the value and what is
expected; each service's ``__main__`` prints it on one line and exits with
:data:`EXIT_BAD_SETTINGS`.

>>> @dataclass(frozen=True)
... class Demo(EnvSettings):
...     env_prefix = "DEMO_"
...     port: int = setting(8126, "listen port")
...     tags: tuple[str, ...] = setting(("a",), "tags (comma list)")
...     seed: int | None = setting(None, "RNG seed (unset = random)")
...     key: str = setting("", "API key", env=("DD_API_KEY",), secret=True)
>>> Demo.from_env({"DEMO_PORT": "9000", "DEMO_TAGS": "x, y", "DEMO_SEED": "", "DD_API_KEY": "k"})
Demo(port=9000, tags=('x', 'y'), seed=None)
>>> Demo.from_env({"DEMO_PORT": "eighty"})
Traceback (most recent call last):
rc_protocol.errors.SettingsError: DEMO_PORT='eighty' is invalid: expected an integer
>>> Demo.from_env({"DEMO_PORT": ""})
Traceback (most recent call last):
rc_protocol.errors.SettingsError: DEMO_PORT='' is invalid: expected an integer (an empty value...)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from rc_protocol.errors import SettingsError
from rc_protocol.setting_values import convert, describe, show, strip_none

__all__ = ["EXIT_BAD_SETTINGS", "EnvSettings", "SettingsError", "Spec", "setting"]

#: Exit code of a service given a bad setting (the code argparse uses for a usage error).
EXIT_BAD_SETTINGS = 2

T = TypeVar("T")


def setting(
    default: T,
    help: str,
    *,
    env: Sequence[str] = (),
    parse: Callable[[str], object] | None = None,
    expected: str = "",
    metavar: str = "",
    secret: bool = False,
) -> T:
    """A settings field: its default and help text, its aliases (``env``, in order of
    precedence, after the prefixed name), optionally its own ``parse`` of a non-empty text
    (with what it ``expected`` and a ``metavar``), and whether it is a ``secret`` (its value is
    never shown, in ``--help`` nor in ``repr``)."""
    metadata = {
        "help": help,
        "env": tuple(env),
        "parse": parse,
        "expected": expected,
        "metavar": metavar,
        "secret": secret,
    }
    return dataclasses.field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class Spec:
    """What the machinery knows of one field: its type (``None`` removed), its variables, ..."""

    name: str
    kind: Any
    optional: bool
    default: Any
    help: str
    env: tuple[str, ...]
    parse_text: Callable[[str], object] | None
    expected: str
    metavar: str
    secret: bool

    @property
    def flag(self) -> str:
        """The command-line flag, ``--field-name``."""
        return "--" + self.name.replace("_", "-")

    def parse(self, raw: str, source: str, error: type[SettingsError]) -> Any:
        """The value of ``raw``, read from ``source`` (a variable or a flag, named in errors)."""
        text = raw.strip()
        if not text and self.optional:
            return None
        if not text and self.kind is str and self.parse_text is None:
            return ""
        try:
            if not text:
                raise ValueError("(an empty value unsets only an optional setting)")
            return self.parse_text(text) if self.parse_text else convert(self.kind, text)
        except ValueError as exc:
            note = f" {exc}" if not text else ""
            raise error(
                f"{source}={raw!r} is invalid: expected {self.expected}{note}",
                field=self.name,
                expected=self.expected,
            ) from None


class EnvSettings:
    """Base of a frozen settings dataclass whose fields are declared with :func:`setting`."""

    #: ``RC_<SERVICE>_``: field ``f`` is read from ``<env_prefix><F>``.
    env_prefix: ClassVar[str] = ""
    #: The service package's own ``SettingsError`` (a subclass of the shared one).
    settings_error: ClassVar[type[SettingsError]] = SettingsError

    @classmethod
    def specs(cls) -> tuple[Spec, ...]:
        """Every field, in declaration order."""
        key: type = cls  # mypy does not see a class as Hashable
        return _specs(key)

    @classmethod
    def spec(cls, name: str) -> Spec:
        """The field ``name``."""
        return next(s for s in cls.specs() if s.name == name)

    @classmethod
    def where(cls, name: str) -> str:
        """Where field ``name`` is set: ``env RC_AGENT_X or DD_X, or --x``."""
        spec = cls.spec(name)
        return f"env {' or '.join(spec.env)}, or {spec.flag}"

    @classmethod
    def invalid(cls, name: str, value: object, expected: str) -> SettingsError:
        """The error for field ``name`` holding ``value``, which breaks a validation rule."""
        return cls.settings_error(
            f"setting {name}={value!r} is invalid: expected {expected} ({cls.where(name)})",
            field=name,
            expected=expected,
        )

    def require(self, ok: bool, name: str, expected: str) -> None:
        """In ``__post_init__``: raise :meth:`invalid` for field ``name`` unless ``ok``."""
        if not ok:
            raise self.invalid(name, getattr(self, name), expected)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Self:
        """Settings from ``environ`` (prefixed names, then aliases), ``overrides`` on top."""
        values: dict[str, Any] = {}
        for spec in cls.specs():
            source = next((name for name in spec.env if name in environ), None)
            if source is not None:
                values[spec.name] = spec.parse(environ[source], source, cls.settings_error)
        values.update(overrides)
        build: Callable[..., Self] = cls
        return build(**{**cls.presets(values), **values})

    @classmethod
    def presets(cls, explicit: Mapping[str, Any]) -> Mapping[str, Any]:
        """Values that stand beneath the explicit ones (a named preset they select, such as
        the stub's client profile); none by default."""
        return {}

    @classmethod
    def build_parser(
        cls, *, prog: str, description: str, environ: Mapping[str, str] | None = None
    ) -> argparse.ArgumentParser:
        """One ``--field-name`` flag per field (unset flags leave the environment alone)."""
        parser = argparse.ArgumentParser(
            prog=prog,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=f"Each setting is also read from {cls.env_prefix}<FIELD> or the alias shown; "
            "a flag wins over the environment, a prefixed variable over its alias. An empty "
            "value unsets an optional setting.",
        )
        for spec in cls.specs():
            parser.add_argument(
                spec.flag,
                dest=spec.name,
                default=None,
                metavar=spec.metavar,
                help=_help(spec, environ or {}).replace("%", "%%"),
            )
        return parser

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str]) -> Self:
        """Settings from ``environ``, with the flags given in ``args`` on top."""
        overrides: dict[str, Any] = {}
        for spec in cls.specs():
            raw = getattr(args, spec.name, None)
            if raw is not None:
                overrides[spec.name] = spec.parse(raw, spec.flag, cls.settings_error)
        return cls.from_env(environ, **overrides)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated again)."""
        instance: Any = self
        changed: Self = dataclasses.replace(instance, **changes)
        return changed


@functools.cache
def _specs(cls: type) -> tuple[Spec, ...]:
    hints = typing.get_type_hints(cls)
    prefix: str = getattr(cls, "env_prefix", "")
    specs = []
    target: Any = cls
    for f in dataclasses.fields(target):
        if f.default is dataclasses.MISSING:
            raise TypeError(f"setting {cls.__name__}.{f.name} needs a default")
        kind, optional = strip_none(hints[f.name])
        expected, metavar = describe(kind)
        meta = f.metadata
        specs.append(
            Spec(
                name=f.name,
                kind=kind,
                optional=optional,
                default=f.default,
                help=meta.get("help", ""),
                env=(prefix + f.name.upper(), *meta.get("env", ())),
                parse_text=meta.get("parse"),
                expected=meta.get("expected") or expected,
                metavar=meta.get("metavar") or metavar,
                secret=bool(meta.get("secret")),
            )
        )
    return tuple(specs)


def _help(spec: Spec, environ: Mapping[str, str]) -> str:
    names = " or ".join(spec.env)
    if spec.secret:
        return f"{spec.help} (env {names}; the value is never shown)"
    text = f"{spec.help} (default: {show(spec.default)}; env {names}"
    source = next((name for name in spec.env if name in environ), None)
    if source is not None:
        text += f"; now {environ[source]!r} from {source}"
    return text + ")"
