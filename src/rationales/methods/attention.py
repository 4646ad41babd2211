"""Attention: how much the first token ([CLS] / <s>) attends to each word."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier
from ..types import Example, Explanation
from ._util import AGGREGATIONS, aggregate_to_words, as_attention_classifier, prob_list, truncation_info, words_used
from .base import Explainer, register


@register
class AttentionExplainer(Explainer):
    """[CLS] attention of one layer (default: the last), averaged over heads, summed to words.

    Attention weights are not the same thing as responsibility for ``target`` (the score
    does not depend on the target at all); they are offered because HateXplain and
    X-MuTeST supervise exactly this quantity, so it shows what training changed.
    """

    name = "attention"
    needs_attentions = True
    defaults: ClassVar[dict[str, Any]] = {"layer": -1, "aggregate": "sum"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["aggregate"] not in AGGREGATIONS:
            raise ValueError(f"attention: aggregate must be one of {AGGREGATIONS}, got {self.params['aggregate']!r}")
        self.params["layer"] = int(self.params["layer"])

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        net = as_attention_classifier(classifier, self.name)
        n_words = len(example.words)
        used = words_used(classifier, example)
        att = net.attentions(example)  # (layers, heads, tokens, tokens)
        layer = self.params["layer"]
        if not -att.shape[0] <= layer < att.shape[0]:
            raise ValueError(f"attention: layer {layer} out of range for a model with {att.shape[0]} layers")
        cls_row = np.asarray(att[layer, :, 0, :], dtype=np.float64).mean(axis=0)
        word_index = np.asarray(net.encode(example).word_index)
        scores = aggregate_to_words(cls_row, word_index, n_words, self.params["aggregate"])
        probs = classifier.predict_proba([example])[0]
        return self.make(example, scores, target, probs=prob_list(probs), **truncation_info(example, used))
