"""``cf_match``: the nearest real post the classifier labels otherwise, and the words that differ.

The cheap alternative to an LLM-written counterfactual ("Faithful explanations via
LLM-generated counterfactuals" matches each text to its nearest real text with the other
concept in an embedding space). No LLM at explain time:

1. **Pool.** ``pool`` is a dataset spec (``"hatexplain:validation"``, a .jsonl/.csv path)
   or a list of texts; ``pool_limit`` keeps its first N posts. The classifier predicts
   every pool post once (through its engine); the predictions are kept in memory per
   classifier and pool.
2. **Embedding space.** Posts are embedded with a shipped encoder's mean-pooled,
   L2-normalised last hidden states: ``backbone="minilm-en"`` (all-MiniLM-L6-v2, the
   sentence-transformers recipe) or ``"e5-multilingual"`` (multilingual-e5-small, inputs
   prefixed ``"query: "``). Pool embeddings are cached in memory and on disk
   (``<cache>/cf_match/BACKBONE-SHA1.npy``, the hash over the pool's texts), so a pool is
   embedded once per machine.
3. **Match.** Among pool posts whose predicted label is not the explained target (and
   whose words are not the post's own), the one with the highest cosine similarity
   (``info["match"]["rule"] = "other label"``). A pool in which the classifier labels
   every post with the target (a weak or degenerate model) falls back to the posts with a
   lower p(target) than the explained post (``"lower p(target)"``), and when there are none
   of those either, to every other pool post (``"nearest"``: then the match is no
   counterfactual, and ``rule`` says so). A pool holding no other post → ``failed``.
4. **Scores.** A word of the post that does not appear in the match scores its inverse
   document frequency in the pool, ``idf(w) = ln((1 + N) / (1 + df(w))) + 1`` (N pool
   posts, df(w) posts containing w; scikit-learn's smoothed idf), divided by the largest
   idf of any word of the post; a word that appears in the match, or has no letters or
   digits (punctuation), scores 0. Words are compared case-folded, NFC, with punctuation
   and zero-width joiners removed (the phrase mapper's normal form). So the words the match
   lacks score, rare ones (content) above common ones (function words).

``info``: ``match`` (id, text, label, similarity), ``candidates`` (pool posts of another
label), ``pool_size``, ``backbone``, ``probs``.
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from ..errors import ParameterError
from ..llm.phrases import pieces
from ..models.base import Classifier
from ..types import Example, Explanation
from ..words import segment
from ._util import forward_passes, prob_list
from .base import Explainer, register

BACKBONES = ("minilm-en", "e5-multilingual")
_ENCODERS: dict[str, tuple[Any, Any, str]] = {}
_EMBEDDED: dict[tuple[str, str], np.ndarray] = {}
_POOLS: dict[tuple[str, int | None], list[Example]] = {}
_PREDICTED: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


def word_key(word: str) -> str:
    """A word's normal form for comparing posts ('' for punctuation)."""
    return "".join(pieces(word))


def encoder(backbone: str) -> tuple[Any, Any, str]:
    """(model, tokenizer, prefix) of a shipped sentence encoder, loaded once per process."""
    if backbone not in _ENCODERS:
        if backbone == "minilm-en":
            from transformers import AutoModel, AutoTokenizer

            from ..models.backbones import minilm_path
            from ..models.transformer import quiet_transformers

            quiet_transformers()
            path = str(minilm_path())
            _ENCODERS[backbone] = (AutoModel.from_pretrained(path, local_files_only=True).eval(),
                                   AutoTokenizer.from_pretrained(path, local_files_only=True), "")
        else:
            from ..models.e5 import e5_encoder

            model, tok = e5_encoder()
            _ENCODERS[backbone] = (model, tok, "query: ")
    return _ENCODERS[backbone]


def embed(backbone: str, texts: Sequence[str], batch: int = 64) -> np.ndarray:
    """L2-normalised mean-pooled embeddings, one row per text."""
    from ..models.e5 import mean_pooled

    model, tok, prefix = encoder(backbone)
    rows = [mean_pooled(model, tok, list(texts[i:i + batch]), prefix=prefix) for i in range(0, len(texts), batch)]
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, 1), dtype=np.float32)


def pool_embeddings(backbone: str, texts: Sequence[str]) -> np.ndarray:
    """The pool's embeddings, from memory, the disk cache, or computed (then cached)."""
    from ..models.e5 import cache_root

    digest = hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()
    key = (backbone, digest)
    if key not in _EMBEDDED:
        path = Path(cache_root()) / "cf_match" / f"{backbone}-{digest}.npy"
        if path.is_file():
            _EMBEDDED[key] = np.load(path)
        else:
            emb = embed(backbone, texts)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, emb)
            tmp.replace(path)
            _EMBEDDED[key] = emb
    return _EMBEDDED[key]


def load_pool(pool: str | Sequence[str], limit: int | None) -> list[Example]:
    """The pool's posts: a dataset spec (loaded once per process) or a list of texts."""
    if isinstance(pool, str):
        key = (pool, limit)
        if key not in _POOLS:
            from ..data import load_spec

            ds = load_spec(pool)
            exs = [ex for ex in ds if ex.words]
            _POOLS[key] = exs[:limit] if limit else exs
        return _POOLS[key]
    exs = [Example(id=f"pool-{i}", words=tuple(segment(str(t)))) for i, t in enumerate(pool)]
    exs = [ex for ex in exs if ex.words]
    return exs[:limit] if limit else exs


