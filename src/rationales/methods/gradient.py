"""Gradient attributions on the input (word) embeddings, summed to words, batched.

Three methods share one path: each example is tokenised once, its input embeddings are
looked up, p(target) — the classifier's softmax output — is differentiated with respect
to them, and the per-subword attributions are reduced over the embedding dimension and
aggregated to words (``aggregate``: sum by default). The arithmetic is Captum's
(``Saliency``, ``InputXGradient``, ``IntegratedGradients`` with its Gauss-Legendre
steps); what differs is the batching:

- examples are sorted by length and run together, right-padded with the pad embedding
  and an attention mask, each row differentiating its own target (the rows do not
  interact, so the result is each example's own, to float tolerance);
- the forward that gives the gradients also gives ``info["probs"]``: no extra forward.

Methods:

- ``gradient``: saliency, the L2 norm of ∂p/∂e per subword (≥ 0: magnitude only).
- ``grad_input``: gradient × input, summed over the embedding dimension (signed).
- ``integrated_gradients``: IG from a baseline whose word subwords are the pad (or mask)
  embedding, special tokens kept, ``n_steps`` Gauss-Legendre steps. The (example, step)
  rows of all examples are cut into forward+backward batches of ``internal_batch_size``
  rows (Captum's meaning: rows per pass, across examples here). The input and the
  baseline are run once more without gradients, batched too: p(input) is
  ``info["probs"]``, and ``info["convergence_delta"]`` = |Σ attributions −
  (p(input) − p(baseline))|.

These need a :class:`~rationales.models.base.DifferentiableClassifier` (checked at the
door). Gradients do not go through the forward engine (it runs under inference mode and
caches probabilities, not gradients); the sequences run forward and backward are counted
in its stats (``gradient_forwards``, ``backward_passes``) and in each explanation's
``info``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from ..errors import ParameterError
from ..models.base import Classifier, DifferentiableClassifier
from ..types import Example, Explanation
from ._util import AGGREGATIONS, aggregate_to_words, as_differentiable, prob_list, truncation_info, words_used
from .base import Explainer, register

if TYPE_CHECKING:
    import torch

BASELINES = ("pad", "mask")


def count_gradient_passes(classifier: Classifier, forwards: int, backwards: int) -> None:
    """Add gradient-path passes to the classifier's engine stats (if it keeps them)."""
    count = getattr(getattr(classifier, "engine", None), "count_gradient_passes", None)
    if callable(count):
        count(forwards, backwards)


class _Rows:
    """Sequences of different lengths as one right-padded batch of embeddings."""

    def __init__(self, net: DifferentiableClassifier, embeds: Sequence[torch.Tensor]) -> None:
        import torch

        self.lengths = [int(e.shape[0]) for e in embeds]
        longest = max(self.lengths)
        device = embeds[0].device
        pad_id = torch.tensor([int(net.pad_token_id)], device=device)
        with torch.no_grad():
            pad = net.embeddings()(pad_id)[0].detach()  # (hidden,)
        batch = pad.expand(len(embeds), longest, pad.shape[-1]).clone()
        mask = torch.zeros(len(embeds), longest, dtype=torch.long, device=device)
        for i, e in enumerate(embeds):
            batch[i, : self.lengths[i]] = e
            mask[i, : self.lengths[i]] = 1
        self.embeds, self.mask = batch, mask

    def probs_and_grads(self, net: DifferentiableClassifier, targets: Sequence[int]) -> tuple[Any, Any]:
        """One forward + backward: the probabilities (rows, labels) and ∂p(target)/∂e."""
        import torch

        x = self.embeds.detach().requires_grad_(True)
        with torch.enable_grad():
            probs = net.forward_from_embeddings(x, self.mask)
            picked = probs[torch.arange(len(targets), device=probs.device),
                           torch.as_tensor(list(targets), device=probs.device)]
            (grads,) = torch.autograd.grad(picked.sum(), x)
        return probs.detach(), grads

    def probs(self, net: DifferentiableClassifier) -> Any:
        import torch

        with torch.no_grad():
            return net.forward_from_embeddings(self.embeds, self.mask).detach()


