"""Plausibility metrics on small cases computed by hand."""

import math

import pytest

from rationales.evaluation.plausibility import auprc, iou_f1, spans, token_prf


def test_spans_are_maximal_runs():
    assert spans([1, 1, 0, 1]) == [(0, 2), (3, 4)]
    assert spans([0, 0]) == []
    assert spans([1, 1, 1]) == [(0, 3)]


ITEMS = [
    ("a", [1, 1, 0, 0], [1, 0, 1, 0]),  # tp 1: p 1/2, r 1/2, f1 1/2
    ("b", [0, 0, 1], [0, 0, 0]),  # empty prediction: p 0, r 0, f1 0
    ("c", None, [1, 0]),  # no gold: excluded
    ("d", [0, 0], [1, 0]),  # empty gold: excluded
    ("e", [1, 1, 1], [1, 1, 1]),  # a rationale of all words, found: 1, 1, 1
]


def test_token_prf_instance_macro_is_mean_of_per_example_values():
    p, r, f = token_prf(ITEMS, "instance_macro", context="top_k=2")
    assert (p.value, r.value, f.value) == pytest.approx((0.5, 0.5, 0.5))
    assert f.n == 3 and f.excluded == {"no_gold": 1, "empty_gold": 1}
    assert f.per_example["a"] == pytest.approx(0.5) and f.per_example["b"] == 0.0
    assert f.per_example["c"] is None and f.per_example["d"] is None
    assert f.variant == "instance_macro, top_k=2" and f.label == "token_f1[instance_macro, top_k=2]"


def test_token_prf_micro_pools_counts():
    # tp 1+0+3 = 4, predicted 2+0+3 = 5, gold 2+1+3 = 6
    p, r, f = token_prf(ITEMS, "micro")
    assert p.value == pytest.approx(4 / 5) and r.value == pytest.approx(4 / 6)
    assert f.value == pytest.approx(8 / 11)
    assert f.variant.startswith("micro")


def test_token_prf_macro_f1_differs_from_f1_of_means():
    items = [("a", [1, 1], [1, 0]), ("b", [1, 0, 0, 0], [1, 1, 1, 1])]
    # a: p 1, r 1/2, f1 2/3; b: p 1/4, r 1, f1 2/5
    p, r, f = token_prf(items)
    assert p.value == pytest.approx(5 / 8) and r.value == pytest.approx(3 / 4)
    assert f.value == pytest.approx((2 / 3 + 2 / 5) / 2)


def test_iou_multiple_spans_contiguous_and_tokens():
    gold, pred = [1, 1, 0, 0, 1, 1, 1, 0], [1, 0, 0, 0, 1, 1, 0, 0]
    # contiguous: (0,1) vs (0,2) IOU 1/2 hit; (4,6) vs (4,7) IOU 2/3 hit
    assert iou_f1([("a", gold, pred)]).value == pytest.approx(1.0)
    # one span per word: (0,1) hit; (4,5) and (5,6) IOU 1/3 miss -> p 1/3, r 1/2
    res = iou_f1([("a", gold, pred)], pred_spans="tokens")
    assert res.value == pytest.approx(0.4)
    assert "pred_spans=tokens" in res.variant and "iou>=0.5" in res.variant


def test_iou_touching_gold_spans_merge_in_a_mask():
    # [1,1,1,1] is one span whether annotators marked (0,2)+(2,4) or (0,4): IOU of (0,2) is 1/2
    assert iou_f1([("a", [1, 1, 1, 1], [1, 1, 0, 0])]).value == pytest.approx(1.0)
    assert iou_f1([("a", [1, 1, 1, 1], [1, 0, 0, 0])]).value == 0.0  # IOU 1/4


def test_iou_macro_has_erasers_precision_recall_asymmetry():
    items = [
        ("a", [1, 0, 0], [1, 0, 0]),  # tp 1 of 1 predicted, 1 gold
        ("b", [0, 1, 1], [0, 0, 0]),  # nothing predicted: counts in recall only
        ("c", [1, 1, 0, 0, 1], [0, 0, 1, 1, 1]),  # (2,5): IOU 1/3 with (4,5): miss
        ("d", None, [1]),
    ]
    macro = iou_f1(items)
    # R = (1 + 0 + 0) / 3 over examples with gold; P = (1 + 0) / 2 over examples with predictions
    assert macro.params["recall"] == pytest.approx(1 / 3)
    assert macro.params["precision"] == pytest.approx(1 / 2)
    assert macro.params["n_precision"] == 2 and macro.params["n_recall"] == 3
    assert macro.value == pytest.approx(0.4)
    assert macro.n == 3 and macro.excluded == {"no_gold": 1}
    micro = iou_f1(items, average="micro")  # tp 1, predicted 2, gold 4
    assert micro.value == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_auprc_by_hand():
    # (recall, precision): (1, 2/3) (1/2, 1/2) (1/2, 1) (0, 1): trapezoids 7/24 + 0 + 1/2
    res = auprc([("a", [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])])
    assert res.value == pytest.approx(19 / 24)
    # ties: one threshold, precision 1/3 at recall 1, then (0, 1): (1/3 + 1) / 2
    assert auprc([("a", [1, 0, 0], [0.5, 0.5, 0.5])]).value == pytest.approx(2 / 3)
    # a gold rationale of all words: precision is 1 everywhere
    assert auprc([("a", [1, 1], [0.1, 0.9])]).value == pytest.approx(1.0)


def test_no_usable_gold_gives_nan_and_counts():
    res = auprc([("a", None, [0.1]), ("b", [0], [0.3])])
    assert math.isnan(res.value) and res.n == 0 and res.excluded == {"no_gold": 1, "empty_gold": 1}


def test_length_mismatch_names_the_example():
    with pytest.raises(ValueError, match="'a'"):
        token_prf([("a", [1, 0], [1])])
