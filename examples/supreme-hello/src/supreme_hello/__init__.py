"""supreme-hello: an example third-party SUPREME plugin.

It provides one unlearning method, ``hello_forget`` ("head reset"): the output unit of
the forgotten class is silenced (its weights set to zero and its bias to a large negative
value) and the classification head alone is then fine-tuned for a few steps on the
retain set so the remaining classes recalibrate. It is cheap, needs no teacher, and only
applies to class-level scenarios (full-class and sub-class).

The whole plugin is this module: the ``supreme`` entry point in ``pyproject.toml`` points
here, and the hook below returns the method class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme import hookimpl
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.types import MAX_SCALE, EpochCount, LearningRate

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

__version__ = "0.1.0"


class HelloConfig(ComponentConfig):
    """The hyperparameters of ``hello_forget``."""

    epochs: EpochCount = Field(1, description="head-only epochs on the retain set")
    lr: LearningRate = Field(0.01, description="SGD learning rate of the head")
    bias: float = Field(-10.0, ge=-MAX_SCALE, le=0, description="bias given to the forgotten output")


class HelloForget(UnlearningMethod[HelloConfig]):
    """Head reset: silence the forgotten class's output, then tune the head on D_r."""

    name = "hello_forget"
    scenarios = frozenset({"fullclass", "subclass"})

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        import torch
        import torch.nn.functional as F
        from torch import nn

        heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not heads or data.forget_class is None:
            raise ValueError("hello_forget needs a linear output layer and a forget class")
        head = heads[-1]
        forget = data.forget_class
        with torch.no_grad():
            head.weight[forget].zero_()
            if head.bias is not None:
                head.bias[forget] = self.config.bias
        for p in model.parameters():
            p.requires_grad_(False)
        head.weight.requires_grad_(True)
        if head.bias is not None:
            head.bias.requires_grad_(True)
        optimizer = torch.optim.SGD([p for p in head.parameters()], lr=self.config.lr)
        wrapped, optimizer = fabric.setup(model, optimizer)
        wrapped.eval()  # keep BatchNorm statistics of the body frozen
        for _ in range(self.config.epochs):
            for x, y in data.loader("retain", shuffle=True):
                logits = wrapped(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                fabric.backward(loss)
                if head.weight.grad is not None:  # the silenced unit stays silent
                    head.weight.grad[forget] = 0
                if head.bias is not None and head.bias.grad is not None:
                    head.bias.grad[forget] = 0
                optimizer.step()
        for p in model.parameters():
            p.requires_grad_(True)
        return model


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [HelloForget]
