"""A small deterministic classifier whose probabilities can be computed by hand.

p(class 1) = 0.1 + the sum of the weights of the words present (a masked word counts
``MASK_WEIGHT``), p(class 0) = 1 − p(class 1). Every call is recorded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rationales.models.base import Classifier, as_examples, check_removal
from rationales.types import Example

WEIGHTS = {"bad": 0.5, "very": 0.2, "x": 0.1}
MASK_WEIGHT = 0.05


class LinearWords(Classifier):
    """Two labels (normal, hateful); p(hateful) grows linearly with the weighted words present."""

    label_names = ["normal", "hateful"]
    name = "linear-words"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str]] = []  # (example id, n masks, removal)

    def _p1(self, words, keep, removal):
        p = 0.1
        for w, k in zip(words, keep):
            if k:
                p += WEIGHTS.get(w, 0.0)
            elif removal == "mask":
                p += MASK_WEIGHT
        return p

    def predict_proba(self, inputs):
        exs = as_examples(inputs)
        p1 = np.array([self._p1(ex.words, [True] * len(ex.words), "delete") for ex in exs])
        return np.stack([1 - p1, p1], axis=1)

    def predict_proba_masked(self, example: Example, keep, removal="delete"):
        check_removal(removal)
        keep = np.asarray(keep, dtype=bool)
        self.calls.append((example.id, len(keep), removal))
        p1 = np.array([self._p1(example.words, row, removal) for row in keep])
        return np.stack([1 - p1, p1], axis=1)

    def save(self, directory):
        return Path(directory)
