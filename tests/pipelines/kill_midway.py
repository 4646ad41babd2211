"""Run the pipeline and SIGKILL this very process in the middle of the explanation stage.

Usage: python kill_midway.py OUT CALLS - the scripted LLM kills the process on its
CALLS-th answer, after the job has stored some chunks (tests/pipelines/test_xmutest.py).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.pipelines.helpers import FAST, QUIRKS, last_word, replay  # noqa: E402

import rationales as rx  # noqa: E402

calls = 0


def answer_then_die(messages):
    global calls
    calls += 1
    if calls >= int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    return last_word(messages)


rx.pipelines.xmutest("te", out=sys.argv[1], data_dir=QUIRKS, llm=replay(answer_then_die), baseline=False,
                     methods=["ngram"], **FAST)
