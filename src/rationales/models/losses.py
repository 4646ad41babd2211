"""Rationale-supervision losses: on the [CLS] attention row, or on an attribution.

The supervised attention is the last layer's attention *from* [CLS] (query position 0)
to every token, averaged over heads: ``attention[b, t]``. The human (or machine)
rationale is a 0/1 per word; every subword of a rationale word gets 1 (X-MuTeST marks
only the subwords at shifted positions: its code is off by one; this is not). Special
and prefix tokens, and padding, are excluded: ``valid[b, t]`` is False there.

- ``hatexplain``: cross-entropy between the target distribution ``softmax(γ · mask)``
  over the valid tokens and the attention renormalised over the same tokens,
  ``−Σ_t target_t · log(att_t / Σ_valid att)``, averaged over examples. (HateXplain's
  code applies ``log_softmax`` to the attention probabilities; we take the log of the
  renormalised attention, a true cross-entropy between two distributions.)
- ``xmutest``: binary cross-entropy between each valid token's attention probability and
  its 0/1 target, averaged over the example's valid tokens, then over examples.
  (X-MuTeST passed probabilities to a with-logits loss; this uses the probabilities as
  probabilities.)

The ``prior`` loss supervises the model's own attribution instead: gradient × input on
the word embeddings of log p(target) (``target`` is the class the prior explains), summed
over each word's subwords (:func:`word_attribution`), computed with ``create_graph`` so
the loss trains through it. Both the attribution ``a`` and the prior ``s`` (any method's
scores) are first divided by their largest absolute value over the example's words, so
each lies in [-1, 1] with its sign kept:

- the loss is invariant to the attribution's scale, which says nothing about *which*
  words matter: the model cannot lower it by inflating or shrinking its gradients, and
  gradients of log p and of p (the ``grad_input`` explainer's) give the same loss,
  since they differ by the factor p per example;
- priors from different methods (LIME coefficients, n-gram differences in [0, 1], IG
  sums) are put on one scale, so one temperature fits them all;
- the sign is kept: a word the prior counts as evidence against the target should not
  get the attribution mass of one it counts for.

``prior_alignment``:

- ``kl`` (default): KL(softmax(s/T) ‖ softmax(a/T)) over the words. The prior's
  distribution comes first: the loss is the forward, mass-covering KL of distillation,
  large when the model gives little attribution to a word the prior ranks high.
  T (``temperature``, default 0.5) sets how peaked the distributions are: on [-1, 1]
  scores, the top word gets up to e^(2/T) times the weight of the bottom one.
- ``mse``: the mean over words of (a − s)², on the same [-1, 1] scale; it matches every
  word's value, not only the ranking's top.

Examples without a prior are not supervised (CE only) and do not count in the mean.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ..errors import ParameterError

EPS = 1e-12
PRIOR_ALIGNMENTS = ("kl", "mse")


def cls_attention(last_layer: torch.Tensor) -> torch.Tensor:
    """(batch, heads, tokens, tokens) attention → (batch, tokens): [CLS] row, head mean."""
    return last_layer[:, :, 0, :].mean(dim=1)


def token_targets(word_index: torch.Tensor, rationales: Sequence[Sequence[int] | None]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token 0/1 targets and the valid-token mask from word rationales.

    ``word_index`` (batch, tokens) holds the word each token belongs to, -1 for special,
    prefix and padding tokens. Returns ``(target, valid)``; ``valid`` is False for
    excluded tokens and for every token of an example whose rationale is None.
    """
    target = torch.zeros(word_index.shape, dtype=torch.float32)
    valid = torch.zeros(word_index.shape, dtype=torch.bool)
    for b, rationale in enumerate(rationales):
        if rationale is None:
            continue
        wi = word_index[b]
        is_word = wi >= 0
        r = torch.as_tensor(list(rationale), dtype=torch.float32)
        if len(r) == 0:
            continue
        target[b, is_word] = r[wi[is_word]]
        valid[b] = is_word
    return target, valid


