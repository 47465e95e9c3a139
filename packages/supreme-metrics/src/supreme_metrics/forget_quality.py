r"""Forgetting quality: the seed-distribution score of the NeurIPS 2023 unlearning challenge.

A grid metric (:class:`supreme.contracts.GridMetric`): it is computed once per (dataset,
model, scenario, target) after every cell of that group has run, from what each row of
each cell stored. Per row and forget example x (``forget_train``, D_f), the stored output is
the logit-scaled confidence of the row's model in x's label::

    φ(M, x) = log p_y(x) − log(1 − p_y(x)) = z_y(x) − log Σ_{c≠y} exp z_c(x)

The core then cuts the group's runs (s_t, s_u) in two halves by training seed
(:mod:`supreme.pipeline.grid`) and gives :meth:`ForgetQuality.aggregate` U = {φ(M_u, x)}
of the row's models in half A and R = {φ(M_r, x)} of the retrained models in half B. Per
example, every threshold t gives the attack "unlearned if φ > t" a false positive rate
FPR(t) (share of R above t) and false negative rate FNR(t) (share of U at or below t),
each floored at one model's share (1/|R|, 1/|U|), and with δ::

    ε(x) = max(0, max_t max( log(1 − δ − FPR) − log FNR,  log(1 − δ − FNR) − log FPR ))
    n(x) = #{k ∈ 0..B−1 : k · w ≤ ε(x)}
    F    = (1/S) · Σ_x 2 / 2^{n(x)}                          ∈ [2^{1−B}, 1]

over the S forget examples every model scored; δ = 0.01, w = 0.1, B = 13 as in the
challenge. Keys: ``forget_quality`` (F; higher means closer to retraining), and as details
``epsilon_median`` and ``epsilon_max``.

Reading it. F = 1 means no threshold on any example tells the row's models from retrained
ones. The maximum over thresholds biases ε upwards at small sample sizes, so two samples
of retrained models score below 1 too; the **retrain row** is exactly that estimate (M_r of
half A against M_r of half B), and a method is read against it, not against 1. The
original row (M_o, which forgot nothing) scores near 2^{1−B} when its confidence on D_f
separates from M_r's. With n models per side the finest rate is 1/n, so ε ≤ log(n) and the
score needs about 8 models per side (:data:`MIN_RUNS`; the run warns below it and the
records carry ``"coarse": true``): 8 training seeds × 2 unlearning seeds give 8 per side.

Differences from the reference: the reference has no forgetting quality; this metric is new.
Differences from the challenge's code: ε is clipped at 0, and a zero rate is floored at
one model's share rather than discarding the threshold (their code scored perfectly
separated models as perfect forgetting); U and R come from disjoint halves of the runs so
that the retrain row gives the estimator's own baseline.

Cost: one cached forward pass over D_f per row (shared with the other metrics) and a few
bytes per forget example and row in the store; the aggregate is NumPy over the stored
values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, GridMetric

from supreme_metrics._forget_quality import BIN_WIDTH, BINS, DELTA, MIN_RUNS

if TYPE_CHECKING:
    import numpy as np
    import torch
    from supreme.contracts import EvalContext


class ForgetQuality(GridMetric):
    """The NeurIPS 2023 challenge's forgetting quality F over a group's seeds (higher:
    closer to retraining; read against the retrain row)."""

    name = "forget_quality"
    example_split = "forget_train"
    min_models = MIN_RUNS
    detail_keys = frozenset({"epsilon_median", "epsilon_max"})

    class Config(ComponentConfig):
        #: the δ of the (ε, δ) estimate
        delta: float = Field(DELTA, gt=0, lt=0.5)
        #: width of an ε bin
        bin_width: float = Field(BIN_WIDTH, gt=0, le=10)
        #: number of ε bins (F's floor is 2^(1 - bins))
        bins: int = Field(BINS, ge=1, le=64)

    config: Config

    def per_example(self, ctx: EvalContext) -> torch.Tensor:
        from supreme_metrics._forget_quality import logit_scaled_confidence

        out = ctx.outputs("unlearned", self.example_split)
        return logit_scaled_confidence(out.logits, out.labels)

    def aggregate(self, unlearned: np.ndarray, retrained: np.ndarray) -> dict[str, float]:
        from supreme_metrics._forget_quality import forget_quality

        result = forget_quality(unlearned, retrained, delta=self.config.delta,
                                bin_width=self.config.bin_width, bins=self.config.bins)
        return {k: result[k] for k in ("forget_quality", "epsilon_median", "epsilon_max")}
