"""Evaluate explanations: plausibility, faithfulness and classification, under a named protocol.

``evaluate(classifier, explanations, dataset, protocol="hatexplain", **overrides)`` returns
one :class:`MetricResult` per (method, metric) plus the classifier's accuracy, macro-F1
and AUROC; every result's ``variant`` spells out the protocol choices behind it.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..models.base import Classifier
from ..registry import Registry
from ..types import Dataset, Explanation, MetricResult
from .classification import classify
from .faithfulness import faithfulness
from .plausibility import auprc, iou_f1, token_prf
from ..rules import hard_rationale
from .protocols import PROTOCOLS, Protocol, get_protocol

#: name → (family, what it measures). The definitions live in the functions' docstrings.
METRICS: Registry[str] = Registry("metric")
for _name, _family, _desc in [
    ("token_precision", "plausibility", "per-word precision of the hard rationale against gold (instance_macro or micro)"),
    ("token_recall", "plausibility", "per-word recall of the hard rationale against gold (instance_macro or micro)"),
    ("token_f1", "plausibility", "per-word F1: instance_macro = mean of per-example F1 (ERASER/HateXplain); micro = pooled counts (X-MuTeST)"),
    ("iou_f1", "plausibility", "ERASER partial match: span IOU >= 0.5 is a hit; macro = F1 of mean precision and mean recall"),
    ("auprc", "plausibility", "area under precision-recall of soft scores vs gold, per example (trapezoid), averaged"),
    ("comprehensiveness", "faithfulness", "p(x) - p(x without rationale), target class"),
    ("sufficiency", "faithfulness", "p(x) - p(rationale only); 0 by definition for a rationale of every word"),
    ("aopc_comprehensiveness", "faithfulness", "comprehensiveness averaged over ERASER bins 1/5/10/20/50 % of words"),
    ("aopc_sufficiency", "faithfulness", "sufficiency averaged over ERASER bins 1/5/10/20/50 % of words"),
    ("tau_loo", "faithfulness", "Kendall tau-b between scores and leave-one-word-out probability drops (ferret taucorr_loo)"),
    ("failure_rate", "explanation", "share of explanations whose method failed (excluded from every other metric)"),
    ("hallucination_rate", "explanation", "LLM methods: phrases named but not in the post / phrases named, mean over answered posts"),
    ("llm_failure_rate", "explanation", "union: share of explanations whose LLM part failed and fell back to ngram"),
    ("flip_rate", "explanation", "counterfactual: share of posts whose label a verified edit flipped"),
    ("words_changed", "explanation", "counterfactual: words replaced + deleted + inserted, mean over flipped posts"),
    ("accuracy", "classification", "share of argmax predictions equal to the gold label"),
    ("macro_f1", "classification", "sklearn macro F1 of argmax predictions"),
    ("auroc", "classification", "one-vs-rest ROC AUC per class present, macro mean"),
]:
    METRICS.add(_name, _family, _desc, family=_family)

#: metrics where a lower value is better (for tables and plots)
LOWER_IS_BETTER = {"sufficiency", "aopc_sufficiency", "failure_rate", "llm_failure_rate", "hallucination_rate",
                   "words_changed"}


def metrics() -> list[dict[str, Any]]:
    """Every metric: name, family, one-line definition."""
    return [e.to_dict() for e in METRICS.entries()]


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
    """
    proto = get_protocol(protocol, **overrides).resolve(dataset)
    selected = proto.select(dataset)
    ex_by_id = {ex.id: ex for ex in selected}
    exps = [e for e in explanations if e.example_id in ex_by_id]
    methods = list(dict.fromkeys(e.method for e in exps))
    gold_ctx = f"gold={proto.gold}"
    results: list[MetricResult] = []

    for m in methods:
        mine = {e.example_id: e for e in exps if e.method == m}
        missing = [i for i in ex_by_id if i not in mine]
        failed = [i for i, e in mine.items() if e.failed]
        ok = {i: e for i, e in mine.items() if not e.failed}
        extra_excl = {}
        if failed:
            extra_excl["failed"] = len(failed)
        if missing:
            extra_excl["no_explanation"] = len(missing)

        def items(soft: bool = False):
            for i, e in ok.items():
                pred = list(e.scores) if soft else hard_rationale(e, proto.hard)
                yield i, proto.gold_mask(ex_by_id[i]), pred

        plaus = [
            *token_prf(items(), proto.token_average, _ctx(f"hard={proto.hard}", gold_ctx)),
            iou_f1(items(), proto.iou_threshold, proto.iou_average, proto.iou_pred_spans,
                   _ctx(f"hard={proto.hard}", gold_ctx)),
            auprc(items(soft=True), gold_ctx),
        ]
        for r in plaus:
            results.append(_with(r, m, extra_excl, failed + missing))
        # failed explanations go in too: faithfulness excludes and counts them itself
        faith = faithfulness(
            classifier, list(mine.values()), ex_by_id,
            hard=lambda e: hard_rationale(e, proto.hard), hard_name=proto.hard,
            removal=proto.removal, aopc_bins=proto.aopc_bins if proto.aopc else None,
            tau_loo=proto.tau_loo,
        )[m]
        no_exp = {"no_explanation": len(missing)} if missing else {}
        for r in faith:
            results.append(_with(r, m, no_exp, missing))
        n_asked = len(mine)
        results.append(MetricResult(
            "failure_rate", "failed explanations / explanations given", len(failed) / n_asked if n_asked else float("nan"),
            n_asked, {i: float(bool(e.failed)) for i, e in mine.items()},
            {"no_explanation": len(missing)} if missing else {}, method=m,
        ))
        results += _method_statistics(m, mine)

    if classification:
        results += classify(classifier, dataset, proto, selected)
    return results


