r"""Jensen-Shannon divergence between M_u's and M_r's softmax outputs on D', D'_r, D'_f.

Definition, for each split S with N samples, p_i = softmax(M_u(x_i)),
q_i = softmax(M_r(x_i)) and m_i = (p_i + q_i) / 2::

    KL(a‖b)  = Σ_c a_c · ln(a_c / b_c)                 (0 · ln 0 = 0)
    JS_i     = ½ KL(p_i‖m_i) + ½ KL(q_i‖m_i)
    js(S)    = (1/N) · Σ_i JS_i                         (nats, 0 ≤ js ≤ ln 2)

It is symmetric in the two models, 0 when they agree on every sample and at most ln 2.
Keys: ``test``, ``retain_test``, ``forget_test``. A good unlearning result is close to 0
(the retrain row is 0 by construction; the original row shows how far M_o was).

Differences from the reference:

* The reference computes ½ KL(m‖p) + ½ KL(m‖q) (the KL direction reversed) with every
  KL averaged over all N·C elements, i.e. scaled by 1/C, and over the whole split at
  once; it becomes ``inf`` when a softmax underflows to 0 (§9-4). Here it is the
  textbook JS per sample, averaged over samples, computed from log-probabilities in
  float64, so it is always finite. ``legacy = true`` reproduces the reference's formula
  (keys get no suffix; the value can then be ``inf``).
* M_r runs in eval mode; the reference ran it in train mode (BatchNorm batch statistics,
  §9-2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric

from supreme_metrics._splits import against_reference

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class JSDivergence(Metric):
    """Jensen-Shannon divergence (nats) between M_u and M_r on D', D'_r and D'_f."""

    name = "js_divergence"
    needs = frozenset({"reference"})

    class Config(ComponentConfig):
        #: Reproduce the reference's ½KL(m‖p)+½KL(m‖q) averaged over N·C elements.
        legacy: bool = False

    config: Config

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        from supreme_metrics._math import js_per_sample, legacy_js

        if self.config.legacy:
            return against_reference(ctx, lambda model, reference: legacy_js(reference, model))
        return against_reference(
            ctx, lambda model, reference: float(js_per_sample(model, reference).mean())
        )
