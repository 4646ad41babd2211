"""Each method's own promise, checked against values computed by hand or directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rationales.methods import get_explainer
from rationales.methods._util import aggregate_to_words
from rationales.models.base import Classifier, as_examples
from rationales.models.engine import ForwardEngine
from rationales.types import Example

from .conformance import clear_cache


def test_aggregate_to_words_by_hand():
    # tokens: [CLS] w0 w1 w1 w1 [SEP]; word 2 has no token (truncated)
    scores = np.array([9.0, 1.0, 2.0, -5.0, 0.5, 9.0])
    index = np.array([-1, 0, 1, 1, 1, -1])
    assert aggregate_to_words(scores, index, 3, "sum").tolist() == [1.0, -2.5, 0.0]
    assert aggregate_to_words(scores, index, 3, "mean").tolist() == pytest.approx([1.0, -2.5 / 3, 0.0])
    assert aggregate_to_words(scores, index, 3, "max").tolist() == [1.0, 2.0, 0.0]
    assert aggregate_to_words(scores, index, 3, "absmax").tolist() == [1.0, -5.0, 0.0]
    with pytest.raises(ValueError, match="aggregate must be one of"):
        aggregate_to_words(scores, index, 3, "median")


def test_occlusion_is_the_drop_in_target_probability(planted3):
    ex = Example("e", ("we", "kill", "them"))
    exp = get_explainer("occlusion").explain(planted3, ex, target=2)[0]
    full = planted3.predict_proba([ex])[0, 2]
    for i in range(3):
        without = planted3.predict_proba([Example("x", ex.words[:i] + ex.words[i + 1:])])[0, 2]
        assert exp.scores[i] == pytest.approx(full - without, abs=1e-12)


class LinearClassifier(Classifier):
    """p(class 1) = 0.2 + Σ c_i · [word i present]: KernelSHAP must recover c exactly."""

    name = "linear"
    label_names = ["no", "yes"]

    def __init__(self, coef: dict[str, float]) -> None:
        self.coef = coef
        self.engine = ForwardEngine(self._run, no_grad=False)

    def _run(self, keys):
        p = np.array([0.2 + sum(self.coef[w] for w in k) for k in keys])
        return np.stack([1 - p, p], axis=1)

    def predict_proba(self, inputs):
        return self.engine([tuple(ex.words) for ex in as_examples(inputs)])

    def predict_proba_masked(self, example, keep, removal="delete"):
        return self.engine([tuple(w for w, k in zip(example.words, row) if k) for row in np.atleast_2d(keep)])

    def save(self, directory) -> Path:  # pragma: no cover
        raise NotImplementedError


def test_kernel_shap_recovers_the_coefficients_of_an_additive_model():
    coef = {"a": 0.3, "b": -0.1, "c": 0.05, "d": 0.2, "e": 0.0}
    clf = LinearClassifier(coef)
    exp = get_explainer("kernel_shap", n_samples=200).explain(clf, Example("x", tuple(coef)), target=1)[0]
    assert exp.scores == pytest.approx(list(coef.values()), abs=1e-4)
    # one word: the exact Shapley value p(word) − p(nothing)
    exp = get_explainer("kernel_shap").explain(clf, Example("x", ("a",)), target=1)[0]
    assert exp.scores == pytest.approx((0.3,), abs=1e-12)


def test_lime_ranks_an_additive_model_by_its_coefficients():
    coef = {"a": 0.3, "b": -0.1, "c": 0.05, "d": 0.2, "e": 0.0}
    exp = get_explainer("lime", n_samples=300).explain(LinearClassifier(coef), Example("x", tuple(coef)),
                                                       target=1)[0]
    assert exp.ranking() == [0, 3, 2, 4, 1]


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_surrogates_send_all_samples_as_one_engine_request_and_keep_global_rng(method, planted):
    calls = []
    original = planted.engine.run
    planted.engine.run = lambda keys: (calls.append(len(keys)), original(keys))[1]
    state = torch.random.get_rng_state()
    try:
        get_explainer(method, n_samples=50, stop="fixed").explain(planted, Example("e", tuple("abcdefgh")), target=1)
    finally:
        del planted.engine.run
    assert calls == [51]   # the prediction and every perturbation, at once
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_the_seed_matters(method, planted):
    ex = Example("e", ("one", "two", "three", "four", "five", "six", "seven", "kill"))
    a = get_explainer(method, n_samples=30, seed=1).explain(planted, ex)[0]
    b = get_explainer(method, n_samples=30, seed=2).explain(planted, ex)[0]
    assert a.scores != b.scores


def _direct_gradients(clf, example, target):
    """p(target)'s gradient w.r.t. the input embeddings, computed without Captum."""
    enc = clf.encode(example)
    ids = torch.tensor([enc.input_ids])
    emb = clf.embeddings()(ids).detach().requires_grad_(True)
    p = clf.forward_from_embeddings(emb, torch.ones_like(ids))[0, target]
    (grad,) = torch.autograd.grad(p, emb)
    return emb.detach()[0].double(), grad[0].double(), np.asarray(enc.word_index)


EX = Example("g", ("the", "unbelievably", "rude", "neighbours", "left"))


