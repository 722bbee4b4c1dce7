from __future__ import annotations

import pytest

from fake_backend.catalogue import Catalogue
from fake_backend.payloads import default_builders

FLAG_KEY = "rc-fastlane-flag"


@pytest.fixture
def catalogue() -> Catalogue:
    """FFE_FLAGS, ASM_DATA (small, to keep tests fast) and APM_TRACING, org 2."""
    builders = default_builders(FLAG_KEY, "prod", 4096)
    return Catalogue.with_defaults(2, ["FFE_FLAGS", "ASM_DATA", "APM_TRACING"], builders)
