"""LIME and KernelSHAP: the fixed budget is Captum's answer unchanged; the adaptive
stopping rule stops where it says it does, on models whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rationales.errors import ParameterError
from rationales.methods import get_explainer
from rationales.methods._surrogate import coefficient_standard_errors, top_set
from rationales.types import Example

from .planted import PlantedClassifier
from .test_methods import LinearClassifier

POSTS = [Example(f"e{i}", tuple(f"w{j}" for j in range(2 + i)) + ("kill",)) for i in range(7)]


def captum_before(clf, method: str, example: Example, target: int, n: int, seed: int) -> np.ndarray:
    """What the explainers returned before: Captum's attribute, one example, one forward call."""
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import KernelShap, Lime
    from captum.attr._core.lime import get_exp_kernel_similarity_function

    used = clf.n_words_used(example)

    def forward(presence):
        present = presence.detach().numpy().reshape(len(presence), used) > 0.5
        keep = np.ones((len(present), len(example.words)), dtype=bool)
        keep[:, :used] = present
        return torch.as_tensor(clf.predict_proba_masked(example, keep, "delete"), dtype=torch.float64)

    algo = (Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0),
                 similarity_func=get_exp_kernel_similarity_function("cosine", 1.0))
            if method == "lime" else KernelShap(forward))
    inputs = torch.ones(1, used, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        attr = algo.attribute(inputs, baselines=torch.zeros_like(inputs), target=target,
                              feature_mask=torch.arange(used).unsqueeze(0), n_samples=n, perturbations_per_eval=n)
    return attr.detach().numpy().reshape(used)


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
@pytest.mark.parametrize("n,seed", [(40, 0), (120, 7)])
def test_fixed_budget_is_captums_result_unchanged(method, n, seed):
    clf = PlantedClassifier(n_labels=3, max_words=7)  # the longer posts are truncated
    exps = get_explainer(method, n_samples=n, seed=seed, stop="fixed").explain(clf, POSTS, [1] * len(POSTS))
    for ex, exp in zip(POSTS, exps):
        used = clf.n_words_used(ex)
        np.testing.assert_array_equal(exp.scores[:used], captum_before(clf, method, ex, 1, n, seed))
        assert exp.scores[used:] == (0.0,) * (len(ex.words) - used)
        assert exp.info["samples"] == n and exp.info["stop_reason"] == "fixed" and exp.info["rounds"] == 1


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_samples_of_every_example_go_to_the_engine_in_one_call_per_round(method):
    clf = PlantedClassifier()
    calls = []
    run = clf.engine.run
    clf.engine.run = lambda keys: calls.append(len(keys)) or run(keys)
    try:
        get_explainer(method, n_samples=30, stop="fixed").explain(clf, POSTS, [1] * len(POSTS))
        assert len(calls) == 1 and calls[0] == len(POSTS) * 31  # 30 samples and the full text each
        calls.clear()
        exps = get_explainer(method, n_samples=60, stop="adaptive", round_size=20, tol=1e-9).explain(
            clf, POSTS, [1] * len(POSTS))
        assert len(calls) == max(e.info["rounds"] for e in exps)
    finally:
        del clf.engine.run


def test_standard_errors_by_hand():
    x = np.array([[0.0], [1.0], [0.0], [1.0]])
    y = np.array([0.0, 1.0, 0.2, 0.8])
    w = np.ones(4)
    # centred: x = ±0.5, y = (−.5, .5, −.3, .3); β = 0.8 / 1; residuals ±0.1; σ² = 0.04 / 2
    assert coefficient_standard_errors(x, y, w) == pytest.approx([np.sqrt(0.02)])
    # ridge alpha 1: A = 2, β = 0.4, residuals (−.3, .3, −.1, .1), σ² = 0.2 / 2, Var = 0.1 · 1/4
    assert coefficient_standard_errors(x, y, w, alpha=1.0) == pytest.approx([np.sqrt(0.025)])
    # weights: only their relative size matters
    assert coefficient_standard_errors(x, y, 3 * w, alpha=3.0) == pytest.approx([np.sqrt(0.025)])
    # no more samples than parameters, or a word present in every sample: not estimable
    assert np.isinf(coefficient_standard_errors(x[:2], y[:2], w[:2])).all()
    assert np.isinf(coefficient_standard_errors(np.ones((4, 1)), y, w)).all()


def test_top_set_by_hand():
    assert top_set(np.array([0.1, 0.5, 0.5, -1.0]), 2) == frozenset({1, 2})
    assert top_set(np.array([0.3, 0.1, 0.3]), 1) == frozenset({0})  # tie: the earlier word
    assert top_set(np.array([0.3]), 5) == frozenset({0})


def test_adaptive_stops_after_two_rounds_on_an_exactly_linear_model():
    # p(target) is linear in the words present: KernelSHAP's regression fits it exactly
    # (residuals 0, so every standard error is 0 once the design has full rank) and the
    # ranking c, a, b, ... never changes, so the rule holds at the second round.
    coef = {"a": 0.3, "b": -0.1, "c": 0.35, "d": 0.2, "e": 0.0, "f": 0.05}
    clf = LinearClassifier(coef)
    exp = get_explainer("kernel_shap", stop="adaptive", round_size=40, top_k=2, tol=1e-6).explain(
        clf, Example("x", tuple(coef)), target=1)[0]
    assert exp.info["stop_reason"] == "converged"
    assert exp.info["samples"] == 80 and exp.info["rounds"] == 2
    assert exp.info["max_standard_error"] == pytest.approx(0.0, abs=1e-6)
    assert exp.scores == pytest.approx(list(coef.values()), abs=1e-4)


def test_adaptive_keeps_sampling_while_the_errors_are_large_and_stops_at_the_cap():
    # softmax of a planted word: not linear, the surrogate's residuals never vanish; a
    # tolerance no fit reaches runs to the cap, and then it IS the fixed-budget answer
    # (the adaptive rounds draw the same seeded stream)
    clf = PlantedClassifier(n_labels=3)
    ex = POSTS[4]
    for method in ("lime", "kernel_shap"):
        capped = get_explainer(method, n_samples=100, stop="adaptive", round_size=25, tol=1e-9).explain(
            clf, [ex], [1])[0]
        fixed = get_explainer(method, n_samples=100, stop="fixed").explain(clf, [ex], [1])[0]
        assert capped.info["stop_reason"] == "n_samples" and capped.info["samples"] == 100
        assert capped.info["rounds"] == 4 and capped.info["max_standard_error"] > 1e-9
        assert capped.scores == fixed.scores
        # a loose tolerance stops early, at a round boundary, with errors within it
        loose = get_explainer(method, n_samples=500, stop="adaptive", round_size=25, tol=0.05).explain(
            clf, [ex], [1])[0]
        assert loose.info["stop_reason"] == "converged" and loose.info["max_standard_error"] <= 0.05
        assert loose.info["samples"] == 25 * loose.info["rounds"] < 500


def test_adaptive_is_the_default_and_stops_within_the_cap():
    clf = PlantedClassifier(n_labels=3)
    exps = get_explainer("lime").explain(clf, POSTS, [1] * len(POSTS))
    assert {e.params["stop"] for e in exps} == {"adaptive"}
    for e in exps:
        assert e.info["stop_reason"] in ("converged", "n_samples") and 50 <= e.info["samples"] <= 500
        assert e.info["samples"] == 25 * e.info["rounds"]


def test_adaptive_batch_equals_one_by_one():
    clf = PlantedClassifier(n_labels=3)
    ex_params = {"n_samples": 200, "stop": "adaptive", "round_size": 20, "tol": 0.02}
    for method in ("lime", "kernel_shap"):
        together = get_explainer(method, **ex_params).explain(clf, POSTS, [1] * len(POSTS))
        for ex, exp in zip(POSTS, together):
            alone = get_explainer(method, **ex_params).explain(clf, [ex], [1])[0]
            assert alone.scores == exp.scores and alone.info["samples"] == exp.info["samples"]


@pytest.mark.parametrize("params,match", [
    ({"stop": "sometimes"}, "stop must be one of"), ({"round_size": 1}, "round_size must be at least 2"),
    ({"tol": 0}, "tol must be > 0"), ({"top_k": 0}, "top_k must be at least 1"),
    ({"n_samples": 1}, "n_samples must be at least 2")])
def test_bad_stopping_parameters_are_named(params, match):
    for method in ("lime", "kernel_shap"):
        with pytest.raises(ParameterError, match=match):
            get_explainer(method, **params)