def test_gradient_is_the_summed_l2_norm_per_word(tiny):
    emb, grad, index = _direct_gradients(tiny, EX, 1)
    exp = get_explainer("gradient").explain(tiny, EX, target=1)[0]
    expected = aggregate_to_words(grad.norm(dim=-1).numpy(), index, len(EX.words), "sum")
    assert np.allclose(exp.scores, expected, rtol=1e-5, atol=1e-9)
    assert all(s >= 0 for s in exp.scores)
    assert (index == 1).sum() > 1   # "unbelievably" has several subwords: the sum is exercised


def test_grad_input_is_gradient_times_embedding(tiny):
    emb, grad, index = _direct_gradients(tiny, EX, 0)
    exp = get_explainer("grad_input", aggregate="mean").explain(tiny, EX, target=0)[0]
    expected = aggregate_to_words((emb * grad).sum(-1).numpy(), index, len(EX.words), "mean")
    assert np.allclose(exp.scores, expected, rtol=1e-5, atol=1e-9)


def test_integrated_gradients_is_complete(tiny):
    """Σ word scores = p(x) − p(baseline): the baseline masks every word and keeps the
    special tokens (whose attribution is then exactly 0), so p(baseline) is what the
    engine answers for "all words masked"."""
    exp = get_explainer("integrated_gradients", baseline="mask", n_steps=64).explain(tiny, EX, target=1)[0]
    p_full = tiny.predict_proba([EX])[0, 1]
    p_base = tiny.predict_proba_masked(EX, np.zeros((1, len(EX.words)), bool), "mask")[0, 1]
    assert sum(exp.scores) == pytest.approx(p_full - p_base, abs=exp.info["convergence_delta"] + 1e-6)
    assert exp.info["convergence_delta"] < 1e-3


def test_attention_is_the_cls_row_averaged_over_heads(tiny):
    att = tiny.attentions(EX)
    index = np.asarray(tiny.encode(EX).word_index)
    for layer in (-1, 0):
        exp = get_explainer("attention", layer=layer).explain(tiny, EX)[0]
        expected = aggregate_to_words(att[layer, :, 0, :].mean(0), index, len(EX.words), "sum")
        assert np.allclose(exp.scores, expected, atol=1e-7)
    with pytest.raises(ValueError, match="out of range"):
        get_explainer("attention", layer=5).explain(tiny, EX)


@pytest.mark.parametrize("method", ["ngram", "occlusion", "lime", "kernel_shap", "gradient",
                                    "grad_input", "integrated_gradients", "attention"])
def test_truncated_words_score_zero(method):
    clf = _short_tiny()
    words = tuple(f"w{i}" for i in range(12))
    params = {"n_samples": 20} if method in ("lime", "kernel_shap") else {}
    exp = get_explainer(method, **params).explain(clf, Example("long", words))[0]
    used = clf.n_words_used(Example("long", words))
    assert 0 < used < len(words)
    assert exp.info["truncated_at"] == used
    assert exp.scores[used:] == (0.0,) * (len(words) - used)
    assert any(s != 0 for s in exp.scores[:used])


_SHORT = {}


def _short_tiny():
    """A tiny BERT whose window (16 subwords) truncates a 12-word text of 2-subword words."""
    if "clf" not in _SHORT:
        from rationales.models.tiny import tiny_classifier

        _SHORT["clf"] = tiny_classifier(seed=2, max_length=16)
    return _SHORT["clf"]


def test_gradient_methods_refuse_a_non_differentiable_model(planted):
    from rationales.errors import ModelError

    for method in ("gradient", "grad_input", "integrated_gradients", "attention"):
        with pytest.raises(ModelError, match="needs (gradients|attention weights).*has none.*'occlusion'"):
            get_explainer(method).explain(planted, Example("e", ("a", "b")))


def test_params_are_validated():
    with pytest.raises(TypeError, match="unknown parameter"):
        get_explainer("occlusion", n_samples=3)
    with pytest.raises(ValueError, match="removal must be one of"):
        get_explainer("occlusion", removal="drop")
    with pytest.raises(ValueError, match="n_samples must be at least 2"):
        get_explainer("lime", n_samples=1)
    with pytest.raises(ValueError, match="baseline must be one of"):
        get_explainer("integrated_gradients", baseline="zeros")


def test_explanations_report_probs_and_forward_passes(planted):
    clear_cache(planted)
    exp = get_explainer("occlusion").explain(planted, Example("fp", ("x", "y", "kill")), target=1)[0]
    assert exp.info["forward_passes"] == 4   # full text + 3 leave-one-out
    assert exp.info["probs"] == pytest.approx(planted.predict_proba([Example("fp", ("x", "y", "kill"))])[0].tolist())


def test_forward_passes_with_an_engine_that_only_counts_in_total():
    """A classifier that is not an EngineClassifier but has an engine: the examples are
    asked one at a time and each explanation gets the passes counted around its call."""
    clf = LinearClassifier({"a": 0.3, "b": -0.1, "c": 0.05})
    exps = get_explainer("occlusion").explain(
        clf, [Example("x", ("a", "b")), Example("y", ("a", "c")), Example("z", ("a", "b"))], target=1)
    # x: (a,b), (b,), (a,); y: (a,c), (c,) (its (a,) came from x); z: all cached
    assert [e.info["forward_passes"] for e in exps] == [3, 2, 0]
    assert exps[1].scores == pytest.approx([0.3, 0.05])  # p drop without a, without c
