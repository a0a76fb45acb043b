"""Fixtures shared by the emulator tests."""

from __future__ import annotations

import pytest

from rongpub.emulator import Emulator

from .helpers import APPS, SIGNED_AT, FakeClock


@pytest.fixture
def strict() -> Emulator:
    """An emulator under strict mode (what the documents leave unclear is refused), its
    clock at the instant `signed()` headers carry."""
    return Emulator(APPS, strict=True, clock=FakeClock(SIGNED_AT))
