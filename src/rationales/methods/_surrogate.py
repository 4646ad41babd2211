"""Captum's surrogate-model methods (LIME, KernelSHAP) with one feature per word, batched
across examples and, optionally, stopped once the explanation has converged.

Captum's ``Lime.attribute`` draws a perturbation, asks the forward function, and fits a
linear model, one example at a time. Here the same steps are driven directly, with
Captum's own parts, so ``stop="fixed"`` gives exactly Captum's answer: its sampler
(``default_perturb_func`` / ``kernel_shap_perturb_generator``) under the example's
seed, its similarity kernel, its sklearn linear model fitted on the same float32 tensors.
What changes is who asks the model: every example's "word present" vectors become KEEP
masks and the masks of up to ``chunk`` examples go to the classifier in one
``predict_proba_masked_many`` call, so the forward engine batches them across examples,
deduplicates and caches them. The words are never joined back into a string and
re-tokenised.

**The stopping rule** (``stop="adaptive"``, the default): samples are drawn in rounds of
``round_size`` (each example's draws continue one seeded stream, so its first N samples
are the fixed mode's first N). After each round the surrogate is refitted on every
sample so far, and the example stops when both hold:

1. its top-``top_k`` words (by score) are the same set as after the previous round, and
2. every coefficient's standard error is at most ``tol`` (probability units);

or when ``n_samples`` have been drawn (the cap). The standard errors are those of the
weighted (ridge) least-squares fit the surrogate is (:func:`coefficient_standard_errors`).
``info`` says how many samples were drawn, in how many rounds, and why sampling stopped.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from ..errors import ParameterError
from ..models.base import Classifier, check_removal
from ..types import Example, Explanation
from ._util import masked_many, pad_to_words, prob_list, truncation_info, words_used
from .base import Explainer

if TYPE_CHECKING:
    import torch

STOPS = ("fixed", "adaptive")

#: the parameters every surrogate explainer accepts, with their defaults
SURROGATE_DEFAULTS: dict[str, Any] = {
    "n_samples": 500,
    "seed": 0,
    "removal": "delete",
    "stop": "adaptive",
    "round_size": 25,
    "tol": 0.015,
    "top_k": 5,
}


def check_samples(name: str, n_samples: Any) -> int:
    n = int(n_samples)
    if n < 2:
        raise ParameterError(f"{name}: n_samples must be at least 2, got {n_samples!r}")
    return n


def coefficient_standard_errors(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float = 0.0) -> np.ndarray:
    """Standard errors of the coefficients of a weighted ridge fit with an intercept.

    The fit minimises ``Σ w_i (y_i − b − x_i·β)² + alpha·|β|²`` (sklearn's ``Ridge`` with
    ``sample_weight``; ``alpha=0`` is ``LinearRegression``). With the weights rescaled to
    mean 1 (``w'``), centred data (weighted means), ``G = XcᵀW'Xc`` and
    ``A = G + (alpha / mean(w))·I``, the noise model ``Var(y_i) = σ²/w'_i`` gives

        Cov(β) = σ² A⁻¹ G A⁻¹,   σ² = Σ w'_i r_i² / (n − p − 1)

    with ``r`` the fit's residuals. Infinite where they cannot be estimated: no more
    samples than parameters (``n ≤ p + 1``), or an unpenalised fit whose design is
    singular (a word present, or absent, in every sample).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, p = x.shape
    if n <= p + 1 or w.sum() <= 0:
        return np.full(p, np.inf)
    wn = w / w.mean()
    xc = x - (wn @ x) / wn.sum()
    yc = y - (wn @ y) / wn.sum()
    g = xc.T @ (wn[:, None] * xc)
    a = g + (float(alpha) / w.mean()) * np.eye(p)
    if alpha == 0 and np.linalg.matrix_rank(g) < p:
        return np.full(p, np.inf)
    a_inv = np.linalg.pinv(a)
    beta = a_inv @ (xc.T @ (wn * yc))
    r = yc - xc @ beta
    sigma2 = float(wn @ r**2) / (n - p - 1)
    cov = sigma2 * a_inv @ g @ a_inv
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def top_set(scores: np.ndarray, k: int) -> frozenset[int]:
    """The positions of the ``k`` highest scores (ties: the earlier position)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return frozenset(int(i) for i in order[: min(k, len(order))])


@dataclass
class _Run:
    """One example's sampling: its seeded stream, the samples drawn and their answers."""

    example: Example
    target: int
    used: int
    rng_state: Any = None
    next_sample: Callable[[], Any] | None = None
    rows: list[Any] = field(default_factory=list)       # presence tensors, (1, used) long
    weights: list[Any] = field(default_factory=list)    # similarity tensors, (1,)
    answers: list[np.ndarray] = field(default_factory=list)  # p(target) per sample, float64
    full: np.ndarray | None = None
    scores: np.ndarray | None = None
    passes: int | None = 0
    rounds: int = 0
    reason: str = ""
    last_top: frozenset[int] | None = None
    max_se: float | None = None

    @property
    def drawn(self) -> int:
        return len(self.rows)


class SurrogateExplainer(Explainer):
    """LIME and KernelSHAP: a linear surrogate of p(target) over "word present" vectors.

    Subclasses give Captum's sampler (:meth:`sampler`), similarity kernel
    (:meth:`similarity`) and linear model (:meth:`linear_model`); this class runs the
    rounds, batches every example's samples through the engine and fits.
    """

    stochastic = True
    #: examples whose samples go to the engine in one call
    chunk: ClassVar[int] = 64
    #: the fewest words the sampler handles (KernelSHAP's needs two)
    min_words: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        check_samples(self.name, p["n_samples"])
        check_removal(p["removal"])
        if p["stop"] not in STOPS:
            raise ParameterError(f"{self.name}: stop must be one of {STOPS}, got {p['stop']!r}")
        if int(p["round_size"]) < 2:
            raise ParameterError(f"{self.name}: round_size must be at least 2, got {p['round_size']!r}")
        if not float(p["tol"]) > 0:
            raise ParameterError(f"{self.name}: tol must be > 0 (a standard error, in probability), got {p['tol']!r}")
        if int(p["top_k"]) < 1:
            raise ParameterError(f"{self.name}: top_k must be at least 1, got {p['top_k']!r}")

    # -- what a subclass gives -------------------------------------------------------
    @abstractmethod
    def sampler(self, inputs: torch.Tensor, used: int) -> Callable[[], torch.Tensor]:
        """Captum's perturbation source: each call draws one (1, used) presence vector
        from the global torch RNG (the caller sets and saves its state)."""

    @abstractmethod
    def similarity(self, inputs: torch.Tensor, sample: torch.Tensor, used: int) -> torch.Tensor:
        """Captum's sample weight of one presence vector, as a 1-element tensor."""

    @abstractmethod
    def linear_model(self) -> Any:
        """A fresh Captum sklearn linear model (``fit(DataLoader)``, ``representation()``)."""

    #: the ridge penalty of :meth:`linear_model` (for the standard errors)
    def penalty(self) -> float:
        return 0.0

    def exact(self, run: _Run) -> tuple[np.ndarray, np.ndarray] | None:
        """Keep rows whose answers give the scores directly (too few words to sample), or None."""
        return None

    def exact_scores(self, run: _Run, probs: np.ndarray) -> np.ndarray:
        return np.zeros(run.used)

    # -- the run ---------------------------------------------------------------------
    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        return self.explain_batch(classifier, [example], [target])[0]

    def explain_batch(
        self, classifier: Classifier, examples: list[Example], targets: list[int]
    ) -> list[Explanation]:
        out: list[Explanation] = []
        for start in range(0, len(examples), self.chunk):
            runs = [self._start(classifier, ex, int(t)) for ex, t in
                    zip(examples[start:start + self.chunk], targets[start:start + self.chunk])]
            self._rounds(classifier, runs)
            out += [self._explanation(run) for run in runs]
        return out

    def _start(self, classifier: Classifier, example: Example, target: int) -> _Run:
        import torch

        run = _Run(example, target, words_used(classifier, example))
        if run.used >= self.min_words:
            inputs = torch.ones(1, run.used, dtype=torch.float64)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.params["seed"]))
                run.rng_state = torch.get_rng_state()
            run.next_sample = self.sampler(inputs, run.used)
        return run

    def _rounds(self, classifier: Classifier, runs: list[_Run]) -> None:
        p = self.params
        removal, cap = p["removal"], int(p["n_samples"])
        size = cap if p["stop"] == "fixed" else min(int(p["round_size"]), cap)
        first, active = True, list(runs)
        while active:
            requests, plans = [], []
            for run in active:
                n_words = len(run.example.words)
                lead = [np.ones(n_words, dtype=bool)] if first else []  # the full text, once
                exact = self.exact(run) if first and run.next_sample is None else None
                if run.next_sample is None:
                    new = exact[0] if exact is not None else np.zeros((0, n_words), dtype=bool)
                else:
                    new = self._draw(run, min(size, cap - run.drawn))
                keep = np.concatenate([np.asarray(lead, dtype=bool).reshape(-1, n_words), new])
                requests.append((run.example, keep))
                plans.append((len(lead), exact))
            answers, passes = masked_many(classifier, requests, removal)
            for i, (run, probs, (n_lead, exact)) in enumerate(zip(active, answers, plans)):
                probs = np.asarray(probs, dtype=np.float64)
                if n_lead:
                    run.full = probs[0]
                run.passes = None if passes is None or run.passes is None else run.passes + passes[i]
                rest = probs[n_lead:]
                if run.next_sample is None:
                    run.scores = self.exact_scores(run, rest) if exact is not None else np.zeros(run.used)
                    run.reason = "exact" if exact is not None else "no words seen"
                    continue
                run.answers.append(rest[:, run.target])
                run.rounds += 1
                self._fit(run, cap)
            first = False
            active = [run for run in active if not run.reason]

    def _draw(self, run: _Run, k: int) -> np.ndarray:
        """``k`` more samples of ``run``'s stream, as keep rows over all its words."""
        import torch

        assert run.next_sample is not None
        inputs = torch.ones(1, run.used, dtype=torch.float64)
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(run.rng_state)
            new = [run.next_sample() for _ in range(k)]
            run.rng_state = torch.get_rng_state()
        for sample in new:
            run.rows.append(sample)
            run.weights.append(self.similarity(inputs, sample, run.used))
        # Words past the model's window stay "present": the model never sees them, and
        # keeping them makes a perturbation remove only the words it means to.
        keep = np.ones((k, len(run.example.words)), dtype=bool)
        if k:
            keep[:, :run.used] = torch.cat(new).cpu().numpy() > 0
        return keep

    def _fit(self, run: _Run, cap: int) -> None:
        """Fit the surrogate on every sample so far (as Captum does) and decide whether to stop."""
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        x = torch.cat(run.rows).float()
        y = torch.as_tensor(np.concatenate(run.answers), dtype=torch.float64).float()
        w = torch.cat([s.flatten() for s in run.weights]).float()
        model = self.linear_model()
        # DataLoader draws a seed from the global RNG: keep the caller's stream untouched
        with torch.random.fork_rng(devices=[]):
            model.fit(DataLoader(TensorDataset(x, y, w), batch_size=len(x)))
        run.scores = model.representation().detach().cpu().numpy().reshape(run.used).astype(np.float64)
        if self.params["stop"] == "fixed":
            run.reason = "fixed"
            return
        top = top_set(run.scores, int(self.params["top_k"]))
        se = coefficient_standard_errors(x.numpy(), y.numpy(), w.numpy(), self.penalty())
        run.max_se = float(se.max()) if len(se) else 0.0
        stable = run.last_top is not None and top == run.last_top
        run.last_top = top
        if stable and run.max_se <= float(self.params["tol"]):
            run.reason = "converged"
        elif run.drawn >= cap:
            run.reason = "n_samples"

    def _explanation(self, run: _Run) -> Explanation:
        assert run.full is not None and run.scores is not None
        info: dict[str, Any] = {"probs": prob_list(run.full), "samples": run.drawn, "rounds": run.rounds,
                                "stop_reason": run.reason}
        if run.max_se is not None and np.isfinite(run.max_se):
            info["max_standard_error"] = run.max_se
        if run.passes is not None:
            info["forward_passes"] = run.passes
        return self.make(run.example, pad_to_words(run.scores, len(run.example.words)), run.target,
                         **info, **truncation_info(run.example, run.used))
