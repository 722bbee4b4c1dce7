"""Run the doctests in rc_protocol's docstrings (capability bytes, paths, canonical JSON...)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rc_protocol.capabilities",
    "rc_protocol.paths",
    "rc_protocol.products",
    "rc_protocol.setting_values",
    "rc_protocol.settings",
    "rc_protocol.targets",
    "rc_protocol.ufc",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no doctest"
    assert result.failed == 0
