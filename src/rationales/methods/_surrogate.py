"""Captum's surrogate-model methods (LIME, KernelSHAP) with one feature per word.

Captum perturbs a binary "word present" vector and calls a forward function with a
batch of such vectors. Ours turns the batch into KEEP masks and asks the classifier's
``predict_proba_masked`` for all of them at once, so every perturbation is one cached,
deduplicated, length-batched engine request: the words are never joined back into a
string and re-tokenised (the split could change, and non-Latin scripts would suffer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..models.base import Classifier
from ..types import Example

if TYPE_CHECKING:
    import torch


def word_presence_forward(
    classifier: Classifier, example: Example, used: int, removal: str
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A Captum forward function over (batch, used) presence vectors → probabilities."""
    import torch

    n_words = len(example.words)

    def forward(presence: torch.Tensor) -> torch.Tensor:
        present = presence.detach().cpu().numpy().reshape(len(presence), used) > 0.5
        # Words past the model's window stay "present": the model never sees them, and
        # keeping them makes a perturbation remove only the words it means to.
        keep = np.ones((len(present), n_words), dtype=bool)
        keep[:, :used] = present
        probs = classifier.predict_proba_masked(example, keep, removal)
        return torch.as_tensor(probs, dtype=torch.float64)

    return forward


def seeded_attribution(
    algorithm: Any,
    used: int,
    target: int,
    n_samples: int,
    seed: int,
) -> np.ndarray:
    """Run ``algorithm.attribute`` on the all-present vector under a private RNG seed.

    All samples go in one forward call (``perturbations_per_eval = n_samples``), i.e. one
    engine request per example. The seed is set inside ``fork_rng`` so the caller's
    torch RNG state is left untouched and the result does not depend on what ran before.
    """
    import torch

    inputs = torch.ones(1, used, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        attr = algorithm.attribute(
            inputs,
            baselines=torch.zeros_like(inputs),
            target=int(target),
            feature_mask=torch.arange(used).unsqueeze(0),
            n_samples=int(n_samples),
            perturbations_per_eval=int(n_samples),
        )
    return attr.detach().cpu().numpy().reshape(used).astype(np.float64)


def check_samples(name: str, n_samples: Any) -> int:
    n = int(n_samples)
    if n < 2:
        raise ValueError(f"{name}: n_samples must be at least 2, got {n_samples!r}")
    return n
