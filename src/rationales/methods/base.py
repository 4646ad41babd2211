"""The explainer contract: one class per method, one call, word-level scores.

Every explainer is configured by keyword parameters (stored, validated, never mutated),
holds no state between calls, and returns one :class:`Explanation` per example whose
scores say "higher = more responsible for the target label".

Capability flags replace ``isinstance`` checks scattered around: ``needs_gradients``
(the classifier must be a :class:`~rationales.models.base.DifferentiableClassifier`),
``needs_attentions`` (an :class:`~rationales.models.base.AttentionClassifier`),
``needs_llm`` (an LLM backend is consulted), ``stochastic`` (takes ``seed`` and is
deterministic under it). :meth:`Explainer.explain` checks the first two at the door.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from ..errors import ParameterError
from ..models.base import Classifier, InputLike, as_examples
from ..types import Example, Explanation
from ._util import forward_passes, masked_many
from .registry import EXPLAINERS, register  # re-exported: explainer modules register from here


class Explainer(ABC):
    """Base class: subclasses set ``name``, ``defaults`` and implement ``explain_one``
    (or override ``explain_batch`` to share work across examples)."""

    name: ClassVar[str]
    needs_gradients: ClassVar[bool] = False
    #: reads the model's attention weights (a transformer is required, no gradients)
    needs_attentions: ClassVar[bool] = False
    needs_llm: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    #: every accepted parameter with its default; ``__init__`` rejects anything else
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ParameterError(
                f"explainer {self.name!r} got unknown parameter(s) {unknown}; "
                f"it accepts {sorted(self.defaults)}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}

    # -- the one call ------------------------------------------------------------
    def explain(
        self,
        classifier: Classifier,
        examples: InputLike | Iterable[InputLike],
        target: int | str | Sequence[int | str] | None = None,
    ) -> list[Explanation]:
        """Explain each example's ``target`` (default: the predicted label)."""
        from .request import check_capabilities, check_examples, resolve_targets

        check_capabilities([self], classifier)  # this explainer's own flags (a plugin's too)
        exs = as_examples(examples)
        check_examples(exs)
        targets = resolve_targets(classifier, exs, target)
        return self.explain_batch(classifier, exs, targets)

    def explain_batch(
        self, classifier: Classifier, examples: list[Example], targets: list[int]
    ) -> list[Explanation]:
        """Explain one example after another; ``info["forward_passes"]`` is filled in
        with the sequences the classifier's engine ran for it, unless the method set it."""
        out = []
        for ex, t in zip(examples, targets):
            before = forward_passes(classifier)
            exp = self.explain_one(classifier, ex, t)
            after = forward_passes(classifier)
            if before is not None and after is not None and "forward_passes" not in exp.info:
                exp = exp.with_info(forward_passes=after - before)
            out.append(exp)
        return out

    @abstractmethod
    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        """Scores for one non-empty example and one target label id."""

    # -- helpers for subclasses ----------------------------------------------------
    def make(
        self,
        example: Example,
        scores: Sequence[float] | np.ndarray,
        target: int,
        **info: Any,
    ) -> Explanation:
        """Build the Explanation with this method's name and parameters."""
        return Explanation(
            example_id=example.id,
            words=tuple(example.words),
            scores=tuple(float(s) for s in scores),
            target=target,
            method=self.name,
            params=dict(self.params),
            info=info,
        )

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
            "needs_gradients": cls.needs_gradients,
            "needs_attentions": cls.needs_attentions,
            "needs_llm": cls.needs_llm,
            "stochastic": cls.stochastic,
            "params": dict(cls.defaults),
        }


class MaskExplainer(Explainer):
    """An explainer that needs nothing but the probabilities of a fixed set of masked
    copies of each example (occlusion, ngram).

    Subclasses give ``masks`` (the keep rows of one example, plus any state ``finish``
    needs) and ``finish`` (the Explanation from those rows' probabilities). The masks of
    up to ``chunk`` examples go to the classifier in one ``predict_proba_masked_many``
    call, so the engine cuts its batches across examples: short masked inputs of many
    posts fill a batch together instead of each post's being run, and padded, alone.
    ``info["forward_passes"]`` is each example's share of the passes run (a sequence
    counts for the first example that asked for it).
    """

    #: examples whose masks go to the engine in one call
    chunk: ClassVar[int] = 64

    @abstractmethod
    def masks(self, classifier: Classifier, example: Example, target: int) -> tuple[np.ndarray, Any]:
        """The keep rows (bool, shape (n_masks, n_words)) of one example, and a state."""

    @abstractmethod
    def finish(self, classifier: Classifier, example: Example, target: int,
               probs: np.ndarray, state: Any) -> Explanation:
        """The explanation of one example from its rows' probabilities (same order)."""

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        return self.explain_batch(classifier, [example], [target])[0]

    def explain_batch(
        self, classifier: Classifier, examples: list[Example], targets: list[int]
    ) -> list[Explanation]:
        out: list[Explanation] = []
        removal = self.params["removal"]
        for start in range(0, len(examples), self.chunk):
            exs, ts = examples[start:start + self.chunk], targets[start:start + self.chunk]
            plans = [self.masks(classifier, ex, t) for ex, t in zip(exs, ts)]
            rows, passes = masked_many(classifier, [(ex, keep) for ex, (keep, _) in zip(exs, plans)], removal)
            for i, (ex, t, (_, state), probs) in enumerate(zip(exs, ts, plans, rows)):
                exp = self.finish(classifier, ex, t, probs, state)
                if passes is not None and "forward_passes" not in exp.info:
                    exp = exp.with_info(forward_passes=passes[i])
                out.append(exp)
        return out


__all__ = ["EXPLAINERS", "Explainer", "MaskExplainer", "register"]
