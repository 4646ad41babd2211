"""``counterfactual(strategy="causal")``: concepts -> their words -> a rewrite of only those
words, verified; each changed word's measured share of the drop (replay backend)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from rationales.llm import ReplayBackend
from rationales.methods import get_explainer
from rationales.methods._causal import apply_replacements, parse_carriers, parse_replacements, span_shares
from rationales.methods.counterfactual import split_like
from rationales.models.base import Classifier, as_examples
from rationales.testing import check_explainer
from rationales.types import Example


class Rule(Classifier):
    """p(hate) = 0.9 when ``rule(words)`` holds, else 0.2."""

    label_names = ["normal", "hate"]
    name = "rule"

    def __init__(self, rule: Callable[[set[str]], bool]) -> None:
        self.rule = rule

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return np.asarray([[0.1, 0.9] if self.rule(set(ex.words)) else [0.8, 0.2] for ex in as_examples(inputs)])

    def predict_proba_masked(self, example: Example, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
        return self.predict_proba([Example("m", tuple(w for w, k in zip(example.words, row) if k)) for row in keep])

    def save(self, directory: Any) -> Path:  # pragma: no cover - not needed here
        raise NotImplementedError


ANY = Rule(lambda w: bool({"idiot", "stupid"} & w))  # either insult keeps the label
IDIOT = Rule(lambda w: "idiot" in w)
BOTH = Rule(lambda w: {"idiot", "stupid"} <= w)  # only the two together keep it

POST = "you stupid idiot go away"


def scripted(concepts: list[str], words: list[list[str]], swaps: dict[str, str]) -> ReplayBackend:
    """Answers step 1 with ``concepts``, step 2 with ``words`` per concept, step 3 with ``swaps``
    for the words the rewrite prompt lists (and any swap whose word is not listed)."""

    def answer(messages: list[dict[str, str]]) -> str:
        user = messages[-1]["content"]
        if "high-level concepts" in user:
            return json.dumps({"concepts": concepts})
        if "For each concept" in user:
            return json.dumps({"concepts": [{"concept": c, "words": w} for c, w in zip(concepts, words)]})
        listed = json.loads(re.search(r': (\[.*?\])\. Replace', user).group(1))
        return json.dumps({"replacements": [{"word": w, "new": swaps[w]} for w in swaps
                                            if w in listed or w not in sum(words, [])]})

    return ReplayBackend(answer, name="causal")


def test_three_calls_in_order_and_each_changed_word_scored_by_its_measured_share() -> None:
    llm = scripted(["insult"], [["stupid", "idiot", "notthere"]], {"stupid": "kind", "idiot": "friend", "away": "home"})
    exp = get_explainer("counterfactual", llm=llm, strategy="causal").explain(IDIOT, POST)[0]
    steps = [c[-1]["content"] for c in llm.calls]
    assert len(steps) == 3 and "high-level concepts" in steps[0] and '"hate"' in steps[0]
    assert 'Concepts: ["insult"]' in steps[1] and "<<<you stupid idiot go away>>>" in steps[1]
    assert 'no longer expresses "insult": ["stupid", "idiot"]' in steps[2]
    assert exp.info["steps"] == ["concepts", "words", "rewrite"] and exp.info["llm_calls"] == 3
    # the edit is built here: only the concept's words change ("away" -> "home" is ignored)
    assert exp.info["edited"] == "you kind friend go away" and exp.info["attempts"][0]["ignored"] == ["away"]
    assert exp.info["flipped"] is True and exp.info["new_label"] == 0 and exp.failed is None
    assert exp.info["concept"] == "insult" and exp.info["changed_words"] == ["stupid", "idiot"]
    assert exp.info["hallucinated"] == ["notthere"] and exp.info["words_changed"] == 2
    # drop 0.9 - 0.2 = 0.7; restoring "stupid" undoes 0, restoring "idiot" undoes 0.7: shares 0 / 1
    assert exp.info["probability_change"] == pytest.approx(0.7)
    assert [s["undo"] for s in exp.info["shares"]] == pytest.approx([0.0, 0.7])
    assert exp.info["share_method"] == "restore"
    assert exp.scores == pytest.approx((0, 0, 0.7, 0, 0)) and exp.info["rationale"] == [0, 0, 1, 0, 0]


def test_shares_split_by_restore_or_equally_when_only_the_words_together_matter() -> None:
    llm = scripted(["insult"], [["stupid", "idiot"]], {"stupid": "kind", "idiot": "friend"})
    each = get_explainer("counterfactual", llm=llm, strategy="causal").explain(ANY, POST)[0]
    # restoring either word brings p back to 0.9: undo 0.7 each -> shares 1/2, 1/2
    assert each.scores == pytest.approx((0, 0.35, 0.35, 0, 0)) and each.info["share_method"] == "restore"
    both = get_explainer("counterfactual", llm=llm, strategy="causal").explain(BOTH, POST)[0]
    # with only one insult gone the label already flips: restoring one undoes nothing -> equal split
    assert both.scores == pytest.approx((0, 0.35, 0.35, 0, 0)) and both.info["share_method"] == "equal"
    assert span_shares(0.6, [0.1, 0.3]) == (pytest.approx([0.25, 0.75]), "restore")
    assert span_shares(0.6, [-0.1, 0.0]) == ([0.5, 0.5], "equal")


def test_the_next_concept_is_rewritten_when_the_label_holds() -> None:
    llm = scripted(["addressing someone", "insult"], [["you"], ["idiot"]], {"you": "we", "idiot": "friend"})
    exp = get_explainer("counterfactual", llm=llm, strategy="causal").explain(IDIOT, POST)[0]
    assert exp.info["steps"] == ["concepts", "words", "rewrite", "rewrite"] and exp.info["tries"] == 2
    assert [a["flipped"] for a in exp.info["attempts"]] == [False, True]
    assert exp.info["concept"] == "insult" and exp.scores == pytest.approx((0, 0, 0.7, 0, 0))
    one = get_explainer("counterfactual", llm=llm, strategy="causal", max_tries=1).explain(IDIOT, POST)[0]
    # one rewrite only: the label held, p did not drop -> kept with zero scores, not flipped
    assert one.info["flipped"] is False and one.scores == (0, 0, 0, 0, 0) and one.failed is None
    strict = get_explainer("counterfactual", llm=llm, strategy="causal", max_tries=1,
                           require_flip=True).explain(IDIOT, POST)[0]
    assert strict.failed == "no rewrite flipped the label in 1 tries"


@pytest.mark.parametrize("step, expected", [
    (0, "step 1 (concepts): unparseable answer"),
    (1, "step 2 (words): unparseable answer"),
    (2, "step 3 (rewrite): no usable rewrite in 1 tries: unparseable answer"),
])
def test_nonsense_at_any_step_is_a_recorded_failure_not_a_crash(step: int, expected: str) -> None:
    good = scripted(["insult"], [["idiot"]], {"idiot": "friend"})

    def answer(messages: list[dict[str, str]]) -> str:
        user = messages[-1]["content"]
        at = 0 if "high-level" in user else 1 if "For each concept" in user else 2
        if at == step and "zzz" in user:
            return "I am not able to help with that"
        return good.answers(messages)  # type: ignore[operator]

    exps = get_explainer("counterfactual", llm=ReplayBackend(answer), strategy="causal").explain(
        IDIOT, ["zzz idiot here", "an idiot"])
    assert exps[0].failed.startswith(expected) and exps[0].scores == (0, 0, 0)
    assert json.dumps(exps[0].to_dict())
    assert exps[1].failed is None and exps[1].info["flipped"] is True


def test_words_of_no_concept_in_the_post_fail_with_the_reason() -> None:
    llm = scripted(["insult"], [["moron"]], {"moron": "friend"})
    exp = get_explainer("counterfactual", llm=llm, strategy="causal").explain(IDIOT, POST)[0]
    assert exp.failed == "step 2 (words): no word the LLM named for any concept is in the post"


def test_parsers_and_the_edit_by_hand() -> None:
    assert parse_carriers('{"concepts": [{"concept": "a", "words": ["x", "y"]}]}', ["a"]) == [("a", ["x", "y"])]
    assert parse_carriers('Sure: [["x"], ["y"]]', ["a", "b"]) == [("a", ["x"]), ("b", ["y"])]
    assert parse_carriers('{"a": ["x"]}', []) == [("a", ["x"])]
    assert parse_replacements('{"replacements": [{"word": "x", "new": ""}, {"old": "y", "to": "z"}]}') == [
        ("x", ""), ("y", "z")]
    words = ("go", "back", "home", "idiot", "go", "back")
    carriers = {"go back": [(0, 2), (4, 6)], "idiot": [(3, 4)]}
    edited, new_at, ignored, changed = apply_replacements(
        words, carriers, [("go back", "stay"), ("idiot", ""), ("home", "x")], split_like)
    assert edited == ["stay", "home", "stay"] and ignored == ["home"]
    assert new_at == {(0, 2): ["stay"], (4, 6): ["stay"], (3, 4): []} and changed == 5


def test_conformance_with_a_scripted_pipeline(tiny: Classifier) -> None:
    def answer(messages: list[dict[str, str]]) -> str:
        user = messages[-1]["content"]
        words = re.findall(r"<<<(.*?)>>>", user, re.S)[-1].split()
        if "high-level concepts" in user:
            return '{"concepts": ["first", "longest"]}'
        if "For each concept" in user:
            return json.dumps({"concepts": [{"concept": "first", "words": [words[0]]},
                                            {"concept": "longest", "words": [max(words, key=len)]}]},
                              ensure_ascii=False)
        listed = json.loads(re.search(r': (\[.*?\])\. Replace', user).group(1))
        return json.dumps({"replacements": [{"word": w, "new": "nice"} for w in listed]})

    exps = check_explainer("counterfactual", tiny, {"llm": ReplayBackend(answer, name="c"), "strategy": "causal"})
    assert all(e.info["strategy"] == "causal" and e.info["steps"][:3] == ["concepts", "words", "rewrite"]
               for e in exps)


def test_plain_stays_the_default_and_a_bad_strategy_is_refused() -> None:
    assert get_explainer("counterfactual").params["strategy"] == "plain"
    with pytest.raises(ValueError, match="strategy must be one of plain, causal"):
        get_explainer("counterfactual", strategy="magic")
