"""``union``: X-MuTeST's final explanation, ``ngram``'s hard rationale ∪ the LLM's words.

Hard rationale (``info["rationale"]``): a word is in it when ``ngram`` selects it under
X-MuTeST's rule (one-word text → that word; up to 10 words → the top ⌊n/2⌋; more than
10 → the top 5) or the ``llm`` explainer named it.

Soft scores, for metrics that rank words (AUPRC, AOPC):

    score_i = [i in the union] + 0.5 · ngram_i / max_j ngram_j

so every word of the union (scores in [1, 1.5]) ranks above every other word (scores in
[0, 0.5]), and inside each group words are ordered by the n-gram evidence. Thresholding
the scores above 0.5 gives back exactly the hard rationale.

When the LLM failed for a post, the union is ``ngram``'s rationale alone and
``info["llm_failed"]`` says why (the explanation itself is not marked failed: the
n-gram half is still a valid X-MuTeST rationale).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier
from ..rules import apply_rule
from ..types import Example, Explanation
from .base import register
from .llm import LLMExplainer, LLMMethod
from .ngram import NgramExplainer


@register
class UnionExplainer(LLMMethod):
    """X-MuTeST: the union of the n-gram method's hard rationale and the LLM's words."""

    name = "union"
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None,
        "lang": None,
        "prompt": "fewshot",
        "max_new_tokens": 128,
        "retry_unparseable": True,
        "ngram": {},  # parameters of the ngram explainer (sizes, weights, removal)
    }

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        backend = self.backend()
        ngram = NgramExplainer(**dict(self.params["ngram"] or {})).explain_batch(classifier, examples, targets)
        llm = LLMExplainer(llm=backend, lang=self.params["lang"], prompt=self.params["prompt"],
                           max_new_tokens=self.params["max_new_tokens"],
                           retry_unparseable=self.params["retry_unparseable"]
                           ).explain_batch(classifier, examples, targets)
        out = []
        for ex, t, g, lm in zip(examples, targets, ngram, llm):
            n_scores = np.asarray(g.scores, dtype=np.float64)
            hard_ngram = np.asarray(g.info.get("rationale") or apply_rule(g.scores, "xmutest"))
            hard_llm = np.asarray(lm.info.get("rationale") or [0] * len(ex.words)) if lm.failed is None \
                else np.zeros(len(ex.words), dtype=int)
            union = np.maximum(hard_ngram, hard_llm).astype(int)
            top = n_scores.max() if n_scores.size else 0.0
            soft = n_scores / top if top > 0 else np.zeros_like(n_scores)
            scores = union + 0.5 * soft
            passes = [e.info.get("forward_passes") for e in (g, lm)]
            info: dict[str, Any] = dict(
                probs=g.info.get("probs"),
                rationale=union.tolist(),
                ngram_rationale=hard_ngram.astype(int).tolist(),
                llm_rationale=hard_llm.astype(int).tolist(),
                ngram_scores=list(g.scores),
                answer=lm.info.get("answer"),
                phrases=lm.info.get("phrases"),
                hallucinated=lm.info.get("hallucinated", []),
                n_hallucinated=lm.info.get("n_hallucinated", 0),
                hallucination_rate=lm.info.get("hallucination_rate", 0.0),
                llm=backend.spec,
                combination="score = [in union] + 0.5 * ngram / max(ngram)",
            )
            if lm.failed is not None:
                info["llm_failed"] = lm.failed
            if "truncated_at" in g.info:
                info["truncated_at"] = g.info["truncated_at"]
            total = sum(p for p in passes if p is not None) if any(p is not None for p in passes) else None
            out.append(self.finish(ex, scores, t, backend, None, total, **info))
        return out
