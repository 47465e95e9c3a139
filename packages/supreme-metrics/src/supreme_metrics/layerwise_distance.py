r"""Layer-wise distance: L2 norm of the parameter difference M_u - M_r, overall and per layer.

Definition, with θ_u and θ_r the trainable parameters (``named_parameters``; BatchNorm
running statistics and other buffers excluded) of M_u and M_r::

    total     = sqrt( Σ_{all parameters w} Σ (θ_u[w] - θ_r[w])² )
    layer.L   = sqrt( Σ_{parameters w of module L} Σ (θ_u[w] - θ_r[w])² )

where a parameter belongs to the module that owns it (``features.0.weight`` -> layer
``features.0``), so total² = Σ_L layer.L². Keys: ``total`` and ``layer.<module path>``;
the per-layer keys are declared details (``detail_keys``): in the records and files, not
in the summary tables and plots.
A good unlearning result is close to 0 (the retrain row is 0 by construction); M_u starts
from M_o, so the original row's value is the distance any method starts from.

Differences from the reference:

* The reference reports only the global norm; the per-layer norms are added (they show
  where a method changed the network). Sums are in float64.
* Fabric/DDP wrappers are unwrapped so parameter names match; a network whose
  parameter names or shapes differ from M_r's is an error rather than a silent partial sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric
from supreme.errors import SupremeError

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class LayerwiseDistance(Metric):
    """L2 norm of the parameter difference M_u - M_r, overall and per layer."""

    name = "layerwise_distance"
    needs = frozenset({"reference"})
    #: one value per layer: kept in the records and files, out of the summary tables
    detail_keys = frozenset({"layer.*"})

    class Config(ComponentConfig):
        pass

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        import torch
        from supreme.api import unwrap

        model = dict(unwrap(ctx.model("unlearned")).named_parameters())
        reference = dict(unwrap(ctx.model("reference")).named_parameters())
        if model.keys() != reference.keys():
            extra, missing = sorted(model.keys() - reference), sorted(reference.keys() - model)
            raise SupremeError(
                f"layerwise_distance: {ctx.method!r} has parameters that M_r lacks {extra[:3]} "
                f"or lacks parameters of M_r {missing[:3]}",
                "a method must return a network of M_o's architecture; drop this metric "
                "for methods that change the architecture",
            )
        squares: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for name, theta_u in model.items():
                theta_r = reference[name]
                if theta_u.shape != theta_r.shape:
                    raise SupremeError(
                        f"layerwise_distance: parameter {name!r} of {ctx.method!r} has shape "
                        f"{tuple(theta_u.shape)}, M_r's has {tuple(theta_r.shape)}",
                        "a method must return a network of M_o's architecture",
                    )
                diff = theta_u.detach().double() - theta_r.detach().to(theta_u.device).double()
                layer = name.rsplit(".", 1)[0] if "." in name else name
                square = diff.square().sum().cpu()
                squares[layer] = squares.get(layer, torch.zeros((), dtype=torch.float64)) + square
        total = sum(squares.values(), torch.zeros((), dtype=torch.float64))
        result = {"total": float(total.sqrt())}
        result.update({f"layer.{layer}": float(s.sqrt()) for layer, s in squares.items()})
        return result
