"""``cap`` and ``cap_hybrid``: class-aware attribution priors from an LLM (CAP).

Attribution methods highlight the keywords shared by easily confused classes (hate
speech and offensive in HateXplain). CAP asks an LLM to classify with the *whole label
space* in its instruction (the classifier's label names, plus optional one-line
``descriptions``), so it must discriminate, and reads per-word scores off the LLM's
label probabilities on perturbed posts.

``cap``: ``n_samples`` word masks (the first keeps every word; each other one removes k
words, k uniform in 1..n, chosen uniformly: LIME's text sampler), each masked post
asked once (answers are cached per perturbed text, within a call and on disk by the
backend), y = the LLM's probability of the target label (the classifier's label name)
(:func:`rationales.llm.zeroshot.label_probabilities`: log-probabilities of the label
tokens where the backend gives them, else a vote over ``n_votes`` samples). A kernel-
weighted ridge regression of y on the masks, with an unpenalised intercept, gives the
word scores: weights π = exp(−d²/w²), d = the cosine distance of the mask to the full
post (``kernel_width`` w; LIME's text kernel), and the normal equations
(XᵀΠX + αP) β = XᵀΠy, P = diag(0, 1, …, 1), are solved by a Cholesky factorisation
(``scipy.linalg.cho_factor``): the matrix is symmetric positive definite because α > 0
and the full post has weight 1. A masked post the LLM answers with no label is left out
of the fit (counted in ``info``); fewer than two usable posts, or none for the full
post, make the explanation ``failed`` with the reason.

``cap_hybrid``: Σ_m w_m · s_m / max|s_m| over CAP, integrated gradients and LIME on the
small model (``weights``). Max-abs scaling because it keeps each method's zero and
sign (a word that speaks against the label stays negative) and puts the three on one
scale whatever their units (CAP: LLM probability, IG: classifier probability along a
path, LIME: ridge coefficients); min-max would move the zero and turn counter-evidence
into evidence, z-scores depend on the post's length and shift the zero too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import ParameterError
from ..llm.base import LLMBackend
from ..llm.zeroshot import LabelAnswers, label_probabilities
from ..models.base import Classifier
from ..types import Example, Explanation
from ._util import example_rng
from .base import Explainer, register
from .llm import LLMMethod


def cap_masks(n_words: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """The keep masks: the full post, then ``n_samples - 1`` with k ~ U{1..n} words removed."""
    keep = np.ones((n_samples, n_words), dtype=bool)
    for row in keep[1:]:
        row[rng.choice(n_words, size=int(rng.integers(1, n_words + 1)), replace=False)] = False
    return keep


def kernel_weights(keep: np.ndarray, kernel_width: float) -> np.ndarray:
    """LIME's text kernel: exp(−d²/w²), d = cosine distance between the mask and all-ones."""
    kept = keep.sum(axis=1).astype(np.float64)
    cos = np.sqrt(kept / keep.shape[1])  # cos(mask, 1) = |mask| / (sqrt|mask| · sqrt n)
    return np.exp(-((1.0 - cos) ** 2) / kernel_width**2)


