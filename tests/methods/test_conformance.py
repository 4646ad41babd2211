"""Every registered explainer that needs no LLM passes the one conformance suite,
:func:`rationales.testing.check_explainer` (the LLM ones: test_llm_explainers.py).

The method list is read from the registry at collection time, so a new method is tested
the moment its file exists; there is no skip: a method that cannot pass fails here.
"""

from __future__ import annotations

import pytest

from rationales.methods import EXPLAINERS
from rationales.models.base import missing_capabilities
from rationales.testing import check_explainer
from rationales.types import Explanation

# Names starting with "_" are test doubles other test packages register (tests/jobs).
NON_LLM = [name for name in EXPLAINERS.names()
           if not EXPLAINERS.get(name).needs_llm and not name.startswith("_")]

# Small sample counts keep the suite fast; the checks do not depend on them.
FAST = {"lime": {"n_samples": 64}, "kernel_shap": {"n_samples": 64},
        "integrated_gradients": {"n_steps": 8, "internal_batch_size": 4},
        # learn=False: a mixture learned across a batch makes a batch differ from one
        # example at a time by design (tests/methods/test_bee.py pins learning itself)
        "bee": {"n_draws": 2, "steps": 4, "internal_batch_size": 8, "learn": False},
        # a small pool of posts to match against (the tests' own, any language)
        "cf_match": {"pool": ["they are friends of this country and should stay", "go home you people",
                              "what a lovely day", "shut up idiot", "ये लोग दोस्त हैं", "ఈ రోజు చాలా బాగుంది",
                              "kill them all", "thanks for the kind words", "hello there"]}}


def test_the_classic_methods_are_registered():
    expected = {"ngram", "occlusion", "gradient", "grad_input", "integrated_gradients",
                "attention", "lime", "kernel_shap"}
    assert expected <= set(NON_LLM)


@pytest.mark.parametrize("method", NON_LLM)
def test_conformance_on_a_transformer(method, tiny):
    assert check_explainer(method, tiny, FAST.get(method))


@pytest.mark.parametrize("model", ["tfidf", "planted3"])
@pytest.mark.parametrize("method", NON_LLM)
def test_conformance_on_a_non_differentiable_model(method, model, request):
    """Perturbation methods work on any classifier (the tf-idf baseline, a numpy model);
    gradient and attention methods refuse with a clear error (the suite checks it)."""
    classifier = request.getfixturevalue(model)
    refused = bool(missing_capabilities(EXPLAINERS.get(method), classifier))
    assert refused == (EXPLAINERS.get(method).needs_gradients or EXPLAINERS.get(method).needs_attentions)
    exps = check_explainer(method, classifier, FAST.get(method))
    assert (exps == []) == refused


def replay_labels(messages: list[dict[str, str]]) -> str:
    """A scripted LLM for cap: the first listed label when the post names enemies, else the second."""
    import re

    labels = re.findall(r"^- ([^:\n]+)", messages[-1]["content"], re.M)
    return f'"{labels[0] if "enemies" in messages[-1]["content"] else labels[1]}"'


CAP_FAST = {"cap": {"n_samples": 12, "n_votes": 1},
            "cap_hybrid": {"cap": {"n_samples": 12, "n_votes": 1}, "integrated_gradients": {"n_steps": 4},
                           "lime": {"n_samples": 32}}}


@pytest.mark.parametrize("method", ["cap", "cap_hybrid"])
def test_conformance_of_the_cap_explainers_with_a_replay_llm(method, tiny, planted3):
    from rationales.llm import ReplayBackend

    params = {"llm": ReplayBackend(replay_labels, name="labels"), **CAP_FAST[method]}
    exps = check_explainer(method, tiny, params)
    assert all(e.params["llm"] == "replay:labels" for e in exps)
    # cap needs no gradients (any classifier); cap_hybrid does (integrated gradients)
    assert (check_explainer(method, planted3, params) == []) == (method == "cap_hybrid")


def test_an_explainer_that_breaks_the_contract_is_caught(tiny):
    """The suite fails loudly: here, a method whose scores drift from call to call."""
    from rationales.methods.base import Explainer

    class Drifting(Explainer):
        name = "drifting"
        calls = 0

        def explain_one(self, classifier, example, target):
            Drifting.calls += 1
            return self.make(example, [float(Drifting.calls)] * len(example.words), target,
                             probs=list(classifier.predict_proba([example])[0]))

    with pytest.raises(AssertionError, match="batch vs one at a time"):
        check_explainer(Drifting, tiny)


def test_with_info_copies_and_leaves_the_explanation_as_it_was():
    exp = Explanation("e", ("a", "b"), (0.5, 0.1), 0, "m", params={"k": 1}, info={"probs": [1.0, 0.0]})
    more = exp.with_info(forward_passes=3, probs=[0.0, 1.0])
    assert exp.info == {"probs": [1.0, 0.0]} and "forward_passes" not in exp.info
    assert more.info == {"probs": [0.0, 1.0], "forward_passes": 3}
    assert more.params == exp.params and more.params is not exp.params
    assert more.scores == exp.scores and more.to_dict()["info"]["forward_passes"] == 3


def test_nle_conformance_with_a_scripted_llm(tiny):
    """``nle`` consults an LLM: a scripted one lists the best highlighted word and a word
    that is not in the post (removed from the named set and counted)."""
    import json
    import re

    from rationales.llm import ReplayBackend

    def answer(messages):
        listed = re.findall(r"influenced it are: (.*)\.\n", messages[-1]["content"])[0]
        words = [] if listed == "(none)" else json.loads(f"[{listed}]")
        return json.dumps({"explanation": "Because of these words.", "words": words[:1] + ["notinthepost"]})

    exps = check_explainer("nle", tiny, {"llm": ReplayBackend(answer, name="scripted-nle")})
    assert all(e.info["n_named_not_in_post"] == 1 and e.params["llm"] == "replay:scripted-nle" for e in exps)
