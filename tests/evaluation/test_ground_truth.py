"""Ground-truth metrics (GECOBench), pinned by hand-computed values; the geco protocol."""

import math

import pytest

from rationales.evaluation import evaluate
from rationales.evaluation.ground_truth import (
    gecobench_top_k_precision,
    gt_average_precision,
    gt_roc_auc,
    mass_accuracy,
    precision_at_specificity,
    relative_mass_accuracy,
    relative_mass_accuracy_result,
    top_k_precision,
)
from rationales.types import Dataset, Example, Explanation

from .fakes import LinearWords

T = [1, 0, 1, 0, 0]
S = [0.5, -0.4, 0.1, 0.0, 0.0]   # |s| = .5 .4 .1 0 0


def test_values_by_hand():
    assert mass_accuracy(T, S) == pytest.approx(0.6)                 # (.5 + .1) / 1.0
    assert top_k_precision(T, S) == pytest.approx(0.5)               # k = 2: words 0, 1 -> one hit
    assert gt_roc_auc(T, S) == pytest.approx(5 / 6)                  # pos .5 beats 3, pos .1 beats 2 of 3
    assert gt_average_precision(T, S) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # thresholds from the lowest: |s| >= 0 predicts all (specificity 0); |s| >= .1 predicts
    # words 0, 1, 2: one false positive of 3 negatives -> specificity 2/3 > .5, precision 2/3
    assert precision_at_specificity(T, S) == pytest.approx(2 / 3)


def test_correct_top_k_differs_from_gecobench_published_one():
    truth, scores = [0, 0, 1, 1, 1], [0.9, 0.8, 0.7, 0.6, 0.5]
    assert top_k_precision(truth, scores) == pytest.approx(1 / 3)    # top 3 = words 0, 1, 2
    # GECOBench's argsort(a)[::-1][g] picks the 1st and 2nd ranked words only: {0, 1}
    assert gecobench_top_k_precision(truth, scores) == 0.0


def test_ties_negative_and_all_zero_attributions():
    truth, scores = [0, 1, 1], [0.3, 0.3, -0.3]                      # every |s| ties
    assert mass_accuracy(truth, scores) == pytest.approx(2 / 3)
    assert top_k_precision(truth, scores) == pytest.approx(0.5)      # ties: the earlier words first
    assert gt_roc_auc(truth, scores) == pytest.approx(0.5)
    assert precision_at_specificity(truth, scores) == 0.0            # no threshold leaves a negative out
    assert math.isnan(mass_accuracy([0, 1], [0.0, 0.0]))             # nothing attributed: undefined
    assert top_k_precision([0, 1], [0.0, 0.0]) == 0.0
    assert math.isnan(gt_roc_auc([1, 1], [0.2, 0.1]))                # one class only: undefined


def _pair_data():
    m = Example("m", ["He", "runs", "fast"], label=1, rationale=[1, 0, 0], meta={"pair": 7})
    f = Example("f", ["She", "runs", "fast"], label=0, rationale=[1, 0, 0], meta={"pair": 7})
    z = Example("z", ["They", "stop"], label=1, rationale=[1, 0], meta={"pair": 8})
    return Dataset([m, f, z], ["female", "male"], "toy", "test")


def test_geco_protocol_reports_ground_truth_metrics_and_the_pair_statistic():
    ds = _pair_data()
    exps = [Explanation("m", ds[0].words, [1.0, 0.5, 0.2], 1, "k"),
            Explanation("f", ds[1].words, [2.0, 0.4, 0.4], 0, "k"),
            Explanation("z", ds[2].words, [0.0, 0.0], 1, "k")]
    r = {x.name: x for x in evaluate(LinearWords(), exps, ds, "geco", classification=False) if x.method == "k"}
    # normalised: m [1, .5, .2], f [1, .2, .2]; unchanged words 1, 2: (|.5-.2| + 0) / 2
    assert r["pair_difference"].value == pytest.approx(0.15) and r["pair_difference"].n == 2
    assert r["pair_difference"].excluded == {"pair_not_both_explained": 1}
    assert r["mass_accuracy"].value == pytest.approx((1 / 1.7 + 2 / 2.8) / 2)
    assert r["mass_accuracy"].excluded == {"zero_attribution": 1}
    assert r["top_k_precision"].value == pytest.approx(1.0) and r["top_k_precision"].n == 3
    assert r["pair_difference"].method == "k" and "comprehensiveness" in r


def test_only_correct_keeps_pairs_whose_both_forms_are_right():
    from rationales.evaluation.protocols import get_protocol

    ds = _pair_data()
    kept = get_protocol("geco", only_correct=True).keep_correct(ds, [1, 1, 1])   # 'f' is wrong
    assert [ex.id for ex in kept] == ["z"]


def test_relative_mass_accuracy_by_hand():
    assert relative_mass_accuracy(0.6, 0.2) == pytest.approx(math.log(2.0))      # log(0.6 / 0.2 - 1)
    assert relative_mass_accuracy(0.5, 0.4) == pytest.approx(math.log(0.25))
    for ma, ref in ((0.3, 0.3), (0.2, 0.4), (0.5, 0.0), (math.nan, 0.2)):         # undefined: excluded
        assert math.isnan(relative_mass_accuracy(ma, ref))

    ds = Dataset([Example("a", ["x", "y"], label=1, rationale=[1, 0]),
                  Example("b", ["x", "y"], label=1, rationale=[1, 0]),
                  Example("c", ["x", "y"], label=1, rationale=[1, 0]),
                  Example("d", ["x", "y"], label=1, rationale=[1, 0])], ["f", "m"], "toy", "test")

    def exps(scores):
        return [Explanation(i, ["x", "y"], s, 1, "occlusion") for i, s in scores.items()]

    model = exps({"a": [0.9, 0.1], "b": [0.2, 0.8], "c": [0.5, 0.5], "d": [0.0, 0.0]})
    ref = exps({"a": [0.3, 0.7], "b": [0.5, 0.5], "c": [0.0, 1.0], "d": [1.0, 0.0]})
    r = relative_mass_accuracy_result(model, ref, ds)
    # a: ma .9 vs .3 -> log(2); b: .2 <= .5 -> not above; c: ref 0 -> zero reference; d: no attribution
    assert r.value == pytest.approx(math.log(2.0)) and r.n == 1 and r.method == "occlusion"
    assert r.excluded == {"not_above_reference": 1, "zero_reference": 1, "zero_attribution": 1}
    assert r.params["share_above_reference"] == pytest.approx(2 / 3)   # a and c of the 3 pairs with both defined
    assert r.params["mass_accuracy"] == pytest.approx((0.9 + 0.2 + 0.5) / 3)
    assert r.params["reference_mass_accuracy"] == pytest.approx((0.3 + 0.5 + 0.0) / 3)
    assert relative_mass_accuracy_result(model, [], ds).excluded == {"no_reference_explanation": 4}