def weighted_ridge(keep: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Word coefficients and intercept of the kernel-weighted ridge fit, by Cholesky."""
    from scipy.linalg import cho_factor, cho_solve

    x = np.hstack([np.ones((len(keep), 1)), keep.astype(np.float64)])
    xw = x * weights[:, None]
    normal = x.T @ xw
    normal[np.arange(1, x.shape[1]), np.arange(1, x.shape[1])] += alpha  # the intercept is not penalised
    beta = cho_solve(cho_factor(normal), xw.T @ y)
    return beta[1:], float(beta[0])


@register
class CAPExplainer(LLMMethod):
    """CAP: a kernel-weighted least-squares fit of an LLM's label probability over word masks."""

    name = "cap"
    stochastic = True
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None,  # a backend object or spec string; None = the best installed LLM
        "descriptions": None,  # {label name: one-line description}
        "n_samples": 64, "kernel_width": 0.25, "alpha": 1.0, "seed": 0,
        "probs": "auto",  # auto | logprobs | votes
        "n_votes": 5, "vote_temperature": 0.7, "top_logprobs": 20, "max_new_tokens": 16,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if int(p["n_samples"]) < 2:
            raise ParameterError(f"cap: n_samples must be >= 2 (the full post and a perturbation), got {p['n_samples']}")
        if float(p["kernel_width"]) <= 0 or float(p["alpha"]) <= 0:
            raise ParameterError("cap: kernel_width and alpha must be > 0 (alpha > 0 keeps the normal matrix "
                                 "positive definite for the Cholesky solve)")
        if p["probs"] not in ("auto", "logprobs", "votes"):
            raise ParameterError(f"cap: probs must be auto, logprobs or votes, got {p['probs']!r}")
        if p["descriptions"] is not None and not isinstance(p["descriptions"], dict):
            raise ParameterError("cap: descriptions must map label names to one-line descriptions")

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        backend = self.backend()
        labels = list(classifier.label_names)
        unknown = sorted(set(self.params["descriptions"] or {}) - set(labels))
        if unknown:
            raise ParameterError(f"cap: descriptions name {unknown}, not labels of the classifier {labels}")
        plans = [cap_masks(len(ex.words), int(self.params["n_samples"]), example_rng(self.params["seed"], ex))
                 for ex in examples]
        # Every distinct perturbed post of the batch is asked once, example after example
        # (so each example's answers reach the backend's disk cache as soon as it is done).
        texts: dict[tuple[str, ...], int] = {}
        p = self.params
        got = LabelAnswers([], [], [], [], 0)
        for ex, keep in zip(examples, plans):
            new = []
            for row in keep:
                key = tuple(w for w, k in zip(ex.words, row) if k)
                if key not in texts:
                    texts[key] = len(texts)
                    new.append(key)
            part = label_probabilities(
                backend, new, labels, descriptions=p["descriptions"], mode=p["probs"],
                n_votes=int(p["n_votes"]), vote_temperature=float(p["vote_temperature"]),
                top_logprobs=int(p["top_logprobs"]), max_new_tokens=int(p["max_new_tokens"]))
            got = LabelAnswers(got.probs + part.probs, got.failed + part.failed, got.answers + part.answers,
                               got.how + part.how, got.calls + part.calls)
        out = []
        for ex, t, keep in zip(examples, targets, plans):
            rows = [texts[tuple(w for w, k in zip(ex.words, row) if k)] for row in keep]
            out.append(self.fit_one(classifier, ex, t, keep, rows, got, backend))
        return out

    def fit_one(self, classifier: Classifier, example: Example, target: int, keep: np.ndarray,
                rows: list[int], got: LabelAnswers, backend: LLMBackend) -> Explanation:
        probs, passes = self.predict_with_cost(classifier, example)
        usable = [i for i, r in enumerate(rows) if got.probs[r] is not None]
        common = dict(probs=probs, llm=backend.spec, n_samples=len(rows), n_failed=len(rows) - len(usable),
                      label_probs_from=sorted({got.how[r] for r in rows if got.probs[r] is not None}),
                      answer=got.answers[rows[0]])
        if 0 not in usable or len(usable) < 2:
            why = got.failed[rows[0]] if 0 not in usable else next((got.failed[r] for r in rows if got.failed[r]), "")
            return self.finish(example, np.zeros(len(example.words)), target, backend,
                               f"cap: the LLM gave no label probabilities for "
                               f"{'the full post' if 0 not in usable else 'the perturbed posts'}: {why}",
                               passes, **common)
        answered = [np.asarray(got.probs[r]) for r in rows]  # None only where not usable
        y = np.array([float(answered[i][target]) for i in usable])
        k = keep[usable]
        coef, intercept = weighted_ridge(k, y, kernel_weights(k, float(self.params["kernel_width"])),
                                         float(self.params["alpha"]))
        llm_probs = [float(v) for v in answered[0]]
        return self.finish(example, coef, target, backend, None, passes, intercept=intercept,
                           llm_label_probs=llm_probs, llm_label=classifier.label_names[int(np.argmax(llm_probs))],
                           **common)


def max_abs(scores: Any) -> np.ndarray:
    """Scores divided by their largest magnitude (all-zero scores stay zero)."""
    s = np.asarray(scores, dtype=np.float64)
    top = float(np.abs(s).max()) if len(s) else 0.0
    return s / top if top > 0 else s


@register
class CAPHybridExplainer(LLMMethod):
    """CAP Hybrid: weighted sum of max-abs-normalised CAP, integrated-gradients and LIME scores."""

    name = "cap_hybrid"
    needs_gradients = True
    stochastic = True
    PARTS: ClassVar[tuple[str, ...]] = ("cap", "integrated_gradients", "lime")
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None, "weights": {"cap": 1 / 3, "integrated_gradients": 1 / 3, "lime": 1 / 3}, "seed": 0,
        "cap": {}, "integrated_gradients": {}, "lime": {},  # each part's own parameters
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        w = self.params["weights"]
        if not isinstance(w, dict) or set(w) - set(self.PARTS) or not all(
                isinstance(v, (int, float)) and v >= 0 for v in w.values()) or not sum(w.values()):
            raise ParameterError(f"cap_hybrid: weights must map some of {self.PARTS} to non-negative numbers "
                                 f"that do not all vanish, got {w!r}")
        from . import get_explainer

        seeded = {"cap": {"seed": self.params["seed"], "llm": self.params["llm"]}, "lime": {"seed": self.params["seed"]}}
        self.parts: dict[str, Explainer] = {
            m: get_explainer(m, **{**seeded.get(m, {}), **dict(self.params[m] or {})})
            for m in self.PARTS if w.get(m, 0) > 0}

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        backend = self.backend()
        per = {m: e.explain_batch(classifier, examples, targets) for m, e in self.parts.items()}
        out = []
        for i, (ex, t) in enumerate(zip(examples, targets)):
            failed = {m: per[m][i].failed for m in per if per[m][i].failed}
            probs, passes = self.predict_with_cost(classifier, ex)
            part_passes = {m: per[m][i].info.get("forward_passes") for m in per}
            if passes is not None:
                passes += sum(int(v) for v in part_passes.values() if v is not None)
            fused = sum(float(self.params["weights"][m]) * max_abs(per[m][i].scores) for m in per)
            parts = {m: list(per[m][i].scores) for m in per}
            out.append(self.finish(
                ex, np.zeros(len(ex.words)) if failed else fused, t, backend,
                "; ".join(f"{m}: {f}" for m, f in failed.items()) or None, passes, probs=probs,
                parts=parts, normalisation="max_abs", weights=dict(self.params["weights"]),
                forward_passes_parts=part_passes))
        return out

    def json_params(self, backend: LLMBackend) -> dict[str, Any]:
        cap = dict(self.params["cap"] or {})
        if not isinstance(cap.get("llm", ""), str):
            cap["llm"] = backend.spec
        return {**self.params, "llm": backend.spec, "cap": cap}
