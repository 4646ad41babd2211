"""Rationale losses on hand-made attention and attribution tensors, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from rationales.models.losses import (
    cls_attention,
    combined_loss,
    hatexplain_loss,
    prior_loss,
    token_targets,
    word_attribution,
    xmutest_loss,
)


def test_cls_attention_is_the_first_row_mean_over_heads():
    att = torch.zeros(1, 2, 3, 3)
    att[0, 0, 0] = torch.tensor([0.2, 0.5, 0.3])
    att[0, 1, 0] = torch.tensor([0.4, 0.1, 0.5])
    att[0, :, 1] = 1.0  # other rows must not matter
    assert torch.allclose(cls_attention(att), torch.tensor([[0.3, 0.3, 0.4]]))


def test_rationale_spreads_to_every_subword_and_skips_specials():
    # [CLS] w0 w0 w1 [SEP] [PAD]
    wi = torch.tensor([[-1, 0, 0, 1, -1, -1], [-1, 0, 1, -1, -1, -1]])
    target, valid = token_targets(wi, [(1, 0), None])
    assert target.tolist()[0] == [0, 1, 1, 0, 0, 0]
    assert valid.tolist()[0] == [False, True, True, True, False, False]
    assert not valid[1].any()  # no rationale: not supervised


# one example: [CLS] w0 w1 [SEP], attention row [0.4, 0.4, 0.1, 0.1], rationale (1, 0)
ATT = torch.tensor([[0.4, 0.4, 0.1, 0.1]])
WI = torch.tensor([[-1, 0, 1, -1]])


def test_hatexplain_loss_by_hand():
    target, valid = token_targets(WI, [(1, 0)])
    # attention over words renormalised: (0.8, 0.2); goal softmax(5·(1, 0)) =
    # (e^5/(e^5+1), 1/(e^5+1)) = (0.993307, 0.006693);
    # CE = 0.993307·(−ln 0.8) + 0.006693·(−ln 0.2) = 0.221650 + 0.010772 = 0.232422
    assert float(hatexplain_loss(ATT, target, valid, gamma=5.0)) == pytest.approx(0.2324218, abs=1e-6)
    # gamma 0: uniform goal (0.5, 0.5): CE = 0.5·(−ln 0.8 − ln 0.2) = 0.916291
    assert float(hatexplain_loss(ATT, target, valid, gamma=0.0)) == pytest.approx(
        0.5 * (-math.log(0.8) - math.log(0.2)), abs=1e-6)


def test_xmutest_loss_by_hand():
    target, valid = token_targets(WI, [(1, 0)])
    # BCE on probabilities: mean(−ln 0.4, −ln(1 − 0.1)) = (0.916291 + 0.105361) / 2
    assert float(xmutest_loss(ATT, target, valid)) == pytest.approx(0.5108256, abs=1e-6)


def test_examples_without_rationale_do_not_count():
    att = torch.cat([ATT, torch.tensor([[0.25, 0.25, 0.25, 0.25]])])
    wi = torch.cat([WI, WI])
    target, valid = token_targets(wi, [(1, 0), None])
    assert float(xmutest_loss(att, target, valid)) == pytest.approx(0.5108256, abs=1e-6)
    target, valid = token_targets(wi, [None, None])
    assert float(xmutest_loss(att, target, valid)) == 0.0


def test_combined_losses():
    target, valid = token_targets(WI, [(1, 0)])
    ce = torch.tensor(1.0)
    loss, _ = combined_loss("xmutest", ce, ATT, target, valid, alpha=0.7)
    assert float(loss) == pytest.approx(0.3 * 1.0 + 0.7 * 0.5108256, abs=1e-6)
    loss, _ = combined_loss("hatexplain", ce, ATT, target, valid, weight=0.5, gamma=5.0)
    assert float(loss) == pytest.approx(1.0 + 0.5 * 0.2324218, abs=1e-6)
    loss, _ = combined_loss(None, ce, None, None, None)
    assert float(loss) == 1.0
    with pytest.raises(ValueError, match="rationale_loss"):
        combined_loss("attention", ce, ATT, target, valid)


# -- the prior loss: the model's word attribution against an explanation's scores -------
# one example, 3 words: attribution (2, -1, 1), prior (2, 0, 0); both divided by their
# largest |value|: a = (1, -0.5, 0.5), s = (1, 0, 0)
ATTR = torch.tensor([[2.0, -1.0, 1.0]])
PRIOR = torch.tensor([[2.0, 0.0, 0.0]])
ALL = torch.ones(1, 3, dtype=torch.bool)


def test_prior_kl_by_hand():
    # T = 1: p = softmax(s) = (e, 1, 1)/(e + 2) = (0.576117, 0.211942, 0.211942)
    # q = softmax(a) = (e, e^-0.5, e^0.5)/(e + e^-0.5 + e^0.5 = 4.973534) = (0.546549, 0.121952, 0.331499)
    # KL(p‖q) = 0.576117·ln(0.576117/0.546549) + 0.211942·ln(0.211942/0.121952)
    #         + 0.211942·ln(0.211942/0.331499) = 0.030353 + 0.117137 − 0.094805 = 0.052686
    assert float(prior_loss(ATTR, PRIOR, ALL, "kl", temperature=1.0)) == pytest.approx(0.0526859, abs=1e-6)
    # T = 0.5 doubles both: p = (e², 1, 1)/(e² + 2) = (0.786986, 0.106507, 0.106507),
    # q = (e², e^-1, e)/(e² + e^-1 + e) = (0.705385, 0.035119, 0.259496);
    # KL = 0.786986·0.109466 + 0.106507·1.109466 + 0.106507·(−0.890534) = 0.109467
    assert float(prior_loss(ATTR, PRIOR, ALL, "kl", temperature=0.5)) == pytest.approx(0.1094675, abs=1e-6)


def test_prior_mse_by_hand():
    # mean((1 − 1)², (−0.5 − 0)², (0.5 − 0)²) = 0.5 / 3
    assert float(prior_loss(ATTR, PRIOR, ALL, "mse")) == pytest.approx(1 / 6, abs=1e-7)


@pytest.mark.parametrize("alignment", ["kl", "mse"])
def test_prior_loss_falls_as_the_attribution_moves_toward_the_prior(alignment):
    values = [float(prior_loss((1 - t) * ATTR + t * PRIOR, PRIOR, ALL, alignment)) for t in (0, 0.25, 0.5, 0.75)]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert float(prior_loss(PRIOR * 0.3, PRIOR, ALL, alignment)) == pytest.approx(0.0, abs=1e-7)
    # the scale of the attribution is not what it is judged on
    assert float(prior_loss(ATTR * 40, PRIOR, ALL, alignment)) == pytest.approx(
        float(prior_loss(ATTR, PRIOR, ALL, alignment)), abs=1e-6)
    # and the loss has a gradient that moves the attribution toward the prior
    a = ATTR.clone().requires_grad_(True)
    prior_loss(a, PRIOR, ALL, alignment).backward()
    assert a.grad is not None and float(a.grad[0, 1]) < 0   # word 1 (a = −0.5, prior 0) is pushed up


def test_prior_loss_skips_unmatched_words_and_examples_without_a_prior():
    attr = torch.tensor([[2.0, -1.0, 1.0, 50.0], [1.0, 2.0, 3.0, 4.0]])
    prior = torch.tensor([[2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    valid = torch.tensor([[True, True, True, False], [False, False, False, False]])
    assert float(prior_loss(attr, prior, valid, "kl", temperature=1.0)) == pytest.approx(0.0526859, abs=1e-6)
    assert float(prior_loss(attr, prior, valid & False, "kl")) == 0.0
    with pytest.raises(ValueError, match="prior_alignment must be one of"):
        prior_loss(attr, prior, valid, "cosine")


def test_word_attribution_sums_subwords_and_drops_specials():
    # [CLS] w0 w0 w1 [SEP] [PAD], 3 words (w2 was truncated away)
    per_token = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])
    wi = torch.tensor([[-1, 0, 0, 1, -1, -1]])
    words, has = word_attribution(per_token, wi, 3)
    assert torch.allclose(words, torch.tensor([[0.5, 0.4, 0.0]]))
    assert has.tolist() == [[True, True, False]]
