"""A whole SUPREME run on a CIFAR-20 fixture in the sub-class scenario (real loaders)."""

from __future__ import annotations

from pathlib import Path


def test_cifar20_subclass_run_reports_the_forgotten_fine_class(tmp_path: Path, cifar_root: Path) -> None:
    import supreme

    config = supreme.load_config(
        data={
            "output_dir": str(tmp_path / "runs"),
            "datasets": ["cifar20"],
            "models": ["resnet18"],
            "scenarios": ["subclass"],
            "targets": {"subclass": ["rocket"]},
            "methods": ["original", "retrain"],
            "metrics": ["accuracy"],
            "training": {"epochs": 1, "batch_size": 32},
            "dataset": {"cifar20": {"root": str(cifar_root)}},
            "model": {"resnet18": {"width": 4}},
        }
    )
    records = supreme.run(config).records
    assert records and {r["scenario"] for r in records} == {"subclass"}
    assert {r["target"] for r in records} == {"rocket"}
    accuracy = {(r["method"], r["key"]): r["value"] for r in records if r["metric"] == "accuracy"}
    # D'_f is the one test image of fine class "rocket" (fixture: 1 test image per fine class)
    for method in ("original", "retrain"):
        assert accuracy[(method, "forget_test")] in (0.0, 100.0)
        assert 0.0 <= accuracy[(method, "retain_test")] <= 100.0
