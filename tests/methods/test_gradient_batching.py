"""Gradient methods batched across examples give each example's own result, counted.

The reference is the per-example path these methods had before batching: Captum's
Saliency / InputXGradient / IntegratedGradients on one unpadded example at a time, and
the engine's own forward for the probabilities.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rationales.methods import get_explainer
from rationales.methods._util import aggregate_to_words
from rationales.types import Example

TEXTS = ["they are vermin and should be killed", "what a lovely day", "shut up",
         "a much longer post that goes on and on about nothing in particular at all", "ok"]


def _examples() -> list[Example]:
    return [Example(str(i), tuple(t.split())) for i, t in enumerate(TEXTS)]


def captum_reference(net, method: str, example: Example, target: int, **params) -> tuple[np.ndarray, dict]:
    """One example, unpadded, through Captum (what the explainer did before batching)."""
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    enc = net.encode(example)
    ids = torch.tensor([list(enc.input_ids)])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        embeds = net.embeddings()(ids).detach()
    embeds.requires_grad_(True)

    def forward(e):
        return net.forward_from_embeddings(e, mask.expand(e.shape[0], -1))

    info = {}
    if method == "gradient":
        attr = Saliency(forward).attribute(embeds, target=target, abs=False)
    elif method == "grad_input":
        attr = InputXGradient(forward).attribute(embeds, target=target)
    else:
        is_word = torch.as_tensor(np.asarray(enc.word_index) >= 0)[None, :]
        base_ids = torch.where(is_word, torch.full_like(ids, net.pad_token_id), ids)
        with torch.no_grad():
            base = net.embeddings()(base_ids).detach()
        attr, delta = IntegratedGradients(forward).attribute(
            embeds, baselines=base, target=target, n_steps=params.get("n_steps", 50),
            internal_batch_size=params.get("internal_batch_size", 50), return_convergence_delta=True)
        info["convergence_delta"] = float(delta.abs().max())
    attr = attr.detach()[0].to(torch.float64)
    per_token = attr.norm(dim=-1) if method == "gradient" else attr.sum(dim=-1)
    return aggregate_to_words(per_token.numpy(), np.asarray(enc.word_index), len(example.words)), info


@pytest.mark.parametrize("method,params", [
    ("gradient", {}), ("grad_input", {}),
    ("integrated_gradients", {"n_steps": 12, "internal_batch_size": 7}),
    ("integrated_gradients", {"n_steps": 5, "internal_batch_size": 50}),
])
def test_batched_equals_captum_per_example(tiny, method, params):
    exs = _examples()
    targets = [0, 1, 2, 1, 0]  # per-example targets, not one for all
    batched = get_explainer(method, **params).explain(tiny, exs, targets)
    for ex, t, exp in zip(exs, targets, batched):
        ref, info = captum_reference(tiny, method, ex, t, **params)
        np.testing.assert_allclose(exp.scores, ref, rtol=1e-4, atol=1e-6)
        assert exp.target == t
        # the probabilities come from the gradient forward, not an extra engine call
        np.testing.assert_allclose(exp.info["probs"], tiny.predict_proba([ex])[0], atol=1e-5)
        if "convergence_delta" in info:
            assert exp.info["convergence_delta"] == pytest.approx(info["convergence_delta"], abs=1e-5)
    # one at a time = all at once
    for ex, t, exp in zip(exs, targets, batched):
        alone = get_explainer(method, **params).explain(tiny, [ex], [t])[0]
        np.testing.assert_allclose(alone.scores, exp.scores, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method,forwards,backwards", [
    ("gradient", 1, 1), ("grad_input", 1, 1), ("integrated_gradients", 9 + 2, 9)])
def test_passes_are_counted_per_example_and_in_the_engine(tiny, method, forwards, backwards):
    exs = _examples()
    params = {"n_steps": 9, "internal_batch_size": 20} if method == "integrated_gradients" else {}
    before = dict(tiny.engine.stats)
    exps = get_explainer(method, **params).explain(tiny, exs, [1] * len(exs))  # no predict at the door
    after = tiny.engine.stats
    assert [e.info["forward_passes"] for e in exps] == [forwards] * len(exs)
    assert [e.info["backward_passes"] for e in exps] == [backwards] * len(exs)
    assert after["gradient_forwards"] - before["gradient_forwards"] == forwards * len(exs)
    assert after["backward_passes"] - before["backward_passes"] == backwards * len(exs)
    # no engine forward just to report the probabilities
    assert after["requests"] == before["requests"] and after["forward_passes"] == before["forward_passes"]


def test_engine_rejects_negative_gradient_counts(tiny):
    with pytest.raises(ValueError, match="pass counts must be >= 0"):
        tiny.engine.count_gradient_passes(-1, 0)
