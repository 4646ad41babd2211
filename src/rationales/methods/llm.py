"""``llm``: an LLM names the words or phrases of the post that justify the label.

The prompt (English, Hindi, Telugu, or a default for other languages; chosen from the
example's ``lang`` or its script) gives the post, delimited and declared to be data, asks
for the hateful or offensive words and phrases as ``{"rationale": [...]}`` and shows three
worked examples (:mod:`rationales.llm.prompts`). A backend that can constrain decoding is
held to that JSON schema. The answer is parsed leniently (:mod:`rationales.llm.parse`); an unparseable answer is
asked again once for the JSON form. Phrases map back to every occurrence in the post
(:mod:`rationales.llm.phrases`); phrases not in the post are dropped and counted.

Scores: 1 for every word the LLM named, 0 otherwise. ``info`` keeps the hard
``rationale`` (the same 0/1 mask), the raw ``answer``, the ``phrases`` as parsed, the
``hallucinated`` ones and the ``hallucination_rate``. A post whose LLM call failed after
the backend's retries, or whose answer stays unparseable, gets an explanation with
``failed`` set to the reason and zero scores; the rest of the batch goes on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from ..llm.backends import get_backend
from ..llm.base import LLMBackend, Messages, Reply
from ..llm.parse import ParseError, parse_phrases
from ..llm.phrases import map_phrases
from ..llm.prompts import RATIONALE_SCHEMA, json_retry_message, prompt_lang, rationale_messages
from ..models.base import Classifier
from ..types import Example, Explanation
from ..words import detect_lang
from ._util import forward_passes, prob_list
from .base import Explainer, register


class LLMMethod(Explainer):
    """Shared by the LLM explainers: the backend from ``llm`` and JSON-safe params."""

    needs_llm = True

    def backend(self) -> LLMBackend:
        return get_backend(self.params["llm"])

    def json_params(self, backend: LLMBackend) -> dict[str, Any]:
        # An LLM object is recorded by its spec string, so params stay JSON-serialisable.
        return {**self.params, "llm": backend.spec}

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        return self.explain_batch(classifier, [example], [target])[0]

    @staticmethod
    def predict_with_cost(classifier: Classifier, example: Example) -> tuple[list[float], int | None]:
        """The classifier's probabilities for the example and the forward passes they cost."""
        before = forward_passes(classifier)
        probs = prob_list(classifier.predict_proba([example])[0])
        after = forward_passes(classifier)
        return probs, (after - before if before is not None and after is not None else None)

    def finish(self, example: Example, scores: Any, target: int, backend: LLMBackend,
               failed: str | None = None, passes: int | None = None, **info: Any) -> Explanation:
        if passes is not None:
            info["forward_passes"] = passes
        exp = self.make(example, scores, target, **info)
        return replace(exp, params=self.json_params(backend), failed=failed)


def ask_phrases(backend: LLMBackend, conversations: list[Messages], max_new_tokens: int,
                retry: bool, *, schema: dict[str, Any] | None = None,
                retry_message: dict[str, str] | None = None,
                ) -> list[tuple[Reply, list[str] | None, str | None, int]]:
    """Ask every conversation; re-ask once for the JSON form where the answer was unparseable.

    ``schema``: the answer's JSON schema (default :data:`RATIONALE_SCHEMA`);
    ``retry_message``: the re-ask (default :func:`json_retry_message`). Returns per
    conversation: the last reply, the parsed phrases (None on failure), the failure
    reason, and how many LLM calls it took.
    """
    schema = RATIONALE_SCHEMA if schema is None else schema
    replies = backend.chat_many(conversations, max_new_tokens=max_new_tokens, schema=schema)
    out: list[tuple[Reply, list[str] | None, str | None, int]] = []
    again: list[int] = []
    for i, r in enumerate(replies):
        if not r.ok:
            out.append((r, None, f"LLM call failed: {r.error}", 1))
            continue
        try:
            out.append((r, parse_phrases(r.text or ""), None, 1))
        except ParseError as err:
            out.append((r, None, f"unparseable answer: {err}", 1))
            again.append(i)
    if retry and again:
        follow = [[*conversations[i], {"role": "assistant", "content": replies[i].text or ""},
                   retry_message or json_retry_message()] for i in again]
        for i, r in zip(again, backend.chat_many(follow, max_new_tokens=max_new_tokens, schema=schema)):
            if not r.ok:
                out[i] = (r, None, f"LLM call failed on the re-ask: {r.error}", 2)
                continue
            try:
                out[i] = (r, parse_phrases(r.text or ""), None, 2)
            except ParseError as err:
                out[i] = (r, None, f"unparseable answer (asked twice): {err}", 2)
    return out


@register
class LLMExplainer(LLMMethod):
    """An LLM names the words/phrases that justify the label; they map back to word positions."""

    name = "llm"
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None,  # a backend object or spec string; None = the best installed LLM
        "lang": None,  # prompt language; None = the example's lang, or its script
        "prompt": "fewshot",  # fewshot | fewshot-label | zeroshot (llm/prompts.py)
        "max_new_tokens": 128,
        "retry_unparseable": True,
    }

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        backend = self.backend()
        langs = [prompt_lang(self.params["lang"] or ex.lang or detect_lang(ex.words)) for ex in examples]
        convs = [rationale_messages(ex.words, classifier.label_names[t], lang, str(self.params["prompt"]))
                 for ex, t, lang in zip(examples, targets, langs)]
        answers = ask_phrases(backend, convs, int(self.params["max_new_tokens"]),
                              bool(self.params["retry_unparseable"]))
        out = []
        for ex, t, lang, (reply, phrases, failed) in zip(
                examples, targets, langs, ((a, p, f) for a, p, f, _ in answers)):
            probs, passes = self.predict_with_cost(classifier, ex)
            common = dict(probs=probs, answer=reply.text, cached=reply.cached,
                          llm=backend.spec, prompt_lang=lang)
            if phrases is None:
                out.append(self.finish(ex, np.zeros(len(ex.words)), t, backend, failed, passes,
                                       rationale=[0] * len(ex.words), **common))
                continue
            m = map_phrases(ex.words, phrases)
            out.append(self.finish(
                ex, m.mask, t, backend, None, passes,
                rationale=list(m.mask), phrases=phrases, matched=list(m.matched),
                hallucinated=list(m.unmatched), n_hallucinated=len(m.unmatched),
                hallucination_rate=m.hallucination_rate, **common))
        return out
