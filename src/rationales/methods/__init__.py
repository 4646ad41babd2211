"""Explainers: which words made the classifier decide.

Every module in this package that defines an explainer registers it with
:func:`rationales.methods.base.register`; importing this package imports them all, so
adding a method is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Iterable, Sequence

from ..models.base import Classifier, InputLike, as_examples
from ..types import Explanation
from .base import EXPLAINERS, Explainer, register, resolve_targets

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base" and not _mod.name.startswith("_"):
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
) -> list[Explanation]:
    """Explain texts, word lists, Examples or a Dataset with one or more methods.

    ``params`` maps a method name to its keyword parameters, e.g.
    ``{"lime": {"n_samples": 500, "seed": 1}}``. Returns the explanations ordered
    example by example, and within an example in the order of ``methods``.
    """
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    params = dict(params or {})
    unknown = sorted(set(params) - set(methods))
    if unknown:
        raise ValueError(f"params given for method(s) {unknown} that were not asked for: {list(methods)}")
    examples = as_examples(inputs)
    targets = resolve_targets(classifier, examples, target)
    per_method = [
        get_explainer(m, **params.get(m, {})).explain(classifier, examples, targets) for m in methods
    ]
    return [per_method[j][i] for i in range(len(examples)) for j in range(len(methods))]


__all__ = ["EXPLAINERS", "Explainer", "explain", "explainers", "get_explainer", "register"]

