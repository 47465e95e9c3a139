"""Reference-model gates: each fires on a deliberately bad reference, passes on a trained
one, flags every record, fails the cell in strict mode, and shows in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import supreme
from supreme.gates import default_floor, describe_failures, verdict
from supreme.pipeline.run import GateWarning

HERE = Path(__file__).parent
TOY = str(HERE / "toyplugin.py")
GOOD = {"original_train": 99.5, "original_test": 96.0, "original_retain_test": 96.5,
        "retrain_retain_test": 95.0, "retrain_forget_test": 0.0}


def judge(accuracies: dict[str, float], scenario: str = "fullclass") -> dict[str, Any]:
    return verdict(accuracies, scenario=scenario, floors={"train": 99.0, "test": 94.0},
                   num_classes=10, retain_tolerance=2.0, forget_max=5.0)


def test_a_converged_pair_passes_every_gate() -> None:
    result = judge(GOOD)
    assert result["passed"] and result["failed"] == []
    assert [c["name"] for c in result["checks"]] == [
        "original_train", "original_test", "retrain_retain_test", "retrain_forget_test"]
    assert [c["threshold"] for c in result["checks"]] == [99.0, 94.0, 94.5, 5.0]


@pytest.mark.parametrize(("change", "fails"), [
    ({"original_train": 98.9}, "original_train"),
    ({"original_test": 93.99}, "original_test"),
    ({"retrain_retain_test": 94.49}, "retrain_retain_test"),  # 96.5 - 2.0 = 94.5
    ({"retrain_forget_test": 5.01}, "retrain_forget_test"),
])
def test_each_gate_fires_just_past_its_threshold(change: dict[str, float], fails: str) -> None:
    result = judge({**GOOD, **change})
    assert not result["passed"] and result["failed"] == [fails]


def test_gate_thresholds_are_inclusive_and_scenario_aware() -> None:
    edge = {**GOOD, "original_train": 99.0, "original_test": 94.0, "retrain_retain_test": 94.5,
            "retrain_forget_test": 5.0}
    assert judge(edge)["passed"]
    # sub-class and random forgetting have no forget-test gate (the coarse class stays learned)
    for scenario in ("subclass", "random"):
        names = [c["name"] for c in judge({**GOOD, "retrain_forget_test": 80.0}, scenario)["checks"]]
        assert "retrain_forget_test" not in names
    # no M_r (no method or metric needs it): only M_o is checked
    only = judge({k: v for k, v in GOOD.items() if k.startswith("original")})
    assert [c["name"] for c in only["checks"]] == ["original_train", "original_test"]
    assert describe_failures(judge({**GOOD, "original_test": 61.13})) == (
        "M_o accuracy on the test set 61.13% < 94.00%")


def test_undeclared_floors_are_three_times_chance_at_most_half() -> None:
    assert default_floor(10) == 30.0 and default_floor(4) == 50.0 and default_floor(100) == 3.0


def bad_recipe(tmp_path: Path, **more: Any) -> dict[str, Any]:
    """One epoch at a learning rate too small to learn anything: an under-trained M_o/M_r."""
    return {"output_dir": str(tmp_path / "runs"), "datasets": ["toy"], "models": ["tiny"],
            "methods": ["original", "retrain", "toy_ascent"], "metrics": ["toy_accuracy"],
            "training": {"epochs": 1, "lr": 1e-6, "warmup_epochs": 0}, **more}


def test_under_trained_references_warn_flag_every_record_and_reach_the_report(
        tmp_path: Path, toy: Any) -> None:
    with pytest.warns(GateWarning, match=r"reference models of cell toy/tiny/fullclass:b .* "
                      r"failed their checks: M_o accuracy on its training data"):
        results = supreme.run(supreme.load_config(data=bad_recipe(tmp_path)))
    assert results.failures == []  # warn mode: the results are kept, flagged
    [gate] = results.gates
    assert not gate["passed"] and {"original_train", "original_test"} <= set(gate["failed"])
    assert all(r["gates"] == {"passed": False, "failed": gate["failed"]} for r in results.records)
    lines = (results.run_dir / "gates.jsonl").read_text().splitlines()
    assert [json.loads(line)["failed"] for line in lines] == [gate["failed"]]

    from supreme.report import write_report

    files = write_report(results.run_dir)
    html = files["html"].read_text()
    assert '<div class="banner" role="alert"><strong>Warning: the reference models failed their ' \
           "checks in 1 of 1 cells.</strong>" in html
    assert html.index('class="banner"') < html.index("<nav")  # above everything else
    assert html.index('class="banner"') < html.index('<table class="summary')
    assert files["markdown"].read_text().startswith(
        "> **Warning: the reference models failed their checks in 1 of 1 cells.**")
    assert files["leaderboard"].read_text().startswith("> **Warning")
    assert "## Reference models" in files["markdown"].read_text()


def test_trained_references_pass_and_the_verdict_is_reused(
        tmp_path: Path, toy_experiment: dict[str, Any]) -> None:
    results = supreme.run(supreme.load_config(data=toy_experiment))
    [gate] = results.gates
    assert gate["passed"], gate
    assert all(r["gates"] == {"passed": True, "failed": []} for r in results.records)
    again = supreme.run(supreme.load_config(data=toy_experiment))
    assert not [e for e in again.events if not e.reused]  # the accuracies come from the store
    assert again.gates == results.gates


def test_strict_gates_fail_the_cell_with_exit_1(tmp_path: Path) -> None:
    settings = [f"output_dir='{tmp_path / 'runs'}'", "datasets=['toy']", "models=['tiny']",
                "methods=['original','retrain','toy_ascent']", "metrics=['toy_accuracy']",
                "training.epochs=1", "training.lr=1e-6", "training.warmup_epochs=0"]
    args = [sys.executable, "-m", "supreme", "run", "--plugin", TOY, "--strict-gates",
            *[a for s in settings for a in ("--set", s)]]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "1 of 1 cells failed" in result.stderr
    assert "check references: StageError: reference models of cell" in result.stderr
    assert "Traceback" not in result.stderr
    [failure] = [json.loads(x) for x in
                 (tmp_path / "runs" / "default" / "failures.jsonl").read_text().splitlines()]
    assert failure["stage"] == "check references"


def test_gates_can_be_switched_off(tmp_path: Path, toy: Any) -> None:
    results = supreme.run(supreme.load_config(data=bad_recipe(tmp_path, gates={"mode": "off"})))
    assert results.gates == [] and all("gates" not in r for r in results.records)


def test_floors_are_declared_per_dataset_and_optionally_per_model_family() -> None:
    from supreme.gates import floors_for

    class Spec:
        reference_floors = {"test": 80.0, "resnet": {"train": 97.0, "test": 94.0}}

    assert floors_for(Spec(), "resnet") == {"test": 94.0, "train": 97.0}
    assert floors_for(Spec(), "vit") == {"test": 80.0}
    assert floors_for(object(), "vit") == {}