def hatexplain_loss(attention: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
                    gamma: float = 5.0) -> torch.Tensor:
    """Mean over supervised examples of CE(softmax(γ·mask), renormalised attention)."""
    losses = []
    for b in range(attention.shape[0]):
        v = valid[b]
        if not bool(v.any()):
            continue
        att = attention[b][v]
        att = att / att.sum().clamp_min(EPS)
        goal = torch.softmax(gamma * target[b][v], dim=0)
        losses.append(-(goal * torch.log(att.clamp_min(EPS))).sum())
    if not losses:
        return attention.sum() * 0.0
    return torch.stack(losses).mean()


def xmutest_loss(attention: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over supervised examples of the per-token BCE(attention, mask) mean."""
    losses = []
    for b in range(attention.shape[0]):
        v = valid[b]
        if not bool(v.any()):
            continue
        p = attention[b][v].clamp(EPS, 1 - 1e-7)
        losses.append(torch.nn.functional.binary_cross_entropy(p, target[b][v]))
    if not losses:
        return attention.sum() * 0.0
    return torch.stack(losses).mean()


def word_attribution(token_attribution: torch.Tensor, word_index: torch.Tensor,
                     n_words: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token attributions (batch, tokens) summed to words: (batch, n_words), and which
    words have tokens (words past the truncation point have none). Special, prefix and
    padding tokens (``word_index`` -1) are left out."""
    batch = token_attribution.shape[0]
    slot = torch.where(word_index >= 0, word_index, torch.full_like(word_index, n_words))
    sums = token_attribution.new_zeros((batch, n_words + 1)).scatter_add(1, slot, token_attribution)
    counts = torch.zeros((batch, n_words + 1), dtype=torch.long).scatter_add(
        1, slot.cpu(), torch.ones_like(slot.cpu()))
    return sums[:, :n_words], counts[:, :n_words].to(token_attribution.device) > 0


def _unit_scale(x: torch.Tensor) -> torch.Tensor:
    return x / x.abs().max().clamp_min(EPS)


def prior_loss(attribution: torch.Tensor, prior: torch.Tensor, valid: torch.Tensor,
               alignment: str = "kl", temperature: float = 0.5) -> torch.Tensor:
    """Mean over examples with a prior of the alignment between attribution and prior.

    ``attribution``, ``prior`` (batch, words); ``valid`` is False for words that are not
    compared (padding words, truncated words, every word of an example without a
    prior). See the module docstring for the normalisation.
    """
    if alignment not in PRIOR_ALIGNMENTS:
        raise ParameterError(f"prior_alignment must be one of {PRIOR_ALIGNMENTS}, got {alignment!r}")
    if not temperature > 0:
        raise ParameterError(f"prior_temperature must be above 0, got {temperature}")
    losses = []
    for b in range(attribution.shape[0]):
        v = valid[b]
        if not bool(v.any()):
            continue
        a = _unit_scale(attribution[b][v].float())
        s = _unit_scale(prior[b][v].float())
        if alignment == "mse":
            losses.append(((a - s) ** 2).mean())
        else:
            log_p = torch.log_softmax(s / temperature, dim=0)
            log_q = torch.log_softmax(a / temperature, dim=0)
            losses.append((log_p.exp() * (log_p - log_q)).sum())
    if not losses:
        return attribution.sum() * 0.0
    return torch.stack(losses).mean()


def combined_loss(kind: str | None, ce: torch.Tensor, attention: torch.Tensor | None,
                  target: torch.Tensor | None, valid: torch.Tensor | None, *,
                  weight: float = 0.001, gamma: float = 5.0, alpha: float = 0.7) -> tuple[torch.Tensor, dict[str, Any]]:
    """The training loss for a rationale-loss kind, and its parts for logging.

    ``None``: CE. ``hatexplain``: CE + weight · hatexplain_loss. ``xmutest``:
    (1 − alpha) · CE + alpha · xmutest_loss.
    """
    if kind is None:
        return ce, {"ce": float(ce.detach())}
    assert attention is not None and target is not None and valid is not None
    if kind == "hatexplain":
        r = hatexplain_loss(attention, target, valid, gamma)
        return ce + weight * r, {"ce": float(ce.detach()), "rationale": float(r.detach())}
    if kind == "xmutest":
        r = xmutest_loss(attention, target, valid)
        return (1 - alpha) * ce + alpha * r, {"ce": float(ce.detach()), "rationale": float(r.detach())}
    raise ParameterError(f"rationale_loss must be None, 'hatexplain' or 'xmutest', got {kind!r}")
