r"""Completeness: how often M_u predicts the same class as M_r, in percent.

Definition, for each split S with N samples::

    completeness(S) = 100 · (1/N) · Σ_i 1[argmax_c M_u(x_i)_c = argmax_c M_r(x_i)_c]

(ties in argmax go to the lowest class index, for both models alike). Keys: ``test``,
``retain_test``, ``forget_test``. A good unlearning result is close to 100 (the retrain
row is 100 by construction).

Differences from the reference:

* M_r runs in eval mode (the reference: train-mode BatchNorm, §9-2), and under several
  processes every sample counts exactly once (the reference's forget split was
  rank-local and its samplers padded with duplicates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric

from supreme_metrics._splits import against_reference

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class Completeness(Metric):
    """Agreement (%) of M_u's and M_r's predicted classes on D', D'_r and D'_f."""

    name = "completeness"
    needs = frozenset({"reference"})

    class Config(ComponentConfig):
        pass

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        from supreme_metrics._math import agreement_percent

        return against_reference(ctx, agreement_percent)
