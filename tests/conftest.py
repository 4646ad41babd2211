"""Shared test fixtures.

Real data: tests marked ``data`` read ../shared/data (or $RATIONALES_DATA). Without it
they skip with a reason, except under CI (RATIONALES_REQUIRE_DATA=1), where a missing
folder fails the test instead of hiding it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _data_root() -> Path | None:
    env = os.environ.get("RATIONALES_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def _require_data() -> bool:
    return os.environ.get("RATIONALES_REQUIRE_DATA", "") not in ("", "0")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding hatexplain/, eraser-movies/, toxic-spans/."""
    root = _data_root()
    if root is None:
        msg = "real data not found: set RATIONALES_DATA or put it at ../shared/data"
        if _require_data():
            pytest.fail(msg + " (RATIONALES_REQUIRE_DATA is set, so this is an error)")
        pytest.skip(msg)
    return root


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
