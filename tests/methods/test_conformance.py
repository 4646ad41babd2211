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
        "integrated_gradients": {"n_steps": 8, "internal_batch_size": 4}}


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
