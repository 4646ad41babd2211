"""Faithfulness metrics on a classifier whose probabilities are computed by hand (see fakes)."""

import pytest

from rationales.evaluation.faithfulness import faithfulness
from rationales.types import Example, Explanation

from .fakes import LinearWords

E1 = Example("e1", ["bad", "very", "good", "x"])  # p(hateful) = 0.1 + 0.5 + 0.2 + 0.1 = 0.9
E2 = Example("e2", ["bad", "x"])  # p = 0.7


def exp(example, scores, target=1, method="m", failed=None):
    return Explanation(example.id, example.words, scores, target, method, failed=failed)


def top2(e):
    return e.top_k(2)


def by_name(results):
    return {r.name: r for r in results}


def test_comprehensiveness_sufficiency_delete_and_mask():
    e = exp(E1, [0.9, 0.5, 0.1, 0.3])  # top-2 = bad, very
    clf = LinearWords()
    r = by_name(faithfulness(clf, [e], {"e1": E1}, hard=top2, hard_name="top_k=2")["m"])
    # delete: without {bad, very} -> 0.1 + 0.1 = 0.2; only {bad, very} -> 0.8
    assert r["comprehensiveness"].value == pytest.approx(0.7)
    assert r["sufficiency"].value == pytest.approx(0.1)
    assert "removal=delete" in r["comprehensiveness"].variant and "hard=top_k=2" in r["sufficiency"].variant
    r = by_name(faithfulness(clf, [e], {"e1": E1}, hard=top2, hard_name="top_k=2", removal="mask")["m"])
    # mask: each masked word adds 0.05: without -> 0.3; only -> 0.9
    assert r["comprehensiveness"].value == pytest.approx(0.6)
    assert r["sufficiency"].value == pytest.approx(0.0)


def test_target_class_is_the_explanations_target():
    e = exp(E1, [0.9, 0.5, 0.1, 0.3], target=0)  # p(normal): 0.1 full, 0.8 without bad+very
    r = by_name(faithfulness(LinearWords(), [e], None, hard=top2, hard_name="top_k=2")["m"])
    assert r["comprehensiveness"].value == pytest.approx(-0.7)


def test_rationale_of_all_words_has_zero_sufficiency_by_definition():
    e = exp(E2, [1.0, 0.2])
    r = by_name(faithfulness(LinearWords(), [e], None, hard=lambda e: e.top_k(5), hard_name="top_k=5")["m"])
    assert r["sufficiency"].value == 0.0 and "0 by definition" in r["sufficiency"].variant
    assert r["comprehensiveness"].value == pytest.approx(0.7 - 0.1)  # p(no words) = 0.1


def test_empty_rationale_has_zero_comprehensiveness():
    e = exp(E2, [0.0, 0.0])
    r = by_name(faithfulness(LinearWords(), [e], None, hard=lambda e: e.hard("threshold=0.5"), hard_name="threshold=0.5")["m"])
    assert r["comprehensiveness"].value == 0.0
    assert r["sufficiency"].value == pytest.approx(0.6)


def test_aopc_over_eraser_bins():
    # 4 words: bins 1/5/10/20/50 % keep 1, 1, 1, 1, 2 words (at least one, round half up)
    e = exp(E1, [0.9, 0.5, 0.1, 0.3])
    r = by_name(faithfulness(LinearWords(), [e], None, hard=top2, hard_name="top_k=2",
                             aopc_bins=(0.01, 0.05, 0.1, 0.2, 0.5))["m"])
    # comp: k=1 -> 0.9 - 0.4 = 0.5, k=2 -> 0.7; suff: k=1 -> 0.9 - 0.6 = 0.3, k=2 -> 0.1
    assert r["aopc_comprehensiveness"].value == pytest.approx((4 * 0.5 + 0.7) / 5)
    assert r["aopc_sufficiency"].value == pytest.approx((4 * 0.3 + 0.1) / 5)
    assert "bins=1%/5%/10%/20%/50%" in r["aopc_sufficiency"].variant


def test_tau_loo():
    # leave-one-out drops: bad 0.5, very 0.2, good 0, x 0.1
    same = exp(E1, [0.9, 0.5, 0.1, 0.3], method="same")
    reversed_ = exp(E1, [0.0, 0.1, 0.9, 0.5], method="reversed")
    flat = exp(E1, [0.2, 0.2, 0.2, 0.2], method="flat")
    out = faithfulness(LinearWords(), [same, reversed_, flat], None, hard=top2, hard_name="top_k=2")
    assert by_name(out["same"])["tau_loo"].value == pytest.approx(1.0)
    assert by_name(out["reversed"])["tau_loo"].value == pytest.approx(-1.0)
    tau_flat = by_name(out["flat"])["tau_loo"]
    assert tau_flat.n == 0 and sum(tau_flat.excluded.values()) == 1


def test_one_call_per_example_for_all_methods_and_failed_excluded():
    clf = LinearWords()
    exps = [exp(E1, [0.9, 0.5, 0.1, 0.3], method="a"), exp(E1, [0.1, 0.2, 0.3, 0.4], method="b"),
            exp(E2, [1, 0], method="a"), exp(E2, [0, 0], method="b", failed="timeout")]
    out = faithfulness(clf, exps, None, hard=top2, hard_name="top_k=2", aopc_bins=(0.1, 0.5))
    assert sorted(c[0] for c in clf.calls) == ["e1", "e2"]
    comp_b = by_name(out["b"])["comprehensiveness"]
    assert comp_b.n == 1 and comp_b.excluded == {"failed": 1} and comp_b.per_example["e2"] is None
    # a: e1 0.7; e2 top-2 = both words -> 0.7 - 0.1
    assert by_name(out["a"])["comprehensiveness"].value == pytest.approx((0.7 + 0.6) / 2)


def test_examples_are_asked_together_and_chunking_changes_no_value():
    class Counting(LinearWords):
        def __init__(self):
            super().__init__()
            self.many_calls = []

        def predict_proba_masked_many(self, requests, removal="delete"):
            self.many_calls.append([ex.id for ex, _ in requests])
            return super().predict_proba_masked_many(requests, removal)

    exps = [exp(E1, [0.9, 0.5, 0.1, 0.3], method="a"), exp(E2, [1, 0], method="a"),
            exp(E1, [0.1, 0.2, 0.3, 0.4], method="b")]
    together, alone = Counting(), Counting()
    kw = dict(hard=top2, hard_name="top_k=2", aopc_bins=(0.1, 0.5))
    a = faithfulness(together, exps, None, **kw)
    b = faithfulness(alone, exps, None, chunk=1, **kw)
    assert together.many_calls == [["e1", "e2"]] and alone.many_calls == [["e1"], ["e2"]]
    assert {m: [(r.name, r.value, r.n) for r in rs] for m, rs in a.items()} == \
        {m: [(r.name, r.value, r.n) for r in rs] for m, rs in b.items()}
    with pytest.raises(ValueError, match="chunk"):
        faithfulness(together, exps, None, chunk=0, **kw)


def test_words_must_match_the_example():
    e = Explanation("e1", ["other", "words"], [1, 0], 1, "m")
    with pytest.raises(ValueError, match="differ"):
        faithfulness(LinearWords(), [e], {"e1": E1}, hard=top2, hard_name="top_k=2")
