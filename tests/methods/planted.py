"""A pure-numpy classifier whose decision hinges on one planted word (for explainer tests).

p = softmax(logits) with logit 0 for class 0, ``bias + strength·[planted present] +
Σ small word weights`` for class 1 and (three-class version) a second small weighted sum
for class 2. The small weights come from a CRC of the word, so they are fixed across runs
and give every word a distinct, tiny effect (no ties), while the planted word dominates.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from rationales.models.base import Classifier, EngineClassifier, InputLike, as_examples, check_removal
from rationales.models.engine import ForwardEngine
from rationales.types import Example

MASK = "[MASK]"


def word_weight(word: str, salt: str = "") -> float:
    """A fixed small weight in [-0.3, 0.3] for a word (0 for the mask placeholder)."""
    if word == MASK:
        return 0.0
    return (zlib.crc32((salt + word).encode("utf-8")) % 10_000) / 10_000 * 0.6 - 0.3


class PlantedClassifier(EngineClassifier):
    """Class 1 ("planted") is likely exactly when the planted word is present."""

    name = "planted"

    def __init__(self, planted: str = "kill", strength: float = 5.0, bias: float = -2.5,
                 n_labels: int = 2, max_words: int | None = None) -> None:
        self.planted, self.strength, self.bias = planted, strength, bias
        self.label_names = ["other", "planted", "third"][:n_labels]
        self.max_words = max_words
        # The key is the word tuple the model sees: identical perturbations are cached.
        self.engine = ForwardEngine(self._run_batch, no_grad=False)

    def _visible(self, words: Iterable[str]) -> tuple[str, ...]:
        words = tuple(words)
        return words if self.max_words is None else words[: self.max_words]

    def _run_batch(self, batch: list[tuple[str, ...]]) -> np.ndarray:
        out = np.zeros((len(batch), self.num_labels))
        for row, words in enumerate(batch):
            logits = np.zeros(self.num_labels)
            logits[1] = self.bias + self.strength * (self.planted in words) + sum(
                word_weight(w) for w in words if w != self.planted)
            if self.num_labels > 2:
                logits[2] = sum(word_weight(w, "third") for w in words)
            e = np.exp(logits - logits.max())
            out[row] = e / e.sum()
        return out

    def predict_proba(self, inputs: InputLike | Iterable[InputLike]) -> np.ndarray:
        examples = as_examples(inputs)
        if not examples:
            return np.zeros((0, self.num_labels))
        return self.engine([self._visible(ex.words) for ex in examples])

    def masked_keys(self, example: Example, keep: np.ndarray, removal: str) -> list[tuple[str, ...]]:
        check_removal(removal)
        if keep.shape[1] != len(example.words):
            raise ValueError(f"keep mask has {keep.shape[1]} columns for {len(example.words)} words")
        keys = []
        for row in keep:
            if removal == "delete":
                words = [w for w, k in zip(example.words, row) if k]
            else:
                words = [w if k else MASK for w, k in zip(example.words, row)]
            keys.append(self._visible(words))
        return keys

    def n_words_used(self, example: Example) -> int:
        n = len(example.words)
        return n if self.max_words is None else min(n, self.max_words)

    def save(self, directory: str | Path) -> Path:  # pragma: no cover - not needed in tests
        raise NotImplementedError("the planted test classifier is built in code, not saved")


class Keyword(Classifier):
    """p(hate) = 0.9 when the words hold 'idiot', else 0.2."""

    label_names = ["normal", "hate"]
    name = "keyword"

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return np.asarray([[0.1, 0.9] if "idiot" in ex.words else [0.8, 0.2] for ex in as_examples(inputs)])

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        return self.predict_proba([Example("m", tuple(w for w, k in zip(example.words, row) if k)) for row in keep])

    def save(self, directory: Any) -> Path:  # pragma: no cover - not needed here
        raise NotImplementedError
