"""``counterfactual``: an LLM makes the smallest edit that flips the classifier's label.

1. The LLM is asked for the post rewritten with as few changed words as possible so the
   classifier would no longer predict the target label (:mod:`rationales.llm.prompts`).
2. The edit is verified: the classifier (through its forward engine) scores the edited
   words. If the label did not change, the LLM is told so (with the probability it still
   has) and asked again, up to ``max_tries`` attempts in all.
3. The explanation scores the words the edit touched, from a word-level diff of the
   original and the edited words: a replaced or deleted word scores 1; a word next to
   an insertion (on either side) scores 0.5 (an inserted "not" changes the meaning at
   that place, but no original word was removed).

An edit that changes more than ``max_change`` (default half) of the words is not minimal
and says nothing about which words matter: it is rejected and the LLM is asked again.
The first attempt that flips is kept; if none flips, the attempt that lowered the
target probability most is kept with ``flipped`` False (or the explanation is marked
failed when ``require_flip`` is True). ``info`` holds the ``edited`` text, ``flipped``,
``p_before``/``p_after`` (target probability), ``probability_change`` (before − after),
``new_label``, ``words_changed`` (replaced + deleted + inserted words) and every attempt.

The edited text is split into words like the original: by the segmenter when the
original words are what the segmenter gives for their joined text, else at whitespace
(pre-tokenised datasets such as HateXplain).

``strategy="causal"`` runs the three-step pipeline of :mod:`rationales.methods._causal`
instead (concepts → the words carrying each → a rewrite of only those words, verified;
each changed word scored by its measured share of the probability drop). The default
``strategy="plain"`` is the single minimal-edit question above.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar, Sequence

import numpy as np

from ..llm.base import Messages
from ..llm.parse import ParseError, parse_edit
from ..llm.prompts import COUNTERFACTUAL_SCHEMA, counterfactual_messages, counterfactual_retry, counterfactual_too_much
from ..models.base import Classifier
from ..types import Example, Explanation
from ..words import segment
from ._causal import causal_counterfactuals, span_shares
from ._util import forward_passes
from .base import register
from .llm import LLMMethod


def split_like(original: Sequence[str], text: str) -> list[str]:
    """Split an edited text the way the original words were split."""
    if list(original) == segment(" ".join(original)):
        return segment(text)
    return text.split()


def edit_scores(original: Sequence[str], edited: list[str]) -> tuple[list[float], int]:
    """Per original word: 1 replaced/deleted, 0.5 beside an insertion; and the words changed."""
    scores = [0.0] * len(original)
    changed = 0
    ops = difflib.SequenceMatcher(a=list(original), b=edited, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op in ("replace", "delete"):
            for i in range(i1, i2):
                scores[i] = 1.0
            changed += max(i2 - i1, j2 - j1)
        elif op == "insert":
            for i in (i1 - 1, i1):
                if 0 <= i < len(original):
                    scores[i] = max(scores[i], 0.5)
            changed += j2 - j1
    return scores, changed


@register
class CounterfactualExplainer(LLMMethod):
    """An LLM edits the fewest words to flip the label; the classifier verifies the flip."""

    name = "counterfactual"
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None,
        "max_new_tokens": 128,
        "max_tries": 3,
        "require_flip": False,
        # an edit that rewrites more than this share of the words is not a minimal edit
        # (it says nothing about which words matter): it is rejected and asked again
        "max_change": 0.5,
        # plain: one minimal-edit question; causal: concepts -> their words -> a rewrite of
        # only those words (max_tries rewrites, one concept each)
        "strategy": "plain",
    }
    STRATEGIES: ClassVar[tuple[str, ...]] = ("plain", "causal")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if int(self.params["max_tries"]) < 1:
            raise ValueError(f"counterfactual: max_tries must be >= 1, got {self.params['max_tries']}")
        if not 0.0 < float(self.params["max_change"]) <= 1.0:
            raise ValueError(f"counterfactual: max_change must be in (0, 1], got {self.params['max_change']}")
        if self.params["strategy"] not in self.STRATEGIES:
            raise ValueError(f"counterfactual: strategy must be one of {', '.join(self.STRATEGIES)}, "
                             f"got {self.params['strategy']!r}")

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        backend = self.backend()
        if self.params["strategy"] == "causal":
            return self._causal(classifier, examples, targets, backend)
        names = classifier.label_names
        start = forward_passes(classifier)
        base = classifier.predict_proba(examples)
        convs: dict[int, Messages] = {
            i: counterfactual_messages(ex.words, names[t], [n for j, n in enumerate(names) if j != t])
            for i, (ex, t) in enumerate(zip(examples, targets))
        }
        attempts: list[list[dict[str, Any]]] = [[] for _ in examples]
        errors: dict[int, str] = {}
        done: set[int] = set()
        # Rounds: every unfinished post asks once per round, so the LLM calls of a round
        # run concurrently and the classifier verifies a round's edits in one request.
        for _ in range(int(self.params["max_tries"])):
            pending = [i for i in convs if i not in done and i not in errors]
            if not pending:
                break
            replies = backend.chat_many([convs[i] for i in pending], schema=COUNTERFACTUAL_SCHEMA,
                                        max_new_tokens=int(self.params["max_new_tokens"]))
            to_verify: list[tuple[int, str, str, list[str]]] = []
            for i, r in zip(pending, replies):
                if not r.ok:
                    errors[i] = f"LLM call failed: {r.error}"
                    continue
                try:
                    edited = parse_edit(r.text or "")
                except ParseError as err:
                    attempts[i].append({"answer": r.text, "error": f"unparseable answer: {err}"})
                    convs[i] = [*convs[i], {"role": "assistant", "content": r.text or ""},
                                {"role": "user", "content": 'Answer with only JSON: {"edited": "..."}'}]
                    continue
                words = split_like(examples[i].words, edited)
                if not words or words == list(examples[i].words):
                    attempts[i].append({"answer": r.text, "edited": edited, "error": "the edit changed nothing"})
                    convs[i] = counterfactual_retry(convs[i], r.text or "", names[targets[i]],
                                                    float(base[i, targets[i]]))
                    continue
                n = len(examples[i].words)
                changed = edit_scores(examples[i].words, words)[1]
                if changed > max(1, float(self.params["max_change"]) * n):
                    attempts[i].append({"answer": r.text, "edited": edited,
                                        "error": f"the edit rewrote {changed} of {n} words (max_change)"})
                    convs[i] = counterfactual_too_much(convs[i], r.text or "", changed, n)
                    continue
                to_verify.append((i, r.text or "", edited, words))
            if to_verify:
                probs = classifier.predict_proba(
                    [Example(id=f"{examples[i].id}#edit", words=tuple(w), lang=examples[i].lang)
                     for i, _, _, w in to_verify])
                for (i, answer, edited, words), p in zip(to_verify, probs):
                    t = targets[i]
                    new = int(np.argmax(p))
                    attempts[i].append({
                        "answer": answer, "edited": edited, "edited_words": words,
                        "flipped": new != t, "new_label": new, "p_after": float(p[t]),
                        "probs_after": [float(v) for v in p],
                    })
                    if new != t:
                        done.add(i)
                    else:
                        convs[i] = counterfactual_retry(convs[i], answer, names[t], float(p[t]))
        spent = forward_passes(classifier)
        # The cost is shared out evenly: the verifications of a round ran as one request.
        share = None if start is None or spent is None else (spent - start) // max(1, len(examples))
        return [self._one(ex, t, base[i], attempts[i], errors.get(i), backend, share)
                for i, (ex, t) in enumerate(zip(examples, targets))]

    def _one(self, ex: Example, t: int, probs: np.ndarray, attempts: list[dict[str, Any]],
             error: str | None, backend: Any, passes: int | None) -> Explanation:
        p_before = float(probs[t])
        common = dict(probs=[float(v) for v in probs], p_before=p_before, attempts=attempts,
                      tries=len(attempts) + (1 if error else 0), llm=backend.spec)
        verified = [a for a in attempts if "flipped" in a]
        if not verified:
            reason = error or (attempts[-1]["error"] if attempts else "no attempt was made")
            return self.finish(ex, np.zeros(len(ex.words)), t, backend,
                               f"no usable edit after {len(attempts)} tries: {reason}", passes,
                               flipped=False, **common)
        flipped = [a for a in verified if a["flipped"]]
        best = flipped[0] if flipped else min(verified, key=lambda a: a["p_after"])
        scores, changed = edit_scores(ex.words, best["edited_words"])
        failed = None
        if not best["flipped"] and self.params["require_flip"]:
            failed = f"no edit flipped the label in {len(attempts)} tries"
        return self.finish(
            ex, scores if failed is None else np.zeros(len(ex.words)), t, backend, failed, passes,
            edited=best["edited"], edited_words=best["edited_words"], flipped=bool(best["flipped"]),
            new_label=best["new_label"], p_after=best["p_after"],
            probability_change=p_before - best["p_after"], words_changed=changed,
            rationale=[1 if s > 0 else 0 for s in scores], answer=best["answer"], **common)

    def _causal(self, classifier: Classifier, examples: list[Example], targets: list[int],
                backend: Any) -> list[Explanation]:
        start = forward_passes(classifier)
        recs = causal_counterfactuals(classifier, examples, targets, backend, int(self.params["max_tries"]),
                                      int(self.params["max_new_tokens"]), split_like)
        spent = forward_passes(classifier)
        share = None if start is None or spent is None else (spent - start) // max(1, len(examples))
        out = []
        for ex, t, rec in zip(examples, targets, recs):
            best = rec.pop("best", None)
            failed = rec.pop("failed", None)
            common = dict(llm=backend.spec, strategy="causal", tries=len(rec["attempts"]), **rec)
            if best is None or failed is not None:
                out.append(self.finish(ex, np.zeros(len(ex.words)), t, backend, failed, share,
                                       flipped=False, **common))
                continue
            drop = rec["p_before"] - best["p_after"]
            spans = [tuple(s) for s in best["spans"]]
            shares, how = span_shares(drop, best["undo"])
            scores = np.zeros(len(ex.words))
            if drop > 0:
                for (a, b), sh in zip(spans, shares):
                    scores[a:b] = drop * sh / (b - a)
            failed = None
            if not best["flipped"] and self.params["require_flip"]:
                failed = f"no rewrite flipped the label in {len(rec['attempts'])} tries"
                scores = np.zeros(len(ex.words))
            out.append(self.finish(
                ex, scores, t, backend, failed, share, concept=best["concept"],
                changed_words=best["changed_words"], edited=" ".join(best["edited_words"]),
                edited_words=best["edited_words"], flipped=bool(best["flipped"]), new_label=best["new_label"],
                p_after=best["p_after"], probability_change=drop, words_changed=best["words_changed"],
                shares=[{"words": list(ex.words[a:b]), "start": a, "undo": u, "share": sh}
                        for (a, b), u, sh in zip(spans, best["undo"], shares)],
                share_method=how, rationale=[1 if s > 0 else 0 for s in scores], **common))
        return out
