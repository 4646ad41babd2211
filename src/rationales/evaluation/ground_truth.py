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
  "ground truth" for a ≥ t) whose specificity exceeds 0.5; 0 when no threshold does;
- ``relative_mass_accuracy``: a model's mass accuracy relative to a reference model's
  explanation of the same sentence (same method), ``log(ma / ma_ref − 1)`` as the issue
  quotes GECOBench. It is defined only where ``ma > ma_ref > 0``: elsewhere the sentence is
  excluded and counted (``not_above_reference``, ``zero_reference``), and the share of
  sentences where the model beats the reference is reported beside it, because a mean over
  the defined sentences alone sees only those. See :func:`relative_mass_accuracy_result`.

Examples whose ground truth is all 0 or all 1 leave the AUC-type metrics undefined and are
excluded and counted; an all-zero attribution is excluded from mass accuracy.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from ..rules import ranking
from ..types import Example, Explanation, MetricResult

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


def relative_mass_accuracy(ma: float, ma_ref: float) -> float:
    """``log(ma / ma_ref − 1)``; NaN where undefined (``ma ≤ ma_ref``, ``ma_ref ≤ 0`` or NaN)."""
    if math.isnan(ma) or math.isnan(ma_ref) or ma_ref <= 0.0 or ma <= ma_ref:
        return math.nan
    return math.log(ma / ma_ref - 1.0)


def relative_mass_accuracy_result(explanations: Iterable[Explanation], reference: Iterable[Explanation],
                                  dataset: Iterable[Example], *, method: str | None = None) -> MetricResult:
    """Relative mass accuracy of ``explanations`` against ``reference`` (a reference model's
    explanations of the same sentences by the same method), on the ground truth that
    ``dataset`` carries as its rationales (GECO).

    Per sentence: ``log(ma / ma_ref − 1)`` where ``ma > ma_ref > 0``; the others are
    excluded and counted by reason. ``params`` holds ``share_above_reference`` (the share of
    the sentences with both mass accuracies defined where ``ma > ma_ref``) and the two mean
    mass accuracies over those sentences.
    """
    truths = {ex.id: ex.rationale for ex in dataset}
    refs = {e.example_id: e for e in reference}
    per: dict[str, float | None] = {}
    excluded: dict[str, int] = {}
    pairs: list[tuple[float, float]] = []

    def skip(i: str, why: str) -> None:
        per[i] = None
        excluded[why] = excluded.get(why, 0) + 1

    mine = [e for e in explanations if method is None or e.method == method]
    for e in mine:
        i = e.example_id
        truth, ref = truths.get(i), refs.get(i)
        if truth is None:
            skip(i, "no_ground_truth")
        elif ref is None:
            skip(i, "no_reference_explanation")
        elif e.failed or ref.failed:
            skip(i, "failed")
        else:
            ma, ma_ref = mass_accuracy(truth, e.scores), mass_accuracy(truth, ref.scores)
            if math.isnan(ma) or math.isnan(ma_ref):
                skip(i, "zero_attribution")
                continue
            pairs.append((ma, ma_ref))
            if ma_ref == 0.0:
                skip(i, "zero_reference")
            elif ma <= ma_ref:
                skip(i, "not_above_reference")
            else:
                per[i] = relative_mass_accuracy(ma, ma_ref)
    vals = [v for v in per.values() if v is not None]
    params = {
        "share_above_reference": float(np.mean([a > b for a, b in pairs])) if pairs else math.nan,
        "mass_accuracy": float(np.mean([a for a, _ in pairs])) if pairs else math.nan,
        "reference_mass_accuracy": float(np.mean([b for _, b in pairs])) if pairs else math.nan,
        "n_pairs": len(pairs),
    }
    methods = {e.method for e in mine}
    return MetricResult("relative_mass_accuracy", "log(ma / ma_ref - 1) on |scores|, per-example mean over "
                        "sentences with ma > ma_ref", float(np.mean(vals)) if vals else math.nan, len(vals), per,
                        excluded, method=method or (methods.pop() if len(methods) == 1 else None), params=params)


#: metric name → per-example function of (ground truth, scores)
PER_EXAMPLE = {
    "mass_accuracy": mass_accuracy,
    "top_k_precision": top_k_precision,
    "gt_roc_auc": gt_roc_auc,
    "gt_average_precision": gt_average_precision,
    "precision_at_specificity": precision_at_specificity,
}

__all__ = ["PER_EXAMPLE", "gecobench_top_k_precision", "gt_average_precision", "gt_roc_auc", "mass_accuracy",
           "precision_at_specificity", "relative_mass_accuracy", "relative_mass_accuracy_result", "top_k_precision"]