def _method_statistics(method: str, mine: dict[str, Explanation]) -> list[MetricResult]:
    """What LLM-consulted methods report about themselves, averaged over explanations.

    ``hallucination_rate``: phrases the LLM named that are not in the post / phrases it
    named, per explanation, mean over explanations whose LLM answered. ``llm_failure_rate``
    (``union``): explanations that fell back because the LLM failed. ``flip_rate`` and
    ``words_changed`` (``counterfactual``): share of verified label flips, and mean words
    changed over the flipped ones. Methods that report none of these get none.
    """
    ok = {i: e for i, e in mine.items() if not e.failed}
    out: list[MetricResult] = []
    llm_ok = {i: e for i, e in ok.items() if "llm_failed" not in e.info}
    hall = {i: float(e.info["hallucination_rate"]) for i, e in llm_ok.items()
            if e.info.get("hallucination_rate") is not None}
    if hall:
        out.append(MetricResult(
            "hallucination_rate", "phrases named but not in the post / phrases named, mean over answered posts",
            float(sum(hall.values()) / len(hall)), len(hall), hall,
            {"failed_or_no_answer": len(mine) - len(hall)} if len(mine) > len(hall) else {}, method=method))
    if any("llm_failed" in e.info or "llm_rationale" in e.info for e in ok.values()):
        per = {i: float("llm_failed" in e.info) for i, e in ok.items()}
        out.append(MetricResult("llm_failure_rate", "explanations whose LLM part failed (fell back) / explanations",
                                float(sum(per.values()) / len(per)), len(per), per, method=method))
    if any("flipped" in e.info for e in mine.values()):
        flips = {i: float(bool(e.info.get("flipped", False))) for i, e in mine.items()}
        out.append(MetricResult("flip_rate", "verified label flips / posts asked (a failed post counts as not flipped)",
                                float(sum(flips.values()) / len(flips)), len(flips), flips, method=method))
        changed = {i: float(e.info["words_changed"]) for i, e in mine.items()
                   if e.info.get("flipped") and e.info.get("words_changed") is not None}
        out.append(MetricResult("words_changed", "words replaced + deleted + inserted, mean over flipped posts",
                                float(sum(changed.values()) / len(changed)) if changed else float("nan"),
                                len(changed), changed, method=method))
    return out


def _ctx(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _with(r: MetricResult, method: str, extra: dict[str, int], none_ids: list[str]) -> MetricResult:
    per = dict(r.per_example)
    for i in none_ids:
        per[i] = None
    excluded = dict(r.excluded)
    for k, v in extra.items():
        excluded[k] = excluded.get(k, 0) + v
    return MetricResult(r.name, r.variant, r.value, r.n, per, excluded, method=method, params=dict(r.params))


__all__ = ["METRICS", "PROTOCOLS", "Protocol", "evaluate", "get_protocol", "metrics", "protocols"]

