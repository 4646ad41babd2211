"""Shared pieces for the jobs tests: a synthetic corpus, a tf-idf model, a flaky explainer.

Importable by a subprocess too (the SIGKILL test runs a job from a script), so nothing
here depends on pytest.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rationales.errors import ModelError
from rationales.methods.base import EXPLAINERS, Explainer, register
from rationales.models.base import Classifier, as_examples
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


def with_rationales(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The posts with a gold rationale: 1 on each hate or offensive cue word."""
    cues = set(HATE) | set(OFFENSIVE)
    return [{**p, "rationale": [int(w in cues) for w in p["words"]]} for p in posts]


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


class KeywordClassifier(Classifier):
    """Test-only classifier (numpy, no model files): logits are sums of per-word weights.

    Cheap to import and to run, so the SIGKILL test's subprocesses spend their time in
    the job machinery; picklable, so Ray workers receive it as it is.
    """

    name = "keywords"

    def __init__(self) -> None:
        self.label_names = list(LABELS)
        self.weights = {w: (2.0, -1.0, 0.5) for w in HATE}
        self.weights.update({w: (0.3, -1.0, 2.0) for w in OFFENSIVE})

    def _proba(self, words: Sequence[str]) -> np.ndarray:
        z = np.array([0.0, 1.0, 0.0]) + sum((np.array(self.weights.get(w, (0.0, 0.1, 0.0))) for w in words),
                                             np.zeros(3))
        e = np.exp(z - z.max())
        return e / e.sum()

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return np.array([self._proba(ex.words) for ex in as_examples(inputs)]).reshape(-1, 3)

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        keep = np.asarray(keep, dtype=bool).reshape(-1, len(example.words))
        return np.array([self._proba([w for w, k in zip(example.words, row) if k]) for row in keep]).reshape(-1, 3)

    def save(self, directory: str | Path) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "weights.json").write_text(json.dumps(self.weights, sort_keys=True))
        return out


class FlakyExplainer(Explainer):
    """Test-only explainer: leave-one-out drop, but raises on any text containing 'BOOM'
    (a row's failure) or 'OFFLINE' (a set-up failure: the job must stop)."""

    name = "_jobs_flaky"
    defaults: dict[str, Any] = {"scale": 1.0}

    def explain_one(self, classifier: Any, example: Example, target: int) -> Explanation:
        if "BOOM" in example.words:
            raise RuntimeError(f"cannot explain {example.id}")
        if "OFFLINE" in example.words:
            raise ModelError("the model server is unreachable")
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
