"""Plausibility: how well a hard or soft rationale matches the human (gold) word rationale.

Every function takes *items* ``(example_id, gold, predicted)`` where ``gold`` is the 0/1
gold mask over words (None when the example has no gold rationale) and ``predicted`` is a
0/1 mask (hard metrics) or a score per word (AUPRC). Examples whose gold is None or has no
1 at all are excluded and counted under ``excluded["no_gold"]`` / ``excluded["empty_gold"]``.
ERASER itself would keep an example with an empty gold but a non-empty prediction (as
precision 0); we exclude it because there is nothing to agree with.

The definitions transcribe ERASER's ``rationale_benchmark/metrics.py``
(``score_hard_rationale_predictions``, ``partial_match_score``, ``_auprc``) from masks
instead of span lists, and every result names its variant.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ..errors import InputError, ParameterError
from ..types import MetricResult

Item = tuple[str, "Sequence[int] | None", "Sequence[float]"]


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _f1(p: float, r: float) -> float:
    # ERASER's _f1: zero when either side is zero (no 0/0)
    return 0.0 if p == 0 or r == 0 else 2 * p * r / (p + r)


def _split(items: Iterable[Item]) -> tuple[list[tuple[str, list[int], list[float]]], dict[str, int],
                                          dict[str, float | None]]:
    """Keep the items with a non-empty gold mask; count and mark the others."""
    kept: list[tuple[str, list[int], list[float]]] = []
    excluded: dict[str, int] = {}
    missing: dict[str, float | None] = {}
    for ex_id, gold, pred in items:
        if gold is None:
            excluded["no_gold"] = excluded.get("no_gold", 0) + 1
            missing[ex_id] = None
            continue
        gold = [int(g) for g in gold]
        if len(gold) != len(pred):
            raise InputError(
                f"example {ex_id!r}: gold rationale has {len(gold)} words, prediction has {len(pred)}"
            )
        if not any(gold):
            excluded["empty_gold"] = excluded.get("empty_gold", 0) + 1
            missing[ex_id] = None
            continue
        kept.append((ex_id, gold, list(pred)))
    return kept, excluded, missing


def spans(mask: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs of 1s as (start, end) with end exclusive: ``[1,1,0,1]`` → ``[(0,2), (3,4)]``.

    Two gold spans that touch (one ends where the next starts) are one run of the mask,
    so they become one span; a mask cannot tell them apart.
    """
    out: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(mask):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


def token_prf(
    items: Iterable[Item], average: str = "instance_macro", context: str = ""
) -> tuple[MetricResult, MetricResult, MetricResult]:
    """Token-level precision, recall and F1 of hard rationales against gold masks.

    ``average="instance_macro"`` (ERASER ``instance_macro``, HateXplain's "Token F1"):
    per example p = |pred ∩ gold| / |pred| (0 when nothing is predicted), r = |pred ∩ gold|
    / |gold|, f1 = 2pr/(p+r) (0 when p or r is 0); each of the three is then the mean over
    examples (so F1 is the mean of per-example F1s, as sklearn's samples average).
    ``average="micro"`` (X-MuTeST): true positives, predicted and gold words pooled over
    all examples, then p, r and F1 of the pooled counts; ``per_example`` still holds each
    example's own F1 for comparing runs.
    """
    if average not in ("instance_macro", "micro"):
        raise ParameterError(f"average must be 'instance_macro' or 'micro', got {average!r}")
    kept, excluded, missing = _split(items)
    ps, rs, fs = dict(missing), dict(missing), dict(missing)
    tp_sum = pred_sum = gold_sum = 0.0
    for ex_id, gold, pred in kept:
        pred = [1 if v else 0 for v in pred]
        tp = sum(g and p for g, p in zip(gold, pred))
        n_pred, n_gold = sum(pred), sum(gold)
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_gold
        ps[ex_id], rs[ex_id], fs[ex_id] = p, r, _f1(p, r)
        tp_sum, pred_sum, gold_sum = tp_sum + tp, pred_sum + n_pred, gold_sum + n_gold
    n = len(kept)
    if average == "instance_macro":
        vals = [
            float(np.mean([d[k] for k, _, _ in kept])) if n else float("nan") for d in (ps, rs, fs)
        ]
    else:
        p = tp_sum / pred_sum if pred_sum else 0.0
        r = tp_sum / gold_sum if gold_sum else 0.0
        vals = [p, r, _f1(p, r)] if n else [float("nan")] * 3
    variant = _join(average, context)
    precision, recall, f1 = (MetricResult(name, variant, v, n, per, dict(excluded))
                             for name, v, per in zip(("token_precision", "token_recall", "token_f1"), vals, (ps, rs, fs)))
    return precision, recall, f1


