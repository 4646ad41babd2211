"""Every registered explainer that needs no LLM passes the one conformance suite.

The method list is read from the registry at collection time, so a new method is tested
the moment its file exists; there is no skip: a method that cannot pass fails here.
"""

from __future__ import annotations

import pytest

from rationales.errors import ModelError
from rationales.methods import EXPLAINERS, get_explainer

from .conformance import check_explainer

NON_LLM = [name for name in EXPLAINERS.names() if not EXPLAINERS.get(name).needs_llm]

# Small sample counts keep the suite fast; the checks do not depend on them.
FAST = {"lime": {"n_samples": 64}, "kernel_shap": {"n_samples": 64},
        "integrated_gradients": {"n_steps": 8, "internal_batch_size": 4}}


def test_the_classic_methods_are_registered():
    expected = {"ngram", "occlusion", "gradient", "grad_input", "integrated_gradients",
                "attention", "lime", "kernel_shap"}
    assert expected <= set(NON_LLM)


@pytest.mark.parametrize("method", NON_LLM)
def test_conformance_on_a_transformer(method, tiny):
    check_explainer(method, tiny, FAST.get(method))


@pytest.mark.parametrize("model", ["tfidf", "planted3"])
@pytest.mark.parametrize("method", NON_LLM)
def test_conformance_on_a_non_differentiable_model(method, model, request):
    """Perturbation methods work on any classifier (the tf-idf baseline, a numpy model);
    gradient and attention methods refuse with a clear error."""
    classifier = request.getfixturevalue(model)
    cls = EXPLAINERS.get(method)
    if cls.needs_gradients or getattr(cls, "needs_attentions", False):
        with pytest.raises(ModelError, match="needs (gradients|attention weights)"):
            get_explainer(method, **FAST.get(method, {})).explain(classifier, "one two three")
    else:
        check_explainer(method, classifier, FAST.get(method))
