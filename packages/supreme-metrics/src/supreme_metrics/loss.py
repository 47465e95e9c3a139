r"""Cross-entropy loss of the evaluated model on D', D'_r and D'_f.

Definition, for each split S with N samples (x_i, y_i) and logits z_i = M(x_i)::

    loss(S) = (1/N) · Σ_i -log softmax(z_i)_{y_i}                (nats)

Keys: ``test``, ``retain_test``, ``forget_test``. A good unlearning result is close to the
retrain row (low on D'_r, and on D'_f as high as M_r's).

Differences from the reference:

* The reference reports the mean of per-batch mean losses (over-weighting the last,
  smaller batch); this is the sample-weighted mean (§9-16).
* Computed in float64 from the cached logits (the reference: float32 per batch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric

from supreme_metrics._splits import per_test_split

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class Loss(Metric):
    """Cross-entropy loss on D', D'_r and D'_f, sample-weighted."""

    name = "loss"
    needs = frozenset()

    class Config(ComponentConfig):
        pass

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        from supreme_metrics._math import cross_entropy

        return per_test_split(ctx, lambda out: cross_entropy(out.logits, out.labels))
