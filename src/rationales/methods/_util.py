"""Helpers shared by the explainers: keep masks, engine counters, subword → word sums."""

from __future__ import annotations

import zlib
from typing import Any, cast

import numpy as np

from ..models.base import AttentionClassifier, Classifier, DifferentiableClassifier
from ..types import Example

AGGREGATIONS = ("sum", "mean", "max", "absmax")


def forward_passes(classifier: Classifier) -> int | None:
    """A running count of sequences the engine actually ran (None without an engine).

    Counts only this thread's calls where the engine keeps them per thread, so two
    requests explained at once in a server do not count each other's passes.
    """
    engine = getattr(classifier, "engine", None)
    per_thread = getattr(engine, "thread_forward_passes", None)
    if callable(per_thread):
        return int(per_thread())
    stats = getattr(engine, "stats", None)
    if isinstance(stats, dict):
        return int(stats.get("forward_passes", 0))
    if stats is not None and hasattr(stats, "forward_passes"):
        return int(stats.forward_passes)
    return None


def as_differentiable(classifier: Classifier, method: str) -> DifferentiableClassifier:
    """``classifier`` as the DifferentiableClassifier ``method`` needs.

    ``Explainer.explain`` checks capabilities at the door; this says so to the type
    checker, and gives the same clear error to a caller who skipped the door.
    """
    if not isinstance(classifier, DifferentiableClassifier):
        from .request import check_capabilities

        check_capabilities([method], classifier)
    return cast(DifferentiableClassifier, classifier)


def as_attention_classifier(classifier: Classifier, method: str) -> AttentionClassifier:
    """``classifier`` as the AttentionClassifier ``method`` needs (see :func:`as_differentiable`)."""
    if not isinstance(classifier, AttentionClassifier):
        from .request import check_capabilities

        check_capabilities([method], classifier)
    return cast(AttentionClassifier, classifier)


def masked_many(
    classifier: Classifier, requests: list[tuple[Example, np.ndarray]], removal: str
) -> tuple[list[np.ndarray], list[int] | None]:
    """Masked probabilities of several examples in one call, and the forward passes each
    request caused (None when the classifier has no engine that counts them)."""
    counted = getattr(classifier, "predict_proba_masked_many_counted", None)
    if callable(counted):
        rows, passes = counted(requests, removal)
        return list(rows), list(passes)
    if forward_passes(classifier) is None:
        return list(classifier.predict_proba_masked_many(requests, removal)), None
    # An engine that counts only in total: one request at a time, counted around each.
    rows, counts = [], []
    for request in requests:
        before = forward_passes(classifier) or 0
        rows += classifier.predict_proba_masked_many([request], removal)
        counts.append(int((forward_passes(classifier) or 0) - before))
    return rows, counts


def words_used(classifier: Classifier, example: Example) -> int:
    """How many leading words the model sees (never more than the example has)."""
    return max(0, min(int(classifier.n_words_used(example)), len(example.words)))


def truncation_info(example: Example, used: int) -> dict[str, Any]:
    """``{"truncated_at": used}`` when the model does not see every word, else ``{}``."""
    return {"truncated_at": used} if used < len(example.words) else {}


def pad_to_words(scores_used: np.ndarray, n_words: int) -> np.ndarray:
    """Scores of the seen words followed by 0 for each word the model truncated."""
    out = np.zeros(n_words, dtype=np.float64)
    out[: len(scores_used)] = scores_used
    return out


def full_keep(n_words: int, rows: int = 1) -> np.ndarray:
    return np.ones((rows, n_words), dtype=bool)


def prob_list(probs: np.ndarray) -> list[float]:
    """One row of probabilities as plain floats (JSON-serialisable)."""
    return [float(p) for p in np.asarray(probs, dtype=np.float64).ravel()]


def aggregate_to_words(
    token_scores: np.ndarray, word_index: np.ndarray, n_words: int, how: str = "sum"
) -> np.ndarray:
    """Combine subword scores into one score per word.

    ``word_index[t]`` is the word position of token ``t`` (-1 for special or prefix
    tokens, which are dropped). Words without any token score 0.
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {how!r}")
    token_scores = np.asarray(token_scores, dtype=np.float64)
    word_index = np.asarray(word_index)
    sel = (word_index >= 0) & (word_index < n_words)
    idx, vals = word_index[sel].astype(np.int64), token_scores[sel]
    out = np.zeros(n_words, dtype=np.float64)
    if how in ("sum", "mean"):
        np.add.at(out, idx, vals)
        if how == "mean":
            counts = np.bincount(idx, minlength=n_words)
            out = np.divide(out, counts, out=np.zeros_like(out), where=counts > 0)
    elif how == "max":
        out[:] = -np.inf
        np.maximum.at(out, idx, vals)
        out[~np.isfinite(out)] = 0.0
    else:  # absmax: the subword with the largest magnitude, sign kept
        best = np.zeros(n_words, dtype=np.float64)
        for i, v in zip(idx, vals):
            if abs(v) > abs(best[i]):
                best[i] = v
        out = best
    return out


def example_rng(seed: int, example: Example) -> np.random.Generator:
    """A generator that depends on the seed and the example only (its id and words), not on
    batch order. Lone surrogates (kept from invalid UTF-8 input) are hashed, not refused."""
    def crc(text: str) -> int:
        return zlib.crc32(text.encode("utf-8", "surrogatepass"))

    return np.random.default_rng([int(seed), crc(example.id), crc("\x1f".join(example.words))])
