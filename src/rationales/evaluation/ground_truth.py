"""Ground-truth explanation metrics (GECOBench): is the explainer *correct*, not just plausible.

Where the ground truth is known (GECO: the words changed between a sentence's male and
female form are the only words that can carry the label), an explanation is scored
against it on the **absolute** attribution |s|, as GECOBench's ``evaluation/main.py``
does. Per example, with g the 0/1 ground truth and a = |s|:

- ``mass_accuracy``: Σ a over ground-truth words / Σ a (undefined when Σ a = 0);
- ``top_k_precision``: k = the number of ground-truth words; the share of the k
  highest-|s| words (ties: the earlier word first) that are ground truth. GECOBench's
  ``top_k_precision_score`` indexes the sorted scores with the 0/1 array itself
  (``argsort(a)[::-1][g]``), which picks the top-1 and top-2 words only; its published
  figures use that. This is the top-k the name says; :func:`gecobench_top_k_precision`
  reproduces theirs for comparison;
- ``gt_roc_auc``: ROC AUC of a against g (sklearn ``roc_curve`` + ``auc``);
- ``gt_average_precision``: sklearn ``average_precision_score`` of a against g;
- ``precision_at_specificity``: the precision at the lowest threshold t (predicting
  "ground truth" for a ≥ t) whose specificity exceeds 0.5; 0 when no threshold does.

Examples whose ground truth is all 0 or all 1 leave the AUC-type metrics undefined and are
excluded and counted; an all-zero attribution is excluded from mass accuracy.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..rules import ranking

SPECIFICITY = 0.5


def mass_accuracy(truth: Sequence[int], scores: Sequence[float]) -> float:
    """Share of |attribution| on ground-truth words (NaN for an all-zero attribution)."""
    a = np.abs(np.asarray(scores, dtype=float))
    total = float(a.sum())
    if total == 0.0:
        return math.nan
    return float(a[np.asarray(truth, dtype=bool)].sum() / total)


def top_k_precision(truth: Sequence[int], scores: Sequence[float]) -> float:
    """Of the k = Σ truth highest-|s| words (ties: earlier first), the share that are ground truth."""
    g = np.asarray(truth, dtype=bool)
    k = int(g.sum())
    if k == 0:
        return math.nan
    top = ranking(np.abs(np.asarray(scores, dtype=float)).tolist())[:k]
    return float(g[top].sum() / k)


def gecobench_top_k_precision(truth: Sequence[int], scores: Sequence[float]) -> float:
    """GECOBench's published ``top_k_precision_score`` (indexing the ranking with the 0/1
    array): |{the words ranked 1st and 2nd} ∩ ground truth| / Σ truth (with both 0s and 1s
    in the truth). For comparison with their figures only."""
    g = np.asarray(truth, dtype=int)
    if g.sum() == 0:
        return math.nan
    order = np.argsort(np.abs(np.asarray(scores, dtype=float)), kind="stable")[::-1]
    picked = set(order[g].tolist())
    return float(len(picked & set(np.flatnonzero(g).tolist())) / g.sum())


def _defined(truth: Sequence[int]) -> bool:
    g = np.asarray(truth, dtype=bool)
    return bool(g.any() and not g.all())


def gt_roc_auc(truth: Sequence[int], scores: Sequence[float]) -> float:
    from sklearn.metrics import auc, roc_curve

    if not _defined(truth):
        return math.nan
    fpr, tpr, _ = roc_curve(np.asarray(truth, dtype=int), np.abs(np.asarray(scores, dtype=float)))
    return float(auc(fpr, tpr))


def gt_average_precision(truth: Sequence[int], scores: Sequence[float]) -> float:
    from sklearn.metrics import average_precision_score

    if not _defined(truth):
        return math.nan
    return float(average_precision_score(np.asarray(truth, dtype=int), np.abs(np.asarray(scores, dtype=float))))


def precision_at_specificity(truth: Sequence[int], scores: Sequence[float],
                             specificity: float = SPECIFICITY) -> float:
    """Precision at the lowest threshold whose specificity exceeds ``specificity`` (0 if none)."""
    if not _defined(truth):
        return math.nan
    g = np.asarray(truth, dtype=bool)
    a = np.abs(np.asarray(scores, dtype=float))
    negatives = int((~g).sum())
    for t in np.unique(a):  # ascending: the lowest threshold first
        predicted = a >= t
        fp = int((predicted & ~g).sum())
        if 1.0 - fp / negatives > specificity:
            return float((predicted & g).sum() / predicted.sum())
    return 0.0


#: metric name → per-example function of (ground truth, scores)
PER_EXAMPLE = {
    "mass_accuracy": mass_accuracy,
    "top_k_precision": top_k_precision,
    "gt_roc_auc": gt_roc_auc,
    "gt_average_precision": gt_average_precision,
    "precision_at_specificity": precision_at_specificity,
}

__all__ = ["PER_EXAMPLE", "gecobench_top_k_precision", "gt_average_precision", "gt_roc_auc", "mass_accuracy",
           "precision_at_specificity", "top_k_precision"]
