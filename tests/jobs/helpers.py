"""Shared pieces for the jobs tests: a synthetic corpus, a tf-idf model, a flaky explainer.

Importable by a subprocess too (the SIGKILL test runs a job from a script), so nothing
here depends on pytest.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from rationales.explain.base import EXPLAINERS, Explainer, register
from rationales.types import Example, Explanation

HATE = ["vermin", "scum", "filth", "invaders", "animals"]
OFFENSIVE = ["idiot", "stupid", "dumb", "trash", "loser"]
NEUTRAL = ["the", "people", "city", "today", "we", "went", "to", "market", "saw", "news", "and", "a"]
LABELS = ["hatespeech", "normal", "offensive"]


def synthetic_posts(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` labelled posts of 5-12 words; hate/offensive posts carry their cue words."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        label = i % 3
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(4, 10))]
        cue = {0: HATE, 1: [], 2: OFFENSIVE}[label]
        for _ in range(rng.randint(1, 2) if cue else 0):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
        posts.append({"id": f"p{i}", "words": words, "label": label})
    return posts


def train_tfidf(out: Path, n: int = 120, seed: int = 0, C: float = 4.0) -> Path:
    """A small tf-idf model trained on synthetic posts, saved to ``out``."""
    from rationales.models.tfidf import TfidfClassifier

    exs = [Example(p["id"], p["words"], p["label"]) for p in synthetic_posts(n, seed=seed + 1000)]
    TfidfClassifier(LABELS, C=C).fit(exs).save(out)
    return out


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


class FlakyExplainer(Explainer):
    """Test-only explainer: leave-one-out drop, but raises on any text containing 'BOOM'."""

    name = "_jobs_flaky"
    defaults: dict[str, Any] = {"scale": 1.0}

    def explain_one(self, classifier: Any, example: Example, target: int) -> Explanation:
        import numpy as np

        if "BOOM" in example.words:
            raise RuntimeError(f"cannot explain {example.id}")
        n = len(example.words)
        keep = np.ones((n + 1, n), dtype=bool)
        keep[np.arange(1, n + 1), np.arange(n)] = False
        probs = classifier.predict_proba_masked(example, keep)
        return self.make(example, self.params["scale"] * (probs[0, target] - probs[1:, target]), target)


if FlakyExplainer.name not in EXPLAINERS:
    register(FlakyExplainer)


def results_by_key(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored result as (example_id, method) → explanation dict; asserts no duplicates."""
    from rationales.jobs import Store

    got: dict[tuple[str, str], dict[str, Any]] = {}
    with Store(out, create=False) as store:
        for r in store.iter_results():
            key = (r["example_id"], r["method"])
            assert key not in got, f"duplicate result for {key}"
            got[key] = r["explanation"]
    return got
