"""Soft scores → hard rationale: every rule, in one syntax, in one place.

A *rule* turns an explanation's word scores into a 0/1 mask over its words. The one
syntax, used by protocols, the web page, corpus jobs and stage-2 training alike:

- ``top_k=K``: the K highest-scoring words;
- ``top_fraction=F``: the top ``round(F · n)`` words (at least one of a non-empty text);
- ``top_fraction=mean_gold``: F = the dataset's mean gold rationale fraction (ERASER);
  it must be resolved against a dataset first (``Protocol.resolve``);
- ``threshold=T``: the words whose score is strictly above T;
- ``xmutest``: X-MuTeST's rule: a one-word text → that word; ≤ 10 words → the top
  ⌊n/2⌋; more → the top 5 (:func:`xmutest_k`). On ``ngram``'s scores (higher = more
  responsible) it selects exactly the words X-MuTeST's ``scores_to_rationales`` picks
  (its lowest values).

Ties go to the earlier word. The colon form (``top_k:5``) that ``train
--machine-rationale`` once took is still read, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Protocol, Sequence

from .errors import ParameterError


class Scored(Protocol):
    """What a rule reads of an explanation (an :class:`~rationales.types.Explanation`)."""

    @property
    def words(self) -> Sequence[str]: ...

    @property
    def scores(self) -> Sequence[float]: ...

    @property
    def info(self) -> Mapping[str, Any]: ...

#: how the rules are written, for error messages and help texts
SYNTAX = "top_k=K, top_fraction=F, top_fraction=mean_gold, threshold=T or xmutest"
KINDS = ("top_k", "top_fraction", "threshold", "xmutest")


def ranking(scores: Sequence[float]) -> list[int]:
    """Word positions by descending score; ties keep the earlier position first."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def top_k_mask(scores: Sequence[float], k: int) -> list[int]:
    """The k highest scores as a 0/1 mask (ties: earlier position first)."""
    n = len(scores)
    chosen = set(ranking(scores)[: max(0, min(int(k), n))])
    return [1 if i in chosen else 0 for i in range(n)]


def xmutest_k(n_words: int) -> int:
    """X-MuTeST's rationale size: one word → 1; up to 10 words → ⌊n/2⌋; more → 5."""
    if n_words <= 1:
        return max(0, n_words)
    return n_words // 2 if n_words <= 10 else 5


def _written(rule: str) -> str:
    """The rule in the one syntax: spaces dropped, the deprecated colon form rewritten."""
    text = "".join(str(rule).split())
    kind, colon, raw = text.partition(":")
    if colon and "=" not in text and kind in KINDS:
        warnings.warn(f"hard-rationale rule {text!r}: the colon form is deprecated and will be removed "
                      f"in the next release; write {kind}={raw}", DeprecationWarning, stacklevel=4)
        return f"{kind}={raw}"
    return text


def parse_rule(rule: str) -> tuple[str, float | None]:
    """Split a rule into (kind, value) and check it; ``value`` is None for ``xmutest``
    and for the unresolved ``top_fraction=mean_gold``."""
    kind, _, raw = _written(rule).partition("=")
    if kind == "xmutest" and not raw:
        return kind, None
    if kind == "top_fraction" and raw == "mean_gold":
        return kind, None
    if kind in ("top_k", "top_fraction", "threshold") and raw:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isnan(value) and (kind != "top_k" or (value == int(value) and value >= 0)):
            if kind == "top_fraction" and not 0 <= value <= 1:
                raise ParameterError(f"hard-rationale rule {rule!r}: the fraction must be in [0, 1]")
            return kind, value
    raise ParameterError(f"unknown hard-rationale rule {rule!r}; use {SYNTAX}")


def normalise_rule(rule: str) -> str:
    """The rule, checked, in its one written form (``top_k:5`` → ``top_k=5``; spaces dropped)."""
    parse_rule(rule)
    return _written(rule)


def apply_rule(scores: Sequence[float], rule: str) -> list[int]:
    """The 0/1 hard rationale that ``rule`` makes of ``scores``."""
    kind, value = parse_rule(rule)
    n = len(scores)
    if kind == "xmutest":
        return top_k_mask(scores, xmutest_k(n))
    if value is None:
        raise ParameterError("top_fraction=mean_gold must be resolved against a dataset first "
                             "(Protocol.resolve), or give top_fraction=F")
    if kind == "top_k":
        return top_k_mask(scores, int(value))
    if kind == "top_fraction":
        k = max(1, int(math.floor(value * n + 0.5))) if n and value > 0 else 0
        return top_k_mask(scores, k)
    return [1 if s > value else 0 for s in scores]


def hard_rationale(explanation: Scored, rule: str) -> list[int]:
    """The hard rationale an explanation's *scores* give under ``rule`` (what metrics use)."""
    return apply_rule(explanation.scores, rule)


def own_rationale(explanation: Scored) -> list[int] | None:
    """The hard rationale a method decided itself (``info["rationale"]``: the words an LLM
    named, the X-MuTeST union), or None when it gave none of the right length."""
    given = explanation.info.get("rationale")
    if isinstance(given, (list, tuple)) and len(given) == len(explanation.words):
        return [int(bool(v)) for v in given]
    return None


def machine_rationale(explanation: Scored, rule: str = "xmutest") -> list[int]:
    """The hard rationale a method stands for: its own when it gave one, else ``rule`` on
    its scores (stage-2 training and the web page read rationales this way)."""
    own = own_rationale(explanation)
    return own if own is not None else hard_rationale(explanation, rule)


__all__ = ["KINDS", "SYNTAX", "apply_rule", "hard_rationale", "machine_rationale", "normalise_rule",
           "own_rationale", "parse_rule", "ranking", "top_k_mask", "xmutest_k"]