class _EmbeddingGradient(Explainer):
    """Shared set-up: encode, embed, run the method's batches, aggregate to words."""

    needs_gradients = True
    #: how per-subword vectors (tokens, hidden) become one number per subword
    reduce: ClassVar[str] = "sum"
    #: examples per forward + backward (``gradient``, ``grad_input``)
    batch_rows: ClassVar[int] = 32

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["aggregate"] not in AGGREGATIONS:
            raise ParameterError(
                f"{self.name}: aggregate must be one of {AGGREGATIONS}, got {self.params['aggregate']!r}"
            )

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        return self.explain_batch(classifier, [example], [target])[0]

    def explain_batch(
        self, classifier: Classifier, examples: list[Example], targets: list[int]
    ) -> list[Explanation]:
        import torch

        if not examples:
            return []
        net = as_differentiable(classifier, self.name)
        device = next(net.model.parameters()).device
        encs = [net.encode(ex) for ex in examples]
        ids = [torch.tensor(list(enc.input_ids), dtype=torch.long, device=device) for enc in encs]
        with torch.no_grad():
            embeds = [net.embeddings()(i[None, :])[0].detach() for i in ids]
        # longest last: batches of similar lengths, little padding
        order = sorted(range(len(examples)), key=lambda i: len(ids[i]))
        attrs, infos = self.attribute(net, ids, embeds, [int(t) for t in targets], order,
                                      [np.asarray(enc.word_index) for enc in encs])
        count_gradient_passes(classifier, sum(i["forward_passes"] for i in infos),
                              sum(i["backward_passes"] for i in infos))
        out = []
        for ex, t, enc, attr, info in zip(examples, targets, encs, attrs, infos):
            attr = attr.detach().to(torch.float64)  # (tokens, hidden)
            per_token = attr.norm(dim=-1) if self.reduce == "l2" else attr.sum(dim=-1)
            scores = aggregate_to_words(per_token.cpu().numpy(), np.asarray(enc.word_index),
                                        len(ex.words), self.params["aggregate"])
            out.append(self.make(ex, scores, int(t), **info,
                                 **truncation_info(ex, words_used(classifier, ex))))
        return out

    def attribute(self, net: DifferentiableClassifier, ids: list[Any], embeds: list[Any], targets: list[int],
                  order: list[int], word_index: list[np.ndarray]) -> tuple[list[Any], list[dict[str, Any]]]:
        """Per example (original order): attributions shaped like its embeddings, and its
        info (``probs``, ``forward_passes``, ``backward_passes``, method extras)."""
        attrs: list[Any] = [None] * len(ids)
        infos: list[dict[str, Any]] = [{} for _ in ids]
        for start in range(0, len(order), self.batch_rows):
            part = order[start:start + self.batch_rows]
            rows = _Rows(net, [embeds[i] for i in part])
            probs, grads = rows.probs_and_grads(net, [targets[i] for i in part])
            for j, i in enumerate(part):
                grad = grads[j, : rows.lengths[j]]
                attrs[i] = self.from_gradient(grad, embeds[i])
                infos[i] = {"probs": prob_list(probs[j].cpu().numpy()), "forward_passes": 1, "backward_passes": 1}
        return attrs, infos

    def from_gradient(self, grad: Any, embeds: Any) -> Any:
        """The attribution of one example from ∂p/∂e and its embeddings."""
        return grad


@register
class GradientExplainer(_EmbeddingGradient):
    """Saliency: L2 norm of the gradient of p(target) w.r.t. each subword's embedding."""

    name = "gradient"
    reduce = "l2"
    defaults: ClassVar[dict[str, Any]] = {"aggregate": "sum"}


