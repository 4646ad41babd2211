"""A classifier whose decision hinges on one planted word: which methods find it.

Two models. ``PlantedClassifier`` (pure numpy, tests/explain/planted.py) puts a large
logit on "kill" and tiny fixed weights on every other word. A tiny BERT is trained for
a few seconds on texts labelled "planted" exactly when they contain "kill".

Expected to rank the planted word first, and why:
- ``occlusion``: removing "kill" is the only deletion that flips the prediction.
- ``ngram``: only n-grams containing "kill" reproduce the full prediction alone (small
  diff, X-MuTeST's lowest value), so after our reflection "kill" scores highest.
- ``lime`` / ``kernel_shap``: p(target) is close to a step function of "kill present",
  which a linear surrogate over word presence captures as one dominant coefficient.
- ``integrated_gradients`` (transformer): it integrates the gradient along the path
  from the baseline, so it sees the rise of p(planted) when "kill" appears.

Not expected, on purpose:
- ``gradient`` and ``grad_input``: the trained model is saturated (p ≈ 0.999); the local
  gradient at the input is near zero and its ranking is noise — the failure integrated
  gradients was designed to fix (Sundararajan et al., 2017, §2).
- ``attention``: [CLS] attention does not depend on the target and need not point at
  what the classifier head uses.
"""

from __future__ import annotations

import numpy as np
import pytest

from rationales.methods import get_explainer
from rationales.types import Example

from .planted import PlantedClassifier

PERTURBATION = ["ngram", "occlusion", "lime", "kernel_shap"]
FINDS_IT_IN_A_TRANSFORMER = PERTURBATION + ["integrated_gradients"]

TEXTS = [
    ("kill", "the", "people", "of", "this", "city"),
    ("we", "will", "kill", "them", "today", "and", "go", "home"),
    ("they", "go", "home", "all", "day", "kill"),
    ("ये", "लोग", "kill", "करेंगे"),
]


@pytest.mark.parametrize("removal", ["delete", "mask"])
@pytest.mark.parametrize("method", PERTURBATION)
@pytest.mark.parametrize("words", TEXTS, ids=lambda w: " ".join(w)[:16])
def test_perturbation_methods_find_the_planted_word(method, words, removal):
    clf = PlantedClassifier()
    exp = get_explainer(method, removal=removal).explain(clf, Example("e", words))[0]
    assert exp.target == 1
    assert exp.ranking()[0] == words.index("kill"), (method, exp.scores)


@pytest.fixture(scope="module")
def trained_tiny():
    """A tiny BERT trained (seeded, ~5 s) to say "planted" iff the text contains "kill"."""
    import torch

    from rationales.models.tiny import tiny_classifier

    clf = tiny_classifier(label_names=("other", "planted"), seed=0)
    vocab = ("the a we they people go home today all of to and is are this that country "
             "city day night").split()
    rng = np.random.default_rng(0)
    opt = torch.optim.Adam(clf.model.parameters(), lr=3e-3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        clf.model.train()
        for _ in range(80):
            texts, labels = [], []
            for _ in range(32):
                words = list(rng.choice(vocab, int(rng.integers(3, 9))))
                label = int(rng.random() < 0.5)
                if label:
                    words.insert(int(rng.integers(0, len(words) + 1)), "kill")
                texts.append(words)
                labels.append(label)
            enc = clf.tokenizer(texts, is_split_into_words=True, padding=True, return_tensors="pt")
            loss = clf.model(**enc, labels=torch.tensor(labels)).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        clf.model.eval()
    clf.invalidate()
    return clf


@pytest.mark.parametrize("method", FINDS_IT_IN_A_TRANSFORMER)
@pytest.mark.parametrize("words", TEXTS[:3], ids=lambda w: " ".join(w)[:16])
def test_methods_find_the_planted_word_in_a_trained_transformer(method, words, trained_tiny):
    assert trained_tiny.predict_proba([Example("e", words)])[0, 1] > 0.9   # it did learn
    exp = get_explainer(method).explain(trained_tiny, Example("e", words))[0]
    assert exp.target == 1
    assert exp.ranking()[0] == words.index("kill"), (method, exp.scores)
