"""Run one explain job (for the SIGKILL test): python kill_job.py INPUT OUT."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # so `tests.jobs.helpers` imports

from tests.jobs.helpers import KeywordClassifier  # noqa: E402  (also registers the test explainer)

from rationales.jobs import run_explain  # noqa: E402

if __name__ == "__main__":
    src, out = sys.argv[1:3]
    run_explain(KeywordClassifier(), src, ["occlusion", "_jobs_flaky"], out, chunk_size=2)
