"""Where the benchmarks find the real data: $RATIONALES_DATA, else ../shared/data beside
the checkout (the layout CI and this project's machines use)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def data_dir() -> Path | None:
    """$RATIONALES_DATA if set, else ../shared/data if it exists, else None (the library's
    own default, which says where it looked when the data is missing)."""
    env = os.environ.get("RATIONALES_DATA")
    if env:
        return Path(env)
    return SHARED if SHARED.is_dir() else None
