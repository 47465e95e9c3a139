"""The forgetting-quality arithmetic of the NeurIPS 2023 challenge (supreme_metrics._forget_quality)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from supreme_metrics._forget_quality import (
    BINS,
    epsilon,
    forget_quality,
    logit_scaled_confidence,
    threshold_rates,
)


def test_logit_scaled_confidence_is_the_log_odds_of_the_label() -> None:
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0], [math.log(2.0), 0.0]])
    labels = torch.tensor([0, 1, 1])
    # p = 3/4 -> log 3; p = 1/2 -> 0; p_1 = 1/3 -> log(1/2)
    expected = torch.tensor([math.log(3.0), 0.0, math.log(0.5)], dtype=torch.float64)
    assert torch.allclose(logit_scaled_confidence(logits, labels), expected, atol=1e-12)
    # three classes: z = (2, 1, 0), label 0 -> 2 - log(e + 1)
    three = logit_scaled_confidence(torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([0]))
    assert three.item() == pytest.approx(2.0 - math.log(math.e + 1.0), abs=1e-12)
    # stable where the softmax saturates: p_y = 1 - 1e-40 in float64
    assert logit_scaled_confidence(torch.tensor([[100.0, 0.0]]), torch.tensor([0])).item() == 100.0


def test_threshold_rates_and_epsilon_in_closed_form() -> None:
    fpr, fnr = threshold_rates(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0]))
    # thresholds 0, 1, 2, 3, 4: share of R above t, share of U at or below t (floors 1/2, 1/4)
    assert fpr.tolist() == [0.5, 0.5, 0.5, 0.5, 0.5]
    assert fnr.tolist() == [0.25, 0.25, 0.5, 0.75, 1.0]
    # one attack with FPR 0.1, FNR 0.5, delta 0.01: max(log(.89/.5), log(.49/.1)) = log 4.9
    assert epsilon(np.array([0.1]), np.array([0.5]), 0.01) == pytest.approx(math.log(4.9))
    # an attack no better than chance gives no privacy loss
    assert epsilon(np.array([0.5]), np.array([0.5]), 0.01) == 0.0


def test_identical_outputs_score_the_maximum_and_separated_ones_the_minimum() -> None:
    rng = np.random.default_rng(0)
    u = rng.normal(size=(16, 40))
    same = forget_quality(u, u.copy())
    assert same["forget_quality"] == 1.0 and same["epsilon_max"] == 0.0
    apart = forget_quality(u + 10.0, rng.normal(size=(16, 40)))
    assert apart["forget_quality"] == pytest.approx(2.0 / 2.0 ** BINS)  # every example in the last bin
    assert apart["epsilon_median"] == pytest.approx(math.log((1 - 0.01 - 1 / 16) / (1 / 16)))
    assert apart["unlearned_models"] == 16 and apart["retrained_models"] == 16


def test_two_samples_of_one_distribution_score_far_above_separated_ones() -> None:
    rng = np.random.default_rng(1)
    u, r = rng.normal(size=(512, 30)), rng.normal(size=(512, 30))
    same = forget_quality(u, r)["forget_quality"]
    shifted = forget_quality(u + 0.5, r)["forget_quality"]
    assert same > 0.2 and same > 50 * shifted


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="same examples"):
        forget_quality(np.zeros((4, 3)), np.zeros((4, 2)))
