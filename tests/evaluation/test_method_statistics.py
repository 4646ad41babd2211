"""LLM-consulted methods' own statistics (hallucination, LLM failure, flips) appear in
evaluate's results with hand-computed values, and only for the methods that report them."""

import math

from rationales.evaluation import evaluate
from rationales.types import Dataset, Example, Explanation

from .fakes import LinearWords

A = Example("a", ["bad", "very", "good"], label=1, rationale=[1, 0, 0])
B = Example("b", ["x", "bad"], label=1, rationale=[0, 1])
C = Example("c", ["good", "day", "x"], label=1, rationale=[0, 0, 1])
DS = Dataset([A, B, C], ["normal", "hateful"], "toy", "test")


def by_name(results, method):
    return {r.name: r for r in results if r.method == method}


def run(exps):
    return evaluate(LinearWords(), exps, DS, protocol="xmutest", classification=False)


def test_hallucination_rate_is_the_mean_over_answered_posts():
    exps = [
        Explanation("a", A.words, [1, 0, 0], 1, "llm", info={"hallucination_rate": 0.5}),
        Explanation("b", B.words, [0, 1], 1, "llm", info={"hallucination_rate": 0.0}),
        Explanation("c", C.words, [0, 0, 0], 1, "llm", failed="TimeoutError: no answer"),
    ]
    r = by_name(run(exps), "llm")
    assert r["hallucination_rate"].value == 0.25 and r["hallucination_rate"].n == 2
    assert r["hallucination_rate"].excluded == {"failed_or_no_answer": 1}
    assert math.isclose(r["failure_rate"].value, 1 / 3)
    assert "flip_rate" not in r and "llm_failure_rate" not in r


def test_union_reports_how_often_its_llm_part_fell_back():
    exps = [
        Explanation("a", A.words, [1.5, 0, 0], 1, "union",
                    info={"llm_rationale": [1, 0, 0], "hallucination_rate": 0.2}),
        Explanation("b", B.words, [0, 1.5], 1, "union",
                    info={"llm_rationale": [0, 0], "llm_failed": "unparseable", "hallucination_rate": 0.0}),
    ]
    r = by_name(run(exps[:2]), "union")
    assert r["llm_failure_rate"].value == 0.5
    # the fallen-back post's 0.0 is not an answer: only post a counts
    assert r["hallucination_rate"].value == 0.2 and r["hallucination_rate"].n == 1


def test_counterfactual_flip_rate_and_words_changed():
    exps = [
        Explanation("a", A.words, [1, 0, 0], 1, "counterfactual", info={"flipped": True, "words_changed": 1}),
        Explanation("b", B.words, [0, 1], 1, "counterfactual", info={"flipped": True, "words_changed": 3}),
        Explanation("c", C.words, [0, 0, 0], 1, "counterfactual", failed="no edit flipped the label in 3 tries"),
    ]
    r = by_name(run(exps), "counterfactual")
    assert math.isclose(r["flip_rate"].value, 2 / 3) and r["flip_rate"].n == 3
    assert r["words_changed"].value == 2.0 and r["words_changed"].n == 2


def test_other_methods_get_none_of_these():
    exps = [Explanation(e.id, e.words, [0.1] * len(e.words), 1, "occlusion") for e in DS]
    names = set(by_name(run(exps), "occlusion"))
    assert not names & {"hallucination_rate", "llm_failure_rate", "flip_rate", "words_changed"}
