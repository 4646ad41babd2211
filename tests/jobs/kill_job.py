"""Run one explain job (for the SIGKILL test): python kill_job.py INPUT OUT."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # so `tests.jobs.helpers` imports

from tests.jobs.helpers import KeywordClassifier  # noqa: E402  (also registers the test explainer)

from rationales.jobs import run_explain  # noqa: E402


class SlowKeywordClassifier(KeywordClassifier):
    """The same answers, each model call 5 ms slower.

    A fast machine could otherwise finish the whole corpus before the test's kill lands;
    with the delay a run takes seconds however fast the CPU is, so every kill falls
    mid-job. The reference run in the test uses the plain classifier: the results must
    not depend on speed.
    """

    def predict_proba(self, inputs):  # type: ignore[no-untyped-def]
        time.sleep(0.005)
        return super().predict_proba(inputs)

    def predict_proba_masked(self, example, keep, removal="delete"):  # type: ignore[no-untyped-def]
        time.sleep(0.005)
        return super().predict_proba_masked(example, keep, removal)


if __name__ == "__main__":
    src, out = sys.argv[1:3]
    run_explain(SlowKeywordClassifier(), src, ["occlusion", "_jobs_flaky"], out, chunk_size=2)
