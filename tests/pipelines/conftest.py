"""Pipeline tests write every benchmark report; its plots (tested in tests/report) are stubbed
here, as drawing them is most of a tiny pipeline's time."""

from __future__ import annotations

import pytest

# a 1×1 PNG
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


@pytest.fixture(autouse=True)
def _no_plots(monkeypatch):
    for name in ("metric_bars", "faithfulness_vs_plausibility", "time_per_explanation"):
        monkeypatch.setattr(f"rationales.report.plots.{name}", lambda *a, **k: PNG)
