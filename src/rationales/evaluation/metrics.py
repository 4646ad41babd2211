"""Metrics as registry objects: what each computes, how it aggregates, which way is better.

Every metric is a :class:`Metric` in :data:`METRICS`: its family, one-line definition,
direction (higher or lower is better), and its *aggregation* under a protocol:
``"mean"`` when the reported value is the plain mean of its per-example values (so a
corpus job can store per-example values and average them across chunks), ``"pooled"``
when it is not (micro-averaged token F1 pools counts; IOU-F1 is the F1 of mean precision
and mean recall; macro-F1 and AUROC are computed over all predictions at once).

Metrics computed together share one *group* function (token precision, recall and F1
come from one pass); :func:`rationales.evaluation.evaluate` loops over the registry and
calls each group once per method, or once per classifier for the ``classification``
family. The report, corpus jobs and the web page ask a metric rather than guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from ..models.base import Classifier
from ..registry import Registry
from ..rules import hard_rationale
from ..types import Dataset, Example, Explanation, MetricResult
from .classification import classify
from .faithfulness import faithfulness
from .plausibility import auprc, iou_f1, token_prf

if TYPE_CHECKING:
    from .protocols import Protocol


@dataclass
class MethodContext:
    """What a group function gets for one method: its explanations of the protocol's examples."""

    classifier: Classifier
    method: str
    protocol: "Protocol"
    examples: dict[str, Example]
    #: example id → this method's explanation (failed ones included)
    explanations: dict[str, Explanation]
    #: every method's explanations of this evaluation (method → example id → explanation),
    #: so a group can compute all methods at once (faithfulness sends all their masks to
    #: the engine in one call); empty means "this method alone"
    peers: dict[str, dict[str, Explanation]] = field(default_factory=dict)
    #: scratch space shared by the contexts of one evaluation (results computed once for all)
    shared: dict[Any, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """Selected examples this method did not explain."""
        return [i for i in self.examples if i not in self.explanations]

    @property
    def failed(self) -> list[str]:
        return [i for i, e in self.explanations.items() if e.failed]

    @property
    def ok(self) -> dict[str, Explanation]:
        return {i: e for i, e in self.explanations.items() if not e.failed}


@dataclass
class ClassifierContext:
    """What a classification group gets: the classifier, the data and the protocol's selection."""

    classifier: Classifier
    dataset: Dataset
    protocol: "Protocol"
    selected: Dataset


Group = Callable[[Any], list[MetricResult]]


def _never(protocol: "Protocol | None") -> bool:
    return False


def _always(protocol: "Protocol | None") -> bool:
    return True


@dataclass(frozen=True)
class Metric:
    """One metric: how it is computed, aggregated and read."""

    name: str
    family: str
    description: str
    group: Group = field(repr=False, compare=False)
    higher_is_better: bool = True
    #: True where, under this protocol, the value is not the mean of per-example values
    pooled_under: Callable[["Protocol | None"], bool] = field(default=_never, repr=False, compare=False)
    #: whether the protocol asks for this metric at all (AOPC only with ``aopc=True``)
    applies: Callable[["Protocol | None"], bool] = field(default=_always, repr=False, compare=False)
    #: "method": one value per explanation method; "classifier": one per model
    scope: str = "method"
    aggregation_note: str = "mean of per-example values"

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"

    def aggregation(self, protocol: "Protocol | None" = None) -> str:
        """``"mean"`` or ``"pooled"`` under ``protocol`` (see the module docstring)."""
        return "pooled" if self.pooled_under(protocol) else "mean"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "description": self.description,
                "direction": self.direction, "aggregation": self.aggregation_note, "scope": self.scope}


METRICS: Registry[Metric] = Registry("metric")


def _add(metric: Metric) -> None:
    METRICS.add(metric.name, metric, metric.description, family=metric.family)


def iter_metrics(scope: str | None = None) -> Iterator[Metric]:
    """Registered metrics in registration order (the order results are reported in)."""
    for entry in METRICS.entries():
        if scope is None or entry.obj.scope == scope:
            yield entry.obj


def get_metric(name: str) -> Metric:
    return METRICS.get(name)


def higher_is_better(name: str) -> bool:
    """Direction of a metric by name (True for names that are not registered)."""
    return METRICS.get(name).higher_is_better if name in METRICS else True


