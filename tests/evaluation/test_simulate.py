"""Simulatability: accuracy bookkeeping by hand, the paired bootstrap, both simulators, the control.

The model is a keyword rule: it says "hate" exactly when the post holds "idiot"
(p(hate) = 0.9, else 0.1), so every truth below is known by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from rationales.errors import ParameterError
from rationales.evaluation.simulate import (
    LearnedSimulator,
    _row,
    paired_bootstrap,
    parse_label_name,
    simulate,
    simulation_messages,
)
from rationales.llm import ReplayBackend
from rationales.models.base import Classifier, as_examples
from rationales.types import Example

FILLER = ["the", "a", "we", "day", "go", "home", "now", "people", "sun", "tea"]


class IdiotRule(Classifier):
    label_names = ["normal", "hate"]
    name = "idiot-rule"
    differentiable = False

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return np.asarray([[0.1, 0.9] if "idiot" in ex.words else [0.9, 0.1] for ex in as_examples(inputs)])

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        keep = np.atleast_2d(keep)
        return self.predict_proba([Example("m", [w for w, k in zip(example.words, row) if k]) for row in keep])

    def save(self, directory: Any) -> Path:  # pragma: no cover - a test model
        raise NotImplementedError


def posts(n: int) -> list[Example]:
    """Every third post holds "idiot"; the other words are filler in turn."""
    out = []
    for i in range(n):
        words = [FILLER[(i + j) % len(FILLER)] for j in range(4)]
        if i % 3 == 0:
            words.insert(2, "idiot")
        out.append(Example(f"p{i}", words))
    return out


def test_accuracy_and_gain_bookkeeping_by_hand():
    truth, without, with_ = [1, 0, 1, 1], [1, 1, 0, 1], [1, 0, 1, -1]  # -1: an answer naming no label
    r = _row("forward", "m", truth, without, with_, n_boot=200, seed=0, failed=(0, 1))
    assert r.per_post == [[1, 1], [0, 1], [0, 1], [1, 0]]
    assert (r.n, r.accuracy_without, r.accuracy_with, r.gain) == (4, 0.5, 0.75, 0.25)
    assert r.ci_low <= r.gain <= r.ci_high and r.failed_with == 1


def test_paired_bootstrap_on_a_fixed_seed():
    with_, without = [1, 1, 0, 1, 1, 0, 1, 1], [1, 0, 0, 0, 1, 0, 1, 0]  # differences 0,1,0,1,0,0,0,1
    lo, hi = paired_bootstrap(with_, without, n_boot=500, seed=3)
    # by hand: resample the 8 differences 500 times with the same generator, percentiles of the means
    rng = np.random.default_rng(3)
    d = np.array([0, 1, 0, 1, 0, 0, 0, 1], dtype=float)
    means = [d[rng.integers(0, 8, size=8)].mean() for _ in range(500)]
    assert (lo, hi) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    assert lo < 3 / 8 < hi and paired_bootstrap(with_, without, 500, 3) == (lo, hi)
    assert paired_bootstrap([1, 1, 1], [0, 0, 0]) == (1.0, 1.0)  # every post gains: no spread
    assert paired_bootstrap([1, 0], [1, 0]) == (0.0, 0.0)


def test_learned_simulator_rows_of_weight_zero_change_nothing_and_highlights_teach_the_word():
    shown = [["idiot", "go", "home"], ["go", "home", "now"], ["idiot", "sun"], ["sun", "tea"]]
    labels = [1, 0, 1, 0]
    plain = LearnedSimulator().fit(shown, labels)
    zero = LearnedSimulator(rationale_weight=0.0).fit(shown, labels, [["idiot"], [], ["idiot"], []])
    # the highlighted words are words of the posts: the same features, and weight-0 rows add nothing
    assert plain.vectorizer_.feature_names_ == zero.vectorizer_.feature_names_
    assert np.allclose(plain.model_.coef_, zero.model_.coef_) and np.allclose(plain.model_.intercept_,
                                                                              zero.model_.intercept_)
    taught = LearnedSimulator(rationale_weight=5.0).fit(shown, labels, [["idiot"], [], ["idiot"], []])
    col = taught.vectorizer_.feature_names_.index("idiot")
    assert col == plain.vectorizer_.feature_names_.index("idiot")
    assert taught.model_.coef_[0, col] > plain.model_.coef_[0, col] > 0
    assert taught.predict([["idiot", "tea"]]) == [1]
    assert LearnedSimulator().fit([["a"], ["b"]], [1, 1]).predict([["c"]]) == [1]  # one label: constant


def test_forward_and_counterfactual_with_the_random_control_and_the_truth_by_hand():
    data = posts(30)
    res = simulate(IdiotRule(), data, ["occlusion", "random"], n_shown=18, n_test=12, k=1, n_boot=100, seed=1)
    assert [(r.mode, r.method) for r in res.rows] == [("forward", "occlusion"), ("forward", "random"),
                                                      ("counterfactual", "occlusion"), ("counterfactual", "random")]
    by_id = {ex.id: ex for ex in data}
    test = [by_id[i] for i in res.test_ids]
    assert len(test) == 12 and not set(res.test_ids) & set(_shown_ids(res, data))
    forward = res.row("forward", "occlusion")
    truth = [int("idiot" in ex.words) for ex in test]
    assert forward.n == 12 and sum(c1 for _, c1 in forward.per_post) / 12 == forward.accuracy_with
    # the same simulator without explanations: one baseline for every method
    assert res.row("forward", "random").accuracy_without == forward.accuracy_without
    # counterfactual: occlusion's top word of an "idiot" post is "idiot"; removing it flips the
    # model to normal. A normal post has no word above 0: nothing is removed, the label stays.
    cf = res.row("counterfactual", "occlusion")
    plain = LearnedSimulator().fit([by_id[i].words for i in _shown_ids(res, data)],
                                   [int("idiot" in by_id[i].words) for i in _shown_ids(res, data)])
    edited = [[w for w in ex.words if w != "idiot"] for ex in test]
    want = [int(p == 0) for p in plain.predict(edited)]  # the truth after the edit is 0 for every post
    assert [c0 for c0, _ in cf.per_post] == want
    assert sum(truth) >= 1
    json.dumps(res.to_dict())
    table = res.to_markdown()
    assert "| counterfactual | random | 12 |" in table and "95 % interval" in table


def _shown_ids(res, data):
    order = np.random.default_rng(res.seed).permutation(len(data))
    return [data[i].id for i in order[:res.n_shown]]


def test_llm_simulator_prompts_and_accuracy_with_a_replay_backend():
    """The scripted LLM answers "hate" for a post with "idiot" only when the shown posts
    come with influential words; without them it always answers "normal"."""
    def answer(messages):
        ask = messages[-1]["content"]
        post = re.findall(r"<<<(.*?)>>>", ask)[-1]
        if "Influential words" in ask and "idiot" in post.split():
            return '{"label": "hate"}'
        return '{"label": "normal"}' if "Influential words" in ask else "no idea"

    llm = ReplayBackend(answer)
    data = posts(24)
    res = simulate(IdiotRule(), data, ["occlusion", "random"], simulator="llm", llm=llm, n_shown=6, n_test=9,
                   k=2, modes="forward", n_boot=100)
    test = {ex.id: ex for ex in data}
    truth = [int("idiot" in test[i].words) for i in res.test_ids]
    row = res.row("forward", "occlusion")
    assert row.accuracy_without == 0.0 and row.failed_without == 9  # "no idea" names no label: wrong
    assert row.accuracy_with == 1.0 and row.gain == 1.0 and row.failed_with == 0
    assert res.row("forward", "random").accuracy_with == 1.0  # the script ignores which words
    assert sum(truth) >= 1 and res.simulator == "llm:replay:replay"
    with_prompts = [c for c in llm.calls if "Influential words" in c[-1]["content"]]
    assert len(with_prompts) == 18 and len(llm.calls) == 27
    assert with_prompts[0][-1]["content"].count("Label:") == 6  # every shown post with its label


def test_the_counterfactual_prompt_shows_the_original_and_its_label():
    msgs = simulation_messages([(["a", "b"], "hate", ["a"])], ["normal", "hate"], ["b"], (["a", "b"], "hate"))
    ask = msgs[-1]["content"]
    assert 'labelled this post "hate": <<<a b>>>' in ask and "Edited post: <<<b>>>" in ask
    assert 'Influential words: "a"' in ask and '<one of normal, hate>' in ask


def test_parse_label_name():
    labels = ["normal", "offensive", "hatespeech"]
    assert parse_label_name('{"label": "Offensive"}', labels) == 1
    assert parse_label_name("I think it is hatespeech, not normal", labels) == 2
    assert parse_label_name("abnormal", labels) is None and parse_label_name("", labels) is None


@pytest.mark.parametrize("kwargs, message", [
    ({"n_shown": 20, "n_test": 20}, "30 posts given"),
    ({"simulator": "human"}, "unknown simulator"),
    ({"modes": "backward"}, "modes must be among"),
    ({"k": 0}, "k must be an integer"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        simulate(IdiotRule(), posts(30), ["occlusion"], **kwargs)


def test_the_command_mirrors_the_function(tmp_path):
    from rationales.cli import app
    from rationales.models.tfidf import TfidfClassifier

    data = posts(30)
    model = tmp_path / "model"
    TfidfClassifier(["normal", "hate"]).fit([Example(e.id, e.words, label=int("idiot" in e.words))
                                             for e in data]).save(model)
    file = tmp_path / "posts.jsonl"
    file.write_text("".join(json.dumps({"words": list(e.words), "label": int("idiot" in e.words)}) + "\n"
                            for e in data))
    out, md = tmp_path / "sim.json", tmp_path / "sim.md"
    run = CliRunner().invoke(app, ["simulate", "--model", str(model), "--data", str(file), "--opt",
                                   "words_column=words", "--methods", "occlusion,random", "--n-shown", "18",
                                   "--n-test", "12", "--k", "1", "--n-boot", "100", "-o", str(out),
                                   "--markdown", str(md)])
    assert run.exit_code == 0, run.output
    got = json.loads(out.read_text())
    assert [(r["mode"], r["method"]) for r in got["rows"]][:2] == [("forward", "occlusion"), ("forward", "random")]
    assert got["n_shown"] == 18 and got["n_test"] == 12 and "| forward | random | 12 |" in md.read_text()
    bad = CliRunner().invoke(app, ["simulate", "--model", str(model), "--data", str(file), "--simulator", "human"])
    assert bad.exit_code == 2 and "learned, llm" in bad.output
