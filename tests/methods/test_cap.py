"""``cap`` and ``cap_hybrid``: the least-squares fit, label probabilities, failures, fusion."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from rationales.errors import ParameterError
from rationales.llm import ReplayBackend
from rationales.llm.base import Reply
from rationales.llm.zeroshot import label_probabilities, label_schema, probs_from_logprobs
from rationales.methods import get_explainer
from rationales.methods._util import example_rng
from rationales.methods.cap import cap_masks, kernel_weights, max_abs, weighted_ridge
from rationales.types import Example

from .planted import PlantedClassifier

POST = "they want to kill us all and nobody will stop them"


def post_of(messages: list[dict[str, str]]) -> str:
    return re.findall(r"<<<(.*?)>>>", messages[-1]["content"], re.S)[-1]


def planted_llm_answer(messages: list[dict[str, str]]) -> Reply:
    """The LLM answers "planted" with p = 0.9 when the post holds "kill", else 0.2, as
    log-probabilities of the label tokens (after a code fence, as Qwen answers)."""
    p = 0.9 if "kill" in post_of(messages).split() else 0.2
    label = "planted" if p > 0.5 else "other"
    top = (("plant", math.log(p)), ("other", math.log(1 - p)))
    return Reply(f'"{label}"', logprobs=(("```", -0.1, ()), ('"', -0.2, ()),
                                         ("plant" if p > 0.5 else "other", top[0 if p > 0.5 else 1][1], top)))


def test_weighted_ridge_by_cholesky_equals_lstsq_on_the_augmented_system():
    rng = np.random.default_rng(1)
    keep = rng.random((40, 7)) < 0.5
    y, w, alpha = rng.random(40), rng.random(40) + 0.1, 0.7
    coef, intercept = weighted_ridge(keep, y, w, alpha)
    x = np.hstack([np.ones((40, 1)), keep])
    a = np.vstack([x * np.sqrt(w)[:, None], np.hstack([np.zeros((7, 1)), math.sqrt(alpha) * np.eye(7)])])
    beta = np.linalg.lstsq(a, np.concatenate([y * np.sqrt(w), np.zeros(7)]), rcond=None)[0]
    assert np.allclose(coef, beta[1:], atol=1e-10) and intercept == pytest.approx(beta[0])


def test_cap_on_a_planted_word_llm_is_the_lstsq_fit_and_finds_the_word():
    clf = PlantedClassifier()
    llm = ReplayBackend(planted_llm_answer, gives_logprobs=True)
    exp = get_explainer("cap", llm=llm, n_samples=48, seed=3, kernel_width=0.5, alpha=0.3).explain(
        clf, POST, target="planted")[0]
    assert exp.failed is None and exp.info["label_probs_from"] == ["logprobs"]
    ex = Example("0", tuple(POST.split()))
    # the same masks, and y, kernel and solve written out with numpy's lstsq
    keep = cap_masks(len(ex.words), 48, example_rng(3, Example(exp.example_id, ex.words)))
    y = np.array([0.9 if row[ex.words.index("kill")] else 0.2 for row in keep])
    cos = np.sqrt(keep.sum(1) / keep.shape[1])
    w = np.exp(-((1 - cos) ** 2) / 0.5**2)
    assert np.allclose(w, kernel_weights(keep, 0.5))
    x = np.hstack([np.ones((48, 1)), keep])
    n = len(ex.words)
    a = np.vstack([x * np.sqrt(w)[:, None], np.hstack([np.zeros((n, 1)), math.sqrt(0.3) * np.eye(n)])])
    beta = np.linalg.lstsq(a, np.concatenate([y * np.sqrt(w), np.zeros(n)]), rcond=None)[0]
    assert np.allclose(exp.scores, beta[1:], atol=1e-9)
    assert int(np.argmax(exp.scores)) == ex.words.index("kill")
    assert exp.info["llm_label"] == "planted" and exp.info["llm_label_probs"] == pytest.approx([0.1, 0.9])
    # every distinct perturbed post was asked once (one answer cache per call)
    distinct = {tuple(w for w, k in zip(ex.words, row) if k) for row in keep}
    assert len(llm.calls) == len(distinct) and llm.params["top_logprobs"] == 20


def test_label_probabilities_from_logprobs_by_hand():
    labels = ["hatespeech", "normal", "offensive"]
    lps = (("```", -0.3, ()), ('"', -2.9, (("{", -0.5),)),
           ("off", -0.2, (("off", -0.2), ("h", -1.9), ("normal", -2.5), ("norm", -4.0), ("xyz", -3.0))))
    mass = np.exp([-1.9, -2.5, -0.2]) + np.array([0, math.exp(-4.0), 0])
    assert probs_from_logprobs(lps, labels) == pytest.approx(mass / mass.sum())
    # a first token that begins two labels cannot tell them apart: no probabilities
    assert probs_from_logprobs((("hat", -0.1, (("hat", -0.1), ("n", -3.0))),), ["hate", "hateful", "normal"]) is None
    assert probs_from_logprobs((("```", -0.1, ()),), labels) is None


def test_label_probabilities_from_votes_by_hand():
    answers = iter(['"hate"', "The label is normal.", '"hate"', "banana"])
    llm = ReplayBackend(lambda m: next(answers))
    got = label_probabilities(llm, [["you", "idiot"]], ["hate", "normal", "offensive"], n_votes=4,
                              vote_temperature=0.7)
    assert got.probs[0] == pytest.approx([2 / 3, 1 / 3, 0.0]) and got.how == ["votes"] and got.failed == [None]
    assert llm.params["temperature"] == 0.7 and llm.params["sample"] == 3 and got.calls == 4
    with pytest.raises(ParameterError, match="gives no token log-probabilities"):
        label_probabilities(llm, [["x"]], ["a", "b"], mode="logprobs")


def test_the_constrained_answer_is_the_label_enum():
    assert label_schema(["hatespeech", "normal"]) == {"type": "string", "enum": ["hatespeech", "normal"]}


def test_descriptions_go_into_the_instruction():
    llm = ReplayBackend(lambda m: '"planted"')
    get_explainer("cap", llm=llm, n_samples=4, n_votes=1,
                  descriptions={"planted": "mentions killing"}).explain(PlantedClassifier(), "kill them")
    assert "- planted: mentions killing" in llm.calls[0][-1]["content"] and "- other\n" in llm.calls[0][-1]["content"]
    with pytest.raises(ParameterError, match="not labels of the classifier"):
        get_explainer("cap", llm=llm, descriptions={"hate": "x"}).explain(PlantedClassifier(), "kill them")


def test_a_nonsense_answer_is_a_clear_failure_and_the_batch_goes_on():
    def answer(messages: list[dict[str, str]]) -> str:
        return "I like turtles" if "weird" in post_of(messages) else '"planted"'

    exps = get_explainer("cap", llm=ReplayBackend(answer), n_samples=8, n_votes=1).explain(
        PlantedClassifier(), ["a weird post", "kill them now"])
    assert exps[0].failed.startswith("cap: the LLM gave no label probabilities for the full post: "
                                     "unparseable answer") and "names no label" in exps[0].failed
    assert exps[0].scores == (0.0, 0.0, 0.0)
    assert exps[1].failed is None


def test_cap_hybrid_is_the_weighted_sum_of_max_abs_normalised_parts(tiny):
    llm = ReplayBackend(lambda m: '"hate"' if "enemies" in post_of(m) else '"normal"')
    weights = {"cap": 0.5, "integrated_gradients": 0.3, "lime": 0.2}
    exp = get_explainer("cap_hybrid", llm=llm, weights=weights, cap={"n_samples": 16, "n_votes": 1},
                        integrated_gradients={"n_steps": 4}, lime={"n_samples": 32}).explain(
        tiny, "they are the enemies of this country", target="hate")[0]
    parts: dict[str, Any] = exp.info["parts"]
    assert set(parts) == set(weights) and exp.info["normalisation"] == "max_abs"
    fused = sum(w * np.asarray(parts[m]) / np.abs(parts[m]).max() for m, w in weights.items())
    assert np.allclose(exp.scores, fused)
    assert max_abs([0.0, 0.0]).tolist() == [0.0, 0.0] and max_abs([-2.0, 1.0]).tolist() == [-1.0, 0.5]
    assert exp.params["llm"] == "replay:replay"


@pytest.mark.parametrize("params, match", [
    ({"n_samples": 1}, "n_samples must be >= 2"),
    ({"alpha": 0}, "alpha must be > 0"),
    ({"probs": "guess"}, "probs must be auto, logprobs or votes"),
])
def test_bad_parameters_are_clear_errors(params, match):
    with pytest.raises(ParameterError, match=match):
        get_explainer("cap", **params)


def test_cap_hybrid_weights_are_checked():
    with pytest.raises(ParameterError, match="weights must map some of"):
        get_explainer("cap_hybrid", weights={"shap": 1.0})


def test_llamacpp_gives_label_logprobs_that_agree_with_its_constrained_answer(tmp_path):
    """The shipped SmolLM2 through llama.cpp (skipped where it is not installed): the
    renormalised first-label-token probabilities pick the label greedy constrained
    decoding answered, and a cached answer keeps its log-probabilities."""
    pytest.importorskip("xllamacpp")
    from rationales.errors import ModelError
    from rationales.llm import models
    from rationales.llm.llamacpp_backend import LlamaCppBackend
    from rationales.llm.zeroshot import parse_label_name

    try:
        path = models.known_model("smollm2").require()
    except ModelError as err:
        pytest.skip(str(err))
    llm = LlamaCppBackend(path, name="smollm2", n_ctx=2048, cache=tmp_path)
    labels = ["hatespeech", "normal", "offensive"]
    posts = [p.split() for p in ("these people are vermin and should be deported", "what a lovely day",
                                 "shut up you stupid idiot")]
    got = label_probabilities(llm, posts, labels, mode="logprobs", max_new_tokens=12)
    assert got.how == ["logprobs"] * 3 and got.failed == [None] * 3
    for probs, answer in zip(got.probs, got.answers):
        assert probs is not None and probs.sum() == pytest.approx(1.0)
        assert int(np.argmax(probs)) == parse_label_name(answer or "", labels)
    again = label_probabilities(llm, posts, labels, mode="logprobs", max_new_tokens=12)
    assert again.calls == 0 and all(np.allclose(a, b) for a, b in zip(again.probs, got.probs))
