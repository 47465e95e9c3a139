r"""Relearn time: how many fine-tuning steps on the forget set bring its accuracy back.

A model that only hides what it knew relearns it in a few steps; one that never learned it
(M_r) needs as many as any data it has not seen. For the evaluated model M (M_u, or M_o /
M_r for the reference rows), with D_f the training-side forget set (``forget_train``)::

    M_0 = copy of M,   M_{t+1} = M_t − η · ∇ CE(M_t; B_t)     (SGD, momentum μ)
    τ   = acc(M_o, D_f) − margin          (or ``threshold`` when it is set)
    RT(M) = min { t ∈ {0, c, 2c, …} : t ≤ T, acc(M_t, D_f) ≥ τ }     (steps)

where B_t are batches of D_f of size ``batch_size`` drawn in an order seeded by the
evaluation seed s_e (reshuffled every pass over D_f, no augmentation), acc is the accuracy
in percent in eval mode, c = ``check_every`` and T = ``max_steps``. If no check reaches τ,
RT = T and ``capped`` = 1. Keys: ``steps`` (RT), and as details ``threshold`` (τ),
``start_accuracy`` (acc(M_0, D_f)) and ``capped``.

Reading it: M_o scores 0 (it starts above τ); a good unlearning result is close to the
retrain row's ``steps``, which is the relearn time of a model that never saw D_f. Far fewer
steps than M_r means the forgotten knowledge is still there to be found (Hayes et al. 2024,
"Inexact Unlearning Needs More Careful Evaluations to Avoid a False Sense of Privacy";
MUBox's relearn time). In the full-class scenario D_f is one class, which any model learns
to predict in a few steps, so the spread between rows is small there; the random and
sub-class scenarios separate better.

Differences from the reference: the reference has no relearn time; this metric is new.

Cost: up to T SGD steps and T / c + 1 passes over D_f per row, on the evaluated row's device.
Under several processes each rank runs the same steps on the whole D_f (the accuracy of
every check is computed from the gathered forward pass, so every rank stops at the same
step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, Metric
from supreme.errors import SupremeError

if TYPE_CHECKING:
    from supreme.contracts import EvalContext

SPLIT = "forget_train"


class RelearnTime(Metric):
    """Fine-tuning steps on D_f until its accuracy is back within ``margin`` of M_o's."""

    name = "relearn_time"
    needs = frozenset({"original"})
    detail_keys = frozenset({"threshold", "start_accuracy", "capped"})

    class Config(ComponentConfig):
        #: learning rate of the relearning SGD
        lr: float = Field(0.01, gt=0, le=10)
        #: SGD momentum
        momentum: float = Field(0.9, ge=0, lt=1)
        batch_size: int = Field(32, ge=1, le=65536)
        #: the cap T: a model that never gets there scores T (``capped`` = 1)
        max_steps: int = Field(500, ge=1, le=1_000_000)
        #: accuracy on D_f is checked every this many steps (the resolution of the result)
        check_every: int = Field(5, ge=1, le=1_000_000)
        #: percentage points below M_o's accuracy on D_f that count as relearnt
        margin: float = Field(5.0, ge=0, le=100)
        #: a fixed accuracy threshold (%) instead of M_o's minus ``margin``
        threshold: float | None = Field(None, ge=0, le=100)

    config: Config

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        import copy

        import torch
        import torch.nn.functional as F

        from supreme_metrics._math import accuracy_percent

        if SPLIT not in ctx.splits or len(ctx.splits[SPLIT]) == 0:
            return {}
        if ctx.batches is None:
            raise SupremeError(
                "relearn_time trains a copy of the model, but the evaluation context has no "
                "batches factory",
                "pass batches= to EvalContext (the pipeline and make_eval_context do), or "
                "drop relearn_time from metrics",
            )
        cfg = self.config
        forget = ctx.splits[SPLIT]
        if cfg.threshold is not None:
            threshold = cfg.threshold
        else:
            original = ctx.outputs("original", SPLIT)
            threshold = max(0.0, accuracy_percent(original.logits, original.labels) - cfg.margin)

        def accuracy(model: torch.nn.Module) -> float:
            out = ctx.forward(model, forget, False)
            return accuracy_percent(out.logits, out.labels)

        start = ctx.outputs("unlearned", SPLIT)
        start_accuracy = accuracy_percent(start.logits, start.labels)
        result = {"threshold": threshold, "start_accuracy": start_accuracy}
        if start_accuracy >= threshold:
            return {"steps": 0.0, **result, "capped": 0.0}
        model = copy.deepcopy(ctx.model("unlearned"))
        for p in model.parameters():
            p.requires_grad_(True)
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        step, epoch = 0, 0
        with torch.enable_grad():
            while step < cfg.max_steps:
                for x, y in ctx.batches(forget, cfg.batch_size, ctx.seed + epoch):
                    model.train()
                    loss = F.cross_entropy(model(x).float(), y)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    step += 1
                    if (step % cfg.check_every == 0 or step == cfg.max_steps) \
                            and accuracy(model) >= threshold:
                        return {"steps": float(step), **result, "capped": 0.0}
                    if step >= cfg.max_steps:
                        break
                epoch += 1
        return {"steps": float(cfg.max_steps), **result, "capped": 1.0}
