"""LIME (Ribeiro et al., 2016) via Captum, one interpretable feature per word."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier, check_removal
from ..types import Example, Explanation
from ._surrogate import check_samples, seeded_attribution, word_presence_forward
from ._util import pad_to_words, prob_list, truncation_info, words_used
from .base import Explainer, register


@register
class LimeExplainer(Explainer):
    """LIME: a weighted linear surrogate fitted on random word subsets (Captum's Lime).

    Each sample keeps every word with probability 0.5 (Captum's default sampler); the
    samples are weighted by an exponential kernel on cosine distance to the full text
    (``kernel_width``) and a ridge regression (``alpha``) is fitted to p(target). Ridge,
    not Captum's default lasso, because the original LIME text explainer uses ridge and
    lasso with a fixed alpha zeroes most words of a long post, leaving ties.
    """

    name = "lime"
    stochastic = True
    defaults: ClassVar[dict[str, Any]] = {
        "n_samples": 500,
        "seed": 0,
        "removal": "delete",
        "kernel_width": 1.0,
        "alpha": 1.0,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        check_samples(self.name, self.params["n_samples"])
        check_removal(self.params["removal"])
        if float(self.params["kernel_width"]) <= 0 or float(self.params["alpha"]) < 0:
            raise ValueError("lime: kernel_width must be > 0 and alpha >= 0")

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime
        from captum.attr._core.lime import get_exp_kernel_similarity_function

        p = self.params
        n_words = len(example.words)
        used = words_used(classifier, example)
        full = classifier.predict_proba_masked(example, np.ones((1, n_words), dtype=bool), p["removal"])[0]
        scores = np.zeros(used)
        if used:
            lime = Lime(
                word_presence_forward(classifier, example, used, p["removal"]),
                interpretable_model=SkLearnRidge(alpha=float(p["alpha"])),
                similarity_func=get_exp_kernel_similarity_function("cosine", float(p["kernel_width"])),
            )
            scores = seeded_attribution(lime, used, target, p["n_samples"], p["seed"])
        return self.make(
            example,
            pad_to_words(scores, n_words),
            target,
            probs=prob_list(full),
            **truncation_info(example, used),
        )
