"""Gradient attributions on the input (word) embeddings, via Captum, summed to words.

Three methods share one path: the example is tokenised once, its input embeddings are
looked up, Captum differentiates p(target) — the classifier's softmax output — with
respect to them, and the per-subword attributions are reduced over the embedding
dimension and aggregated to words (``aggregate``: sum by default).

- ``gradient``: saliency, the L2 norm of ∂p/∂e per subword (≥ 0: magnitude only).
- ``grad_input``: gradient × input, summed over the embedding dimension (signed).
- ``integrated_gradients``: IG from a baseline whose word subwords are the pad (or mask)
  embedding, special tokens kept, ``n_steps`` Riemann steps in batches of
  ``internal_batch_size``; the convergence delta goes to ``info``.

These need a :class:`~rationales.models.base.DifferentiableClassifier` (checked at the
door); gradients do not go through the forward engine
(it runs under inference mode and caches probabilities, not gradients). The prediction
in ``info["probs"]`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..models.base import Classifier, DifferentiableClassifier
from ..types import Example, Explanation
from ._util import AGGREGATIONS, aggregate_to_words, as_differentiable, prob_list, truncation_info, words_used
from .base import Explainer, register

BASELINES = ("pad", "mask")


class _EmbeddingGradient(Explainer):
    """Shared set-up for Captum methods on input embeddings."""

    needs_gradients = True
    #: how per-subword vectors (tokens, hidden) become one number per subword
    reduce: ClassVar[str] = "sum"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["aggregate"] not in AGGREGATIONS:
            raise ValueError(
                f"{self.name}: aggregate must be one of {AGGREGATIONS}, got {self.params['aggregate']!r}"
            )

    def attribute(self, forward: Any, embeds: Any, baseline_ids: Any, target: int,
                  classifier: DifferentiableClassifier) -> tuple[Any, dict[str, Any]]:
        """Attributions shaped like ``embeds`` and extra info."""
        raise NotImplementedError

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        import torch

        net = as_differentiable(classifier, self.name)
        n_words = len(example.words)
        used = words_used(classifier, example)
        enc = net.encode(example)
        device = next(net.model.parameters()).device
        ids = torch.tensor([list(enc.input_ids)], dtype=torch.long, device=device)
        attention_mask = torch.ones_like(ids)
        with torch.no_grad():
            embeds = net.embeddings()(ids).detach()
        embeds.requires_grad_(True)

        def forward(e: torch.Tensor) -> torch.Tensor:
            return net.forward_from_embeddings(e, attention_mask.expand(e.shape[0], -1))

        word_index = np.asarray(enc.word_index)
        with torch.enable_grad():
            attr, info = self.attribute(forward, embeds, (ids, word_index), target, net)
        attr = attr.detach()[0].to(torch.float64)  # (tokens, hidden)
        per_token = attr.norm(dim=-1) if self.reduce == "l2" else attr.sum(dim=-1)
        scores = aggregate_to_words(per_token.cpu().numpy(), word_index, n_words, self.params["aggregate"])
        probs = classifier.predict_proba([example])[0]
        return self.make(example, scores, target, probs=prob_list(probs), **info,
                         **truncation_info(example, used))

    def baseline_embeds(self, classifier: DifferentiableClassifier, ids: Any,
                        word_index: np.ndarray) -> Any:
        """Embeddings of ``ids`` with every word subword replaced by pad/mask."""
        import torch

        which = self.params["baseline"]
        if which not in BASELINES:
            raise ValueError(f"{self.name}: baseline must be one of {BASELINES}, got {which!r}")
        fill = classifier.pad_token_id if which == "pad" else classifier.mask_token_id
        if fill is None:
            raise ValueError(f"{self.name}: the tokenizer has no {which} token; use baseline='pad'")
        is_word = torch.as_tensor(word_index >= 0, device=ids.device)[None, :]
        base_ids = torch.where(is_word, torch.full_like(ids, int(fill)), ids)
        with torch.no_grad():
            return classifier.embeddings()(base_ids).detach()


@register
class GradientExplainer(_EmbeddingGradient):
    """Saliency: L2 norm of the gradient of p(target) w.r.t. each subword's embedding."""

    name = "gradient"
    reduce = "l2"
    defaults: ClassVar[dict[str, Any]] = {"aggregate": "sum"}

    def attribute(self, forward, embeds, baseline_ids, target, classifier):
        from captum.attr import Saliency

        return Saliency(forward).attribute(embeds, target=int(target), abs=False), {}


@register
class GradInputExplainer(_EmbeddingGradient):
    """Gradient × input: the embedding times the gradient of p(target), summed per subword."""

    name = "grad_input"
    defaults: ClassVar[dict[str, Any]] = {"aggregate": "sum"}

    def attribute(self, forward, embeds, baseline_ids, target, classifier):
        from captum.attr import InputXGradient

        return InputXGradient(forward).attribute(embeds, target=int(target)), {}


@register
class IntegratedGradientsExplainer(_EmbeddingGradient):
    """Integrated gradients from a pad/mask-embedding baseline (Sundararajan et al., 2017)."""

    name = "integrated_gradients"
    defaults: ClassVar[dict[str, Any]] = {"aggregate": "sum", "baseline": "pad", "n_steps": 50,
                                "internal_batch_size": 50}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["baseline"] not in BASELINES:
            raise ValueError(f"{self.name}: baseline must be one of {BASELINES}, got {self.params['baseline']!r}")
        if int(self.params["n_steps"]) < 1 or int(self.params["internal_batch_size"]) < 1:
            raise ValueError(f"{self.name}: n_steps and internal_batch_size must be >= 1")

    def attribute(self, forward, embeds, baseline_ids, target, classifier):
        from captum.attr import IntegratedGradients

        ids, word_index = baseline_ids
        base = self.baseline_embeds(classifier, ids, word_index)
        attr, delta = IntegratedGradients(forward).attribute(
            embeds, baselines=base, target=int(target), n_steps=int(self.params["n_steps"]),
            internal_batch_size=int(self.params["internal_batch_size"]),
            return_convergence_delta=True,
        )
        return attr, {"convergence_delta": float(delta.abs().max())}
