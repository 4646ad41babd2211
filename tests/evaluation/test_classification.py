"""Classification metrics against scikit-learn and by hand."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rationales.evaluation.classification import classification_metrics


def test_matches_sklearn_ovr_when_every_class_is_present():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1, 1, 1], size=30)
    y = np.array([0, 1, 2] * 10)
    acc, f1, auroc = classification_metrics([str(i) for i in range(30)], y, proba, ["a", "b", "c"])
    assert auroc.value == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert acc.value == pytest.approx(np.mean(proba.argmax(1) == y))
    assert "ovr macro over a/b/c" in auroc.variant


def test_absent_class_is_left_out_of_auroc_and_named():
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.1, 0.6], [0.2, 0.2, 0.6], [0.5, 0.0, 0.5]])
    y = [0, 2, 2, 0]
    acc, f1, auroc = classification_metrics(list("abcd"), y, proba, ["hate", "normal", "off"])
    # hate: positives 0.8, 0.5 vs negatives 0.3, 0.2 -> 1.0; off: 0.6, 0.6 vs 0.1, 0.5 -> 1.0
    assert auroc.value == pytest.approx(1.0) and "hate/off" in auroc.variant
    assert auroc.excluded == {"classes_without_positives_or_negatives": 1}
    # predictions 0, 2, 2, 0 (ties go to the first class): all right
    assert acc.value == 1.0 and acc.per_example == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
