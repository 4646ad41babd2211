"""Rationale losses on hand-made attention tensors, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from rationales.models.losses import cls_attention, combined_loss, hatexplain_loss, token_targets, xmutest_loss


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
