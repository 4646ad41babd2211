"""``nle``: a one- or two-sentence explanation in words, written *from* a method's highlight.

G-Tex's idea: free-text explanations read well but are often unfaithful, highlights are
measurably faithful, so the text is generated from the highlight and then checked
against it.

1. The source method (``from``, default ``ngram``, with ``from_params``) explains the
   post through the normal request path (:func:`~rationales.methods.request.check_request`);
   its top-``k`` words (:func:`highlight`: best first, ties to the earlier word) that score
   above 0 (speak for the target) are the highlight, given to the LLM best first.
2. The LLM gets the post (delimited, declared to be data), the classifier's label and the
   highlighted words, and writes the explanation in the post's language, answering
   ``{"explanation": "...", "words": [...]}`` (``words``: the words of the post the text
   relies on, copied from the post; a backend that can constrain decoding is held to
   the schema; prompt and parser: :mod:`rationales.llm.nle_prompts`). An answer without
   a non-empty explanation is asked again once for the JSON form, then recorded as a failure.
3. Faithfulness of the text, in ``info`` (and as registered metrics,
   :mod:`rationales.evaluation.nle`):

   - ``named``: the listed words mapped to the post (:func:`~rationales.llm.phrases.map_phrases`);
     listed words that are not in the post are removed from the named set and counted
     (``named_not_in_post``, ``not_in_post_rate`` = not in the post / listed), so the named
     set holds no word outside the post by construction;
   - ``highlight_coverage``: highlighted words (positions) the text names / highlighted words
     (None when nothing scored above 0);
   - ``probability_drop``: p(target | post) − p(target | post without the named words),
     through the classifier's engine (``removal``); 0 when the text names no word of the post;
   - ``highlight_drop``: the same for the highlighted words (the highlight's
     comprehensiveness), to read ``probability_drop`` against;
   - ``listed_in_text``: share of the named words that the sentence itself contains (a
     word listed but never written is a claim the text does not make).

Scores are the source method's scores, unchanged, so the highlight and the text agree;
``info["rationale"]`` is the highlight (the page marks it), ``info["nle"]`` the text.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import ParameterError
from ..llm.base import LLMBackend, Messages, Reply
from ..llm.nle_prompts import NLE_RETRY, NLE_SCHEMA, in_text, nle_messages, parse_nle
from ..llm.parse import ParseError
from ..llm.phrases import map_phrases
from ..llm.prompts import prompt_lang
from ..models.base import Classifier, check_removal
from ..types import Example, Explanation
from ..words import detect_lang
from ._util import forward_passes, masked_many
from .base import register
from .llm import LLMMethod
from .registry import EXPLAINERS


def highlight(exp: Explanation, k: int) -> list[int]:
    """The positions of the k best-scored words that speak for the target (score above 0),
    best first (ties: the earlier word first)."""
    return [j for j in exp.ranking()[:k] if exp.scores[j] > 0]


@register
class NLEExplainer(LLMMethod):
    """A sentence in the post's language, written by an LLM from another method's top-k words."""

    name = "nle"
    defaults: ClassVar[dict[str, Any]] = {
        "llm": None,
        "from": "ngram",  # the method whose highlight the text is written from
        "from_params": {},  # that method's parameters
        "k": 5,  # highlighted words given to the LLM
        "lang": None,  # language of the text; None = the example's lang, or its script
        "removal": "delete",  # how the probability drops remove words
        "max_new_tokens": 160,
        "retry_unparseable": True,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        source = self.params["from"]
        if source == self.name or source not in EXPLAINERS:
            raise ParameterError(f"nle: 'from' must name another registered explainer, got {source!r}; "
                                 f"e.g. 'ngram', 'lime' or 'occlusion'")
        if not isinstance(self.params["from_params"], dict):
            raise ParameterError(f"nle: 'from_params' must be a mapping of the {source!r} explainer's "
                                 f"parameters, got {self.params['from_params']!r}")
        check_removal(self.params["removal"])
        k = self.params["k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ParameterError(f"nle: k (highlighted words) must be an integer >= 1, got {k!r}")

    def json_params(self, backend: LLMBackend) -> dict[str, Any]:
        # a backend object given to the source method is recorded by its spec, too
        params = super().json_params(backend)
        given = dict(params["from_params"])
        if given.get("llm") is not None and not isinstance(given["llm"], str):
            given["llm"] = getattr(given["llm"], "spec", repr(given["llm"]))
        return {**params, "from_params": given}

    def source(self, classifier: Classifier, backend: LLMBackend) -> Any:
        """The source explainer, checked like any request (its needs, its parameters)."""
        from .request import check_request

        src, p = self.params["from"], dict(self.params["from_params"])
        if EXPLAINERS.get(src).needs_llm and p.get("llm") is None:
            p["llm"] = backend  # an LLM source uses nle's backend unless told otherwise
        return check_request(classifier, [src], {src: p}).explainers[0]

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        backend = self.backend()
        before = forward_passes(classifier)
        sources = self.source(classifier, backend).explain_batch(classifier, examples, targets)
        k = int(self.params["k"])
        highs = [highlight(s, k) for s in sources]
        langs = [self.params["lang"] or ex.lang or detect_lang(ex.words) for ex in examples]
        todo = [i for i, s in enumerate(sources) if s.failed is None]
        convs = {i: nle_messages(examples[i].words, classifier.label_names[targets[i]],
                                 [examples[i].words[j] for j in highs[i]], langs[i]) for i in todo}
        answers = self.ask(backend, convs)
        probs = classifier.predict_proba(examples)
        out: list[Explanation] = []
        named_masks: dict[int, np.ndarray] = {}
        parsed: dict[int, tuple[str, list[str], Reply]] = {}
        for i in todo:
            reply, result = answers[i]
            if isinstance(result, tuple):
                parsed[i] = (*result, reply)
                named_masks[i] = np.asarray(map_phrases(examples[i].words, result[1]).mask, dtype=bool)
        requests = []
        for i in parsed:
            n = len(examples[i].words)
            high = np.zeros(n, dtype=bool)
            high[highs[i]] = True
            requests.append((examples[i], np.stack([~named_masks[i], ~high])))
        rows, _ = masked_many(classifier, requests, str(self.params["removal"])) if requests else ([], None)
        dropped = dict(zip(parsed, rows))
        after = forward_passes(classifier)
        share = None if before is None or after is None else (after - before) // max(1, len(examples))
        for i, (ex, t, src) in enumerate(zip(examples, targets, sources)):
            common: dict[str, Any] = dict(probs=[float(v) for v in probs[i]], llm=backend.spec,
                                          **{"from": self.params["from"]}, k=k,
                                          highlight=[ex.words[j] for j in highs[i]], prompt_lang=prompt_lang(langs[i]))
            zeros = np.zeros(len(ex.words))
            if src.failed is not None:
                out.append(self.finish(ex, zeros, t, backend, f"the source method {self.params['from']!r} failed: "
                                       f"{src.failed}", share, **common))
                continue
            reply, result = answers[i]
            common["answer"] = reply.text
            if i not in parsed:
                out.append(self.finish(ex, zeros, t, backend, str(result), share, **common))
                continue
            text, listed, _ = parsed[i]
            out.append(self.finish(ex, src.scores, t, backend, None, share, nle=text,
                                   **self.faithfulness(ex, t, text, highs[i], listed, probs[i], dropped[i]),
                                   **common))
        return out

    def ask(self, backend: LLMBackend, convs: dict[int, Messages]) -> dict[int, tuple[Reply, Any]]:
        """Each conversation's last reply and its parse (text, words), or the failure reason."""
        ids = list(convs)
        max_new = int(self.params["max_new_tokens"])
        out: dict[int, tuple[Reply, Any]] = {}
        for i, r in zip(ids, backend.chat_many([convs[i] for i in ids], max_new_tokens=max_new, schema=NLE_SCHEMA)):
            out[i] = (r, self._read(r, "LLM call failed"))
        again = [i for i in ids if out[i][0].ok and not isinstance(out[i][1], tuple)]
        if again and self.params["retry_unparseable"]:
            follow = [[*convs[i], {"role": "assistant", "content": out[i][0].text or ""},
                       {"role": "user", "content": NLE_RETRY}] for i in again]
            for i, r in zip(again, backend.chat_many(follow, max_new_tokens=max_new, schema=NLE_SCHEMA)):
                out[i] = (r, self._read(r, "LLM call failed on the re-ask", " (asked twice)"))
        return out

    @staticmethod
    def _read(reply: Reply, call_failed: str, twice: str = "") -> Any:
        if not reply.ok:
            return f"{call_failed}: {reply.error}"
        try:
            return parse_nle(reply.text or "")
        except ParseError as err:
            return f"unparseable answer{twice}: {err}"

    @staticmethod
    def faithfulness(ex: Example, target: int, text: str, high: list[int], listed: list[str],
                     full: np.ndarray, dropped: np.ndarray) -> dict[str, Any]:
        """What the text names, against the highlight and against the classifier."""
        m = map_phrases(ex.words, listed)
        named = [j for j, v in enumerate(m.mask) if v]
        covered = sum(1 for j in high if m.mask[j])
        p = float(full[target])
        return dict(
            rationale=[1 if j in set(high) else 0 for j in range(len(ex.words))],
            listed=list(listed), named=list(m.matched), named_mask=list(m.mask),
            named_words=[ex.words[j] for j in named],
            named_not_in_post=list(m.unmatched), n_named_not_in_post=len(m.unmatched),
            not_in_post_rate=m.hallucination_rate,
            highlight_coverage=covered / len(high) if high else None,
            listed_in_text=sum(in_text(w, text) for w in m.matched) / len(m.matched) if m.matched else None,
            p_full=p, p_without_named=float(dropped[0][target]) if named else p,
            probability_drop=p - float(dropped[0][target]) if named else 0.0,
            highlight_drop=p - float(dropped[1][target]) if high else 0.0,
        )
