"""Classification metrics: accuracy, macro-F1 and AUROC (one-vs-rest, macro) on labelled examples."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..jsonio import finite
from ..models.base import Classifier
from ..types import Dataset, MetricResult

if TYPE_CHECKING:
    from .protocols import Protocol


def classification_metrics(
    ids: Sequence[str],
    y_true: Sequence[int],
    proba: np.ndarray,
    label_names: Sequence[str],
    context: str = "",
) -> list[MetricResult]:
    """Accuracy, macro-F1 and AUROC of predicted probabilities against gold labels.

    - ``accuracy``: share of argmax predictions equal to the gold label.
    - ``macro_f1``: sklearn ``f1_score(average="macro")`` over the labels that occur in
      the gold labels or the predictions (sklearn's default label set).
    - ``auroc``: one-vs-rest, macro: for every class with at least one positive and one
      negative gold example, the binary ROC AUC of that class's probability, then the
      mean. With every class present this equals sklearn's ``roc_auc_score(...,
      multi_class="ovr", average="macro")``; classes absent from the gold labels (e.g.
      ``normal`` on HateXplain's non-normal posts) are left out and named in the variant.

    ``per_example`` of accuracy holds 1.0/0.0 per example (for comparing runs).
    """
    from sklearn.metrics import f1_score, roc_auc_score

    y = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba, dtype=float)
    n = len(y)
    pred = proba.argmax(axis=1) if n else np.zeros(0, dtype=int)
    ctx = f", {context}" if context else ""
    if not n:
        nan = float("nan")
        return [MetricResult(m, context, nan, 0) for m in ("accuracy", "macro_f1", "auroc")]
    correct = {i: float(p == t) for i, p, t in zip(ids, pred, y)}
    acc = MetricResult("accuracy", context, float(np.mean(pred == y)), n, correct)
    f1 = MetricResult("macro_f1", "sklearn macro" + ctx, float(f1_score(y, pred, average="macro")), n)
    used, aucs = [], []
    for c in range(proba.shape[1]):
        pos = y == c
        if pos.any() and (~pos).any():
            aucs.append(roc_auc_score(pos.astype(int), proba[:, c]))
            used.append(label_names[c])
    auroc = MetricResult(
        "auroc", f"ovr macro over {'/'.join(used) or 'no class'}" + ctx,
        float(np.mean(aucs)) if aucs else float("nan"), n,
        excluded={} if len(used) == proba.shape[1] else {"classes_without_positives_or_negatives": proba.shape[1] - len(used)},
    )
    return [acc, f1, auroc]


def classification_summary(
    proba: np.ndarray, y_true: Sequence[int], label_names: Sequence[str], context: str = ""
) -> dict[str, Any]:
    """:func:`classification_metrics` as one plain dict (what a training report stores):
    ``n``, ``accuracy``, ``macro_f1``, ``auroc`` (None where undefined) and ``variants``."""
    ids = [str(i) for i in range(len(y_true))]
    results = classification_metrics(ids, y_true, proba, label_names, context)
    out: dict[str, Any] = {"n": len(ids)}
    out.update({r.name: finite(r.value) for r in results})
    out["variants"] = {r.name: r.variant for r in results}
    return out


def classify(classifier: Classifier, dataset: Dataset, proto: "Protocol", selected: Dataset) -> list[MetricResult]:
    """Accuracy, macro-F1, AUROC on the protocol's choice of examples (see Protocol.classification_on)."""
    on_all = proto.classification_on == "dataset"
    pool = [ex for ex in (dataset if on_all else selected) if ex.label is not None]
    if not pool:
        return []
    proba = np.asarray(classifier.predict_proba(pool))
    where = f"on={dataset.full_name if on_all else 'protocol examples'} ({len(pool)} labelled)"
    return classification_metrics([ex.id for ex in pool], [int(ex.label or 0) for ex in pool], proba,
                                  classifier.label_names, where)
