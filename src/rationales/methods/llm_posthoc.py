"""``llm_posthoc``: an LLM reads the classifier's behaviour around one post and names its top words.

After Kroeger et al., "Are Large Language Models Post Hoc Explainers?": the LLM is shown
in-context samples of the classifier's behaviour near the post and asked for the ``k``
most important words, most important first. The samples are ``n_samples`` perturbations
of the post: each word the model sees is removed with probability ``remove`` (at least one
word per sample, duplicates dropped), drawn from a generator seeded by ``seed`` and the
post's words (so a post's samples do not depend on its batch). Their outputs come from
the classifier's forward engine (cached, counted in ``forward_passes``). The strategies
differ in what the prompt shows (:func:`rationales.llm.prompts.posthoc_messages`):

- ``perturbation``: each sample's removed words and the change in p(target);
- ``prediction``: each sample's text and the label the classifier predicts for it;
- ``instruction``: ``prediction`` plus step-by-step instructions for reading the samples;
- ``explanation``: each sample's text, its label and its explanation: its ``k`` words with
  the largest leave-one-word-out drop of p(target), computed through the engine.

The answer is ``{"words": [...]}`` (held to that schema, at most ``k`` strings, by a backend
that constrains decoding; parsed leniently otherwise; an unparseable answer is asked again
once). Named words map to positions with the phrase mapper of :mod:`rationales.llm.phrases`
(every occurrence). Scores are rank-based: the r-th distinct named word that is in the post
(r = 0, 1, ...) scores ``(k - r) / k`` at every position it occupies (a position named twice
keeps the higher score); unnamed words score 0. Named words that are not in the post are
dropped, do not take a rank, and are counted (``hallucinated``, ``hallucination_rate``).
A failed LLM call or an answer that stays unparseable gives ``failed`` with the reason and
zero scores; the rest of the batch goes on.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar, Sequence

import numpy as np

from ..llm.base import Messages, Reply
from ..llm.phrases import map_phrases, pieces
from ..llm.prompts import POSTHOC_STRATEGIES, posthoc_messages, posthoc_schema
from ..models.base import Classifier, check_removal
from ..types import Example, Explanation
from ._util import masked_many, prob_list, words_used
from .base import register
from .llm import LLMMethod, ask_phrases


def sample_masks(n_words: int, used: int, n_samples: int, remove: float, seed: int,
                 words: Sequence[str]) -> np.ndarray:
    """Distinct keep rows: each seen word removed with probability ``remove``, at least one."""
    rng = np.random.default_rng([int(seed), zlib.crc32("\x1f".join(words).encode("utf-8"))])
    rows: list[np.ndarray] = []
    seen: set[bytes] = set()
    for _ in range(n_samples):
        keep = np.ones(n_words, dtype=bool)
        drop = rng.random(used) < remove
        if not drop.any():
            drop[int(rng.integers(used))] = True
        keep[:used] = ~drop
        key = keep.tobytes()
        if key not in seen:
            seen.add(key)
            rows.append(keep)
    return np.asarray(rows, dtype=bool).reshape(len(rows), n_words)


def rank_scores(words: Sequence[str], named: list[str], k: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Rank-based scores ``(k - r) / k`` for the named words in the post (see the module
    docstring); also the matched and the hallucinated names."""
    scores = np.zeros(len(words))
    matched: list[str] = []
    missing: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for name in named:
        key = tuple(pieces(name))
        if not key or key in seen:
            continue  # pure punctuation, or the same word named again: no rank
        seen.add(key)
        m = map_phrases(words, [name])
        if not m.matched:
            missing.append(name)
            continue
        if len(matched) >= k:
            continue
        score = (k - len(matched)) / k
        matched.append(name)
        scores = np.maximum(scores, np.asarray(m.mask, dtype=np.float64) * score)
    return scores, matched, missing


