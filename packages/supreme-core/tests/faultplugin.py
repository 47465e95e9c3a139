"""Faulty and slow components for the grid tests (used with the toy plugin).

Each faulty component is broken while the file named by the ``SUPREME_TEST_BROKEN``
environment variable exists, so a test can "fix the plugin" by deleting that file and
rerun without changing any store key.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch
from supreme import hookimpl
from supreme.contracts import ComponentConfig, EvalContext, Metric, UnlearningMethod


def broken() -> bool:
    marker = os.environ.get("SUPREME_TEST_BROKEN")
    return bool(marker) and Path(marker).exists()


class ToyRaise(UnlearningMethod):
    """Raises while broken when asked to forget class index ``bad_class``; else identity."""

    name = "toy_raise"

    class Config(ComponentConfig):
        bad_class: int = 1

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        if broken() and data.forget_class == self.config.bad_class:
            raise ValueError(f"toy_raise cannot forget class {data.forget_class}")
        return model


class ToyNan(UnlearningMethod):
    """Returns NaN weights while broken; else scales the weights by 0.5."""

    name = "toy_nan"

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(float("nan") if broken() else 0.5)
        return model


class ToySlow(UnlearningMethod):
    """Sleeps ``seconds`` (to be interrupted), then returns the model unchanged."""

    name = "toy_slow"

    class Config(ComponentConfig):
        seconds: float = 2.0

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        time.sleep(self.config.seconds)
        return model


class ToyExit(UnlearningMethod):
    """Ends its whole process at once while broken (a crash no Python handler sees)."""

    name = "toy_exit"

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        if broken():
            os._exit(3)
        return model


class ToyBadMetric(Metric):
    """Raises while broken; else the mean logit on the test split."""

    name = "toy_bad_metric"

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        if broken():
            raise ZeroDivisionError("toy_bad_metric divided by zero")
        return {"test": float(ctx.outputs("unlearned", "test").logits.mean())}


class ToyTime(Metric):
    """The unlearning time the pipeline measured (a metric whose key depends on timings)."""

    name = "toy_time"
    needs = frozenset({"timings"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"seconds": ctx.timings["unlearn_seconds"]}


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [ToyRaise, ToyNan, ToySlow, ToyExit]


@hookimpl
def supreme_register_metrics() -> list[type[Metric]]:
    return [ToyBadMetric, ToyTime]
