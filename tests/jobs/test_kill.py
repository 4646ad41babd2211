"""A job SIGKILLed at random points and rerun ends with exactly the uninterrupted results."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from rationales.jobs import run_explain

from .helpers import KeywordClassifier, results_by_key, synthetic_posts, write_jsonl

SCRIPT = Path(__file__).with_name("kill_job.py")


def _stored(out: Path) -> int:
    db = out / "results.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # tables not created yet


def test_sigkill_at_random_points_then_rerun_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    posts = synthetic_posts(400, seed=3)
    posts[17]["words"] = posts[17]["words"] + ["BOOM"]
    src = write_jsonl(tmp_path / "posts.jsonl", posts)
    out = tmp_path / "out"
    rng = random.Random(1234)
    cmd = [sys.executable, str(SCRIPT), str(src), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    kills = 0
    for _ in range(4):
        before = _stored(out)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        # Kill once this run has made progress, after a random extra delay: a random point
        # in the middle of reading, computing or committing a chunk.
        while proc.poll() is None and _stored(out) <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read().decode()[-2000:]
    assert kills >= 2, "the job finished before it could be killed; make the corpus larger"
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr[-2000:]

    got = results_by_key(out)  # asserts no duplicate key
    assert len(got) == 2 * 400
    ref_out = tmp_path / "ref"
    run_explain(KeywordClassifier(), src, ["occlusion", "_jobs_flaky"], ref_out, chunk_size=2)
    assert got == results_by_key(ref_out)