@register
class LLMPosthocExplainer(LLMMethod):
    """An LLM reads the classifier's outputs on perturbations of the post (in context) and ranks its top-k words."""

    name = "llm_posthoc"
    stochastic = True
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None,
        "strategy": "perturbation",  # perturbation | prediction | instruction | explanation
        "k": 5,  # words asked for
        "n_samples": 8,  # perturbations shown in context
        "remove": 0.3,  # probability that a sample removes each word
        "seed": 0,
        "removal": "delete",
        "max_new_tokens": 96,
        "retry_unparseable": True,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["strategy"] not in POSTHOC_STRATEGIES:
            raise ValueError(f"llm_posthoc: strategy must be one of {', '.join(POSTHOC_STRATEGIES)}, "
                             f"got {p['strategy']!r}")
        if int(p["k"]) < 1 or int(p["n_samples"]) < 1:
            raise ValueError(f"llm_posthoc: k and n_samples must be >= 1, got k={p['k']}, n_samples={p['n_samples']}")
        if not 0.0 < float(p["remove"]) < 1.0:
            raise ValueError(f"llm_posthoc: remove must be in (0, 1), got {p['remove']}")
        check_removal(p["removal"])

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        p = self.params
        backend = self.backend()
        k, strategy, names = int(p["k"]), str(p["strategy"]), classifier.label_names
        plans: list[tuple[np.ndarray, int, int]] = []  # keep rows, samples, words seen
        for ex in examples:
            n, used = len(ex.words), max(1, words_used(classifier, ex))
            masks = sample_masks(n, used, int(p["n_samples"]), float(p["remove"]), int(p["seed"]), ex.words)
            rows = [np.ones((1, n), dtype=bool), masks]
            if strategy == "explanation":
                # leave-one-word-out inside each sample: its own explanation
                for keep in masks:
                    kept = np.flatnonzero(keep[:used])
                    loo = np.repeat(keep[None, :], len(kept), axis=0)
                    loo[np.arange(len(kept)), kept] = False
                    rows.append(loo)
            plans.append((np.concatenate(rows, axis=0), len(masks), used))
        probs, passes = masked_many(classifier, [(ex, keep) for ex, (keep, _, _) in zip(examples, plans)],
                                    str(p["removal"]))
        convs: list[Messages] = []
        infos: list[dict[str, Any]] = []
        for ex, t, (keep, n_s, used), pr in zip(examples, targets, plans, probs):
            samples = self._samples(ex, t, keep, pr, n_s, used, names, k, strategy)
            want = max(1, min(k, len(ex.words)))
            convs.append(posthoc_messages(strategy, ex.words, names[t], names, float(pr[0, t]), samples, want))
            infos.append({"probs": prob_list(pr[0]), "samples": samples})
        replies = self._ask(backend, convs, k)
        out = []
        for i, (ex, t, (reply, named, failed, calls)) in enumerate(zip(examples, targets, replies)):
            info = {**infos[i], "answer": reply.text, "cached": reply.cached, "llm": backend.spec,
                    "strategy": strategy, "llm_calls": calls}
            n_pass = None if passes is None else passes[i]
            if named is None:
                out.append(self.finish(ex, np.zeros(len(ex.words)), t, backend, failed, n_pass,
                                       rationale=[0] * len(ex.words), **info))
                continue
            scores, matched, missing = rank_scores(ex.words, named, k)
            n_named = len(matched) + len(missing)
            out.append(self.finish(
                ex, scores, t, backend, None, n_pass, rationale=[int(s > 0) for s in scores],
                named=named, matched=matched, hallucinated=missing, n_hallucinated=len(missing),
                hallucination_rate=len(missing) / n_named if n_named else 0.0, **info))
        return out

    @staticmethod
    def _samples(ex: Example, t: int, keep: np.ndarray, probs: np.ndarray, n_samples: int,
                 used: int, names: list[str], k: int, strategy: str) -> list[dict[str, Any]]:
        """What the prompt shows of each sample. Rows: 0 the full post, 1..S the samples,
        then (``explanation``) each sample's leave-one-word-out rows, sample by sample."""
        out: list[dict[str, Any]] = []
        row = 1 + n_samples
        for j in range(1, n_samples + 1):
            mask = keep[j]
            sample: dict[str, Any] = {
                "removed": [w for w, kp in zip(ex.words, mask) if not kp],
                "text": " ".join(w for w, kp in zip(ex.words, mask) if kp),
                "p_before": float(probs[0, t]), "p": float(probs[j, t]),
                "label": names[int(np.argmax(probs[j]))],
            }
            if strategy == "explanation":
                kept = np.flatnonzero(mask[:used])
                drops = probs[j, t] - probs[row:row + len(kept), t]
                row += len(kept)
                order = kept[np.argsort(-drops, kind="stable")][:k]
                sample["top"] = [ex.words[i] for i in order]
            out.append(sample)
        return out

    def _ask(self, backend: Any, convs: list[Messages], k: int
             ) -> list[tuple[Reply, list[str] | None, str | None, int]]:
        """Ask every conversation; re-ask once for the JSON form where unparseable."""
        return ask_phrases(backend, convs, int(self.params["max_new_tokens"]), bool(self.params["retry_unparseable"]),
                           schema=posthoc_schema(k),
                           retry_message={"role": "user", "content": 'Answer again with only JSON: {"words": [...]}, '
                                                                     "each word copied exactly from the post."})