def idf_table(pool: Sequence[Example]) -> tuple[dict[str, float], float]:
    """Smoothed idf per word key over the pool, and the idf of a word the pool lacks."""
    df = Counter(k for ex in pool for k in {word_key(w) for w in ex.words} if k)
    n = len(pool)
    return {k: math.log((1 + n) / (1 + d)) + 1 for k, d in df.items()}, math.log(1 + n) + 1


def difference_scores(words: Sequence[str], match: Sequence[str], idf: dict[str, float],
                      unseen: float) -> np.ndarray:
    """Per word: idf / the post's largest idf when the match lacks it, else 0 (see the module docstring)."""
    keys = [word_key(w) for w in words]
    weights = np.array([idf.get(k, unseen) if k else 0.0 for k in keys], dtype=np.float64)
    present = {word_key(w) for w in match}
    top = float(weights.max()) if len(weights) else 0.0
    scores = np.array([w if k and k not in present else 0.0 for k, w in zip(keys, weights)], dtype=np.float64)
    return scores / top if top > 0 else scores


@register
class CfMatchExplainer(Explainer):
    """The nearest real post of another predicted label (sentence embeddings); the words it lacks score."""

    name = "cf_match"
    defaults: ClassVar[dict[str, Any]] = {
        "pool": None,  # a dataset spec ("hatexplain:validation") or a list of texts
        "pool_limit": None,  # only the pool's first N posts
        "backbone": "minilm-en",  # minilm-en | e5-multilingual: the embedding space
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        pool = self.params["pool"]
        if pool is None or (not isinstance(pool, str) and not isinstance(pool, (list, tuple))):
            raise ParameterError("cf_match needs pool=: a dataset spec such as 'hatexplain:validation' (posts to "
                                 f"match against) or a list of texts, got {pool!r}")
        if isinstance(pool, (list, tuple)) and not all(isinstance(t, str) for t in pool):
            raise ParameterError("cf_match: pool must be a dataset spec or a list of texts (strings)")
        if self.params["backbone"] not in BACKBONES:
            raise ParameterError(f"cf_match: backbone must be one of {', '.join(BACKBONES)}, "
                                 f"got {self.params['backbone']!r}")
        limit = self.params["pool_limit"]
        if limit is not None and int(limit) < 1:
            raise ParameterError(f"cf_match: pool_limit must be >= 1 or None, got {limit}")
        if isinstance(pool, tuple):
            self.params["pool"] = list(pool)

    def _pool(self, classifier: Classifier) -> tuple[list[Example], np.ndarray, np.ndarray, dict[str, float], float]:
        limit = None if self.params["pool_limit"] is None else int(self.params["pool_limit"])
        pool = load_pool(self.params["pool"], limit)
        if not pool:
            raise ParameterError(f"cf_match: the pool {self.params['pool']!r} holds no post with words")
        texts = [" ".join(ex.words) for ex in pool]
        emb = pool_embeddings(str(self.params["backbone"]), texts)
        key = hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()
        try:
            cached = _PREDICTED.setdefault(classifier, {})
        except TypeError:  # a classifier that cannot be weakly referenced: no memory cache
            cached = {}
        if key not in cached:
            cached[key] = np.asarray(classifier.predict_proba(pool))
        return pool, emb, cached[key], *idf_table(pool)

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        # The pool's predictions are not any one post's cost: forward_passes counts the
        # post's own (its prediction), the pool's are counted once, by the engine.
        state = self._pool(classifier)
        out = []
        for ex, t in zip(examples, targets):
            before = forward_passes(classifier)
            exp = self._match(classifier, ex, t, state)
            after = forward_passes(classifier)
            out.append(exp if before is None or after is None else exp.with_info(forward_passes=after - before))
        return out

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        return self.explain_batch(classifier, [example], [target])[0]

    def _match(self, classifier: Classifier, example: Example, target: int, state: tuple) -> Explanation:
        pool, emb, pool_probs, idf, unseen = state
        probs = prob_list(classifier.predict_proba([example])[0])
        names = classifier.label_names
        labels = np.argmax(pool_probs, axis=1)
        other = np.array([ex.words != example.words for ex in pool])
        rule = "other label"
        candidates = np.flatnonzero((labels != target) & other)
        if not len(candidates):
            rule = "lower p(target)"
            candidates = np.flatnonzero((pool_probs[:, target] < probs[target]) & other)
        if not len(candidates):
            rule = "nearest"
            candidates = np.flatnonzero(other)
        info: dict[str, Any] = {"probs": probs, "pool_size": len(pool), "candidates": int(len(candidates)),
                                "backbone": self.params["backbone"]}
        if not len(candidates):
            return replace(self.make(example, np.zeros(len(example.words)), target, **info),
                           failed="the pool holds no post other than this one; use a larger pool")
        query = embed(str(self.params["backbone"]), [" ".join(example.words)])[0]
        sims = emb[candidates] @ query
        best = int(candidates[int(np.argmax(sims))])
        match = pool[best]
        scores = difference_scores(example.words, match.words, idf, unseen)
        info["match"] = {"id": match.id, "text": " ".join(match.words), "label": names[int(labels[best])],
                         "label_id": int(labels[best]), "similarity": float(np.max(sims)), "rule": rule,
                         "p_target": float(pool_probs[best, target])}
        info["rationale"] = [int(s > 0) for s in scores]
        return self.make(example, scores, target, **info)

