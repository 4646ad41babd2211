"""KernelSHAP (Lundberg & Lee, 2017) via Captum, one feature per word."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from ._surrogate import SURROGATE_DEFAULTS, SurrogateExplainer, _Run
from .base import register

if TYPE_CHECKING:
    import torch


@register
class KernelShapExplainer(SurrogateExplainer):
    """KernelSHAP: Shapley values of each word for p(target), estimated by Captum.

    Coalitions are sampled by size from the Shapley kernel (the full and the empty text
    first); "absent" means deleted or masked (``removal``). A one-word text has the exact
    Shapley value p(target | word) − p(target | nothing), computed directly because
    Captum's sampler needs at least two features. ``stop`` works as for ``lime``: fixed
    ``n_samples``, or adaptive rounds until the top-``top_k`` words are stable over two
    rounds and every coefficient's standard error is at most ``tol``.
    """

    name = "kernel_shap"
    defaults: ClassVar[dict[str, Any]] = dict(SURROGATE_DEFAULTS)
    min_words = 2

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        from captum.attr import KernelShap

        # only its sampler and kernel are used (they read no model)
        self._captum = KernelShap(lambda x: x)

    def sampler(self, inputs: torch.Tensor, used: int) -> Callable[[], torch.Tensor]:
        import torch
        from torch.distributions.categorical import Categorical

        # Captum's KernelShap.attribute: p(k selected) ∝ (M − 1) / (k (M − k)), k ≥ 1
        sizes = torch.arange(used, dtype=torch.float)
        probs = torch.tensor(used - 1) / (sizes * (used - sizes))
        probs[0] = 0.0
        stream = self._captum.kernel_shap_perturb_generator(
            inputs, num_select_distribution=Categorical(probs), num_interp_features=used)
        return lambda: next(stream)

    def similarity(self, inputs: torch.Tensor, sample: torch.Tensor, used: int) -> torch.Tensor:
        return self._captum.kernel_shap_similarity_kernel(None, None, sample, num_interp_features=used)

    def linear_model(self) -> Any:
        from captum._utils.models.linear_model import SkLearnLinearRegression

        return SkLearnLinearRegression()

    def exact(self, run: _Run) -> tuple[np.ndarray, np.ndarray] | None:
        if run.used != 1:
            return None
        keep = np.ones((2, len(run.example.words)), dtype=bool)
        keep[1, 0] = False  # the one word seen, then nothing
        return keep, keep

    def exact_scores(self, run: _Run, probs: np.ndarray) -> np.ndarray:
        return np.array([probs[0, run.target] - probs[1, run.target]])
