"""Explanation quality by example hardness: every metric per tercile of a hardness signal.

"Are hard examples also harder to explain?": an average over all examples hides where a
method fails. Each evaluated example gets hardness signals (:func:`hardness_signals`):

- ``margin``: p(gold label) − the largest other probability (low = hard);
- ``loss``: −log p(gold label) (high = hard);
- ``correct``: 1 when the prediction is the gold label (0 = hard);
- ``agreement``: the share of annotators who gave the majority label, where the dataset
  has annotators (``meta["annotator_labels"]``, HateXplain: 3 of 3 = 1.0, 2 of 3 = 0.67);
  low = hard;
- ``length``: the number of words (long = hard).

:func:`stratify` cuts the examples into terciles of one signal, from the hardest third to
the easiest, each of equal size (±1; the order is the signal's, ties by dataset order, so
it is stable), and reports every metric with per-example values per tercile: the mean, n,
the difference hardest − easiest, and a bootstrap 95 % interval of that difference
(examples resampled within each third, ``n_boot`` times, seeded).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

from ..errors import ParameterError
from ..models.base import Classifier
from ..types import Example, MetricResult

#: signal → True when a *higher* value means a *harder* example
SIGNALS: dict[str, bool] = {"margin": False, "loss": True, "correct": False, "agreement": False, "length": True}
TERCILES = ("hardest", "middle", "easiest")


def hardness_signals(classifier: Classifier, examples: Sequence[Example]) -> dict[str, dict[str, float | None]]:
    """Signal name → example id → value (None where the example has no label or annotators)."""
    out: dict[str, dict[str, float | None]] = {name: {} for name in SIGNALS}
    probs = np.asarray(classifier.predict_proba(list(examples))) if examples else np.zeros((0, 0))
    for ex, p in zip(examples, probs):
        out["length"][ex.id] = float(len(ex.words))
        labels = ex.meta.get("annotator_labels")
        if labels:
            top = Counter(labels).most_common(1)[0][1]
            out["agreement"][ex.id] = top / len(labels)
        else:
            out["agreement"][ex.id] = None
        if ex.label is None:
            for name in ("margin", "loss", "correct"):
                out[name][ex.id] = None
            continue
        gold = float(p[ex.label])
        others = np.delete(p, ex.label)
        out["margin"][ex.id] = gold - float(others.max()) if others.size else gold
        out["loss"][ex.id] = -math.log(max(gold, 1e-12))
        out["correct"][ex.id] = float(int(np.argmax(p)) == ex.label)
    return out


def terciles(values: dict[str, float | None], signal: str, order: Sequence[str]) -> dict[str, list[str]]:
    """Example ids in three equal-sized groups from hardest to easiest (ties: dataset order)."""
    if signal not in SIGNALS:
        raise ParameterError(f"unknown hardness signal {signal!r}; use one of {sorted(SIGNALS)}")
    position = {i: k for k, i in enumerate(order)}
    ids = [i for i in order if values.get(i) is not None]
    harder_high = SIGNALS[signal]
    ids.sort(key=lambda i: ((-1 if harder_high else 1) * float(values[i] or 0.0), position[i]))
    n = len(ids)
    cuts = [0, (n + 2) // 3, (2 * n + 1) // 3, n]
    return {name: ids[cuts[k]:cuts[k + 1]] for k, name in enumerate(TERCILES)}


def _bootstrap(hard: list[float], easy: list[float], n_boot: int, seed: int) -> tuple[float, float]:
    if not hard or not easy:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    h, e = np.asarray(hard), np.asarray(easy)
    diffs = [rng.choice(h, h.size).mean() - rng.choice(e, e.size).mean() for _ in range(n_boot)]
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def stratify(results: Sequence[MetricResult], values: dict[str, float | None], signal: str,
             order: Sequence[str], *, n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """Every per-method result with per-example values, per tercile of ``signal`` (plain dicts)."""
    groups = terciles(values, signal, order)
    rows = []
    for r in results:
        if r.method is None or not r.per_example:
            continue
        row: dict[str, Any] = {"method": r.method, "metric": r.name, "variant": r.variant, "signal": signal}
        per_group: dict[str, list[float]] = {}
        for name, ids in groups.items():
            vals = [float(v) for i in ids if (v := r.per_example.get(i)) is not None and math.isfinite(float(v))]
            per_group[name] = vals
            row[name] = {"mean": float(np.mean(vals)) if vals else None, "n": len(vals)}
        hard, easy = per_group["hardest"], per_group["easiest"]
        diff = float(np.mean(hard) - np.mean(easy)) if hard and easy else None
        lo, hi = _bootstrap(hard, easy, n_boot, seed)
        row["hardest_minus_easiest"] = diff
        row["ci95"] = [None if math.isnan(lo) else lo, None if math.isnan(hi) else hi]
        rows.append(row)
    return rows


__all__ = ["SIGNALS", "TERCILES", "hardness_signals", "stratify", "terciles"]