def iou_f1(
    items: Iterable[Item],
    threshold: float = 0.5,
    average: str = "macro",
    pred_spans: str = "contiguous",
    context: str = "",
) -> MetricResult:
    """ERASER's partial-match IOU F1 of hard rationales (``partial_match_score``).

    Gold spans are the maximal runs of the gold mask. Predicted spans are the maximal runs
    of the predicted mask (``pred_spans="contiguous"``, ERASER) or one single-word span per
    selected word (``pred_spans="tokens"``, what HateXplain's evaluation code submits to
    ERASER: every top-k word as its own span). A predicted span is a true positive when its
    best IOU with any gold span of the example is ≥ ``threshold``.

    ``average="macro"``: recall = mean over examples with gold spans of TP / gold spans,
    precision = mean over examples *with at least one predicted span* of TP / predicted
    spans (ERASER's asymmetry: an example with no prediction counts in recall, not in
    precision), F1 = 2PR/(P+R) of those two means — not the mean of per-example F1s.
    ``average="micro"``: TP, predicted and gold spans pooled, then P, R, F1.
    ``per_example`` holds each example's own F1 (for comparing runs); ``params`` holds the
    aggregate precision/recall and how many examples each averaged.
    """
    if average not in ("macro", "micro"):
        raise ParameterError(f"average must be 'macro' or 'micro', got {average!r}")
    if pred_spans not in ("contiguous", "tokens"):
        raise ParameterError(f"pred_spans must be 'contiguous' or 'tokens', got {pred_spans!r}")
    kept, excluded, missing = _split(items)
    per: dict[str, float | None] = dict(missing)
    rec_list, prec_list = [], []
    tp_sum = n_pred_sum = n_gold_sum = 0
    for ex_id, gold, pred in kept:
        g_spans = spans(gold)
        if pred_spans == "contiguous":
            p_spans = spans([1 if v else 0 for v in pred])
        else:
            p_spans = [(i, i + 1) for i, v in enumerate(pred) if v]
        tp = 0
        for ps, pe in p_spans:
            best = 0.0
            for gs, ge in g_spans:
                inter = max(0, min(pe, ge) - max(ps, gs))
                union = (pe - ps) + (ge - gs) - inter
                best = max(best, inter / union if union else 0.0)
            tp += best >= threshold
        r = tp / len(g_spans)
        rec_list.append(r)
        p = tp / len(p_spans) if p_spans else 0.0
        if p_spans:
            prec_list.append(p)
        per[ex_id] = _f1(p, r)
        tp_sum, n_pred_sum, n_gold_sum = tp_sum + tp, n_pred_sum + len(p_spans), n_gold_sum + len(g_spans)
    if average == "macro":
        P = float(np.mean(prec_list)) if prec_list else 0.0
        R = float(np.mean(rec_list)) if rec_list else 0.0
    else:
        P = tp_sum / n_pred_sum if n_pred_sum else 0.0
        R = tp_sum / n_gold_sum if n_gold_sum else 0.0
    value = _f1(P, R) if kept else float("nan")
    variant = _join(f"{average}, iou>={threshold:g}, pred_spans={pred_spans}", context)
    return MetricResult(
        "iou_f1", variant, value, len(kept), per, excluded,
        params={"precision": P, "recall": R, "n_precision": len(prec_list), "n_recall": len(rec_list)},
    )


def auprc(items: Iterable[Item], context: str = "") -> MetricResult:
    """Area under the precision-recall curve of soft scores vs the gold mask, per example, averaged.

    ERASER's ``_auprc``: sklearn ``precision_recall_curve`` then ``auc(recall, precision)``
    (trapezoidal, not average precision) for each example, then the plain mean. A gold
    mask of all words gives 1.0 whatever the scores (precision is 1 everywhere).
    """
    from sklearn.metrics import auc, precision_recall_curve

    kept, excluded, missing = _split(items)
    per: dict[str, float | None] = dict(missing)
    vals = []
    for ex_id, gold, scores in kept:
        precision, recall, _ = precision_recall_curve(gold, np.asarray(scores, dtype=float))
        v = float(auc(recall, precision))
        per[ex_id] = v
        vals.append(v)
    value = float(np.mean(vals)) if vals else float("nan")
    return MetricResult("auprc", _join("per_example_mean, trapezoid", context), value, len(vals), per, excluded)
