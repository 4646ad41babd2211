"""The explainer conformance suite: :func:`check_explainer`.

``check_explainer(method, classifier, params)`` raises AssertionError on the first broken
promise of the explainer contract (``docs/explainers.md``):

- one finite score per word, the example's words unchanged, the asked-for target,
  JSON-serialisable output that round-trips, ``info["probs"]`` = the prediction;
- explaining a batch gives what explaining one example at a time gives;
- deterministic: a fresh instance with the same parameters (seed included) gives the
  same scores, with the engine cache cleared in between so the model really runs again;
- Devanagari and Telugu texts (segmented by ``rationales.words.segment``), a one-word
  text, an explicit target (by id and by label name);
- an empty or whitespace-only text is a clear ValueError that says there are no words;
- a classifier without a capability the method needs (gradients, attention weights) is
  refused with a ModelError that says what is missing, and nothing else is checked.

**Batch vs one at a time holds the model's outputs fixed.** The one-at-a-time run reads
the probabilities the batch run left in the classifier's engine cache, so a difference
is the explainer's own (a row given to the wrong example, state leaking between
examples, a seed drawn per batch). Without the cache, the classifier's float32 batch
noise would be measured instead: padding a text to a longer neighbour's length changes
a transformer's probabilities by ~3e-8, and methods that normalise by their own scale
magnify that. On the tiny random test model, whose n-gram probability differences are
~2e-5, ``ngram``'s sum-to-1 normalisation and ``union``'s division by the largest n-gram
score turn 3e-8 into 5e-5. That noise belongs to the classifier, whose own suite
(:func:`rationales.testing.check_classifier`) pins it on probabilities, where the
scale is known: masked one by one = masked together, within :data:`ATOL`.
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np

from ..errors import ModelError
from ..methods import EXPLAINERS
from ..methods.base import Explainer
from ..models.base import Classifier, missing_capabilities
from ..types import Example, Explanation
from ..words import segment

TEXTS = {
    "english": "they are the real enemies of this country and should leave now",
    "english_repeated": "go home go home you people",
    "devanagari": "ये लोग देश के दुश्मन हैं, इन्हें बाहर निकालो!",
    "telugu": "వాళ్ళు మన దేశానికి శత్రువులు, వెళ్ళిపోవాలి",
    "one_word": "hello",
}

#: absolute tolerance for "the same numbers": probabilities of one input run in
#: different batches (padding changes float32 transformer outputs in the last digits),
#: and scores of runs that should agree
ATOL = 1e-5


def conformance_examples(texts: dict[str, str] | None = None) -> list[Example]:
    """The suite's examples: raw texts segmented into words, ids = their names."""
    texts = TEXTS if texts is None else texts
    return [Example(id=name, words=tuple(segment(text))) for name, text in texts.items()]


def clear_cache(classifier: Classifier) -> None:
    """Forget cached probabilities so a rerun really runs the model."""
    engine = getattr(classifier, "engine", None)
    if engine is not None and hasattr(engine, "clear_cache"):
        engine.clear_cache()


def check_explanation(exp: Explanation, example: Example, method: str, target: int,
                      classifier: Classifier) -> None:
    """One explanation keeps the example's words, scores each one, and serialises."""
    where = f"{method} on {example.id!r}"
    assert exp.method == method, f"{where}: method is {exp.method!r}"
    assert exp.example_id == example.id, f"{where}: example_id {exp.example_id!r}"
    assert exp.words == example.words, f"{where}: words changed {exp.words} != {example.words}"
    assert len(exp.scores) == len(example.words), f"{where}: {len(exp.scores)} scores"
    assert all(math.isfinite(s) for s in exp.scores), f"{where}: non-finite score in {exp.scores}"
    assert exp.target == target, f"{where}: target {exp.target} != {target}"
    assert exp.failed is None, f"{where}: failed: {exp.failed}"
    probs = exp.info.get("probs")
    assert probs is not None and len(probs) == classifier.num_labels, f"{where}: info['probs'] = {probs}"
    assert abs(sum(probs) - 1.0) < 1e-4, f"{where}: probs sum to {sum(probs)}"
    expected = classifier.predict_proba([example])[0]
    assert np.allclose(probs, expected, atol=ATOL), f"{where}: probs {probs} != prediction {expected}"
    if getattr(classifier, "engine", None) is not None:
        fp = exp.info.get("forward_passes")
        assert isinstance(fp, int) and fp >= 0, f"{where}: info['forward_passes'] = {fp!r}"
    text = json.dumps(exp.to_dict(), ensure_ascii=False)
    back = Explanation.from_dict(json.loads(text))
    assert back.scores == exp.scores and back.words == exp.words, f"{where}: JSON round trip changed it"


