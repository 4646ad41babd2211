"""Metrics are registry objects: direction, aggregation and family are asked, never guessed."""

import math

import pytest

from rationales.evaluation import evaluate, get_metric, metrics
from rationales.evaluation.metrics import LOWER_IS_BETTER, METRICS, iter_metrics
from rationales.evaluation.protocols import get_protocol
from rationales.types import Explanation

from .fakes import LinearWords
from .test_protocols import DS, EXPS, P1, P2


def test_every_metric_says_direction_family_and_aggregation():
    listed = metrics()
    assert [m["name"] for m in listed] == METRICS.names()
    for m in listed:
        assert m["direction"] in ("higher", "lower") and m["family"] and m["aggregation"]
    assert LOWER_IS_BETTER == {"sufficiency", "aopc_sufficiency", "failure_rate", "llm_failure_rate",
                               "hallucination_rate", "words_changed", "pair_difference", "nle_not_in_post_rate"}


@pytest.mark.parametrize("name, protocol, expected", [
    ("token_f1", "hatexplain", "mean"),      # instance_macro: the mean of per-example F1
    ("token_f1", "xmutest", "pooled"),       # micro: pooled counts
    ("token_precision", "xmutest", "pooled"),
    ("iou_f1", "hatexplain", "pooled"),      # F1 of mean precision and mean recall
    ("auprc", "xmutest", "mean"),
    ("comprehensiveness", "eraser", "mean"),
    ("macro_f1", "hatexplain", "pooled"),
    ("accuracy", "hatexplain", "mean"),
])
def test_aggregation_depends_on_the_protocol(name, protocol, expected):
    assert get_metric(name).aggregation(get_protocol(protocol)) == expected


@pytest.mark.parametrize("protocol", ["hatexplain", "xmutest", "eraser"])
def test_a_mean_metric_is_the_mean_of_its_per_example_values(protocol):
    """What corpus jobs rely on to average stored per-example values across chunks."""
    exps = EXPS + [Explanation("p1", P1.words, [0.1, 0.9, 0.3, 0.2, 0.8, 0.4], 0, "k"),
                   Explanation("p2", P2.words, [0.7, 0.1], 1, "k")]
    proto = get_protocol(protocol, examples="all", gold="dataset")
    results = evaluate(LinearWords(), exps, DS, proto)
    assert results
    for r in results:
        metric = get_metric(r.name)
        values = [v for v in r.per_example.values() if v is not None]
        if metric.aggregation(proto) == "mean" and values:
            assert r.value == pytest.approx(sum(values) / len(values)), r.label


def test_evaluate_reports_in_registry_order_and_only_what_the_protocol_asks():
    order = [m.name for m in iter_metrics()]
    names = [r.name for r in evaluate(LinearWords(), EXPS, DS, "hatexplain") if r.method == "m"]
    assert names == sorted(names, key=order.index)
    assert "aopc_comprehensiveness" not in names            # hatexplain: aopc=False
    eraser = [r.name for r in evaluate(LinearWords(), EXPS, DS, "eraser", gold="dataset") if r.method == "m"]
    assert "aopc_comprehensiveness" in eraser and not math.isnan(
        next(r.value for r in evaluate(LinearWords(), EXPS, DS, "eraser") if r.name == "comprehensiveness"))
