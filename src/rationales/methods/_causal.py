"""The causal counterfactual of ``counterfactual(strategy="causal")``: concepts, their words, a
rewrite of only those words, verified through the classifier's engine.

Three LLM calls per post (after "Towards LLM-guided causal explainability" and "Faithful
explanations via LLM-generated counterfactuals"):

1. **concepts**: the high-level concepts of the post that could carry the target label
   (at most 3, most important first; :data:`~rationales.llm.prompts.CONCEPTS_SCHEMA`);
2. **words**: the words of the post that express each concept
   (:data:`~rationales.llm.prompts.CARRIERS_SCHEMA`), mapped to positions by the phrase
   mapper; named words not in the post are dropped and counted, a concept left without
   words is dropped;
3. **rewrite**: replacements for only the words of one concept (the first with words):
   ``{"replacements": [{"word", "new"}]}``. The edit is built here, not by the LLM: each
   replacement whose ``word`` is one of the concept's words replaces that word at every
   position it was found; a replacement for any other word is ignored and counted
   (``ignored``). So nothing outside the concept changes, by construction.

The edited post is verified through the engine. If the label did not change, step 3 is
asked for the next concept, up to ``max_tries`` rewrites in all. The first rewrite that
flips is kept, else the one that lowered p(target) most.

**Per-word score: each changed word's share of the verified probability drop**, measured
by restoring one replaced span at a time: with ``drop = p_before - p_after`` (p of the
target on the post and on the edit) and, for span j, ``undo_j = p(edit with span j
restored) - p_after``, the span's share is ``max(undo_j, 0) / sum_i max(undo_i, 0)``
(``share_method="restore"``); when no restore raises p (the words only act together), the
drop is split equally over the spans (``share_method="equal"``). Each word of span j scores
``drop * share_j / len(span_j)``. A rewrite that did not lower p(target) scores 0 everywhere.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from ..llm.base import LLMBackend, Reply
from ..llm.parse import ParseError, parse_phrases
from ..llm.phrases import map_phrases, pieces
from ..llm.prompts import (
    CARRIERS_SCHEMA,
    CONCEPTS_SCHEMA,
    REPLACEMENTS_SCHEMA,
    causal_concepts_messages,
    causal_rewrite_messages,
    causal_words_messages,
)
from ..models.base import Classifier
from ..types import Example

Span = tuple[int, int]


def _json_object(answer: str) -> Any:
    """The outermost JSON object or list of an answer (code fences and prose around it allowed)."""
    if not answer or not answer.strip():
        raise ParseError("the LLM gave an empty answer")
    starts = [i for i in (answer.find("{"), answer.find("[")) if i != -1]
    if not starts:
        raise ParseError(f"no JSON in the answer {answer[:120]!r}")
    start = min(starts)
    end = answer.rfind("}" if answer[start] == "{" else "]")
    try:
        return json.loads(answer[start:end + 1])
    except ValueError as err:
        raise ParseError(f"no valid JSON in the answer {answer[:120]!r}: {err}") from None


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    return []


def parse_carriers(answer: str, concepts: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Step 2's answer: (concept, words) pairs. Accepts ``{"concepts": [{"concept", "words"}]}``,
    a list of word lists aligned with ``concepts``, ``{concept: [words]}``, or one flat word
    list (taken as the first concept's)."""
    value = _json_object(answer)
    if isinstance(value, dict) and "concepts" in value:
        value = value["concepts"]
    out: list[tuple[str, list[str]]] = []
    if isinstance(value, dict):
        out = [(str(c), _str_list(w)) for c, w in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            name = v.get("concept") or v.get("name") or (concepts[i] if i < len(concepts) else f"concept {i + 1}")
            named: Any = next((v[key] for key in ("words", "carriers", "phrases") if key in v), [])
            out.append((str(name), _str_list(named)))
    elif isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        out = [(concepts[i] if i < len(concepts) else f"concept {i + 1}", _str_list(v)) for i, v in enumerate(value)]
    elif isinstance(value, list):
        out = [(concepts[0] if concepts else "concept 1", _str_list(value))]
    if not any(words for _, words in out):
        raise ParseError(f"no words for any concept in the answer {answer[:120]!r}")
    return out


_OLD = ("word", "old", "from", "original")
_NEW = ("new", "replacement", "to", "with")


def parse_replacements(answer: str) -> list[tuple[str, str]]:
    """Step 3's answer: (word, new) pairs from ``{"replacements": [{"word", "new"}]}`` or ``{word: new}``."""
    value = _json_object(answer)
    if isinstance(value, dict) and "replacements" in value:
        value = value["replacements"]
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        pairs = [(str(k), str(v)) for k, v in value.items() if isinstance(v, str)]
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                old = next((item[k] for k in _OLD if isinstance(item.get(k), str)), None)
                new = next((item[k] for k in _NEW if isinstance(item.get(k), str)), None)
                if old is not None and new is not None:
                    pairs.append((old, new))
    pairs = [(o.strip(), n.strip()) for o, n in pairs if o.strip()]
    if not pairs:
        raise ParseError(f"no replacements in the answer {answer[:120]!r}")
    return pairs


def apply_replacements(words: Sequence[str], carriers: dict[str, list[Span]],
                       pairs: Sequence[tuple[str, str]], split: Any
                       ) -> tuple[list[str], dict[Span, list[str]], list[str], int]:
    """The edited words; what each replaced span (original positions) became; the ignored
    replacements; and the words changed (``max(len(old span), len(new words))`` summed)."""
    by_key = {tuple(pieces(c)): spans for c, spans in carriers.items()}
    new_at: dict[Span, list[str]] = {}
    ignored: list[str] = []
    for old, new in pairs:
        spans = by_key.get(tuple(pieces(old)))
        new_words = split(words, new) if new else []
        if spans is None or [w.casefold() for w in new_words] == [w.casefold() for w in words[spans[0][0]:spans[0][1]]]:
            ignored.append(old)
            continue
        for span in spans:
            if not any(a < span[1] and span[0] < b for a, b in new_at):  # overlapping: first wins
                new_at[span] = new_words
    edited: list[str] = []
    changed, i = 0, 0
    starts = {a: (a, b) for a, b in new_at}
    while i < len(words):
        if i in starts:
            span = starts[i]
            edited += new_at[span]
            changed += max(span[1] - span[0], len(new_at[span]))
            i = span[1]
        else:
            edited.append(words[i])
            i += 1
    return edited, new_at, ignored, changed


def restored(words: Sequence[str], spans: Sequence[Span], new_at: dict[Span, list[str]], keep: Span) -> list[str]:
    """The edit with span ``keep`` put back as it was in the original."""
    out: list[str] = []
    i = 0
    starts = {a: (a, b) for a, b in spans}
    while i < len(words):
        if i in starts:
            span = starts[i]
            out += list(words[span[0]:span[1]]) if span == keep else new_at[span]
            i = span[1]
        else:
            out.append(words[i])
            i += 1
    return out


def span_shares(drop: float, undos: Sequence[float]) -> tuple[list[float], str]:
    """Each span's share of the drop (see the module docstring) and how it was computed."""
    pos = [max(0.0, u) for u in undos]
    if sum(pos) > 0:
        return [u / sum(pos) for u in pos], "restore"
    return [1.0 / len(undos)] * len(undos), "equal"


def _ask(backend: LLMBackend, convs: list[Any], schema: dict, max_new: int) -> list[Reply]:
    return backend.chat_many(convs, schema=schema, max_new_tokens=max_new) if convs else []


def _parsed(reply: Reply, parse: Callable[[str], Any]) -> tuple[Any, str | None]:
    """``parse`` of the reply's text, or None and why not (the call failed, or the answer
    does not parse)."""
    if not reply.ok:
        return None, f"LLM call failed: {reply.error}"
    try:
        return parse(reply.text or ""), None
    except ParseError as err:
        return None, f"unparseable answer: {err}"


def causal_counterfactuals(classifier: Classifier, examples: list[Example], targets: list[int],
                           backend: LLMBackend, max_tries: int, max_new: int, split: Any
                           ) -> list[dict[str, Any]]:
    """Run the three steps for every post; one record per post (``failed`` set on failure)."""
    names = classifier.label_names
    base = classifier.predict_proba(examples)
    recs: list[dict[str, Any]] = [{"probs": [float(v) for v in base[i]], "p_before": float(base[i, t]),
                                   "attempts": [], "llm_calls": 0, "steps": []}
                                  for i, t in enumerate(targets)]

    def fail(i: int, why: str) -> None:
        recs[i].setdefault("failed", why)

    # 1. concepts
    todo = list(range(len(examples)))
    replies = _ask(backend, [causal_concepts_messages(examples[i].words, names[targets[i]]) for i in todo],
                   CONCEPTS_SCHEMA, max_new)
    for i, r in zip(todo, replies):
        recs[i]["llm_calls"] += 1
        recs[i]["steps"].append("concepts")
        recs[i]["concepts_answer"] = r.text
        concepts, why = _parsed(r, parse_phrases)
        if why is not None:
            fail(i, f"step 1 (concepts): {why}")
            continue
        recs[i]["concepts"] = concepts[:3]
        if not recs[i]["concepts"]:
            fail(i, "step 1 (concepts): the LLM named no concept")
    # 2. the words of each concept
    todo = [i for i in range(len(examples)) if "failed" not in recs[i]]
    replies = _ask(backend, [causal_words_messages(examples[i].words, recs[i]["concepts"]) for i in todo],
                   CARRIERS_SCHEMA, max_new)
    for i, r in zip(todo, replies):
        recs[i]["llm_calls"] += 1
        recs[i]["steps"].append("words")
        recs[i]["words_answer"] = r.text
        pairs, why = _parsed(r, partial(parse_carriers, concepts=recs[i]["concepts"]))
        if why is not None:
            fail(i, f"step 2 (words): {why}")
            continue
        carriers: list[tuple[str, dict[str, list[Span]]]] = []
        missing: list[str] = []
        for concept, named in pairs:
            m = map_phrases(examples[i].words, named)
            missing += list(m.unmatched)
            if m.matched:
                carriers.append((concept, {w: m.spans[w] for w in m.matched}))
        recs[i]["carriers"] = {c: list(spans) for c, spans in carriers}
        recs[i]["hallucinated"] = missing
        recs[i]["_carriers"] = carriers
        if not carriers:
            fail(i, "step 2 (words): no word the LLM named for any concept is in the post")
    # 3. rewrite only one concept's words; verify; the next concept if the label held
    for attempt in range(max_tries):
        todo = [i for i in range(len(examples)) if "failed" not in recs[i] and not recs[i].get("done")
                and attempt < len(recs[i]["_carriers"])]
        if not todo:
            break
        replies = _ask(backend, [causal_rewrite_messages(examples[i].words, recs[i]["_carriers"][attempt][0],
                                                         list(recs[i]["_carriers"][attempt][1]))
                                 for i in todo], REPLACEMENTS_SCHEMA, max_new)
        verify: list[tuple[int, dict[str, Any], list[list[str]]]] = []
        for i, r in zip(todo, replies):
            recs[i]["llm_calls"] += 1
            recs[i]["steps"].append("rewrite")
            concept, carriers_of = recs[i]["_carriers"][attempt]
            att: dict[str, Any] = {"concept": concept, "answer": r.text}
            recs[i]["attempts"].append(att)
            swaps, why = _parsed(r, parse_replacements)
            if why is not None:
                att["error"] = why
                continue
            words = examples[i].words
            edited, new_at, ignored, changed = apply_replacements(words, carriers_of, swaps, split)
            spans = sorted(new_at)
            att.update(ignored=ignored)
            if not spans:
                att["error"] = "the rewrite changed none of the concept's words"
                continue
            att.update(edited_words=edited, spans=[list(s) for s in spans], words_changed=changed,
                       changed_words=[" ".join(words[a:b]) for a, b in spans])
            verify.append((i, att, [edited] + [restored(words, spans, new_at, s) for s in spans]))
        if verify:
            rows = [Example(id=f"{examples[i].id}#causal{j}", words=tuple(w), lang=examples[i].lang)
                    for i, _, variants in verify for j, w in enumerate(variants)]
            probs = classifier.predict_proba(rows)
            pos = 0
            for i, att, variants in verify:
                t = targets[i]
                p_edit, p_restored = probs[pos], probs[pos + 1:pos + len(variants)]
                pos += len(variants)
                new = int(np.argmax(p_edit))
                att.update(flipped=new != t, new_label=new, p_after=float(p_edit[t]),
                           undo=[float(p[t] - p_edit[t]) for p in p_restored])
                if new != t:
                    recs[i]["done"] = True
    for i, rec in enumerate(recs):
        rec.pop("_carriers", None)
        rec.pop("done", None)
        verified = [a for a in rec["attempts"] if "flipped" in a]
        if "failed" in rec:
            continue
        if not verified:
            last = rec["attempts"][-1]["error"] if rec["attempts"] else "no rewrite was asked"
            fail(i, f"step 3 (rewrite): no usable rewrite in {len(rec['attempts'])} tries: {last}")
            continue
        flipped = [a for a in verified if a["flipped"]]
        rec["best"] = flipped[0] if flipped else min(verified, key=lambda a: a["p_after"])
    return recs
