"""``nle``: the explanation in words is written from the highlight, and checked against it.

The classifier is a hand-computable keyword model, so every probability below is worked
out by hand: p(hate) = 0.2 + 0.5·[idiot] + 0.2·[stupid], p(normal) = 1 − p(hate).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rationales.errors import ModelError, ParameterError
from rationales.evaluation.metrics import METRICS, MethodContext
from rationales.evaluation.nle import nle_group
from rationales.evaluation.protocols import get_protocol
from rationales.llm import ParseError, ReplayBackend
from rationales.llm.nle_prompts import NLE_SCHEMA, in_text, parse_nle
from rationales.methods import explain
from rationales.models.base import Classifier, as_examples
from rationales.types import Example

POST = Example("p1", ["you", "stupid", "idiot", "go", "home"])


class Keywords(Classifier):
    label_names = ["hate", "normal"]
    name = "keywords"
    differentiable = False

    def predict_proba(self, inputs: Any) -> np.ndarray:
        rows = []
        for ex in as_examples(inputs):
            words = {w.lower() for w in ex.words}
            p = 0.2 + 0.5 * ("idiot" in words) + 0.2 * ("stupid" in words)
            rows.append([p, 1 - p])
        return np.asarray(rows)

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        keep = np.atleast_2d(keep)
        return self.predict_proba([Example("m", [w for w, k in zip(example.words, row) if k]) for row in keep])

    def save(self, directory: Any) -> Path:  # pragma: no cover - a test model
        raise NotImplementedError


def answer(explanation: str, words: list[str]) -> str:
    return json.dumps({"explanation": explanation, "words": words})


ANSWER = answer('Calling someone an "idiot" is an insult.', ["idiot", "home", "moron"])


def run(llm: ReplayBackend, post: Example = POST, **params: Any):
    return explain(Keywords(), [post], methods=["nle"], params={"nle": {"llm": llm, "from": "occlusion", **params}})[0]


def test_the_prompt_holds_the_post_its_label_and_the_highlighted_words():
    llm = ReplayBackend({}, default=ANSWER)
    exp = run(llm)
    ask = llm.calls[0][-1]["content"]
    # occlusion: idiot drops p(hate) by 0.5, stupid by 0.2, the rest by 0 -> highlight = those two
    assert 'influenced it are: "idiot", "stupid".' in ask
    assert 'labelled the post below "hate"' in ask and "<<<you stupid idiot go home>>>" in ask
    assert "in the language and script of the post" in ask  # English text: no script detected
    assert exp.info["highlight"] == ["idiot", "stupid"] and exp.info["rationale"] == [0, 1, 1, 0, 0]


def test_the_prompt_asks_for_the_posts_language():
    llm = ReplayBackend({}, default=ANSWER)
    run(llm, Example("h", ["तुम", "idiot", "हो"]))
    assert "in Hindi, in Devanagari script" in llm.calls[0][-1]["content"]


def test_scores_are_the_source_methods_and_the_text_is_in_info():
    exp = run(ReplayBackend({}, default=ANSWER))
    assert exp.failed is None and exp.method == "nle"
    assert exp.scores == pytest.approx([0.0, 0.2, 0.5, 0.0, 0.0])  # occlusion's, unchanged
    assert exp.info["nle"] == 'Calling someone an "idiot" is an insult.'
    assert exp.params["from"] == "occlusion" and exp.params["llm"] == "replay:replay"
    json.dumps(exp.to_dict())


def test_faithfulness_bookkeeping_by_hand():
    """Listed: idiot (in the post, highlighted), home (in the post, not highlighted), moron
    (not in the post: removed from the named set and counted)."""
    info = run(ReplayBackend({}, default=ANSWER)).info
    assert info["named"] == ["idiot", "home"] and info["named_words"] == ["idiot", "home"]
    assert info["named_mask"] == [0, 0, 1, 0, 1]
    assert info["named_not_in_post"] == ["moron"] and info["n_named_not_in_post"] == 1
    assert info["not_in_post_rate"] == pytest.approx(1 / 3)
    assert info["highlight_coverage"] == pytest.approx(1 / 2)  # idiot of {stupid, idiot}
    assert info["p_full"] == pytest.approx(0.9)
    assert info["p_without_named"] == pytest.approx(0.4)  # stupid is left: 0.2 + 0.2
    assert info["probability_drop"] == pytest.approx(0.5)
    assert info["highlight_drop"] == pytest.approx(0.7)  # neither keyword left: 0.2
    assert info["listed_in_text"] == pytest.approx(1 / 2)  # "idiot" is written, "home" is not


def test_naming_nothing_of_the_post_drops_nothing():
    info = run(ReplayBackend({}, default=answer("It is rude.", ["moron"]))).info
    assert info["named"] == [] and info["named_mask"] == [0] * 5
    assert info["probability_drop"] == 0.0 and info["not_in_post_rate"] == 1.0 and info["highlight_coverage"] == 0.0


def test_a_nonsense_answer_is_asked_again_then_recorded_as_a_failure():
    llm = ReplayBackend({}, default="I cannot help with that")
    exp = run(llm)
    assert len(llm.calls) == 2 and '"explanation"' in llm.calls[1][-1]["content"]
    assert exp.failed.startswith("unparseable answer (asked twice)") and exp.scores == (0.0,) * 5
    assert exp.info["answer"] == "I cannot help with that"


def test_the_re_ask_can_rescue_the_answer():
    answers = iter(["The words are rude.", ANSWER])
    llm = ReplayBackend(lambda messages: next(answers))
    exp = run(llm)
    assert exp.failed is None and exp.info["named"] == ["idiot", "home"] and len(llm.calls) == 2


def test_an_llm_that_fails_is_recorded_not_raised():
    exp = run(ReplayBackend({}, default=TimeoutError("no answer in 30 s")))
    assert exp.failed.startswith("LLM call failed: TimeoutError") and exp.scores == (0.0,) * 5


def test_parse_nle_reads_fenced_json_and_falls_back_to_quoted_words():
    assert parse_nle('```json\n{"explanation": "It says \\"idiot\\".", "words": ["idiot"]}\n```') == \
        ('It says "idiot".', ["idiot"])
    assert parse_nle('Sure: {"explanation": "It calls them \\"stupid\\" and \\"idiot\\"."}') == \
        ('It calls them "stupid" and "idiot".', ["stupid", "idiot"])
    for nonsense in ("", "no json here", '{"explanation": ""}', '{"explanation": "..."}', '{"words": ["x"]}'):
        with pytest.raises(ParseError):
            parse_nle(nonsense)
    assert NLE_SCHEMA["required"] == ["explanation", "words"]


def test_in_text_matches_whole_pieces_only():
    assert in_text("idiot", 'an "Idiot", really') and not in_text("the", "therapist") and not in_text("", "x")


@pytest.mark.parametrize("params, message", [
    ({"from": "nle"}, "another registered explainer"),
    ({"from": "ngrm"}, "another registered explainer"),
    ({"k": 0}, r"k \(highlighted words\) must be an integer >= 1"),
    ({"from_params": [1]}, "from_params"),
    ({"removal": "erase"}, "removal must be one of"),
])
def test_bad_parameters_are_refused_with_the_fix(params, message):
    with pytest.raises(ParameterError, match=message):
        explain(Keywords(), [POST], methods=["nle"], params={"nle": {"llm": ReplayBackend({}), **params}})


def test_a_source_the_classifier_cannot_serve_is_refused():
    with pytest.raises(ModelError, match="'gradient' needs"):
        run(ReplayBackend({}, default=ANSWER), **{"from": "gradient"})


def test_the_registered_metrics_recompute_the_drops_through_the_classifier():
    exp = run(ReplayBackend({}, default=ANSWER))
    ctx = MethodContext(Keywords(), "nle", get_protocol("hatexplain"), {POST.id: POST}, {POST.id: exp})
    got = {r.name: r for r in nle_group(ctx)}
    assert got["nle_highlight_coverage"].value == pytest.approx(0.5)
    assert got["nle_not_in_post_rate"].value == pytest.approx(1 / 3)
    assert got["nle_probability_drop"].value == pytest.approx(0.5) and "removal=delete" in got["nle_probability_drop"].variant
    assert got["nle_highlight_drop"].value == pytest.approx(0.7)
    assert all(r.n == 1 and r.method == "nle" for r in got.values())
    assert METRICS.get("nle_not_in_post_rate").higher_is_better is False
    # a method without text gets none of them
    other = exp.with_info(nle=None)
    assert nle_group(MethodContext(Keywords(), "x", get_protocol("hatexplain"), {POST.id: POST}, {POST.id: other})) == []


def test_a_backend_object_given_to_the_source_method_is_recorded_by_its_spec():
    from rationales.methods.nle import NLEExplainer

    mine, theirs = ReplayBackend({}, default=ANSWER, name="nle"), ReplayBackend({}, default="[]", name="src")
    params = NLEExplainer(**{"from": "llm", "from_params": {"llm": theirs}}).json_params(mine)
    assert params["llm"] == "replay:nle" and params["from_params"] == {"llm": "replay:src"}
    json.dumps(params)  # JSON-serialisable, as every explanation's params must be
