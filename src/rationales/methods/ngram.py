"""X-MuTeST's n-gram explainer: how well each word n-gram alone reproduces the prediction.

The method of X-MuTeST (Reddy et al., AAAI 2026; ``proposed_explainability_method.ipynb``
in the authors' repository), computed by word position and batched:

1. ``p`` = class probabilities of the full text; for every word n-gram ``g`` of every
   size ``n`` in ``sizes`` (1, 2, 3), ``p_g`` = probabilities of ``g`` alone (all other
   words removed) and ``diff_g = mean over classes |p − p_g|``.
2. Every word position ``i`` in ``g`` accumulates ``w_n · diff_g`` (``w`` = 0.5, 0.3,
   0.2), and the sum is divided by the number of n-grams that contain ``i``.
3. The per-word values ``r`` are normalised to sum to 1 (unless all are 0).

**Direction.** A small ``diff_g`` means the n-gram alone already reproduces the full
prediction: it is *sufficient* for it. X-MuTeST therefore picks the words with the
LOWEST ``r`` as its rationale (``scores_to_rationales.ipynb`` sorts ascending). Our
contract is "higher = more responsible", so the score is the reflection

    score_i = max_j r_j − r_i          (r normalised as in step 3)

a strictly decreasing map of X-MuTeST's value: the ranking is exactly X-MuTeST's
ascending order (ties: earlier position first, as in their stable sort), the least
responsible word scores 0, and the scale stays X-MuTeST's. X-MuTeST's own normalised
values are kept in ``info["xmutest_scores"]``.

Differences from the notebook, on purpose: scores are keyed by word *position* (the
notebook keys a dict by word string, so repeated words share one score and the list it
returns is shorter than the text); n-grams are made of the words the model sees
(truncated words score 0); and the n-grams of many examples go to the forward engine in
one call (batched across examples), with n-gram ids cut from each example's own
tokenisation instead of re-tokenising the n-gram's text.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np

from ..models.base import Classifier, check_removal
from ..rules import apply_rule
from ..types import Example, Explanation
from ._util import pad_to_words, prob_list, truncation_info, words_used
from .base import MaskExplainer, register


def ngram_keep_masks(n_words: int, used: int, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Keep masks of every n-gram over the first ``used`` words, and each one's size.

    Rows are ordered by size, then start position. Sizes larger than ``used`` give no
    n-grams (as X-MuTeST's ``ngrams()`` returns none).
    """
    rows, row_sizes = [], []
    for n in sizes:
        for start in range(0, used - n + 1):
            keep = np.zeros(n_words, dtype=bool)
            keep[start : start + n] = True
            rows.append(keep)
            row_sizes.append(n)
    if not rows:
        return np.zeros((0, n_words), dtype=bool), np.zeros(0, dtype=np.int64)
    return np.stack(rows), np.asarray(row_sizes, dtype=np.int64)


def xmutest_values(
    full_probs: np.ndarray,
    ngram_probs: np.ndarray,
    keep: np.ndarray,
    sizes_of_rows: np.ndarray,
    weights: dict[int, float],
    used: int,
) -> np.ndarray:
    """X-MuTeST's normalised per-word values ``r`` (LOW = responsible) for the seen words."""
    diff = np.abs(ngram_probs - full_probs[None, :]).mean(axis=1)  # one per n-gram
    w = np.asarray([weights[int(n)] for n in sizes_of_rows], dtype=np.float64)
    member = keep[:, :used].astype(np.float64)  # (n_grams, used)
    total = (w * diff) @ member
    count = member.sum(axis=0)
    # A word in no n-gram (possible only when size 1 is not asked for) has no evidence:
    # it gets 0, which after the reflection below means "least responsible".
    r = np.divide(total, count, out=np.zeros(used), where=count > 0)
    s = r.sum()
    return r / s if s > 0 else r


@register
class NgramExplainer(MaskExplainer):
    """X-MuTeST: how closely each word's 1/2/3-grams alone reproduce the full prediction."""

    name = "ngram"
    defaults: ClassVar[dict[str, Any]] = {
        "sizes": (1, 2, 3),
        "weights": (0.5, 0.3, 0.2),
        "removal": "delete",
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        sizes = tuple(int(n) for n in self.params["sizes"])
        weights = tuple(float(w) for w in self.params["weights"])
        if not sizes or any(n < 1 for n in sizes) or len(set(sizes)) != len(sizes):
            raise ValueError(f"ngram: sizes must be distinct positive integers, got {sizes}")
        if len(weights) != len(sizes):
            raise ValueError(
                f"ngram: {len(weights)} weights for {len(sizes)} sizes {sizes}; give one weight per size"
            )
        if any(not np.isfinite(w) or w < 0 for w in weights):
            raise ValueError(f"ngram: weights must be finite and >= 0, got {weights}")
        check_removal(self.params["removal"])
        # Stored as lists so params stay JSON-serialisable.
        self.params["sizes"], self.params["weights"] = list(sizes), list(weights)

    def masks(self, classifier: Classifier, example: Example, target: int) -> tuple[np.ndarray, Any]:
        n_words = len(example.words)
        used = words_used(classifier, example)
        # Row 0 is the full text (usually a cache hit: predicting the target asked for it
        # already), then every n-gram. The engine sorts them by length and does not pad
        # the 1-3-word n-grams to the full text's length.
        grams, row_sizes = ngram_keep_masks(n_words, used, self.params["sizes"])
        return np.vstack([np.ones((1, n_words), dtype=bool), grams]), (used, grams, row_sizes)

    def finish(self, classifier: Classifier, example: Example, target: int,
               probs: np.ndarray, state: Any) -> Explanation:
        used, keep, row_sizes = state
        n_words = len(example.words)
        sizes = self.params["sizes"]
        full, grams = probs[0], probs[1:]
        r = xmutest_values(full, grams, keep, row_sizes, dict(zip(sizes, self.params["weights"])), used)
        scores = pad_to_words((r.max() - r) if used else r, n_words)
        return self.make(
            example,
            scores,
            target,
            probs=prob_list(full),
            xmutest_scores=[float(v) for v in r],
            rationale=apply_rule(scores[:used].tolist(), "xmutest") + [0] * (n_words - used),
            n_grams=int(len(keep)),
            **truncation_info(example, used),
        )
