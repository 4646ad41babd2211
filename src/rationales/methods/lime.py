"""LIME (Ribeiro et al., 2016) via Captum, one interpretable feature per word."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ..errors import ParameterError
from ._surrogate import SURROGATE_DEFAULTS, SurrogateExplainer
from .base import register

if TYPE_CHECKING:
    import torch


@register
class LimeExplainer(SurrogateExplainer):
    """LIME: a weighted linear surrogate fitted on random word subsets (Captum's Lime).

    Each sample keeps every word with probability 0.5 (Captum's default sampler); the
    samples are weighted by an exponential kernel on cosine distance to the full text
    (``kernel_width``) and a ridge regression (``alpha``) is fitted to p(target). Ridge,
    not Captum's default lasso, because the original LIME text explainer uses ridge and
    lasso with a fixed alpha zeroes most words of a long post, leaving ties.
    ``stop="fixed"`` draws ``n_samples``; ``stop="adaptive"`` (the default) draws rounds
    of ``round_size`` until the top-``top_k`` words are unchanged over two consecutive
    rounds and every coefficient's standard error is at most ``tol`` (``n_samples`` caps it).
    """

    name = "lime"
    defaults: ClassVar[dict[str, Any]] = {**SURROGATE_DEFAULTS, "kernel_width": 1.0, "alpha": 1.0}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if float(self.params["kernel_width"]) <= 0 or float(self.params["alpha"]) < 0:
            raise ParameterError("lime: kernel_width must be > 0 and alpha >= 0")
        from captum.attr._core.lime import get_exp_kernel_similarity_function

        self._kernel = get_exp_kernel_similarity_function("cosine", float(self.params["kernel_width"]))

    def sampler(self, inputs: torch.Tensor, used: int) -> Callable[[], torch.Tensor]:
        from captum.attr._core.lime import default_perturb_func

        return lambda: default_perturb_func(inputs, num_interp_features=used)

    def similarity(self, inputs: torch.Tensor, sample: torch.Tensor, used: int) -> torch.Tensor:
        import torch

        # Captum's Lime compares in input space: present words are 1 (the input), absent 0
        # (the baseline), exactly default_from_interp_rep_transform with one feature a word.
        sim = self._kernel(inputs, sample.to(inputs.dtype), sample)
        return torch.tensor([float(sim)])

    def linear_model(self) -> Any:
        from captum._utils.models.linear_model import SkLearnRidge

        return SkLearnRidge(alpha=float(self.params["alpha"]))

    def penalty(self) -> float:
        return float(self.params["alpha"])
