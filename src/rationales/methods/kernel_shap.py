"""KernelSHAP (Lundberg & Lee, 2017) via Captum, one feature per word."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier, check_removal
from ..types import Example, Explanation
from ._surrogate import check_samples, seeded_attribution, word_presence_forward
from ._util import pad_to_words, prob_list, truncation_info, words_used
from .base import Explainer, register


@register
class KernelShapExplainer(Explainer):
    """KernelSHAP: Shapley values of each word for p(target), estimated by Captum.

    Coalitions are sampled by size from the Shapley kernel (the full and the empty text
    first); "absent" means deleted or masked (``removal``). A one-word text has the exact
    Shapley value p(target | word) − p(target | nothing), computed directly because
    Captum's sampler needs at least two features.
    """

    name = "kernel_shap"
    stochastic = True
    defaults: ClassVar[dict[str, Any]] = {"n_samples": 500, "seed": 0, "removal": "delete"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        check_samples(self.name, self.params["n_samples"])
        check_removal(self.params["removal"])

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        import torch
        from captum.attr import KernelShap

        p = self.params
        n_words = len(example.words)
        used = words_used(classifier, example)
        full = classifier.predict_proba_masked(example, np.ones((1, n_words), dtype=bool), p["removal"])[0]
        forward = word_presence_forward(classifier, example, used, p["removal"])
        if used == 1:
            probs = forward(torch.tensor([[1.0], [0.0]], dtype=torch.float64)).numpy()
            scores = np.array([probs[0, target] - probs[1, target]])
        elif used > 1:
            scores = seeded_attribution(KernelShap(forward), used, target, p["n_samples"], p["seed"])
        else:
            scores = np.zeros(0)
        return self.make(
            example,
            pad_to_words(scores, n_words),
            target,
            probs=prob_list(full),
            **truncation_info(example, used),
        )

