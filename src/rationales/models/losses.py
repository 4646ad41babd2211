"""Rationale-supervision losses on the [CLS] attention row.

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
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ..errors import ParameterError

EPS = 1e-12


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
