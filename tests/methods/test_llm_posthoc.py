"""``llm_posthoc``: each ICL strategy's prompt shows what it must, answers map to ranked
scores, and nonsense answers are recorded failures (all with the replay backend)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from rationales.llm import ReplayBackend
from rationales.llm.prompts import POSTHOC_STRATEGIES, posthoc_schema
from rationales.methods import get_explainer
from rationales.methods.llm_posthoc import rank_scores, sample_masks
from rationales.models.base import Classifier
from rationales.testing import check_explainer
from rationales.types import Example

from .planted import Keyword

KW = Keyword()
POST = Example("p", ("you", "are", "an", "idiot", "today"))


def post_words(messages: list[dict[str, str]]) -> list[str]:
    return re.findall(r"<<<(.*?)>>>", messages[-1]["content"], re.S)[0].split()


def first_and_longest(messages: list[dict[str, str]]) -> str:
    words = post_words(messages)
    return json.dumps({"words": [max(words, key=len), "notinthepost", words[0]]}, ensure_ascii=False)


class SchemaReplay(ReplayBackend):
    """A replay backend that says it constrains output, so the schema reaches it
    (``params`` holds the latest call's generation parameters)."""

    constrains_output = True


@pytest.mark.parametrize("strategy", POSTHOC_STRATEGIES)
def test_conformance(strategy: str, tiny: Classifier) -> None:
    exps = check_explainer("llm_posthoc", tiny, {"llm": ReplayBackend(first_and_longest, name="s"),
                                                 "strategy": strategy, "n_samples": 4})
    assert all(e.info["strategy"] == strategy and e.params["llm"] == "replay:s" for e in exps)


def explain(strategy: str, answer: str = '{"words": ["idiot"]}', **params: Any):
    llm = SchemaReplay(lambda m: answer)
    exp = get_explainer("llm_posthoc", llm=llm, strategy=strategy, n_samples=6, seed=3, **params).explain(KW, POST)[0]
    return exp, llm.calls[0][-1]["content"], llm


def test_perturbation_prompt_shows_removed_words_with_the_change_in_probability() -> None:
    exp, prompt, llm = explain("perturbation")
    assert '"hate" (probability 0.90)' in prompt and "<<<you are an idiot today>>>" in prompt
    samples = exp.info["samples"]
    assert 1 <= len(samples) <= 6
    for i, s in enumerate(samples, 1):
        # the outputs are the classifier's on the perturbed words (hand: 0.9 with "idiot", else 0.2)
        assert s["p"] == pytest.approx(0.2 if "idiot" in s["removed"] else 0.9)
        change = s["p"] - 0.9
        assert f"{i}. removed {json.dumps(s['removed'])}: 0.90 -> {s['p']:.2f} ({change:+.2f})" in prompt
    assert any("idiot" in s["removed"] for s in samples), "seed 3 removes 'idiot' in some sample"
    assert "most important:" not in prompt and "step by step" not in prompt
    assert llm.params["schema"] == posthoc_schema(5) and llm.params["schema"]["properties"]["words"]["maxItems"] == 5


def test_prediction_prompt_shows_the_perturbed_posts_with_predicted_labels_only() -> None:
    exp, prompt, _ = explain("prediction")
    for i, s in enumerate(exp.info["samples"], 1):
        label = "normal" if "idiot" in s["removed"] else "hate"
        assert s["label"] == label
        assert f'{i}. <<<{s["text"]}>>> -> "{label}"' in prompt
    assert "probability" not in prompt and "removed [" not in prompt and "step by step" not in prompt


def test_instruction_prompt_adds_the_steps_to_the_prediction_prompt() -> None:
    exp, prompt, _ = explain("instruction")
    plain = explain("prediction")[1]
    assert "Work step by step" in prompt and "no longer labelled \"hate\"" in prompt
    assert prompt.replace(re.search(r"Work step by step.*?\n", prompt, re.S).group(0), "") == plain


def test_explanation_prompt_shows_each_samples_own_leave_one_out_explanation() -> None:
    exp, prompt, _ = explain("explanation", k=2)
    for i, s in enumerate(exp.info["samples"], 1):
        kept = s["text"].split()
        if "idiot" in kept:  # removing it drops 0.9 -> 0.2; every other word changes nothing
            assert s["top"][0] == "idiot"
        assert len(s["top"]) == min(2, len(kept))
        assert f'{i}. <<<{s["text"]}>>> -> "{s["label"]}"; most important: {json.dumps(s["top"])}' in prompt


def test_rank_scores_by_hand() -> None:
    words = ("you", "are", "an", "idiot", ",", "an", "IDIOT!")
    scores, matched, missing = rank_scores(words, ["Idiot", "moron", "you", "idiot", "an", "are"], k=3)
    # ranks among distinct words in the post: idiot 0 -> 3/3, you 1 -> 2/3, an 2 -> 1/3; "are"
    # is past k; "moron" is not in the post: dropped, no rank; "idiot" again: no new rank
    assert scores.tolist() == pytest.approx([2 / 3, 0, 1 / 3, 1, 0, 1 / 3, 1])
    assert matched == ["Idiot", "you", "an"] and missing == ["moron"]


def test_answer_maps_to_ranked_scores_and_counts_hallucinations() -> None:
    exp, _, _ = explain("perturbation", answer='```json\n{"words": ["idiot", "nonsense", "You"]}\n```', k=4)
    assert exp.scores == pytest.approx((3 / 4, 0, 0, 1, 0))
    assert exp.info["hallucinated"] == ["nonsense"] and exp.info["hallucination_rate"] == pytest.approx(1 / 3)
    assert exp.info["rationale"] == [1, 0, 0, 1, 0] and exp.failed is None and exp.target == 1


def test_nonsense_answers_are_recorded_failures_and_the_batch_goes_on() -> None:
    def answer(messages: list[dict[str, str]]) -> str:
        if "zzz" in messages[1]["content"]:
            return "I would rather not say." if len(messages) == 2 else "Still no."
        return '{"words": ["idiot"]}'

    llm = ReplayBackend(answer)
    exps = get_explainer("llm_posthoc", llm=llm).explain(KW, ["zzz idiot", "an idiot"])
    assert exps[0].failed.startswith("unparseable answer (asked twice)") and exps[0].scores == (0, 0)
    assert exps[0].info["llm_calls"] == 2 and llm.calls[-1][-1]["content"].startswith("Answer again")
    assert exps[1].failed is None and exps[1].scores == (0, 1)
    timeout = ReplayBackend(lambda m: TimeoutError("slow"))  # type: ignore[arg-type,return-value]
    exp = get_explainer("llm_posthoc", llm=timeout).explain(KW, "an idiot")[0]
    assert exp.failed == "LLM call failed: TimeoutError: slow" and json.dumps(exp.to_dict())


def test_samples_depend_on_the_seed_and_the_post_not_the_batch() -> None:
    a = sample_masks(6, 6, 8, 0.3, 1, ("a", "b", "c", "d", "e", "f"))
    assert a.shape[1] == 6 and (~a).any(axis=1).all() and len({r.tobytes() for r in a}) == len(a)
    assert (a == sample_masks(6, 6, 8, 0.3, 1, ("a", "b", "c", "d", "e", "f"))).all()
    assert not np.array_equal(a, sample_masks(6, 6, 8, 0.3, 2, ("a", "b", "c", "d", "e", "f")))
    # words past what the model sees are never removed
    assert sample_masks(6, 3, 8, 0.5, 1, tuple("abcdef"))[:, 3:].all()


def test_bad_parameters_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="strategy must be one of perturbation, prediction"):
        get_explainer("llm_posthoc", strategy="vibes")
    with pytest.raises(ValueError, match="remove must be in"):
        get_explainer("llm_posthoc", remove=1.0)