# -- group functions ------------------------------------------------------------------
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


def plausibility_group(c: MethodContext) -> list[MetricResult]:
    """Token P/R/F1, IOU-F1 (hard rationale under the protocol's rule) and AUPRC (scores)."""
    proto = c.protocol
    failed, missing = c.failed, c.missing
    extra = {}
    if failed:
        extra["failed"] = len(failed)
    if missing:
        extra["no_explanation"] = len(missing)

    def items(soft: bool = False) -> Iterator[tuple[str, Any, Any]]:
        for i, e in c.ok.items():
            yield i, proto.gold_mask(c.examples[i]), list(e.scores) if soft else hard_rationale(e, proto.hard)

    gold = f"gold={proto.gold}"
    hard = f"hard={proto.hard}"
    results = [
        *token_prf(items(), proto.token_average, _ctx(hard, gold)),
        iou_f1(items(), proto.iou_threshold, proto.iou_average, proto.iou_pred_spans, _ctx(hard, gold)),
        auprc(items(soft=True), gold),
    ]
    return [_with(r, c.method, extra, failed + missing) for r in results]


def faithfulness_group(c: MethodContext) -> list[MetricResult]:
    """Comprehensiveness, sufficiency, AOPC (when asked) and τ LOO, through the engine."""
    proto = c.protocol
    missing = c.missing
    # Every method of the evaluation at once (when the context knows them): the masks of
    # all methods, sizes and the leave-one-out set go to the engine together, deduplicated
    # across methods; each method's values are the same as when computed alone.
    peers = c.peers if c.method in c.peers else {c.method: c.explanations}
    key = ("faithfulness", proto.hard, proto.removal, proto.aopc_bins if proto.aopc else None, proto.tau_loo,
           tuple(peers))
    if key not in c.shared:
        # failed explanations go in too: faithfulness excludes and counts them itself
        c.shared[key] = faithfulness(
            c.classifier, [e for exps in peers.values() for e in exps.values()], c.examples,
            hard=lambda e: hard_rationale(e, proto.hard), hard_name=proto.hard,
            removal=proto.removal, aopc_bins=proto.aopc_bins if proto.aopc else None, tau_loo=proto.tau_loo,
        )
    res = c.shared[key][c.method]
    no_exp = {"no_explanation": len(missing)} if missing else {}
    return [_with(r, c.method, no_exp, missing) for r in res]


def failure_group(c: MethodContext) -> list[MetricResult]:
    """The share of explanations whose method failed."""
    n = len(c.explanations)
    return [MetricResult(
        "failure_rate", "failed explanations / explanations given", len(c.failed) / n if n else float("nan"),
        n, {i: float(bool(e.failed)) for i, e in c.explanations.items()},
        {"no_explanation": len(c.missing)} if c.missing else {}, method=c.method,
    )]


def statistics_group(c: MethodContext) -> list[MetricResult]:
    """What LLM-consulted methods report about themselves, averaged over explanations.

    ``hallucination_rate``: phrases the LLM named that are not in the post / phrases it
    named, per explanation, mean over explanations whose LLM answered. ``llm_failure_rate``
    (``union``): explanations that fell back because the LLM failed. ``flip_rate`` and
    ``words_changed`` (``counterfactual``): share of verified label flips, and mean words
    changed over the flipped ones. Methods that report none of these get none.
    """
    mine, ok, method = c.explanations, c.ok, c.method
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


def ground_truth_group(c: MethodContext) -> list[MetricResult]:
    """The ground-truth metrics of :mod:`rationales.evaluation.ground_truth`, per example, averaged."""
    from .ground_truth import PER_EXAMPLE

    results = []
    for name, fn in PER_EXAMPLE.items():
        per: dict[str, float | None] = {i: None for i in c.missing}
        excluded: dict[str, int] = {}
        for i, e in c.explanations.items():
            truth = c.protocol.gold_mask(c.examples[i])
            why = ("failed" if e.failed else "no_ground_truth" if truth is None else None)
            value = fn(truth, e.scores) if truth is not None and why is None else math.nan
            if why is None and math.isnan(value):
                why = "zero_attribution" if name == "mass_accuracy" else "ground_truth_all_0_or_all_1"
            if why:
                per[i] = None
                excluded[why] = excluded.get(why, 0) + 1
            else:
                per[i] = value
        if c.missing:
            excluded["no_explanation"] = len(c.missing)
        vals = [v for v in per.values() if v is not None]
        results.append(MetricResult(name, "on |scores|, per-example mean", float(np.mean(vals)) if vals else math.nan,
                                    len(vals), per, excluded, method=c.method))
    return results


