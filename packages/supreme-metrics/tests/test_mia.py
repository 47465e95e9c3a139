"""mia: the entropy attack on constructed features, and through the metric."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from supreme_metrics._math import entropy
from supreme_metrics.mia import MIA, entropy_attack


def test_perfectly_separable_entropies_give_one() -> None:
    rng = np.random.default_rng(0)
    members, non_members = rng.uniform(0.0, 0.1, 300), rng.uniform(1.0, 1.4, 100)
    rate, fit = entropy_attack(members, non_members, rng.uniform(0.0, 0.1, 50))
    assert (rate, fit) == (1.0, 1.0)
    rate, _ = entropy_attack(members, non_members, rng.uniform(1.0, 1.4, 50))
    assert rate == 0.0


def test_indistinguishable_entropies_give_about_one_half() -> None:
    rng = np.random.default_rng(1)
    members, non_members, target = (rng.normal(1.0, 0.3, n) for n in (3000, 1000, 2000))
    rate, fit = entropy_attack(members, non_members, target)
    assert rate == pytest.approx(0.5, abs=0.1)
    assert fit == pytest.approx(0.5, abs=0.05)


def test_entropy_is_shannon_in_nats_with_zero_log_zero() -> None:
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1000.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    assert entropy(logits).tolist() == pytest.approx([math.log(4), 0.0], abs=1e-12)


def confident(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 4, generator=torch.Generator().manual_seed(seed)) + torch.tensor(
        [12.0, 0, 0, 0])


def flat(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 4, generator=torch.Generator().manual_seed(seed)) * 0.05


def test_metric_fits_on_retain_train_vs_test_and_predicts_forget_train(logit_context) -> None:
    def zeros(n: int) -> torch.Tensor:
        return torch.zeros(n, dtype=torch.long)

    table = {("unlearned", "retain_train"): (confident(60, 0), zeros(60)),
             ("unlearned", "test"): (flat(40, 1), zeros(40)),
             ("unlearned", "forget_train"): (confident(20, 2), zeros(20))}
    assert MIA().compute(logit_context(table)) == {"forget_train": 1.0,
                                                   "fit_balanced_accuracy": 1.0}
    # the forget set now looks like unseen data: nothing is called a member
    table[("unlearned", "forget_train")] = (flat(20, 3), zeros(20))
    assert MIA().compute(logit_context(table))["forget_train"] == 0.0


def test_metric_without_its_splits_reports_nothing(logit_context) -> None:
    ctx = logit_context({("unlearned", "test"): (flat(4, 0), torch.zeros(4, dtype=torch.long))})
    assert MIA().compute(ctx) == {}


def test_config_rejects_a_split_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="non_members"):
        MIA.Config(non_members="validation")
