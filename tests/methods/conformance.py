"""The explainer conformance suite: the checks every registered explainer must pass.

``check_explainer(name, classifier, params)`` raises AssertionError on the first broken
promise of the contract (DESIGN.md "Explainers"):

- one finite score per word, the example's words unchanged, the asked-for target,
  JSON-serialisable output that round-trips, ``info["probs"]`` = the prediction;
- deterministic: a fresh instance with the same parameters (seed included) gives the
  same scores, with the engine cache cleared in between so the model really runs again;
- explaining a batch gives what explaining one example at a time gives;
- Devanagari and Telugu texts (segmented by ``rationales.words.segment``), a one-word
  text, an explicit target;
- an empty or whitespace-only text is a clear ValueError that says there are no words.

It is a plain function so the suites for other explainers (the LLM ones use an LLM
fixture) run the very same checks.
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np
import pytest

from rationales.methods import EXPLAINERS, get_explainer
from rationales.models.base import Classifier
from rationales.types import Example, Explanation
from rationales.words import segment

TEXTS = {
    "english": "they are the real enemies of this country and should leave now",
    "english_repeated": "go home go home you people",
    "devanagari": "ये लोग देश के दुश्मन हैं, इन्हें बाहर निकालो!",
    "telugu": "వాళ్ళు మన దేశానికి శత్రువులు, వెళ్ళిపోవాలి",
    "one_word": "hello",
}

#: absolute tolerance for "the same scores" across runs that may batch differently
#: (padding changes float32 transformer outputs in the last digits)
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
    assert len(a) == len(b), f"{what}: {len(a)} vs {len(b)} explanations"
    for x, y in zip(a, b):
        assert np.allclose(x.scores, y.scores, atol=ATOL, rtol=0), (
            f"{what}: {x.method} on {x.example_id!r} differs:\n{x.scores}\n{y.scores}")


def check_explainer(method: str, classifier: Classifier, params: dict[str, Any] | None = None,
                    texts: dict[str, str] | None = None) -> list[Explanation]:
    """Run every conformance check for ``method`` on ``classifier``; returns its explanations."""
    params = dict(params or {})
    cls = EXPLAINERS.get(method)
    assert cls.name == method
    described = cls.describe()
    for flag in ("needs_gradients", "needs_llm", "stochastic"):
        assert isinstance(described[flag], bool), f"{method}: flag {flag} is not a bool"
    json.dumps(described)  # the registry listing must be JSON-serialisable
    if cls.stochastic:
        assert "seed" in cls.defaults, f"{method} is stochastic but takes no 'seed'"
        params.setdefault("seed", 7)

    examples = conformance_examples(texts)
    targets = [int(t) for t in classifier.predict(examples)]

    clear_cache(classifier)
    batch = get_explainer(method, **params).explain(classifier, examples)
    for ex, t, exp in zip(examples, targets, batch):
        check_explanation(exp, ex, method, t, classifier)

    clear_cache(classifier)
    again = get_explainer(method, **params).explain(classifier, examples)
    same_scores(batch, again, "deterministic under the same parameters")

    clear_cache(classifier)
    one_by_one = [get_explainer(method, **params).explain(classifier, [ex])[0] for ex in examples]
    same_scores(batch, one_by_one, "batch vs one at a time")

    other = (targets[0] + 1) % classifier.num_labels
    exp = get_explainer(method, **params).explain(classifier, examples[:1], target=other)[0]
    check_explanation(exp, examples[0], method, other, classifier)
    exp = get_explainer(method, **params).explain(
        classifier, examples[:1], target=classifier.label_names[other])[0]
    assert exp.target == other, f"{method}: target by label name gave {exp.target}"

    for empty in ("", "   "):
        with pytest.raises(ValueError, match="no words"):
            get_explainer(method, **params).explain(classifier, empty)
    return batch
