"""The embedded default experiment, end to end, with every real package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import supreme

pytestmark = pytest.mark.slow


def test_default_experiment_results_make_sense(default_run: supreme.Results) -> None:
    # the references converged: every gate passes (docs/validity.md), on this machine or any
    [gate] = default_run.gates
    assert gate["passed"], gate["checks"]
    assert [c["name"] for c in gate["checks"]] == [
        "original_train", "original_test", "retrain_retain_test", "retrain_forget_test"]
    assert all(r["gates"] == {"passed": True, "failed": []} for r in default_run.records)
    acc = {m: {k: default_run.mean(m, "accuracy", k) for k in ("forget_test", "retain_test")}
           for m in ("original", "retrain", "finetune")}
    # M_o knows the forgotten digit; M_r never saw it
    assert acc["original"]["forget_test"] > 90
    assert acc["retrain"]["forget_test"] < 5
    # M_r loses nothing on the other digits
    assert abs(acc["retrain"]["retain_test"] - acc["original"]["retain_test"]) < 5
    # fine-tuning on D_r moves towards M_r without reaching it
    assert acc["retrain"]["forget_test"] <= acc["finetune"]["forget_test"] <= acc["original"]["forget_test"]
    assert acc["finetune"]["retain_test"] > 90
    # loss on the forget set: retrain is the most surprised
    assert default_run.mean("retrain", "loss", "forget_test") > default_run.mean(
        "original", "loss", "forget_test")
    records = default_run.records
    assert {r["metric"] for r in records} == {"accuracy", "loss"}
    assert {r["method"] for r in records} == {"original", "retrain", "finetune"}
    prov = next(r for r in records if r["method"] == "finetune")["provenance"]
    assert prov["method"]["distribution"] == "supreme-methods"
    assert prov["metric"]["distribution"] == "supreme-metrics"
    assert prov["dataset"]["distribution"] == "supreme-vision"


def test_the_cli_rerun_of_a_finished_run_computes_nothing_imports_no_torch_and_prints_the_same_results(
    default_run: supreme.Results, default_dir: Path
) -> None:
    # every cell's outcome is current: the rerun reads them, without torch or Lightning
    script = ("import sys\nfrom supreme.cli.main import main\n"
              "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
              "assert 'torch' not in sys.modules and 'lightning' not in sys.modules\n")
    done = subprocess.run(
        [sys.executable, "-c", script, "run", "--json", "--set", f'output_dir="{default_dir}"'],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "computed" not in done.stderr and "reused" not in done.stderr  # no stage ran
    assert "every cell had finished with this code, torch and data: read 1 outcome" in done.stderr
    assert json.loads(done.stdout)["records"] == json.loads(json.dumps(default_run.records))


def test_the_example_plugin_runs_on_the_same_original_model(default_dir: Path) -> None:
    results = supreme.run(supreme.load_config(overrides=[
        f'output_dir="{default_dir}"', 'name="hello"', 'methods=["original","hello_forget"]']))
    computed = {e.stage for e in results.events if not e.reused}
    assert "train M_o" not in computed  # shared with the default run through the store
    assert "unlearn hello_forget" in computed
    assert results.mean("hello_forget", "accuracy", "forget_test") == 0.0
    assert results.mean("hello_forget", "accuracy", "retain_test") > 90
    prov = next(r for r in results.records if r["method"] == "hello_forget")["provenance"]
    assert prov["method"] == {"plugin": "hello", "distribution": "supreme-hello", "version": "0.1.0"}


def test_two_cpu_processes_give_the_same_split_and_close_results(
    default_run: supreme.Results, tmp_path: Path
) -> None:
    """The default on 2 gloo processes (Fabric's ddp launcher re-executes the CLI)."""
    done = subprocess.run(
        [sys.executable, "-m", "supreme", "run", "--json", "--set", f'output_dir="{tmp_path}"',
         "--set", "fabric.devices=2", "--set", 'fabric.strategy="ddp"'],
        capture_output=True, text=True, check=False, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads(done.stdout)  # printed once, by rank 0
    # the same split, drawn once from its own generator
    one_splits = sorted((default_run.run_dir / "splits").iterdir())
    two_splits = sorted((Path(two["run_dir"]) / "splits").iterdir())
    assert [p.name for p in one_splits] == [p.name for p in two_splits]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one_splits, two_splits, strict=True))

    def value(records: list, method: str, key: str) -> float:
        return next(r["value"] for r in records
                    if r["method"] == method and r["metric"] == "accuracy" and r["key"] == key)

    ones = json.loads(json.dumps(default_run.records))
    # the global batch is preserved; per-rank BatchNorm statistics (no SyncBatchNorm on a
    # CPU) and float summation order differ, so models are close, not equal
    for key in ("forget_test", "retain_test"):
        assert abs(value(two["records"], "original", key) - value(ones, "original", key)) < 2.0
    # M_r never learns the forgotten digit, on one process or two
    assert value(two["records"], "retrain", "forget_test") < 5
    assert value(ones, "retrain", "forget_test") < 5
    # and M_r converges on two processes as on one (docs/models.md, "Convergence")
    assert abs(value(two["records"], "retrain", "retain_test")
               - value(ones, "retrain", "retain_test")) < 2.0
    assert all(g["passed"] for g in two["gates"]), two["gates"]


def test_the_default_computed_twice_from_scratch_is_bitwise_identical(
    default_run: supreme.Results, tmp_path: Path
) -> None:
    """CPU determinism: a second, independent store gives the very same numbers."""
    again = supreme.run(supreme.load_config(overrides=[f'output_dir="{tmp_path}"']))
    assert not any(e.reused for e in again.events)  # really recomputed
    first = [(r["method"], r["metric"], r["key"], r["value"], r["artifact"]) for r in default_run.records]
    second = [(r["method"], r["metric"], r["key"], r["value"], r["artifact"]) for r in again.records]
    assert second == first  # float equality: bitwise, not approximately