def pair_group(c: MethodContext) -> list[MetricResult]:
    """How differently a method explains the two forms of a sentence (``meta["pair"]``).

    For each pair with both forms explained: each explanation's scores are divided by
    its largest |score| (so methods on different scales compare), the words are aligned
    by their original positions (``meta["positions"]`` where the loader dropped a blank
    word), and the value is the mean |difference| over the words that are not ground
    truth in either form. A model that reads only gender gives 0. Both forms get the
    pair's value, so the mean over examples is the mean over pairs.
    """
    by_pair: dict[Any, list[str]] = {}
    for i in c.ok:
        pair = c.examples[i].meta.get("pair")
        if pair is not None:
            by_pair.setdefault(pair, []).append(i)
    per: dict[str, float | None] = {}
    excluded: dict[str, int] = {}
    for ids in by_pair.values():
        if len(ids) != 2:
            excluded["pair_not_both_explained"] = excluded.get("pair_not_both_explained", 0) + len(ids)
            continue
        sides = []
        for i in ids:
            ex, e = c.examples[i], c.ok[i]
            s = np.asarray(e.scores, dtype=float)
            top = float(np.abs(s).max()) if s.size else 0.0
            s = s / top if top > 0 else s
            truth = c.protocol.gold_mask(ex) or [0] * len(ex.words)
            positions = ex.meta.get("positions") or list(range(len(ex.words)))
            sides.append({p: (float(v), int(t)) for p, v, t in zip(positions, s, truth)})
        shared = [p for p in sides[0] if p in sides[1] and not sides[0][p][1] and not sides[1][p][1]]
        if not shared:
            excluded["no_unchanged_word"] = excluded.get("no_unchanged_word", 0) + 2
            continue
        value = float(np.mean([abs(sides[0][p][0] - sides[1][p][0]) for p in shared]))
        for i in ids:
            per[i] = value
    if not by_pair:
        return []
    vals = [v for v in per.values() if v is not None]
    return [MetricResult("pair_difference", "mean |score difference| on the unchanged words of a sentence's "
                         "two forms, scores / max |score|", float(np.mean(vals)) if vals else math.nan,
                         len(vals), per, excluded, method=c.method)]


def classification_group(c: ClassifierContext) -> list[MetricResult]:
    """Accuracy, macro-F1 and AUROC on the protocol's choice of examples."""
    return classify(c.classifier, c.dataset, c.protocol, c.selected)


# -- the registry ---------------------------------------------------------------------
def _micro(p: "Protocol | None") -> bool:
    return p is not None and p.token_average == "micro"


