"""Evaluate explanations: plausibility, faithfulness and classification, under a named protocol.

``evaluate(classifier, explanations, dataset, protocol="hatexplain", **overrides)`` returns
one :class:`MetricResult` per (method, metric) plus the classifier's accuracy, macro-F1
and AUROC; every result's ``variant`` spells out the protocol choices behind it.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..models.base import Classifier
from ..types import Dataset, Explanation, MetricResult
from .metrics import LOWER_IS_BETTER, METRICS, ClassifierContext, MethodContext, Metric, get_metric, iter_metrics, run_groups
from .protocols import PROTOCOLS, Protocol, get_protocol


def metrics() -> list[dict[str, Any]]:
    """Every metric: name, family, one-line definition, direction, aggregation."""
    return [m.to_dict() for m in iter_metrics()]


def protocols() -> list[dict[str, Any]]:
    """Every protocol preset: name, description and every field."""
    return [{**e.obj.to_dict(), "description": e.description} for e in PROTOCOLS.entries()]


def evaluate(
    classifier: Classifier,
    explanations: Iterable[Explanation],
    dataset: Dataset,
    protocol: str | Protocol = "hatexplain",
    *,
    classification: bool = True,
    **overrides: Any,
) -> list[MetricResult]:
    """Every metric of every method in ``explanations`` under ``protocol`` (fields overridable).

    Only explanations of the examples the protocol selects from ``dataset`` count (the
    others are ignored); a selected example a method did not explain is excluded from
    that method's metrics and counted (``no_explanation``); explanations with ``failed``
    set are excluded and counted, and ``failure_rate`` is reported per method.
    Classification metrics are computed on every labelled example of ``dataset``
    (``classification_on="dataset"``) or on the protocol's examples, as the variant says.
    The metrics are those of the registry (:data:`METRICS`) the protocol asks for, in
    registration order.
    """
    proto = get_protocol(protocol, **overrides).resolve(dataset)
    selected = proto.select(dataset)
    if proto.only_correct:
        selected = proto.keep_correct(selected, classifier.predict(list(selected)).tolist())
    ex_by_id = {ex.id: ex for ex in selected}
    exps = [e for e in explanations if e.example_id in ex_by_id]
    results: list[MetricResult] = []
    peers = {m: {e.example_id: e for e in exps if e.method == m} for m in dict.fromkeys(e.method for e in exps)}
    shared: dict = {}  # results computed once for every method (faithfulness: one engine call)
    for m, mine in peers.items():
        results += run_groups(MethodContext(classifier, m, proto, ex_by_id, mine, peers, shared), "method")
    if classification:
        results += run_groups(ClassifierContext(classifier, dataset, proto, selected), "classifier")
    return results


__all__ = ["LOWER_IS_BETTER", "METRICS", "PROTOCOLS", "Metric", "Protocol", "evaluate", "get_metric",
           "get_protocol", "metrics", "protocols"]
