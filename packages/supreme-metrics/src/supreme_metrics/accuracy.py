r"""Accuracy of the evaluated model on D', D'_r and D'_f.

Definition, for each split S with N samples (x_i, y_i) and logits z_i = M(x_i)::

    accuracy(S) = 100 · (1/N) · Σ_i 1[argmax_c z_ic = y_i]      (percent)

where M is the evaluated row's model (M_u, or M_o / M_r for the reference rows).
Keys: ``test`` (D'), ``retain_test`` (D'_r), ``forget_test`` (D'_f); an empty split has
no key. A good unlearning result is close to the retrain row: high on D' and D'_r, and
on D'_f as low as M_r's (about 0 in the full-class scenario).

Differences from the reference:

* The reference reports the unweighted mean of per-batch accuracies, which over-weights
  the last (smaller) batch; this is sample-weighted (§9-16).
* The model runs in eval mode (BatchNorm running statistics) for every row, as in the
  reference for M_u.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric

from supreme_metrics._splits import per_test_split

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class Accuracy(Metric):
    """Accuracy (%) on D', D'_r and D'_f, sample-weighted."""

    name = "accuracy"
    needs = frozenset()

    class Config(ComponentConfig):
        pass

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        from supreme_metrics._math import accuracy_percent

        return per_test_split(ctx, lambda out: accuracy_percent(out.logits, out.labels))
