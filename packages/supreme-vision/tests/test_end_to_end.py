"""A whole SUPREME run on a CIFAR-20 fixture in the sub-class scenario (real loaders).

The metric is defined here (registered at run time) so the test needs only supreme-core
and supreme-vision.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from supreme import hookimpl, registry
from supreme.contracts import EvalContext, Metric


class SplitAccuracy(Metric):
    """Accuracy (%) and size of the three test splits."""

    name = "split_accuracy"

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        out: dict[str, float] = {}
        for split in ("retain_test", "forget_test"):
            o = ctx.outputs("unlearned", split)
            out[split] = 100.0 * float((o.logits.argmax(1) == o.labels).double().mean())
            out[f"{split}_size"] = float(len(o.labels))
            out[f"{split}_labels"] = float(len(set(o.labels.tolist())))
        return out


class LocalMetrics:
    @hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [SplitAccuracy]


@pytest.fixture
def local_metric() -> object:
    registry.reset()
    registry.register_plugin(LocalMetrics(), name="local_metrics")
    yield
    registry.reset()


def test_cifar20_subclass_run_reports_the_forgotten_fine_class(
    tmp_path: Path, cifar_root: Path, local_metric: object
) -> None:
    import supreme

    config = supreme.load_config(
        data={
            "output_dir": str(tmp_path / "runs"),
            "datasets": ["cifar20"],
            "models": ["resnet18"],
            "scenarios": ["subclass"],
            "targets": {"subclass": ["rocket"]},
            "methods": ["original", "retrain"],
            "metrics": ["split_accuracy"],
            "training": {"epochs": 1, "batch_size": 32},
            "dataset": {"cifar20": {"root": str(cifar_root)}},
            "model": {"resnet18": {"width": 4}},
        }
    )
    records = supreme.run(config).records
    assert records and {r["scenario"] for r in records} == {"subclass"}
    assert {r["target"] for r in records} == {"rocket"}
    values = {(r["method"], r["key"]): r["value"] for r in records}
    for method in ("original", "retrain"):
        # D'_f is the one test image of fine class "rocket" (fixture: 1 test image per fine
        # class), labelled with its superclass; D'_r keeps every other test image
        assert values[(method, "forget_test_size")] == 1.0
        assert values[(method, "forget_test_labels")] == 1.0
        assert values[(method, "retain_test_size")] == 99.0
        assert values[(method, "forget_test")] in (0.0, 100.0)
        assert 0.0 <= values[(method, "retain_test")] <= 100.0
