"""Summary figures of a dataset: label counts, rationale coverage, text lengths."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..types import Dataset


def dataset_stats(ds: Dataset) -> dict[str, Any]:
    """Counts per label, share with rationales, mean rationale length, mean words per text.

    Rationale figures average over the examples that have a rationale (not None):
    ``mean_rationale_words`` is the number of rationale words, ``mean_rationale_fraction``
    the share of the text's words in the rationale. ``with_nonempty_rationale`` counts
    rationales with at least one word marked (Toxic Spans and X-MuTeST non-hate posts carry
    all-zero rationales). All values are JSON-serialisable.
    """
    n = len(ds)
    with_r = [(ex, ex.rationale) for ex in ds if ex.rationale is not None]
    nonempty = [ex for ex, r in with_r if any(r)]
    r_words = [sum(r) for _, r in with_r]
    r_frac = [sum(r) / len(ex.words) for ex, r in with_r if ex.words]
    n_words = [len(ex.words) for ex in ds]
    langs = Counter(ex.lang or "(none)" for ex in ds)
    return {
        "name": ds.name,
        "split": ds.split,
        "examples": n,
        "label_names": list(ds.label_names),
        "label_counts": ds.label_counts(),
        "with_rationale": len(with_r),
        "share_with_rationale": _ratio(len(with_r), n),
        "with_nonempty_rationale": len(nonempty),
        "share_with_nonempty_rationale": _ratio(len(nonempty), n),
        "mean_rationale_words": _mean(r_words),
        "mean_rationale_fraction": _mean(r_frac),
        "mean_words": _mean(n_words),
        "max_words": max(n_words) if n_words else 0,
        "languages": dict(langs),
        "skipped": int(ds.report.get("skipped", 0)),
    }


def _mean(values: list[float] | list[int]) -> float | None:
    return float(sum(values)) / len(values) if values else None


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None
