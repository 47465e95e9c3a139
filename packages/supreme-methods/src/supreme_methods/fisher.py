"""Fisher forgetting: Gaussian noise scaled by the inverse diagonal Fisher information of D_r.

Weights that matter for the retain set (large Fisher information) get little noise;
weights that do not (small information, hence possibly carrying D_f) get a lot. With F
the diagonal Fisher of M_o over D_r (eval mode), every trainable parameter element θ is
replaced by θ + σ·n, n ~ N(0, 1) from the method's generator, with variance

    σ² = α · min(1 / (F + 1e-8), 1e3)                 (the classifier: min(…, 1e2))

then, for tensors with more than one dimension, averaged over dimension 1 (the inputs of
each output unit: one variance per row of a linear layer, per output channel and kernel
position of a convolution), and multiplied by 10 for the classifier and for
one-dimensional tensors (BatchNorm / LayerNorm parameters, biases). For full-class
forgetting the classifier row of the forgotten class is set to 0 with variance 1e-3.
No training; no data but D_r is read.

Golatkar, Achille & Soatto, "Eternal Sunshine of the Spotless Net: Selective Forgetting
in Deep Networks" (CVPR 2020), §5 "Fisher forgetting". Authors' code:
``AdityaGolatkar/SelectiveForgetting`` (``Forgetting.ipynb``: ``hessian`` and
``get_mean_var``), the same functions reused in ``meghdadk/SCRUB``; α = 1e-6 is the value
those notebooks use for forgetting.

F is the expectation over the model's own predictive distribution, Σ_c p(c|x)·g_c², as
the authors' ``hessian`` computes it (``fisher = "empirical"`` uses the labels instead:
the SSD-Det importance). Per-(sample, class) gradients come from ``torch.func`` (vmap over
grad, the SSD family's path), each process on its own shard, summed across processes:
1 and N processes give the same weights.

Differences from the reference: the classifier is the network's last layer
(:mod:`supreme_methods._layers`), where the reference treated every tensor whose first
dimension equalled the class count as the classifier (which also caught the 64-channel
convolutions of a ResNet on a 64-class dataset); the forgotten class's row is only zeroed
for full-class forgetting (the reference zeroed it whenever no sample count was given; for
sub-class forgetting it would erase the whole coarse class). The paper's analysis gives a
noise standard deviation ∝ F^(-1/4); like the authors' code we use variance ∝ 1/F.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, PositiveScale

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

#: Added to F before inverting it.
EPSILON = 1e-8
#: Cap of 1 / F for every tensor, and for the classifier.
MAX_INVERSE = 1e3
MAX_INVERSE_HEAD = 1e2
#: Extra factor on the variance of the classifier and of one-dimensional tensors.
BOOST = 10.0
#: Variance of the forgotten class's classifier row (before the classifier's factor).
FORGOTTEN_ROW_VARIANCE = 1e-4


class Fisher(UnlearningMethod):
    """Fisher forgetting: noise with variance α / (diagonal Fisher of the retain set)."""

    name = "fisher"
    #: supreme tune's search space: Golatkar et al. (CVPR 2020): the noise scale α on a log grid.
    search_space = {"alpha": Search(1e-9, 1e-3, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        alpha: PositiveScale = Field(1e-6, description="α: noise variance per unit of 1/F")
        fisher: Literal["expected", "empirical"] = Field(
            "expected", description="expected: Σ_c p(c|x)·g_c² (reference); empirical: labels"
        )
        per_row: bool = Field(
            True, description="average the variance over dimension 1 of each tensor (reference)"
        )
        batch_size: BatchSize | None = Field(None, description="default: the scenario's batch size")
        chunk_size: BatchSize | None = Field(
            16, description="(sample, class) pairs per vmapped gradient call; None: a batch"
        )

    config: Config

    def information(self, module: nn.Module, data: UnlearnData) -> dict[str, torch.Tensor]:
        """The diagonal Fisher information F of ``module`` over D_r."""
        from supreme_methods import _importance as imp

        cfg = self.config
        batch = cfg.batch_size or data.batch_size
        if cfg.fisher == "empirical":
            return imp.per_sample_importance(module, data.retain, data, "ce", batch,
                                             cfg.chunk_size, "fisher over D_r")
        return imp.expected_fisher(module, data.retain, data, batch, cfg.chunk_size,
                                   "fisher over D_r")

    def variances(self, module: nn.Module, fisher: dict[str, torch.Tensor], data: UnlearnData
                  ) -> dict[str, torch.Tensor]:
        """σ² of every trainable parameter (see the module docstring)."""
        cfg = self.config
        head = classifier(module, data.num_classes)
        row = forgotten_row(data)
        out = {}
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            in_head = id(p) in head
            var = (1.0 / (fisher[name] + EPSILON)).clamp(max=MAX_INVERSE)
            if in_head:
                var = var.clamp(max=MAX_INVERSE_HEAD)
            var = cfg.alpha * var
            if cfg.per_row and p.dim() > 1:
                var = var.mean(dim=1, keepdim=True).expand_as(p).clone()
            if in_head and row is not None:
                var[row] = FORGOTTEN_ROW_VARIANCE
            if in_head or p.dim() == 1:
                var = var * BOOST
            out[name] = var
        return out

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        import torch
        from supreme.api import unwrap

        module = unwrap(model)
        was_training = module.training
        variances = self.variances(module, self.information(module, data), data)
        head = classifier(module, data.num_classes)
        row = forgotten_row(data)
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name not in variances:
                    continue
                if id(p) in head and row is not None:
                    p[row] = 0.0
                noise = torch.randn(p.shape, generator=data.generator)
                p.add_(variances[name].sqrt() * noise.to(device=p.device, dtype=p.dtype))
        module.zero_grad(set_to_none=True)
        module.train(was_training)
        return module


def classifier(module: nn.Module, num_classes: int) -> set[int]:
    """Ids of the classifier's tensors: those of the last layer with one row per class."""
    from supreme_methods._layers import layers

    every = layers(module)
    if not every:
        return set()
    return {id(p) for p in every[-1][1].parameters() if p.dim() >= 1 and p.shape[0] == num_classes}


def forgotten_row(data: UnlearnData) -> int | None:
    """The classifier row zeroed: the forgotten class, for full-class forgetting only."""
    return data.forget_class if data.scenario == "fullclass" else None
