"""Explainers: which words made the classifier decide.

Every module in this package that defines an explainer registers it with
:func:`rationales.methods.base.register`; importing this package imports them all, so
adding a method is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Iterable, Sequence

from ..errors import ParameterError
from ..models.base import Classifier, InputLike, as_examples
from ..progress import ProgressLike, progress_from
from ..types import Explanation
from .base import Explainer
from .registry import EXPLAINERS, register
from .request import check_examples, check_request, resolve_targets

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name not in ("base", "registry", "request") and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")


def explainers() -> list[dict[str, Any]]:
    """Every registered explainer: name, description, capability flags, parameters."""
    return [EXPLAINERS.get(name).describe() for name in EXPLAINERS.names()]


def get_explainer(name: str, **params: Any) -> Explainer:
    """An explainer instance by registered name, configured with ``params``."""
    return EXPLAINERS.get(name)(**params)


def explain(
    classifier: Classifier,
    inputs: InputLike | Iterable[InputLike],
    methods: str | Sequence[str] = ("occlusion",),
    target: int | str | Sequence[int | str] | None = None,
    *,
    params: dict[str, dict[str, Any]] | None = None,
    progress: ProgressLike = None,
    chunk: int = 64,
) -> list[Explanation]:
    """Explain texts, word lists, Examples or a Dataset with one or more methods.

    ``methods``: names (or ``"ngram,occlusion"``). ``params`` maps a method name to its
    keyword parameters, e.g. ``{"lime": {"n_samples": 500, "seed": 1}}``. ``target``: a
    label id or name for every example, one per example, or None (each example's
    predicted label). ``progress``: True for a bar on stderr, or a callable
    ``progress(done, total)`` counting examples × methods. Examples go to each
    explainer ``chunk`` at a time, so methods that batch across examples (ngram,
    occlusion) fill the engine's batches with several posts.

    Everything is checked before any model work (:func:`~rationales.methods.request.check_request`).
    Returns the explanations ordered example by example, and within an example in the
    order of ``methods``.
    """
    request = check_request(classifier, methods, params, target)
    examples = as_examples(inputs)
    check_examples(examples)
    if chunk < 1:
        raise ParameterError(f"chunk must be at least 1, got {chunk}")
    targets = resolve_targets(classifier, examples, request.target)
    per_method: list[list[Explanation]] = [[] for _ in request.methods]
    total = len(examples) * len(request.methods)
    with progress_from(progress, total, "explaining", unit="expl") as bar:
        for start in range(0, len(examples), chunk):
            exs, ts = examples[start:start + chunk], targets[start:start + chunk]
            for j, explainer in enumerate(request.explainers):
                per_method[j] += explainer.explain_batch(classifier, exs, ts)
                bar.advance(len(exs), note=explainer.name)
    return [per_method[j][i] for i in range(len(examples)) for j in range(len(request.methods))]


__all__ = ["EXPLAINERS", "Explainer", "check_request", "explain", "explainers", "get_explainer", "register",
           "resolve_targets"]

