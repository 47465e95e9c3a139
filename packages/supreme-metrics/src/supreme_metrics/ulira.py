r"""U-LiRA: the per-example likelihood-ratio attack on unlearning of Hayes et al. (2024).

"Inexact Unlearning Needs More Careful Evaluations to Avoid a False Sense of Privacy":
a population attack (one classifier for every example, like ``mia``) overestimates how
well a method forgets; an attacker who models each example separately, from shadow
models, tells unlearned from retrained models far better.

Shadow models (declared with ``needs = {"reference", "shadows"}``; trained, stored and
shared by the pipeline, counted by ``supreme plan``): shadow k (k < K, ``shadows``) is
trained with M_o's recipe on a seeded random half H_k of the cell's training examples
D_f ∪ D_r; its forget set is F_k = D_f ∩ H_k (about half of D_f). Per shadow the pipeline
retrains R_k on H_k \ F_k and applies the evaluated row's method to a copy of shadow k
with forget set F_k, giving U_k (for the ``original`` row U_k is shadow k itself, for
the ``retrain`` row U_k = R_k). Every shadow and its retraining is shared by every method
and by every cell whose split holds the same examples.

Per forget example x (``forget_train``) with logit-scaled confidence
φ(M, x) = log p_y(x) − log(1 − p_y(x)):

    IN(x)  = {φ(U_k, x) : x ∈ F_k}         (unlearned, having seen x)
    OUT(x) = {φ(R_k, x) : every k}          (never trained on x)
    Λ(M, x) = log N(φ(M, x); μ_in(x), σ_in) − log N(φ(M, x); μ_out(x), σ_out)

with per-example means and, by default (``global_variance``), standard deviations pooled
over the examples (LiRA's fixed-variance variant, steadier with few shadows). The attack
says "unlearned" when Λ > 0. Positives are the evaluated row's model (it unlearned x, or
for the original row never forgot it), negatives the cell's M_r, over the examples that
at least 2 shadows unlearned. Keys:

* ``balanced_accuracy`` = ½ (TPR + TNR) at Λ = 0: 0.5 means the per-example attacker
  cannot tell the row from retraining (the retrain row scores exactly 0.5);
  1 means it always can. Lower is better, down to 0.5.
* ``auc``: the probability that a positive scores above a negative (0.5 at best).
* ``tpr_at_1pct_fpr``, ``tpr_at_0_1pct_fpr``: the true positive rate at the best threshold
  whose false positive rate on M_r is at most 1 % (0.1 %): near the FPR itself when the
  row is indistinguishable from retraining, near 1 when it is separable.
* detail ``examples``: how many forget examples were attacked.

How many shadows. Each example is unlearned by about K/2 shadows; the Gaussian fit needs
a few per side, and the rates at 0.1 % FPR need about a thousand forget examples. Hayes
et al. train many more shadows than the default here (K = 16; the fixed-variance fit is
what makes small K usable); raise ``shadows`` for a paper-grade value. The run refuses
fewer than 2.

Differences from the reference: the reference has no U-LiRA; this metric is new.
Differences from the paper: the target models are the cell's own M_u and M_r (one pair
per cell, so the seeds give the distribution), not a fresh set of target models; the
shadows are trained on halves of the cell's training data with M_o's recipe.

Cost: per distinct split, K shadow trainings on half the training examples and K
retrainings on H_k \ F_k; K unlearning runs per evaluated method (``supreme plan`` counts
them as "shadow trainings" and "shadow unlearning runs"); then 2K forward passes over D_f
per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, Metric

if TYPE_CHECKING:
    from supreme.contracts import EvalContext

#: shadow models by default
SHADOWS = 16


class ULiRA(Metric):
    """Per-example likelihood-ratio attack (U-LiRA) with shadow models: balanced accuracy
    (0.5 = indistinguishable from retraining) and TPR at 1 % / 0.1 % FPR."""

    name = "ulira"
    needs = frozenset({"reference", "shadows"})
    detail_keys = frozenset({"examples"})

    class Config(ComponentConfig):
        #: shadow models K per cell (each trained on half the training examples)
        shadows: int = Field(SHADOWS, ge=2, le=1024)
        #: pool each side's standard deviation over the examples (fixed-variance LiRA)
        global_variance: bool = True

    config: Config

    def shadow_models(self) -> int:
        return self.config.shadows

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        import numpy as np

        from supreme_metrics._forget_quality import logit_scaled_confidence
        from supreme_metrics._ulira import attack, fit_gaussians, log_ratio

        def phi(out: object) -> np.ndarray:
            return logit_scaled_confidence(out.logits, out.labels).numpy()  # type: ignore[attr-defined]

        shadows = ctx.shadow_outputs()
        count = min(len(shadows), self.config.shadows)
        unlearned = np.stack([phi(o) for o in shadows.unlearned[:count]])
        retrained = np.stack([phi(o) for o in shadows.retrained[:count]])
        members = shadows.members[:count].numpy()
        mu_in, sd_in, mu_out, sd_out, kept = fit_gaussians(
            unlearned, retrained, members, global_variance=self.config.global_variance)
        if not kept.any():
            raise ValueError(
                f"no forget example was in the forget set of at least 2 of the {count} "
                "shadow models; raise [metric.ulira] shadows")
        row = log_ratio(phi(ctx.outputs("unlearned", "forget_train")), mu_in, sd_in, mu_out,
                        sd_out)[kept]
        reference = log_ratio(phi(ctx.outputs("reference", "forget_train")), mu_in, sd_in,
                              mu_out, sd_out)[kept]
        return {**attack(row, reference), "examples": float(kept.sum())}
