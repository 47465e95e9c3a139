"""U-LiRA: the attack's arithmetic in closed form, and planted cases through the metric."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from supreme.contracts import Outputs, ShadowOutputs
from supreme_metrics._ulira import attack, auc, fit_gaussians, log_ratio, tpr_at_fpr
from supreme_metrics.ulira import ULiRA


def test_tpr_at_fpr_and_auc_in_closed_form() -> None:
    negatives = np.arange(100.0)  # 0..99
    # at most 1 % of 100 negatives above t: t = 98 (only 99 is above)
    assert tpr_at_fpr([98.5, 99.5, 50.0, 200.0], negatives, 0.01) == 0.75
    # at most 0.1 %: no negative may be above t = 99
    assert tpr_at_fpr([98.5, 99.5, 50.0, 200.0], negatives, 0.001) == 0.5
    assert tpr_at_fpr([1.0], [0.0], 1.0) == 1.0  # every negative allowed: t = -inf
    assert auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert auc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert auc([1.0, 3.0], [2.0, 2.0]) == 0.5
    assert auc([2.0], [2.0]) == 0.5  # a tie counts half


def test_gaussian_fit_and_log_ratio_in_closed_form() -> None:
    # 4 shadows, 1 example: unlearned φ 1, 3 (members) and 100, 100 (not members: ignored)
    unlearned = np.array([[1.0], [3.0], [100.0], [100.0]])
    retrained = np.array([[0.0], [2.0], [4.0], [6.0]])
    members = np.array([[True], [True], [False], [False]])
    mu_in, sd_in, mu_out, sd_out, kept = fit_gaussians(unlearned, retrained, members,
                                                       global_variance=False)
    assert (mu_in[0], mu_out[0]) == (2.0, 3.0)
    assert sd_in[0] == pytest.approx(np.sqrt(2.0))  # sample std of {1, 3}
    assert sd_out[0] == pytest.approx(np.sqrt(20.0 / 3.0))  # of {0, 2, 4, 6}
    assert kept.tolist() == [True]
    expected = (-0.5 * ((5 - 2) / sd_in[0]) ** 2 - np.log(sd_in[0])
                + 0.5 * ((5 - 3) / sd_out[0]) ** 2 + np.log(sd_out[0]))
    assert log_ratio(np.array([5.0]), mu_in, sd_in, mu_out, sd_out)[0] == pytest.approx(expected)
    # an example that only one shadow unlearned is left out
    _, _, _, _, kept = fit_gaussians(unlearned, retrained, np.array([[True], [False], [False],
                                                                     [False]]))
    assert kept.tolist() == [False]


def _planted(separation: float, examples: int = 4000, shadows: int = 16, seed: int = 0
             ) -> dict[str, float]:
    """Per example x a centre c_x; φ of an unlearned model ~ N(c_x + separation, 1), of a
    retrained one ~ N(c_x, 1); the targets are one fresh draw from each."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(0.0, 3.0, examples)
    members = rng.random((shadows, examples)) < 0.5
    unlearned = centre + separation + rng.normal(size=(shadows, examples))
    retrained = centre + rng.normal(size=(shadows, examples))
    fitted = fit_gaussians(unlearned, retrained, members)
    kept = fitted[4]
    row = log_ratio(centre + separation + rng.normal(size=examples), *fitted[:4])[kept]
    reference = log_ratio(centre + rng.normal(size=examples), *fitted[:4])[kept]
    return attack(row, reference)


def test_a_separable_case_is_caught_at_low_false_positive_rates() -> None:
    result = _planted(separation=8.0)
    assert result["tpr_at_1pct_fpr"] > 0.98
    assert result["tpr_at_0_1pct_fpr"] > 0.95
    assert result["balanced_accuracy"] > 0.98 and result["auc"] > 0.99


def test_identical_distributions_give_chance_rates() -> None:
    rates = [_planted(separation=0.0, seed=seed) for seed in range(5)]
    tpr = np.mean([r["tpr_at_1pct_fpr"] for r in rates])
    assert 0.005 < tpr < 0.02  # the false positive rate itself: 0.01
    assert abs(np.mean([r["balanced_accuracy"] for r in rates]) - 0.5) < 0.02
    assert abs(np.mean([r["auc"] for r in rates]) - 0.5) < 0.02


# -- through the metric ---------------------------------------------------------------------------
class _Context:
    """What ULiRA reads: the row's and M_r's outputs over D_f, and the shadows'."""

    def __init__(self, row: np.ndarray, reference: np.ndarray, shadows: ShadowOutputs) -> None:
        self._outputs = {"unlearned": _outputs(row), "reference": _outputs(reference)}
        self._shadows = shadows

    def outputs(self, role: str, split: str) -> Outputs:
        assert split == "forget_train"
        return self._outputs[role]

    def shadow_outputs(self) -> ShadowOutputs:
        return self._shadows


def _outputs(phi: np.ndarray) -> Outputs:
    """Two-class logits [φ, 0] with label 0 have logit-scaled confidence exactly φ."""
    logits = torch.stack([torch.as_tensor(phi, dtype=torch.float64),
                          torch.zeros(len(phi), dtype=torch.float64)], 1)
    return Outputs(logits, torch.zeros(len(phi), dtype=torch.long))


def _metric_case(separation: float, shadows: int = 16, examples: int = 2000) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    centre = rng.normal(0.0, 2.0, examples)
    members = torch.as_tensor(rng.random((shadows, examples)) < 0.5)
    outputs = ShadowOutputs(
        members,
        tuple(_outputs(centre + separation + rng.normal(0, 0.5, examples)) for _ in range(shadows)),
        tuple(_outputs(centre + rng.normal(0, 0.5, examples)) for _ in range(shadows)))
    row = centre + separation + rng.normal(0, 0.5, examples)
    reference = centre + rng.normal(0, 0.5, examples)
    metric = ULiRA(ULiRA.Config(shadows=shadows))
    return {"row": metric.compute(_Context(row, reference, outputs)),  # type: ignore[arg-type]
            "retrain": metric.compute(_Context(reference, reference, outputs))}  # type: ignore[arg-type]


def test_the_metric_scores_a_planted_unforgotten_row_and_the_retrain_row() -> None:
    separated = _metric_case(separation=5.0)
    assert separated["row"]["tpr_at_1pct_fpr"] > 0.95
    assert separated["row"]["balanced_accuracy"] > 0.95
    # M_r against itself: the attack is at chance by construction
    assert separated["retrain"]["balanced_accuracy"] == 0.5
    assert separated["retrain"]["auc"] == 0.5
    assert separated["retrain"]["tpr_at_1pct_fpr"] <= 0.01
    assert separated["row"]["examples"] == 2000.0
    same = _metric_case(separation=0.0)
    assert abs(same["row"]["balanced_accuracy"] - 0.5) < 0.05
    assert same["row"]["tpr_at_1pct_fpr"] < 0.03


def test_too_few_shadows_per_example_is_an_error_that_says_what_to_raise() -> None:
    outputs = ShadowOutputs(torch.tensor([[True, False], [False, True]]),
                            (_outputs(np.zeros(2)), _outputs(np.zeros(2))),
                            (_outputs(np.zeros(2)), _outputs(np.zeros(2))))
    ctx = _Context(np.zeros(2), np.zeros(2), outputs)
    with pytest.raises(ValueError, match=r"raise \[metric.ulira\] shadows"):
        ULiRA(ULiRA.Config(shadows=2)).compute(ctx)  # type: ignore[arg-type]
