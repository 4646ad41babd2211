"""One explanation request, checked once: methods, their parameters, the target, the inputs.

Every front door (``rx.explain``, ``rationales explain``, the web API, corpus jobs) goes
through :func:`check_request`, so a check is written once and the front doors cannot
drift apart (that is how the page once offered ``attention`` on a tf-idf model).
Like Hugging Face's ``_sanitize_parameters``: sanitise once, then run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import InputError, ModelError, ParameterError
from ..models.base import Classifier, missing_capabilities
from ..registry import unknown_name
from ..types import Example
from .registry import EXPLAINERS


def parse_methods(methods: str | Iterable[str]) -> list[str]:
    """Method names from ``"ngram, occlusion"`` or a list: stripped, in order, each once;
    every name must be registered."""
    raw = methods.split(",") if isinstance(methods, str) else list(methods)
    names = list(dict.fromkeys(str(m).strip() for m in raw if str(m).strip()))
    if not names:
        raise ParameterError("no method given: name at least one explainer (rationales.explainers() "
                             "or `rationales explainers` lists them)")
    for name in names:
        if name not in EXPLAINERS:
            raise ParameterError(unknown_name("method", name, EXPLAINERS.names()))
    return names


def usable(method: str, classifier: Classifier) -> bool:
    """Whether ``method`` can explain ``classifier`` (the capabilities it needs are there)."""
    return not missing_capabilities(EXPLAINERS.get(method), classifier)


def check_capabilities(methods: Sequence[Any], classifier: Classifier) -> None:
    """A clear error naming the first method whose needs the classifier does not meet.

    A method is a registered name, or an explainer class or instance (a plugin that is
    not registered is checked by its own flags)."""
    for m in methods:
        explainer = EXPLAINERS.get(m) if isinstance(m, str) else m
        missing = missing_capabilities(explainer, classifier)
        if missing:
            name = m if isinstance(m, str) else getattr(explainer, "name", type(explainer).__name__)
            raise ModelError(
                f"explainer {name!r} needs {' and '.join(missing)}, and model {classifier.name!r} has "
                f"none; use a perturbation method such as 'occlusion', 'ngram', 'lime' or 'kernel_shap'")


def build_explainers(methods: Sequence[str], params: Mapping[str, Mapping[str, Any]] | None
                     ) -> list[Any]:
    """One configured explainer per method; parameters for a method not asked for, unknown
    parameters and bad values are errors that name the method."""
    params = dict(params or {})
    extra = sorted(set(params) - set(methods))
    if extra:
        raise ParameterError(f"parameters given for method(s) {extra} that were not asked for: {list(methods)}")
    out = []
    for m in methods:
        p = params.get(m) or {}
        if not isinstance(p, Mapping):
            raise ParameterError(f"parameters of {m!r} must be a mapping of name to value, got {p!r}")
        try:
            out.append(EXPLAINERS.get(m)(**dict(p)))
        except ParameterError:
            raise
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"parameters of {m!r}: {exc}") from None
    return out


def target_id(classifier: Classifier, target: int | str) -> int:
    """A label id from an id or a label name (``"1"`` is the id 1 unless a label is named "1")."""
    names = list(classifier.label_names)
    if isinstance(target, str):
        if target in names:
            return names.index(target)
        if not target.strip().lstrip("-").isdigit():
            raise ParameterError(f"unknown target label {target!r}; the model's labels are {names}")
        target = int(target)
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
        raise ParameterError(f"a target is a label id or name, got {target!r}")
    t = int(target)
    if not 0 <= t < len(names):
        raise ParameterError(f"target {t} out of range for the model's labels {names}")
    return t


def resolve_targets(classifier: Classifier, examples: Sequence[Example],
                    target: int | str | Sequence[int | str] | None) -> list[int]:
    """Label ids to explain: the predicted labels (None), one id/name for all, or one per example."""
    if target is None:
        return [int(p) for p in classifier.predict(list(examples))] if examples else []
    if isinstance(target, (int, str, np.integer)):
        return [target_id(classifier, target)] * len(examples)
    targets = list(target)
    if len(targets) != len(examples):
        raise ParameterError(f"{len(targets)} targets for {len(examples)} examples; give one per "
                             f"example, one for all, or none (the predicted labels)")
    return [target_id(classifier, t) for t in targets]


def check_examples(examples: Sequence[Example]) -> None:
    """Every example must have words: an empty or whitespace-only text has nothing to explain."""
    for ex in examples:
        if not ex.words:
            raise InputError(f"example {ex.id!r} has no words: there is nothing to explain "
                             f"(an empty or whitespace-only text)")


@dataclass
class Request:
    """A checked request: configured explainers, and the target as asked (not yet resolved)."""

    methods: list[str]
    explainers: list[Any]
    target: Any = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_request(classifier: Classifier, methods: str | Iterable[str],
                  params: Mapping[str, Mapping[str, Any]] | None = None,
                  target: Any = None) -> Request:
    """Check everything about a request that does not need the inputs, before any model work:
    the methods exist, the classifier can serve them, their parameters, a single target."""
    names = parse_methods(methods)
    check_capabilities(names, classifier)
    explainers = build_explainers(names, params)
    if target is not None and isinstance(target, (int, str, np.integer)):
        target = target_id(classifier, target if isinstance(target, str) else int(target))
    return Request(names, explainers, target, {m: dict(e.params) for m, e in zip(names, explainers)})


__all__ = ["Request", "build_explainers", "check_capabilities", "check_examples", "check_request",
           "parse_methods", "resolve_targets", "target_id", "usable"]
