"""Hardness: signals, equal-sized terciles with a stable order, per-tercile metrics."""

import math

import pytest

from rationales.evaluation.benchmark import benchmark
from rationales.evaluation.hardness import hardness_signals, stratify, terciles
from rationales.report.table import strata_lines
from rationales.types import Dataset, Example, MetricResult

from .fakes import LinearWords


def test_terciles_are_equal_sized_and_ties_keep_dataset_order():
    order = [f"e{i}" for i in range(7)]
    values = {"e0": 0.5, "e1": 0.1, "e2": 0.5, "e3": 0.9, "e4": 0.1, "e5": 0.5, "e6": None}
    g = terciles(values, "margin", order)                       # low margin = hard
    assert g == {"hardest": ["e1", "e4"], "middle": ["e0", "e2"], "easiest": ["e5", "e3"]}
    g = terciles(values, "length", order)                       # long = hard
    assert g["hardest"] == ["e3", "e0"] and g["easiest"] == ["e1", "e4"]
    sizes = [len(v) for v in terciles({f"x{i}": float(i) for i in range(10)}, "loss",
                                      [f"x{i}" for i in range(10)]).values()]
    assert sizes == [4, 3, 3]


def test_stratify_means_difference_and_interval():
    order = ["a", "b", "c", "d", "e", "f"]
    margin = {"a": 0.0, "b": 0.1, "c": 0.2, "d": 0.3, "e": 0.4, "f": 0.5}
    r = MetricResult("token_f1", "v", 0.5, 6, {"a": 0.0, "b": 0.2, "c": 0.4, "d": 0.6, "e": 0.8, "f": None},
                     method="m")
    row = stratify([r], margin, "margin", order, n_boot=200)[0]
    assert row["hardest"] == {"mean": pytest.approx(0.1), "n": 2}
    assert row["easiest"] == {"mean": pytest.approx(0.8), "n": 1}   # f has no value
    assert row["hardest_minus_easiest"] == pytest.approx(-0.7)
    lo, hi = row["ci95"]
    assert lo <= -0.7 <= hi


def test_signals_from_the_model_and_the_annotators():
    ex = [Example("p", ["bad", "x"], label=1, meta={"annotator_labels": ["a", "a", "b"]}),
          Example("q", ["x"], label=0)]
    s = hardness_signals(LinearWords(), ex)
    assert s["agreement"] == {"p": pytest.approx(2 / 3), "q": None}
    assert s["length"] == {"p": 2.0, "q": 1.0}
    for i in ("p", "q"):
        assert s["loss"][i] >= 0 and -1 <= s["margin"][i] <= 1 and s["correct"][i] in (0.0, 1.0)


def test_benchmark_reports_every_metric_per_tercile():
    exs = [Example(f"e{i}", ["bad"] * (i % 3 + 1) + ["ok"], label=1, rationale=[1] * (i % 3 + 1) + [0])
           for i in range(9)]
    ds = Dataset(exs, ["normal", "hateful"], "toy", "test")
    run = benchmark(LinearWords(), ds, ["occlusion"], "hatexplain", progress=False, gold="dataset",
                    examples="all", strata="hardness,length")
    assert set(run.strata) == {"margin", "length"}
    rows = {r["metric"]: r for r in run.strata["length"]}
    assert rows["token_f1"]["hardest"]["n"] + rows["token_f1"]["middle"]["n"] + rows["token_f1"]["easiest"]["n"] == 9
    assert any("By length" in line for line in strata_lines(run))
    assert not math.isnan(rows["comprehensiveness"]["easiest"]["mean"])
    with pytest.raises(ValueError, match="unknown hardness signal 'shape'"):
        benchmark(LinearWords(), ds, ["occlusion"], "hatexplain", progress=False, strata="shape")
