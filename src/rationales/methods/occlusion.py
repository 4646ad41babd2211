"""Occlusion: how much the target probability drops when one word is left out."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier, check_removal
from ..types import Example, Explanation
from ._util import pad_to_words, prob_list, truncation_info, words_used
from .base import MaskExplainer, register


@register
class OcclusionExplainer(MaskExplainer):
    """Leave-one-word-out: score = p(target | text) − p(target | text without the word)."""

    name = "occlusion"
    defaults: ClassVar[dict[str, Any]] = {"removal": "delete"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        check_removal(self.params["removal"])

    def masks(self, classifier: Classifier, example: Example, target: int) -> tuple[np.ndarray, Any]:
        n_words = len(example.words)
        used = words_used(classifier, example)
        # Row 0 is the full text; row 1 + i leaves out word i.
        keep = np.ones((used + 1, n_words), dtype=bool)
        keep[np.arange(1, used + 1), np.arange(used)] = False
        return keep, used

    def finish(self, classifier: Classifier, example: Example, target: int,
               probs: np.ndarray, state: Any) -> Explanation:
        used = state
        scores = probs[0, target] - probs[1:, target]
        return self.make(
            example,
            pad_to_words(scores, len(example.words)),
            target,
            probs=prob_list(probs[0]),
            **truncation_info(example, used),
        )