def same_scores(a: Sequence[Explanation], b: Sequence[Explanation], what: str) -> None:
    """The two runs scored every example alike (within :data:`ATOL`)."""
    assert len(a) == len(b), f"{what}: {len(a)} vs {len(b)} explanations"
    for x, y in zip(a, b):
        assert np.allclose(x.scores, y.scores, atol=ATOL, rtol=0), (
            f"{what}: {x.method} on {x.example_id!r} differs:\n{x.scores}\n{y.scores}")


def check_explainer(method: str | type[Explainer], classifier: Classifier,
                    params: dict[str, Any] | None = None,
                    texts: dict[str, str] | None = None) -> list[Explanation]:
    """Run every conformance check for ``method`` (a registered name or an Explainer
    class) on ``classifier``; returns its explanations of the suite's texts (none when
    the classifier lacks a capability the method needs and is refused as it should be).
    """
    params = dict(params or {})
    cls = EXPLAINERS.get(method) if isinstance(method, str) else method
    name = cls.name
    if isinstance(method, str):
        assert name == method, f"registry entry {method!r} is the explainer named {name!r}"
    described = cls.describe()
    for flag in ("needs_gradients", "needs_attentions", "needs_llm", "stochastic"):
        assert isinstance(described[flag], bool), f"{name}: flag {flag} is not a bool"
    json.dumps(described)  # the registry listing must be JSON-serialisable
    if cls.stochastic:
        assert "seed" in cls.defaults, f"{name} is stochastic but takes no 'seed'"
        params.setdefault("seed", 7)

    missing = missing_capabilities(cls, classifier)
    if missing:
        try:
            cls(**params).explain(classifier, "one two three")
        except ModelError as exc:
            assert "needs" in str(exc), f"{name}: refusal does not say what it needs: {exc}"
            return []
        raise AssertionError(f"{name} needs {' and '.join(missing)}, which {classifier.name!r} "
                             f"lacks, yet it explained without a ModelError")

    examples = conformance_examples(texts)
    targets = [int(t) for t in classifier.predict(examples)]

    clear_cache(classifier)
    batch = cls(**params).explain(classifier, examples)
    assert len(batch) == len(examples), f"{name}: {len(batch)} explanations for {len(examples)} examples"
    for ex, t, exp in zip(examples, targets, batch):
        check_explanation(exp, ex, name, t, classifier)

    # the engine cache still holds what the batch run asked for: same model outputs
    one_by_one = [cls(**params).explain(classifier, [ex])[0] for ex in examples]
    same_scores(batch, one_by_one, "batch vs one at a time")

    clear_cache(classifier)
    again = cls(**params).explain(classifier, examples)
    same_scores(batch, again, "deterministic under the same parameters")

    other = (targets[0] + 1) % classifier.num_labels
    exp = cls(**params).explain(classifier, examples[:1], target=other)[0]
    check_explanation(exp, examples[0], name, other, classifier)
    exp = cls(**params).explain(classifier, examples[:1], target=classifier.label_names[other])[0]
    assert exp.target == other, f"{name}: target by label name gave {exp.target}"

    for empty in ("", "   "):
        try:
            cls(**params).explain(classifier, empty)
        except ValueError as exc:
            assert "no words" in str(exc), f"{name} on {empty!r}: the error does not say 'no words': {exc}"
        else:
            raise AssertionError(f"{name} explained the empty text {empty!r} instead of raising ValueError")
    return batch
