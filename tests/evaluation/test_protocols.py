"""Protocols: presets, overrides, and the published-definition values each one gives."""

import pytest

from rationales.evaluation import evaluate, metrics, protocols
from rationales.evaluation.protocols import get_protocol
from rationales.rules import hard_rationale, xmutest_k
from rationales.types import Dataset, Example, Explanation

from .fakes import LinearWords

LABELS = ["hatespeech", "normal", "offensive"]
P1 = Example("p1", ["bad", "very", "good", "x", "y", "z"], label=0, rationale=[1, 1, 0, 0, 0, 1],
             meta={"annotator_rationales": [[1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0]]})
P2 = Example("p2", ["x", "bad"], label=2, rationale=[0, 1], meta={"annotator_rationales": [[0, 1], [0, 1]]})
P3 = Example("p3", ["good", "day"], label=1)
DS = Dataset([P1, P2, P3], LABELS, "toy", "test")
EXPS = [
    Explanation("p1", P1.words, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1], 1, "m"),
    Explanation("p2", P2.words, [0.2, 0.9], 1, "m"),
    Explanation("p3", P3.words, [0.5, 0.1], 1, "m"),
]


def values(results):
    return {r.name: r for r in results if r.method == "m"}


def test_xmutest_rule():
    assert [xmutest_k(n) for n in (0, 1, 2, 5, 10, 11, 40)] == [0, 1, 1, 2, 5, 5, 5]
    e = Explanation("a", ["w"], [0.0], 0, "m")
    assert hard_rationale(e, "xmutest") == [1]  # a one-word text: that word


def test_gold_union_and_majority():
    assert get_protocol("hatexplain").gold_mask(P1) == [1, 1, 0, 0, 0, 1]
    assert get_protocol("xmutest").gold_mask(P1) == [1, 1, 0, 0, 0, 0]
    assert get_protocol("hatexplain").gold_mask(P3) is None


def test_hatexplain_protocol_values():
    r = values(evaluate(LinearWords(), EXPS, DS, "hatexplain", classification=False))
    # p1 top-5 vs union: p 2/5 r 2/3 f1 1/2; p2 top-5 = both words: p 1/2 r 1 f1 2/3
    assert r["token_f1"].value == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert r["token_f1"].n == 2  # the normal post is not in the protocol
    assert r["token_f1"].variant == "instance_macro, hard=top_k=5, gold=union"
    # one span per top-5 word: p1 P 2/5 R 2/2; p2 P 1/2 R 1/1
    assert r["iou_f1"].value == pytest.approx(2 * 0.45 * 1 / 1.45)
    # delete: p1 0.9 -> 0.1 without, 0.9 with only the rationale; p2 is all words
    assert r["comprehensiveness"].value == pytest.approx((0.8 + 0.6) / 2)
    assert r["sufficiency"].value == pytest.approx(0.0)
    assert "aopc_comprehensiveness" not in r


def test_xmutest_protocol_values():
    r = values(evaluate(LinearWords(), EXPS, DS, "xmutest", classification=False))
    # p1: 6 words -> top 3 vs majority [1,1,0,0,0,0]; p2: 2 words -> top 1 = bad: pooled 3/4, 3/3
    assert r["token_f1"].value == pytest.approx(6 / 7)
    assert r["token_f1"].variant.startswith("micro, hard=xmutest, gold=majority")
    # mask: masked words add 0.05. p1: without 0.1+0.1+0.15, only 0.8+0.15; p2: 0.25, 0.65
    assert r["comprehensiveness"].value == pytest.approx((0.55 + 0.45) / 2)
    assert r["sufficiency"].value == pytest.approx((-0.05 + 0.05) / 2)
    assert "removal=mask" in r["sufficiency"].variant


def test_eraser_protocol_values():
    r = values(evaluate(LinearWords(), EXPS, DS, "eraser", classification=False))
    # mean gold fraction 0.5: p1 top 3 -> f1 2/3; p2 top 1 -> f1 1; p3 has no gold
    assert r["token_f1"].value == pytest.approx(5 / 6)
    assert r["token_f1"].excluded == {"no_gold": 1}
    assert "hard=top_fraction=0.5000" in r["token_f1"].variant
    # contiguous spans: p1 (0,3) vs (0,2) hit: P 1, R 1/2; p2 exact: macro P 1, R 3/4
    assert r["iou_f1"].value == pytest.approx(6 / 7)
    # AOPC: p1 keeps 1,1,1,1,3 words per bin: (4*0.5 + 0.7)/5; p2 1 word: 0.5; p3: 0
    assert r["aopc_comprehensiveness"].value == pytest.approx((0.54 + 0.5 + 0.0) / 3)
    assert r["aopc_comprehensiveness"].n == 3


def test_overrides_and_description():
    p = get_protocol("hatexplain", top_k="2", removal="mask", aopc="true")
    assert (p.hard, p.removal, p.aopc) == ("top_k=2", "mask", True)
    text = p.describe(DS)
    for piece in ("examples=non_normal of toy:test (2 of 3)", "gold=union", "hard rationale=top_k=2",
                  "removal=mask", "instance_macro", "IOU>=0.5", "AOPC over bins 1%/5%/10%/20%/50%"):
        assert piece in text
    with pytest.raises(TypeError, match="unknown protocol field 'topk'"):
        get_protocol("hatexplain", topk=3)
    with pytest.raises(ValueError, match="removal"):
        get_protocol("hatexplain", removal="drop")
    with pytest.raises(KeyError, match="Did you mean 'eraser'"):
        get_protocol("erasre")


def test_evaluate_counts_failures_and_missing_explanations():
    exps = [EXPS[0], Explanation("p2", P2.words, [0, 0], 1, "m", failed="LLM timeout")]
    r = values(evaluate(LinearWords(), exps, DS, "hatexplain", classification=False))
    assert r["failure_rate"].value == pytest.approx(0.5)
    assert r["token_f1"].n == 1 and r["token_f1"].excluded == {"failed": 1}
    assert r["comprehensiveness"].excluded == {"failed": 1}
    r = values(evaluate(LinearWords(), [EXPS[0]], DS, "hatexplain", classification=False))
    assert r["token_f1"].excluded == {"no_explanation": 1}


def test_registries_list_everything():
    names = {m["name"] for m in metrics()}
    assert {"token_f1", "iou_f1", "auprc", "comprehensiveness", "sufficiency", "tau_loo", "auroc"} <= names
    assert [p["name"] for p in protocols()] == ["hatexplain", "eraser", "xmutest", "geco"]


def test_rx_evaluate_is_a_function_whatever_was_imported_first():
    import inspect

    import rationales as rx
    import rationales.evaluation.benchmark
    import rationales.methods  # noqa: F401 - subpackages no longer share a name with a function

    assert inspect.isfunction(rx.evaluate) and inspect.isfunction(rx.explain)
    assert inspect.isfunction(rx.explainers) and inspect.isfunction(rx.metrics)
    r = values(rx.evaluate(LinearWords(), EXPS, DS, "hatexplain", classification=False))
    assert r["token_f1"].value == pytest.approx((1 / 2 + 2 / 3) / 2)
