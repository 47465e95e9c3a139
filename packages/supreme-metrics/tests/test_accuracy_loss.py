"""accuracy and loss: sample-weighted, per split, with hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from supreme.contracts import ImageTensors
from supreme.testing import make_eval_context
from supreme_metrics.accuracy import Accuracy
from supreme_metrics.loss import Loss
from torch import nn


class SignNet(nn.Module):
    """Predicts class 1 for bright images and class 0 for dark ones (no learning needed)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = (x.mean(dim=(1, 2, 3)) > 0).float()
        return torch.stack([1 - bright, bright], dim=1) * 3.0


def images(values: list[int], labels: list[int]) -> ImageTensors:
    pixels = torch.tensor(values, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 8, 8)
    return ImageTensors(pixels.contiguous(), torch.tensor(labels))


def test_accuracy_is_weighted_by_samples_not_batches() -> None:
    # 8 correct samples in the first batch of 8, then a batch of 2 wrong ones: weighted
    # accuracy is 80 %, while the reference's mean of batch means would give 50 %.
    split = images([255] * 8 + [0] * 2, [1] * 10)
    ctx = make_eval_context({"unlearned": SignNet()}, {"test": split}, num_classes=2,
                            batch_size=8)
    assert Accuracy().compute(ctx) == {"test": pytest.approx(80.0)}


def test_accuracy_per_split_keys_and_values(logit_context) -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 2])
    ctx = logit_context({
        ("unlearned", "test"): (logits, labels),
        ("unlearned", "retain_test"): (logits[:2], labels[:2]),
        ("unlearned", "forget_test"): (logits[2:], labels[2:]),
    })
    assert Accuracy().compute(ctx) == {"test": 50.0, "retain_test": 100.0, "forget_test": 0.0}


def test_loss_is_the_sample_mean_of_cross_entropy(logit_context) -> None:
    # sample 1: logits (0, 0) -> -log 1/2; sample 2: (ln 3, 0) with label 0 -> -log 3/4;
    # sample 3: same logits, label 1 -> -log 1/4.
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0], [math.log(3.0), 0.0]])
    labels = torch.tensor([0, 0, 1])
    ctx = logit_context({("unlearned", "test"): (logits, labels)})
    expected = (math.log(2) + math.log(4 / 3) + math.log(4)) / 3
    assert Loss().compute(ctx) == {"test": pytest.approx(expected, rel=1e-6)}


def test_loss_weighted_over_unequal_batches() -> None:
    split = images([255] * 8 + [0] * 2, [1] * 10)
    ctx = make_eval_context({"unlearned": SignNet()}, {"test": split}, num_classes=2,
                            batch_size=8)
    right, wrong = math.log1p(math.exp(-3.0)), math.log1p(math.exp(3.0))
    assert Loss().compute(ctx)["test"] == pytest.approx((8 * right + 2 * wrong) / 10, rel=1e-6)


def test_empty_and_missing_splits_get_no_key(logit_context) -> None:
    ctx = logit_context({
        ("unlearned", "test"): (torch.zeros(2, 3), torch.tensor([0, 0])),
        ("unlearned", "forget_test"): (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)),
    })
    assert set(Accuracy().compute(ctx)) == {"test"}
    assert set(Loss().compute(ctx)) == {"test"}


def test_metrics_share_one_forward_pass_per_split(logit_context) -> None:
    ctx = logit_context({("unlearned", "test"): (torch.zeros(2, 3), torch.tensor([0, 1]))})
    Accuracy().compute(ctx)
    Loss().compute(ctx)
    assert ctx.forward_passes == 1