_MICRO_NOTE = "mean of per-example values (instance_macro); pooled counts (micro)"
for _m in [
    Metric("token_precision", "plausibility", "per-word precision of the hard rationale against gold "
           "(instance_macro or micro)", plausibility_group, pooled_under=_micro, aggregation_note=_MICRO_NOTE),
    Metric("token_recall", "plausibility", "per-word recall of the hard rationale against gold "
           "(instance_macro or micro)", plausibility_group, pooled_under=_micro, aggregation_note=_MICRO_NOTE),
    Metric("token_f1", "plausibility", "per-word F1: instance_macro = mean of per-example F1 "
           "(ERASER/HateXplain); micro = pooled counts (X-MuTeST)", plausibility_group, pooled_under=_micro,
           aggregation_note=_MICRO_NOTE),
    Metric("iou_f1", "plausibility", "ERASER partial match: span IOU >= 0.5 is a hit; macro = F1 of mean "
           "precision and mean recall", plausibility_group, pooled_under=_always,
           aggregation_note="pooled: F1 of mean precision and mean recall (macro) or of pooled counts (micro)"),
    Metric("auprc", "plausibility", "area under precision-recall of soft scores vs gold, per example "
           "(trapezoid), averaged", plausibility_group),
    Metric("comprehensiveness", "faithfulness", "p(x) - p(x without rationale), target class", faithfulness_group),
    Metric("sufficiency", "faithfulness", "p(x) - p(rationale only); 0 by definition for a rationale of "
           "every word", faithfulness_group, higher_is_better=False),
    Metric("aopc_comprehensiveness", "faithfulness", "comprehensiveness averaged over ERASER bins "
           "1/5/10/20/50 % of words", faithfulness_group, applies=lambda p: p is None or p.aopc),
    Metric("aopc_sufficiency", "faithfulness", "sufficiency averaged over ERASER bins 1/5/10/20/50 % of words",
           faithfulness_group, higher_is_better=False, applies=lambda p: p is None or p.aopc),
    Metric("tau_loo", "faithfulness", "Kendall tau-b between scores and leave-one-word-out probability drops "
           "(ferret taucorr_loo)", faithfulness_group, applies=lambda p: p is None or p.tau_loo),
    Metric("mass_accuracy", "ground_truth", "share of |attribution| on the ground-truth words (GECOBench)",
           ground_truth_group, applies=lambda p: p is not None and p.ground_truth),
    Metric("top_k_precision", "ground_truth", "share of the k highest-|attribution| words that are ground truth, "
           "k = number of ground-truth words (the correct top-k, not GECOBench's published computation)",
           ground_truth_group, applies=lambda p: p is not None and p.ground_truth),
    Metric("gt_roc_auc", "ground_truth", "ROC AUC of |attribution| against the ground truth", ground_truth_group,
           applies=lambda p: p is not None and p.ground_truth),
    Metric("gt_average_precision", "ground_truth", "average precision of |attribution| against the ground truth",
           ground_truth_group, applies=lambda p: p is not None and p.ground_truth),
    Metric("precision_at_specificity", "ground_truth", "precision at the lowest |attribution| threshold whose "
           "specificity exceeds 0.5 (GECOBench)", ground_truth_group,
           applies=lambda p: p is not None and p.ground_truth),
    Metric("pair_difference", "ground_truth", "mean |score difference| between a sentence's two forms on the "
           "words that are not ground truth (0 for a model that reads only gender)", pair_group,
           higher_is_better=False, applies=lambda p: p is not None and p.ground_truth),
    Metric("failure_rate", "explanation", "share of explanations whose method failed (excluded from every "
           "other metric)", failure_group, higher_is_better=False),
    Metric("hallucination_rate", "explanation", "LLM methods: phrases named but not in the post / phrases "
           "named, mean over answered posts", statistics_group, higher_is_better=False),
    Metric("llm_failure_rate", "explanation", "union: share of explanations whose LLM part failed and fell "
           "back to ngram", statistics_group, higher_is_better=False),
    Metric("flip_rate", "explanation", "counterfactual: share of posts whose label a verified edit flipped",
           statistics_group),
    Metric("words_changed", "explanation", "counterfactual: words replaced + deleted + inserted, mean over "
           "flipped posts", statistics_group, higher_is_better=False),
    Metric("accuracy", "classification", "share of argmax predictions equal to the gold label",
           classification_group, scope="classifier"),
    Metric("macro_f1", "classification", "sklearn macro F1 of argmax predictions (labels in gold or predictions)",
           classification_group, pooled_under=_always, scope="classifier",
           aggregation_note="pooled over all predictions"),
    Metric("auroc", "classification", "one-vs-rest ROC AUC per class present, macro mean", classification_group,
           pooled_under=_always, scope="classifier", aggregation_note="pooled over all predictions"),
]:
    _add(_m)

from . import nle as _nle  # noqa: E402,F401 - registers the nle family (explanations in words)

#: metrics where a lower value is better (for tables and plots)
LOWER_IS_BETTER = frozenset(m.name for m in iter_metrics() if not m.higher_is_better)


def run_groups(context: Any, scope: str) -> list[MetricResult]:
    """Every registered metric of ``scope`` the protocol asks for, each group called once."""
    done: set[int] = set()
    out: list[MetricResult] = []
    for metric in iter_metrics(scope):
        if not metric.applies(context.protocol) or id(metric.group) in done:
            continue
        done.add(id(metric.group))
        out += metric.group(context)
    return out


__all__ = ["LOWER_IS_BETTER", "METRICS", "ClassifierContext", "Metric", "MethodContext", "get_metric",
           "higher_is_better", "iter_metrics", "run_groups"]
