r"""Zero Retrain Forgetting (ZRF) score against an incompetent (randomly initialised) model.

T_i is a freshly initialised network of the evaluated architecture, built with the torch
RNG seeded by the evaluation seed s_e (so every row of a cell, and every rank, sees the same
T_i). For a model M, with p_i = softmax(M(x_i)) and t_i = softmax(T_i(x_i)) over the N
samples of D'_f, and JS_i the textbook per-sample Jensen-Shannon divergence
(½KL(p_i‖m_i) + ½KL(t_i‖m_i), m_i = (p_i + t_i)/2, in nats, see ``js_divergence``)::

    ZRF(M) = 1 - (1/N) · Σ_i JS_i / ln 2              (0 ≤ ZRF ≤ 1)

Keys: ``initial`` = ZRF(M_o), ``final`` = ZRF(M_u). ZRF = 1 means M behaves like the
random model on the forget set; a good unlearning result is close to the retrain row's
``final`` (M_r never saw D_f but still generalises, so its ZRF is well below 1 when the
forget class resembles the retained ones).

Differences from the reference:

* The reference computes 1 - its "JS" (½KL(m‖p)+½KL(m‖t) averaged over N·C elements,
  §9-4), which sits near 1 for any pair of models; here JS is the textbook divergence
  divided by ln 2 (bits), so ZRF spans [0, 1] as in Chundawat et al. ``legacy = true``
  gives the reference's 1 - legacy JS.
* The reference loads T_i from the ``Unlearning_teacher`` checkpoint of the unlearning
  run; here T_i is rebuilt from s_e, so it does not depend on which methods ran. M_o and
  T_i run in eval mode (the reference: train mode, §9-2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric
from supreme.errors import SupremeError

if TYPE_CHECKING:
    import torch
    from supreme.contracts import EvalContext
    from torch import nn

#: The role under which the incompetent model is added to the context (shared by rows).
INCOMPETENT = "incompetent"
SPLIT = "forget_test"


class ZRF(Metric):
    """Zero Retrain Forgetting score of M_o (initial) and M_u (final) on D'_f."""

    name = "zrf"
    needs = frozenset({"original"})

    class Config(ComponentConfig):
        #: Use the reference's 1 - (½KL(m‖p)+½KL(m‖t))/(N·C) instead of 1 - JS/ln 2.
        legacy: bool = False

    config: Config

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        if SPLIT not in ctx.splits or len(ctx.splits[SPLIT]) == 0:
            return {}
        if not ctx.has(INCOMPETENT):
            ctx.add_model(INCOMPETENT, incompetent_model(ctx))
        incompetent = ctx.outputs(INCOMPETENT, SPLIT).logits  # type: ignore[arg-type]
        return {
            "initial": self._score(ctx.outputs("original", SPLIT).logits, incompetent),
            "final": self._score(ctx.outputs("unlearned", SPLIT).logits, incompetent),
        }

    def _score(self, logits: torch.Tensor, incompetent: torch.Tensor) -> float:
        from supreme_metrics._math import LN2, js_per_sample, legacy_js

        if self.config.legacy:
            return 1.0 - legacy_js(incompetent, logits)
        return 1.0 - float(js_per_sample(logits, incompetent).mean()) / LN2


def incompetent_model(ctx: EvalContext) -> nn.Module:
    """A fresh network of the evaluated architecture, seeded by s_e, on M_u's device."""
    import torch

    if ctx.new_model is None:
        raise SupremeError(
            "zrf needs a freshly initialised network, but the evaluation context has no "
            "new_model factory",
            "pass new_model= to EvalContext (the pipeline does), or drop zrf from metrics",
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        model = ctx.new_model()
    device = next(iter(ctx.model("unlearned").parameters()), torch.zeros(())).device
    return model.to(device).eval()