@register
class GradInputExplainer(_EmbeddingGradient):
    """Gradient × input: the embedding times the gradient of p(target), summed per subword."""

    name = "grad_input"
    defaults: ClassVar[dict[str, Any]] = {"aggregate": "sum"}

    def from_gradient(self, grad: Any, embeds: Any) -> Any:
        return grad * embeds


@register
class IntegratedGradientsExplainer(_EmbeddingGradient):
    """Integrated gradients from a pad/mask-embedding baseline (Sundararajan et al., 2017)."""

    name = "integrated_gradients"
    defaults: ClassVar[dict[str, Any]] = {"aggregate": "sum", "baseline": "pad", "n_steps": 50,
                                          "internal_batch_size": 50}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["baseline"] not in BASELINES:
            raise ParameterError(f"{self.name}: baseline must be one of {BASELINES}, got {self.params['baseline']!r}")
        if int(self.params["n_steps"]) < 1 or int(self.params["internal_batch_size"]) < 1:
            raise ParameterError(f"{self.name}: n_steps and internal_batch_size must be >= 1")

    def baseline_ids(self, net: DifferentiableClassifier, ids: Any, word_index: np.ndarray) -> Any:
        """``ids`` with every word subword replaced by pad/mask (special tokens kept)."""
        import torch

        which = self.params["baseline"]
        fill = net.pad_token_id if which == "pad" else net.mask_token_id
        if fill is None:
            raise ParameterError(f"{self.name}: the tokenizer has no {which} token; use baseline='pad'")
        is_word = torch.as_tensor(word_index >= 0, device=ids.device)
        return torch.where(is_word, torch.full_like(ids, int(fill)), ids)

    def attribute(self, net: DifferentiableClassifier, ids: list[Any], embeds: list[Any], targets: list[int],
                  order: list[int], word_index: list[np.ndarray]) -> tuple[list[Any], list[dict[str, Any]]]:
        import torch
        from captum.attr._utils.approximation_methods import approximation_parameters

        n_steps, per_pass = int(self.params["n_steps"]), int(self.params["internal_batch_size"])
        step_sizes_fn, alphas_fn = approximation_parameters("gausslegendre")
        step_sizes, alphas = step_sizes_fn(n_steps), alphas_fn(n_steps)
        with torch.no_grad():
            bases = [net.embeddings()(self.baseline_ids(net, ids[i], word_index[i])[None, :])[0].detach()
                     for i in range(len(ids))]
        totals = [torch.zeros_like(e) for e in embeds]
        steps = torch.tensor(step_sizes).float()
        rows = [(i, k) for i in order for k in range(n_steps)]
        for start in range(0, len(rows), per_pass):
            part = rows[start:start + per_pass]
            batch = _Rows(net, [bases[i] + alphas[k] * (embeds[i] - bases[i]) for i, k in part])
            _, grads = batch.probs_and_grads(net, [targets[i] for i, _ in part])
            for j, (i, k) in enumerate(part):
                totals[i] += grads[j, : batch.lengths[j]] * steps[k].to(grads.device)
        attrs = [totals[i] * (embeds[i] - bases[i]) for i in range(len(ids))]

        # p(input) (the prediction) and p(baseline) for the convergence delta, no gradients
        ends: list[tuple[int, bool]] = [(i, at_input) for i in order for at_input in (True, False)]
        got: dict[tuple[int, bool], np.ndarray] = {}
        for start in range(0, len(ends), per_pass):
            part_ends = ends[start:start + per_pass]
            probs = _Rows(net, [embeds[i] if at else bases[i] for i, at in part_ends]).probs(net)
            for j, key in enumerate(part_ends):
                got[key] = probs[j].cpu().numpy()
        infos = []
        for i in range(len(ids)):
            t = targets[i]
            delta = float(attrs[i].sum()) - (float(got[(i, True)][t]) - float(got[(i, False)][t]))
            infos.append({"probs": prob_list(got[(i, True)]), "convergence_delta": abs(delta),
                          "forward_passes": n_steps + 2, "backward_passes": n_steps})
        return attrs, infos
