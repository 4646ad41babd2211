"""`--json` and `--out` stay valid UTF-8 whatever bytes the command line carried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rationales.models.base import as_examples

RATIONALES = Path(sys.executable).parent / "rationales"


@pytest.fixture(scope="module")
def tfidf_dir(tmp_path_factory) -> Path:
    from rationales.models.tfidf import TfidfClassifier
    from rationales.types import Example

    words = ["good", "day", "awful", "people", "go", "home", "nice", "cafe", "vile", "lovely"]
    exs = [Example(str(i), tuple(words[i % 10: i % 10 + 4]), label=i % 2) for i in range(40)]
    out = tmp_path_factory.mktemp("tfidf") / "model"
    TfidfClassifier(["hate", "normal"]).fit(exs).save(out)
    return out


@pytest.mark.skipif(not RATIONALES.exists(), reason="the console script is not installed beside python")
def test_a_non_utf8_argument_gives_valid_utf8_json(tfidf_dir, tmp_path):
    out = tmp_path / "exps.jsonl"
    # the byte 0xe9 is not UTF-8: Python reads the argument as 'caf\udce9' (a lone surrogate)
    proc = subprocess.run([str(RATIONALES), "explain", "--model", str(tfidf_dir), "--text", b"caf\xe9 au lait",
                           "--methods", "occlusion", "--json", "--out", str(out)],
                          capture_output=True, timeout=300, env={**os.environ, "PYTHONUTF8": "0"})
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    printed = json.loads(proc.stdout.decode("utf-8"))  # strict: raises on invalid UTF-8
    words = list(as_examples(["caf\udce9 au lait"])[0].words)  # as the package splits the text
    assert printed[0]["words"] == words and "caf\udce9" in "".join(words)  # the same string comes back
    rows = [json.loads(line) for line in out.read_bytes().decode("utf-8").splitlines()]
    assert rows[0]["words"] == words and rows[0]["scores"] == printed[0]["scores"]


@pytest.mark.skipif(not RATIONALES.exists(), reason="the console script is not installed beside python")
def test_the_terminal_view_of_a_non_utf8_argument_does_not_crash(tfidf_dir):
    proc = subprocess.run([str(RATIONALES), "explain", "--model", str(tfidf_dir), "--text", b"caf\xe9 au lait",
                           "--methods", "occlusion"], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert "\ufffd" in proc.stdout.decode("utf-8") and "lait" in proc.stdout.decode("utf-8")
