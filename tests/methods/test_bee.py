"""``bee``: the bandit's bookkeeping, IG equivalence, the metric through the engine, the saved mixture."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rationales.errors import ParameterError
from rationales.evaluation.faithfulness import faithfulness
from rationales.methods import get_explainer
from rationales.methods.bee import DISTRIBUTIONS, ThompsonBandit
from rationales.rules import apply_rule
from rationales.types import Example

POSTS = ["they are the real enemies of this country and should leave now",
         "go home you people , nobody wants you here", "what a lovely day"]
FAST = {"steps": 6, "internal_batch_size": 16}


def test_the_bandit_keeps_counts_means_and_the_posterior_by_hand():
    b = ThompsonBandit(["a", "b", "c"], prior_sd=0.5)
    for arm, r in [(0, 1.0), (0, 3.0), (1, 5.0)]:
        b.update(arm, r)
    assert b.n.tolist() == [2, 1, 0] and b.mean.tolist() == [2.0, 5.0, 0.0] and b.m2.tolist() == [2.0, 0.0, 0.0]
    mu, sd = b.posterior()
    # grand mean m = 9/3 = 3 (one pseudo-observation per arm); pooled sd s = sqrt(2 / (3 - 2))
    assert mu == pytest.approx([(4 + 3) / 3, (5 + 3) / 2, 3.0])
    assert sd == pytest.approx([math.sqrt(2) / math.sqrt(3), 1.0, math.sqrt(2)])
    state = b.to_dict()
    assert state["arms"]["a"] == {"n": 2, "mean_reward": 2.0, "m2": 2.0, "posterior_mean": pytest.approx(7 / 3),
                                  "posterior_sd": pytest.approx(math.sqrt(2 / 3))}
    assert sum(state["mixture"].values()) == pytest.approx(1.0)
    again = ThompsonBandit.from_dict(json.loads(json.dumps(state)), ["c", "b", "a"], "state")
    assert again.posterior()[0] == pytest.approx(mu[::-1])


def test_before_any_reward_the_prior_sd_is_used():
    mu, sd = ThompsonBandit(["a", "b"], prior_sd=0.2).posterior()
    assert mu.tolist() == [0.0, 0.0] and sd.tolist() == [0.2, 0.2]


def test_thompson_sampling_learns_the_best_arm_of_a_fake_reward():
    means = [0.1, 0.5, 0.2]
    b, rng = ThompsonBandit(["a", "b", "c"]), np.random.default_rng(0)
    picks = []
    for _ in range(100):
        for arm in b.choose(rng, 3):
            b.update(arm, means[arm] + rng.normal(0, 0.05))
            picks.append(arm)
    assert picks[-60:].count(1) > 50  # exploits the best arm once it has learned it
    assert b.mixture()["b"] > 0.95
    assert b.mean[1] == pytest.approx(0.5, abs=0.02)


def test_bee_with_one_distribution_is_integrated_gradients_from_that_baseline(tiny):
    for baseline in ("pad", "mask"):
        ig = get_explainer("integrated_gradients", baseline=baseline, n_steps=6, internal_batch_size=16)
        bee = get_explainer("bee", distributions=[baseline], n_draws=3, **FAST)
        for a, b in zip(ig.explain(tiny, POSTS), bee.explain(tiny, POSTS)):
            assert np.allclose(a.scores, b.scores, atol=1e-7, rtol=1e-5), baseline
            assert b.info["chosen_baseline"] == baseline and len(b.info["draws"]) == 3


def test_every_draw_is_scored_through_the_engine_and_the_best_is_kept(tiny):
    exps = get_explainer("bee", metric="comprehensiveness", n_draws=4, **FAST).explain(tiny, POSTS)
    ex = Example("0", tuple(POSTS[0].split()))
    exp = exps[0]
    res = faithfulness(tiny, [exp], {"0": ex}, hard=lambda e: apply_rule(e.scores, "top_k=5"),
                       hard_name="top_k=5", tau_loo=False)
    comp = next(r for r in res["bee"] if r.name == "comprehensiveness").per_example["0"]
    scores = [d["score"] for d in exp.info["draws"]]
    assert exp.info["best_score"] == pytest.approx(comp) == pytest.approx(max(scores))
    assert exp.info["chosen_baseline"] == exp.info["draws"][exp.info["best_draw"]]["distribution"]


def test_log_odds_by_hand(tiny):
    exp = get_explainer("bee", metric="log_odds", n_draws=1, distributions="pad", **FAST).explain(tiny, POSTS[:1])[0]
    ex = Example("0", tuple(POSTS[0].split()))
    keep = np.array([[not v for v in apply_rule(exp.scores, "top_k=5")]])
    p0 = tiny.predict_proba([ex])[0][exp.target]
    without = tiny.predict_proba_masked(ex, keep, "delete")[0][exp.target]
    assert exp.info["best_score"] == pytest.approx(math.log(without) - math.log(p0), abs=1e-6)


def test_the_bandit_is_rewarded_with_each_draw_score_in_direction(tiny):
    """sufficiency: lower is better, so the reward is its negative."""
    exps = get_explainer("bee", metric="sufficiency", n_draws=2, **FAST).explain(tiny, POSTS)
    rewards: dict[str, list[float]] = {}
    for e in exps:
        for d in e.info["draws"]:
            rewards.setdefault(d["distribution"], []).append(-d["score"])
    arms = exps[-1].info["bandit"]["arms"]
    assert sum(a["n"] for a in arms.values()) == 2 * len(POSTS)
    for name, got in rewards.items():
        assert arms[name]["n"] == len(got) and arms[name]["mean_reward"] == pytest.approx(np.mean(got))
    best = exps[0].info["best_draw"]
    assert exps[0].info["best_score"] == min(d["score"] for d in exps[0].info["draws"])
    assert best == int(np.argmin([d["score"] for d in exps[0].info["draws"]]))


def test_the_mixture_is_saved_reused_and_checked(tiny, tmp_path):
    path = tmp_path / "mixture.json"
    get_explainer("bee", n_draws=2, mixture_path=str(path), **FAST).explain(tiny, POSTS)
    saved = json.loads(path.read_text())
    assert saved["metric"] == "comprehensiveness" and sorted(saved["arms"]) == sorted(DISTRIBUTIONS)
    assert sum(a["n"] for a in saved["arms"].values()) == 2 * len(POSTS)
    # learn=False reads it and leaves it as it was
    frozen = get_explainer("bee", n_draws=2, mixture_path=str(path), learn=False, **FAST).explain(tiny, POSTS[:1])[0]
    assert frozen.info["bandit"]["arms"] == saved["arms"] and json.loads(path.read_text()) == saved
    # learn=True goes on from it
    get_explainer("bee", n_draws=2, mixture_path=str(path), **FAST).explain(tiny, POSTS[:1])
    assert sum(a["n"] for a in json.loads(path.read_text())["arms"].values()) == 2 * len(POSTS) + 2
    with pytest.raises(ParameterError, match="learned for metric='comprehensiveness'"):
        get_explainer("bee", metric="aopc", mixture_path=str(path), **FAST).explain(tiny, POSTS[:1])
    with pytest.raises(ParameterError, match="not the requested distributions"):
        get_explainer("bee", distributions=["pad", "zero"], mixture_path=str(path), **FAST).explain(tiny, POSTS[:1])


def test_learning_is_deterministic_under_the_seed(tiny):
    a = get_explainer("bee", n_draws=3, seed=3, **FAST).explain(tiny, POSTS)
    b = get_explainer("bee", n_draws=3, seed=3, **FAST).explain(tiny, POSTS)
    assert [e.scores for e in a] == [e.scores for e in b]
    assert [e.info["draws"] for e in a] == [e.info["draws"] for e in b]


def test_random_words_can_count_a_dataset(tiny, tmp_path):
    data = tmp_path / "posts.jsonl"
    data.write_text("\n".join(json.dumps({"id": str(i), "text": t, "label": 0}) for i, t in enumerate(POSTS)))
    exp = get_explainer("bee", distributions=["random_words"], random_words_from=str(data), n_draws=2,
                        **FAST).explain(tiny, POSTS[:1])[0]
    assert exp.info["chosen_baseline"] == "random_words" and all(math.isfinite(s) for s in exp.scores)


@pytest.mark.parametrize("params, match", [
    ({"metric": "accuracy"}, "metric must be one of"),
    ({"distributions": ["pad", "nothing"]}, "unknown baseline distribution"),
    ({"n_draws": 0}, "n_draws must be >= 1"),
    ({"rationale": "top_q=3"}, "rule"),
])
def test_bad_parameters_are_clear_errors(params, match):
    with pytest.raises(ParameterError, match=match):
        get_explainer("bee", **params)
