"""The null explainer: uniform random scores, the baseline every ground-truth metric is read against."""

from __future__ import annotations

import zlib
from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier
from ..types import Example, Explanation
from ._util import prob_list
from .base import Explainer, register


@register
class RandomExplainer(Explainer):
    """Uniform random scores in [0, 1): the null baseline (GECOBench's random attribution).

    Each example's scores are drawn from a generator seeded by ``seed`` and the example's
    words, so an example gets the same scores alone or in a batch, and two runs agree.
    The classifier is asked only for the prediction every explanation reports
    (``info["probs"]``).
    """

    name = "random"
    stochastic = True
    defaults: ClassVar[dict[str, Any]] = {"seed": 0}

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        probs = np.asarray(classifier.predict_proba([example]))[0]
        words_key = zlib.crc32("\x1f".join(example.words).encode("utf-8", "surrogatepass"))
        rng = np.random.default_rng([int(self.params["seed"]), words_key])
        return self.make(example, rng.random(len(example.words)), target, probs=prob_list(probs))
