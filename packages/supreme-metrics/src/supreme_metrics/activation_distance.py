r"""Activation distance: mean L2 distance between M_u's and M_r's softmax outputs.

Definition, for each split S with N samples, p_i = softmax(M_u(x_i)) and
q_i = softmax(M_r(x_i))::

    d(S) = (1/N) · Σ_i ‖p_i - q_i‖₂                 (0 ≤ d ≤ √2)

Keys: ``test``, ``retain_test``, ``forget_test``. A good unlearning result is close to 0
(the retrain row is 0 by construction).

Differences from the reference:

* The reference reports the root mean square sqrt((1/N) Σ_i ‖p_i - q_i‖₂²), while the
  activation distance it cites (Chundawat et al.) is the mean of the per-sample L2
  distances, which is what this computes (§9-5). ``legacy = true`` gives the RMS.
  RMS ≥ mean, with equality only when every sample is at the same distance.
* M_r runs in eval mode (the reference: train-mode BatchNorm, §9-2); under several
  processes every sample counts once (the reference's forget split was rank-local).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric

from supreme_metrics._splits import against_reference

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class ActivationDistance(Metric):
    """Mean L2 distance between M_u's and M_r's softmax outputs on D', D'_r and D'_f."""

    name = "activation_distance"
    needs = frozenset({"reference"})

    class Config(ComponentConfig):
        #: Report the reference's root mean square instead of the mean distance.
        legacy: bool = False

    config: Config

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        from supreme_metrics._math import activation_distances

        if self.config.legacy:  # root mean square
            return against_reference(
                ctx, lambda u, r: float(activation_distances(u, r).square().mean().sqrt())
            )
        return against_reference(ctx, lambda u, r: float(activation_distances(u, r).mean()))
