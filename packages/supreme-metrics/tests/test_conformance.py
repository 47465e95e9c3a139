"""Every registered metric passes supreme.testing's conformance check (1 and 2 processes)."""

from __future__ import annotations

import pytest
import torch
from supreme import registry
from supreme.contracts import ComponentConfig, Metric
from supreme.testing.metrics import check_metric, check_metrics
from supreme_metrics.activation_distance import ActivationDistance
from supreme_metrics.js_divergence import JSDivergence
from supreme_metrics.plugin import METRICS, supreme_register_metrics
from supreme_metrics.zrf import ZRF

ALL = ["accuracy", "loss", "js_divergence", "activation_distance", "completeness",
       "layerwise_distance", "zrf", "mia", "relearn_time", "forget_quality", "ulira", "time",
       "resources"]


def test_the_plugin_registers_all_thirteen_metrics() -> None:
    assert [cls.name for cls in supreme_register_metrics()] == ALL
    registered = {entry.name: entry for entry in registry.list_components("metrics")}
    for name in ALL:
        assert registered[name].provenance.distribution == "supreme-metrics"


@pytest.mark.parametrize("metric_cls", METRICS, ids=[m.name for m in METRICS])
def test_metric_conforms(metric_cls: type[Metric]) -> None:
    rows = check_metric(metric_cls)
    assert set(rows) == {"method", "original", "retrain"}


@pytest.mark.parametrize("metric_cls", [JSDivergence, ActivationDistance, ZRF],
                         ids=["js_divergence", "activation_distance", "zrf"])
def test_legacy_variants_conform(metric_cls: type[Metric]) -> None:
    legacy = check_metric(metric_cls, metric_cls.Config(legacy=True))  # type: ignore[call-arg]
    assert legacy != check_metric(metric_cls)


def test_reference_rows_score_as_expected_against_themselves() -> None:
    values = check_metrics([m for m in METRICS if "reference" in m.needs])
    for name in ("js_divergence", "activation_distance"):
        assert set(values[name]["retrain"].values()) == {0.0}
        assert min(values[name]["method"].values()) > 0.0
    assert set(values["completeness"]["retrain"].values()) == {100.0}
    assert values["layerwise_distance"]["retrain"]["total"] == 0.0
    assert values["time"]["retrain"]["speedup"] == 1.0


@pytest.mark.slow
def test_two_gloo_processes_give_the_single_process_values() -> None:
    # one launch for all ten metrics; raises if any value differs from the 1-process one
    values = check_metrics(METRICS, processes=2)
    assert set(values) == set(ALL)


# -- the check catches broken metrics ------------------------------------------------------------
class _Base(Metric):
    """A deliberately broken metric."""

    name = "broken"

    class Config(ComponentConfig):
        pass

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError


class ReturnsTensor(_Base):
    """Returns a tensor value."""

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        return {"test": ctx.outputs("unlearned", "test").logits.sum()}


class UndeclaredReference(_Base):
    """Reads M_r without declaring it."""

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        ctx.outputs("reference", "test")
        return {"test": 0.0}


class Infinite(_Base):
    """Returns infinity."""

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        return {"test": float("inf")}


class Random(_Base):
    """Draws from the global RNG."""

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        return {"test": float(torch.rand(()))}


class ChangesMode(_Base):
    """Leaves the model in eval mode."""

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        ctx.model("unlearned").eval()
        return {"test": 0.0}


class KeysPerRow(_Base):
    """Keys depend on the row."""

    def compute(self, ctx):  # type: ignore[no-untyped-def]
        return {ctx.method: 1.0}


@pytest.mark.parametrize(("metric_cls", "message"), [
    (ReturnsTensor, r"test = tensor\(.*\(Tensor\); convert with float"),
    (UndeclaredReference, r"declares \[\] in `needs`|declares \[\]"),
    (Infinite, r"test = inf; values must be finite"),
    (Random, r"with a second evaluation.*seed every random choice from ctx.seed"),
    (ChangesMode, r"changed the unlearned model .* on the method row"),
    (KeysPerRow, r"returns different keys for different rows"),
])
def test_the_check_rejects_a_broken_metric(metric_cls: type[Metric], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_metric(metric_cls)
