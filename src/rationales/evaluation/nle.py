"""Metrics of explanations in words (the ``nle`` explainer): is the text faithful to its highlight?

Registered in :data:`rationales.evaluation.metrics.METRICS`, family ``nle``; a method whose
explanations carry no text (``info["nle"]``) gets none of them. Per explanation, then the
mean over explanations (failed ones are excluded and counted by ``failure_rate``):

- ``nle_highlight_coverage``: highlighted words the text names / highlighted words
  (explanations whose highlight is empty are excluded);
- ``nle_not_in_post_rate``: words the text lists that are not in the post / words listed
  (they are removed from the named set; 0 when it listed none);
- ``nle_probability_drop``: p(target | x) − p(target | x without the named words), recomputed
  through the classifier's engine with the protocol's removal (0 when nothing is named);
- ``nle_highlight_drop``: the same for the highlighted words (the highlight's own
  comprehensiveness), the figure ``nle_probability_drop`` is read against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..types import MetricResult
from .metrics import METRICS, MethodContext, Metric


def _mean(per: dict[str, float | None]) -> tuple[float, int]:
    vals = [v for v in per.values() if v is not None]
    return (float(np.mean(vals)) if vals else math.nan), len(vals)


def nle_group(c: MethodContext) -> list[MetricResult]:
    """The four NLE metrics of one method (none when its explanations hold no text)."""
    texts = {i: e for i, e in c.ok.items() if isinstance(e.info.get("nle"), str)}
    if not texts:
        return []
    removal = c.protocol.removal
    ids = list(texts)
    requests: list[tuple[Any, np.ndarray]] = []
    for i in ids:
        e = texts[i]
        ex = c.examples[i]
        named = np.asarray(e.info.get("named_mask") or [0] * len(ex.words), dtype=bool)
        high = np.asarray(e.info.get("rationale") or [0] * len(ex.words), dtype=bool)
        requests.append((ex, np.stack([np.ones(len(ex.words), dtype=bool), ~named, ~high])))
    rows = c.classifier.predict_proba_masked_many(requests, removal)
    drop: dict[str, float | None] = {}
    hdrop: dict[str, float | None] = {}
    for i, (_, keep), probs in zip(ids, requests, rows):
        t = texts[i].target
        full = float(probs[0][t])
        drop[i] = full - float(probs[1][t]) if not keep[1].all() else 0.0
        hdrop[i] = full - float(probs[2][t]) if not keep[2].all() else 0.0
    coverage = {i: (None if e.info.get("highlight_coverage") is None else float(e.info["highlight_coverage"]))
                for i, e in texts.items()}
    outside: dict[str, float | None] = {i: float(e.info.get("not_in_post_rate") or 0.0) for i, e in texts.items()}
    excluded: dict[str, int] = {}
    if c.failed:
        excluded["failed"] = len(c.failed)
    if c.missing:
        excluded["no_explanation"] = len(c.missing)
    out = []
    table: list[tuple[str, str, dict[str, float | None]]] = [
        ("nle_highlight_coverage", "highlighted words named / highlighted words", coverage),
        ("nle_not_in_post_rate", "listed words not in the post / listed words", outside),
        ("nle_probability_drop", f"p(x) - p(x without the named words), removal={removal}", drop),
        ("nle_highlight_drop", f"p(x) - p(x without the highlighted words), removal={removal}", hdrop),
    ]
    for name, variant, per in table:
        value, n = _mean(per)
        why = dict(excluded)
        if name == "nle_highlight_coverage" and n < len(per):
            why["empty_highlight"] = len(per) - n
        out.append(MetricResult(name, variant, value, n, per, why, method=c.method))
    return out


for _m in [
    Metric("nle_highlight_coverage", "nle", "explanations in words: share of the highlighted words the text "
           "names", nle_group),
    Metric("nle_not_in_post_rate", "nle", "explanations in words: share of the words the text lists that are "
           "not in the post (removed from the named set)", nle_group, higher_is_better=False),
    Metric("nle_probability_drop", "nle", "explanations in words: p(target) drop when the words the text names "
           "are removed", nle_group),
    Metric("nle_highlight_drop", "nle", "explanations in words: p(target) drop when the highlighted words "
           "the text was written from are removed", nle_group),
]:
    METRICS.add(_m.name, _m, _m.description, family=_m.family)

__all__ = ["nle_group"]
