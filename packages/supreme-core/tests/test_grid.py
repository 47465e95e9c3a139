"""Grids under faults: failed cells, fail-fast, workers, SIGKILL/SIGINT and resume, two
runs sharing one store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import faultplugin
import pytest
import supreme
from supreme import registry
from supreme.engine import plan
from supreme.errors import StageError
from supreme.pipeline.cells import collect
from supreme.store import META, Store

HERE = Path(__file__).parent


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The marker that keeps the fault plugin's components broken (delete it to fix them)."""
    marker = tmp_path / "broken"
    marker.write_text("yes")
    monkeypatch.setenv("SUPREME_TEST_BROKEN", str(marker))
    return marker


@pytest.fixture
def faulty(toy: Any, broken: Path) -> Path:
    registry.register_plugin(faultplugin)
    return broken


def grid(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {
        "output_dir": str(tmp_path / "runs"), "datasets": ["toy"], "models": ["tiny"],
        "targets": {"fullclass": ["b", "c"]},
        "methods": ["original", "retrain", "toy_ascent", "toy_raise", "toy_nan"],
        "metrics": ["toy_accuracy", "toy_gap"], **changes,
    }


def computed(results: supreme.Results) -> list[tuple[str, str]]:
    return sorted((e.stage, e.cell) for e in results.events if not e.reused)


def test_faulty_methods_fail_their_cells_and_the_grid_goes_on(tmp_path: Path, faulty: Path) -> None:
    with pytest.warns(RuntimeWarning, match="toy_raise cannot forget class 1"):
        results = supreme.run(supreme.load_config(data=grid(tmp_path)))
    failures = {(f["target"], f["method"], f["stage"], f["error_type"]) for f in results.failures}
    assert failures == {
        ("b", "toy_raise", "unlearn toy_raise", "ValueError"),
        ("b", "toy_nan", "unlearn toy_nan", "StageError"),
        ("c", "toy_nan", "unlearn toy_nan", "StageError"),
    }
    nan = next(f for f in results.failures if f["method"] == "toy_nan")
    assert "non-finite weights (NaN or inf)" in nan["error"]
    # every other row of both cells was evaluated, toy_raise too where it worked
    rows = {(r["target"], r["method"]) for r in results.records}
    assert rows == {(t, m) for t in "bc" for m in ("original", "retrain", "toy_ascent")} | {
        ("c", "toy_raise")}
    # the failures are on disk next to the results, and no broken model was stored
    on_disk = [json.loads(x) for x in (results.run_dir / "failures.jsonl").read_text().splitlines()]
    assert len(on_disk) == 3
    merged = collect(supreme.load_config(data=grid(tmp_path)))
    assert merged.counts() == {"finished": 0, "failed": 2, "missing": 0}

    # fix the plugin: the rerun computes exactly the failed stages and their evaluations
    faulty.unlink()
    again = supreme.run(supreme.load_config(data=grid(tmp_path)))
    assert again.failures == []
    stages = {stage for stage, _ in computed(again)}
    assert stages == {"unlearn toy_raise", "unlearn toy_nan", "evaluate toy_raise:toy_accuracy",
                      "evaluate toy_raise:toy_gap", "evaluate toy_nan:toy_accuracy",
                      "evaluate toy_nan:toy_gap"}
    assert len(computed(again)) == 3 + 3 * 2  # raise on b, nan on b and c; 2 metrics each
    assert collect(supreme.load_config(data=grid(tmp_path))).counts()["finished"] == 2
    kept = [r for r in again.records if r["method"] == "toy_ascent"]
    assert kept == [r for r in results.records if r["method"] == "toy_ascent"]


def test_a_failing_metric_removes_only_its_own_values(tmp_path: Path, faulty: Path) -> None:
    settings = grid(tmp_path, methods=["original", "toy_ascent"],
                    metrics=["toy_accuracy", "toy_bad_metric"], targets={"fullclass": ["b"]})
    with pytest.warns(RuntimeWarning):
        results = supreme.run(supreme.load_config(data=settings))
    assert {(f["method"], f["metric"], f["error_type"]) for f in results.failures} == {
        ("original", "toy_bad_metric", "ZeroDivisionError"),
        ("toy_ascent", "toy_bad_metric", "ZeroDivisionError")}
    assert {(r["method"], r["metric"]) for r in results.records} == {
        ("original", "toy_accuracy"), ("toy_ascent", "toy_accuracy")}


def test_fail_fast_stops_at_the_first_failure(tmp_path: Path, faulty: Path) -> None:
    config = supreme.load_config(data=grid(tmp_path, methods=["toy_raise", "toy_ascent"]))
    with pytest.raises(StageError, match=r"unlearn toy_raise failed in cell toy/tiny/fullclass:b"
                       r".*ValueError: toy_raise cannot forget class 1"):
        supreme.run(config, fail_fast=True)
    # the first cell stopped at toy_raise: toy_ascent never ran
    assert not list((tmp_path / "runs" / "default" / "cells").glob("*.json"))


def test_the_cli_reports_failed_cells_with_exit_code_1(tmp_path: Path, broken: Path) -> None:
    result = cli(tmp_path, "--set", "methods=['original','toy_raise']")
    assert result.returncode == 1, result.stderr
    assert "1 of 2 cells failed (1 failed stages); first: unlearn toy_raise: ValueError: " \
           "toy_raise cannot forget class 1" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    # the results of both cells were still printed and written
    assert "original" in result.stdout
    assert len((tmp_path / "runs" / "default" / "results.jsonl").read_text().splitlines()) > 0


# -- processes -----------------------------------------------------------------------------
def cli_command(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "supreme", "--plugin", str(HERE / "toyplugin.py"),
            "--plugin", str(HERE / "faultplugin.py"), "run", "--no-progress",
            "--set", f"output_dir='{tmp_path / 'runs'}'", "--set", "datasets=['toy']",
            "--set", "models=['tiny']", "--set", "targets={fullclass=['b','c']}",
            "--set", "metrics=['toy_accuracy','toy_gap']", *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_command(tmp_path, *args), capture_output=True, text=True,
                          env=cli_env(), timeout=600)


def results_of(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "runs" / "default" / "results.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


def assert_store_intact(root: Path) -> int:
    """Every complete artifact loads and matches its checksum; returns how many."""
    store, count = Store(root), 0
    for meta in root.glob(f"*/*/{META}"):
        store.load(meta.parent.parent.name, meta.parent.name)  # raises on corruption
        count += 1
    return count


SLOW_GRID = ("--set", "methods=['original','retrain','toy_slow','toy_ascent']",
             "--set", "method.toy_slow.seconds=1.5")


def run_until(tmp_path: Path, *, after_lines: int, then_wait: float, sig: int,
              extra: tuple[str, ...] = (), after_text: tuple[str, ...] = ()) -> tuple[int, str]:
    """Start a run, send ``sig`` ``then_wait`` s after its ``after_lines``-th stage line
    (counting only the stage lines that contain every string of ``after_text``)."""
    process = subprocess.Popen(cli_command(tmp_path, *SLOW_GRID, *extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    assert process.stderr is not None
    seen, lines = 0, []
    for line in process.stderr:  # stage lines go to stderr
        lines.append(line)
        if "[" in line and ("computed" in line or "reused" in line) \
                and all(text in line for text in after_text):
            seen += 1
            if seen == after_lines:
                break
    time.sleep(then_wait)
    process.send_signal(sig)
    _, err = process.communicate(timeout=300)
    return process.returncode, "".join(lines) + err


@pytest.mark.slow
def test_sigkill_at_several_points_then_rerun_gives_identical_results(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    assert cli(clean, *SLOW_GRID).returncode == 0
    expected = results_of(clean)
    assert len(expected) == 2 * 4 * 4  # 2 cells x 4 rows x (3 accuracy keys + 1 gap)
    killed = tmp_path / "killed"
    # after the dataset; after M_o; in the middle of toy_slow (cell 1); cell 2's evaluation
    for after_lines, wait in ((1, 0.0), (2, 0.0), (4, 0.7), (20, 0.0)):
        code, _ = run_until(killed, after_lines=after_lines, then_wait=wait, sig=signal.SIGKILL)
        assert code == -signal.SIGKILL
        assert assert_store_intact(killed / "runs" / "store") >= 1
    assert cli(killed, *SLOW_GRID).returncode == 0
    assert results_of(killed) == expected


@pytest.mark.slow
def test_sigint_stops_after_the_current_stage_and_the_rerun_resumes(tmp_path: Path) -> None:
    # SIGINT while toy_slow runs: it finishes that stage, then exits 130
    code, err = run_until(tmp_path, after_lines=4, then_wait=0.5, sig=signal.SIGINT)
    assert code == 130, err
    assert "stopping after the current stage" in err
    assert "interrupted after stage 'unlearn toy_slow'" in " ".join(err.split())
    assert "Traceback" not in err
    store = tmp_path / "runs" / "store"
    stages = assert_store_intact(store)
    assert stages == 5  # dataset, M_o, split, M_r, toy_slow: the interrupted stage was kept
    rerun = cli(tmp_path, *SLOW_GRID)
    assert rerun.returncode == 0
    reused = {x.rsplit("[", 1)[1] for x in rerun.stderr.splitlines() if " reused " in x}
    assert len(reused) == 5  # exactly the five stages that had finished


@pytest.mark.slow
def test_a_second_sigint_stops_at_once(tmp_path: Path) -> None:
    process = subprocess.Popen(cli_command(tmp_path, *SLOW_GRID, "--set", "method.toy_slow.seconds=30"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=cli_env())
    assert process.stderr is not None
    for line in process.stderr:
        if "retrain M_r" in line:  # toy_slow (30 s) starts now
            break
    time.sleep(0.5)
    start = time.monotonic()
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert time.monotonic() - start < 20  # did not wait for the 30 s stage
    # the four finished stages are intact; the interrupted one was never written
    assert assert_store_intact(tmp_path / "runs" / "store") == 4


@pytest.mark.slow
def test_two_runs_on_one_store_train_each_artifact_once(tmp_path: Path) -> None:
    args = (*SLOW_GRID, "--set", "seeds.train=[0,1]")
    first = subprocess.Popen(cli_command(tmp_path, *args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=cli_env())
    second = subprocess.Popen(cli_command(tmp_path, *args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=cli_env())
    outs = [p.communicate(timeout=600) for p in (first, second)]
    assert first.returncode == second.returncode == 0, outs
    computed_keys: dict[str, int] = {}
    for _, err in outs:
        for line in err.splitlines():
            if "computed in" in line:
                key = line.rsplit("[", 1)[1].rstrip("]")
                computed_keys[key] = computed_keys.get(key, 0) + 1
    assert computed_keys and max(computed_keys.values()) == 1  # nothing computed twice
    assert assert_store_intact(tmp_path / "runs" / "store") == len(computed_keys)


@pytest.mark.slow
def test_two_workers_give_the_results_of_one_and_train_each_model_once(tmp_path: Path) -> None:
    args = ("--set", "methods=['original','retrain','toy_ascent']", "--set", "seeds.train=[0,1]")
    # each of 2 workers on this 2-core machine runs 1 thread; so does a single process
    # with OMP_NUM_THREADS=1, and then every number must be the same, bit for bit
    one = subprocess.run(cli_command(tmp_path / "one", *args, "--workers", "1"),
                         capture_output=True, text=True, timeout=600,
                         env={**cli_env(), "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // 2))})
    two = cli(tmp_path / "two", *args, "--workers", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    assert results_of(tmp_path / "two") == results_of(tmp_path / "one")
    lines = [x for x in two.stderr.splitlines() if "computed in" in x]
    # every stage line names its worker (which worker takes which cell is up to timing)
    assert lines and {x.split()[0] for x in lines} <= {"[w1]", "[w2]"}
    trainings = [x for x in lines if "train M_o" in x]
    assert len(trainings) == 2  # one per training seed, across both workers


@pytest.mark.slow
def test_cells_of_a_worker_that_died_are_reported_not_lost(tmp_path: Path, broken: Path) -> None:
    result = cli(tmp_path, "--set", "methods=['original','toy_exit']", "--workers", "2")
    assert result.returncode == 1, result.stderr
    assert "2 of 2 cells did not finish" in " ".join(result.stderr.split())
    broken.unlink()  # "fix" it: the rerun finishes both cells
    assert cli(tmp_path, "--set", "methods=['original','toy_exit']", "--workers", "2").returncode == 0
    assert {r["method"] for r in results_of(tmp_path)} == {"original", "toy_exit"}


@pytest.mark.slow
def test_workers_feed_one_set_of_loggers_from_the_parent(tmp_path: Path) -> None:
    import csv

    result = cli(tmp_path, "--set", "methods=['original','toy_ascent']", "--set",
                 "seeds.train=[0,1]", "--set", "loggers.use=['csv']", "--workers", "2")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "runs" / "default" / "logs" / "csv" / "metrics.csv", newline="") as f:
        logged = list(csv.DictReader(f))
    records = results_of(tmp_path)
    # every record logged exactly once, although two workers computed them
    assert sorted((r["target"], r["train_seed"], r["method"], r["metric"], r["key"]) for r in logged) \
        == sorted((r["target"], str(r["train_seed"]), r["method"], r["metric"], r["key"])
                  for r in records)


# -- supreme gc ------------------------------------------------------------------------------
def test_gc_removes_exactly_what_no_cell_references(tmp_path: Path, toy: Any) -> None:
    from supreme.gc import collect_garbage

    settings = grid(tmp_path, methods=["original", "retrain", "toy_ascent"])
    first = supreme.run(supreme.load_config(data=settings))
    store = tmp_path / "runs" / "store"
    used = {f"{p.parent.parent.name}/{p.parent.name}" for p in store.glob(f"*/*/{META}")}
    # a second experiment (another name) whose run directory is then deleted
    supreme.run(supreme.load_config(data={**settings, "name": "gone",
                                          "method": {"toy_ascent": {"lr": 0.5}}}))
    import shutil

    shutil.rmtree(tmp_path / "runs" / "gone")
    everything = {f"{p.parent.parent.name}/{p.parent.name}" for p in store.glob(f"*/*/{META}")}
    orphans = everything - used
    # lr changes toy_ascent's model and its 2 evaluations, in 2 cells
    assert len(orphans) == 2 * 3
    (store / "models" / first.events[1].key / ".payload.pt.999.tmp").write_bytes(b"partial")

    dry = collect_garbage(tmp_path / "runs", dry_run=True)
    assert set(dry.removed) == orphans and len(dry.temporary) == 1
    assert {f"{p.parent.parent.name}/{p.parent.name}" for p in store.glob(f"*/*/{META}")} == everything

    done = collect_garbage(tmp_path / "runs")
    assert set(done.removed) == orphans and done.kept == len(used)
    assert {f"{p.parent.parent.name}/{p.parent.name}" for p in store.glob(f"*/*/{META}")} == used
    assert not list(store.rglob("*.tmp"))
    again = supreme.run(supreme.load_config(data=settings))
    assert all(e.reused for e in again.events)  # nothing the experiment needs was removed
    assert collect_garbage(tmp_path / "runs").removed == []


def test_out_of_memory_names_the_stage_the_batch_size_and_the_setting() -> None:
    import torch
    from supreme.pipeline.fabric import make_fabric
    from supreme.pipeline.run import describe_failure

    config = supreme.load_config(data={"unlearning": {"batch_size": 256}})
    fabric = make_fabric(config.fabric)
    oom = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    kind, message = describe_failure(oom, "unlearn scrub", config, fabric)
    assert kind == "OutOfMemoryError"
    assert message.startswith("out of memory on cpu in stage 'unlearn scrub'; lower "
                              "unlearning.batch_size (now 256), e.g. --set unlearning.batch_size=32.")
    assert "Tried to allocate 2.00 GiB" in message
    _, message = describe_failure(oom, "evaluate scrub:mia", config, fabric)
    assert "lower unlearning.eval_batch_size (now 512)" in message
    _, message = describe_failure(oom, "train M_o", config, fabric)
    assert "lower training.batch_size (now the recipe default)" in message
    # any other error is passed through as it is
    assert describe_failure(ValueError("bad"), "unlearn x", config, fabric) == ("ValueError", "bad")


def test_plan_after_a_run_finds_every_stage_even_timing_dependent_ones(
        tmp_path: Path, faulty: Path) -> None:
    faulty.unlink()
    settings = grid(tmp_path, methods=["original", "retrain", "toy_ascent"],
                    metrics=["toy_accuracy", "toy_time"])
    before = plan(supreme.load_config(data=settings)).counts()
    results = supreme.run(supreme.load_config(data=settings))
    computed_evaluations = {e.key for e in results.events
                            if e.stage.startswith("evaluate ") and not e.reused}
    assert before["evaluations"]["to_compute"] == len(computed_evaluations) == 2 * 3 * 2
    after = plan(supreme.load_config(data=settings)).counts()
    assert {kind: c["to_compute"] for kind, c in after.items()} == dict.fromkeys(after, 0)


def test_workers_queue_only_unfinished_cells_round_robin_over_their_original_model() -> None:
    from supreme.launch.order import queue_order
    from supreme.plan import Cell

    cells = [Cell("d", "m", "fullclass", t, s, s, s) for s in (0, 1) for t in "abc"]
    assert queue_order(cells) == [0, 3, 1, 4, 2, 5]
    assert queue_order(cells, [1, 2, 5]) == [1, 5, 2]


# -- SIGTERM, orphaned workers, live runs and gc (issue 15) ----------------------------------
def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".leases" not in p.parts}


@pytest.mark.slow
def test_sigterm_stops_after_the_current_stage_collects_and_exits_143(tmp_path: Path) -> None:
    # a first, finished cell (target b) whose files must survive unchanged
    first = cli(tmp_path, *SLOW_GRID, "--set", "targets={fullclass=['b']}", "--set", "name=b")
    assert first.returncode == 0, first.stderr
    before = _files(tmp_path / "runs" / "b")
    # toy_slow (1.5 s) starts as cell c's M_r is done, however loaded the machine is
    code, err = run_until(tmp_path, after_lines=1, then_wait=0.5, sig=signal.SIGTERM,
                          after_text=("retrain M_r", "fullclass:c"))
    assert code == 143, err
    text = " ".join(err.split())
    assert "stopping after the current stage (SIGTERM again to stop now)" in text
    assert "Error: stopped by SIGTERM after stage 'unlearn toy_slow'" in text
    assert "Fix: Run the same command again to resume" in text and "Traceback" not in err
    assert assert_store_intact(tmp_path / "runs" / "store") >= 6
    # the finished first cell was collected into results.jsonl
    assert {r["target"] for r in results_of(tmp_path)} == {"b"}
    assert _files(tmp_path / "runs" / "b") == before
    assert not list((tmp_path / "runs" / "store" / ".leases").glob("*.json"))  # released
    assert cli(tmp_path, *SLOW_GRID).returncode == 0


@pytest.mark.slow
def test_sigterm_to_a_run_with_workers_stops_every_worker_after_its_stage(tmp_path: Path) -> None:
    code, err = run_until(tmp_path, after_lines=4, then_wait=0.5, sig=signal.SIGTERM,
                          extra=("--workers", "2", "--set", "seeds.train=[0,1]"))
    assert code == 143, err
    assert "Error: stopped by SIGTERM; every finished artifact is kept" in " ".join(err.split())
    assert (tmp_path / "runs" / "default" / "results.jsonl").exists()
    assert assert_store_intact(tmp_path / "runs" / "store") >= 4


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == pid and b"resource_tracker" not in command:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_workers_stop_after_their_stage_when_the_parent_dies(tmp_path: Path) -> None:
    args = (*SLOW_GRID, "--set", "seeds.train=[0,1,2]", "--set", "method.toy_slow.seconds=2",
            "--workers", "2")
    process = subprocess.Popen(cli_command(tmp_path, *args), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    assert process.stderr is not None
    for line in process.stderr:
        if "retrain M_r" in line:  # workers are computing
            break
    workers = _children(process.pid)
    assert len(workers) == 2
    process.kill()  # the parent dies without a word
    process.wait()
    deadline = time.monotonic() + 60
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "orphaned workers went on"
    cells = list((tmp_path / "runs" / "default" / "cells").glob("*.json"))
    assert len(cells) < 6  # they did not run the whole queue unsupervised
    assert assert_store_intact(tmp_path / "runs" / "store") >= 4


@pytest.mark.slow
def test_gc_during_a_run_keeps_what_the_run_uses_and_says_why(tmp_path: Path) -> None:
    args = (*SLOW_GRID, "--set", "method.toy_slow.seconds=4")
    process = subprocess.Popen(cli_command(tmp_path, *args), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    assert process.stderr is not None
    for line in process.stderr:
        if "retrain M_r" in line:  # dataset, M_o, split and M_r exist; no cell has finished
            break
    store = tmp_path / "runs" / "store"
    existing = {f"{p.parent.parent.name}/{p.parent.name}" for p in store.glob(f"*/*/{META}")}
    assert len(existing) == 4
    gc = subprocess.run([sys.executable, "-m", "supreme", "gc", str(tmp_path / "runs")],
                        capture_output=True, text=True, env=cli_env(), timeout=60)
    assert gc.returncode == 0, gc.stderr
    assert "live run: pid" in gc.stdout
    for name in existing:
        assert f"kept {name} (used by the live run pid {process.pid}" in gc.stdout
    assert "removed 0 artifacts" in gc.stdout
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    # nothing gc saw was removed and computed again
    recomputed = {x.rsplit("[", 1)[1][:10] for x in err.splitlines() if "computed in" in x}
    assert not recomputed & {name.split("/")[1][:10] for name in existing}
    # after the run, everything is referenced by outcome files: gc removes nothing
    after = collect_garbage_cli(tmp_path)
    assert "removed 0 artifacts" in after and "live run" not in after


def collect_garbage_cli(tmp_path: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "supreme", "gc", str(tmp_path / "runs")],
                          capture_output=True, text=True, env=cli_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_another_experiment_on_a_live_run_directory_is_refused(tmp_path: Path) -> None:
    args = (*SLOW_GRID, "--set", "method.toy_slow.seconds=6")
    process = subprocess.Popen(cli_command(tmp_path, *args), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    assert process.stderr is not None
    for line in process.stderr:
        if "retrain M_r" in line:
            break
    # --overwrite passes the config.json check; the live run's lease refuses it
    other = cli(tmp_path, "--set", "methods=['original','toy_ascent']", "--overwrite")
    assert other.returncode == 2, other.stderr
    text = " ".join(other.stderr.split())
    assert "is in use by a running experiment with a different configuration" in text
    assert "Fix: Give this experiment its own run directory with --set name=NEW_NAME" in text
    # the same experiment may join (it shares the work through the store's locks)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert (tmp_path / "runs" / "default" / "config.json").exists()


@pytest.mark.slow
def test_a_resume_with_two_workers_is_the_same_experiment(tmp_path: Path) -> None:
    args = ("--set", "methods=['original','retrain','toy_ascent']", "--set", "seeds.train=[0,1]")
    assert cli(tmp_path, *args).returncode == 0
    before = results_of(tmp_path)
    again = cli(tmp_path, *args, "--workers", "2")  # launch.workers does not change results
    assert again.returncode == 0, again.stderr
    assert results_of(tmp_path) == before
    changed = cli(tmp_path, *args, "--set", "training.epochs=2")
    assert changed.returncode == 2
    assert "holds the results of another experiment" in " ".join(changed.stderr.split())
    assert results_of(tmp_path) == before
    replaced = cli(tmp_path, *args, "--set", "training.epochs=2", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr


@pytest.mark.slow
def test_a_process_waiting_for_missing_peers_says_so_and_stops(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**cli_env(), "LOCAL_RANK": "1", "RANK": "1", "WORLD_SIZE": "2", "NODE_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    start = time.monotonic()
    done = subprocess.run(cli_command(tmp_path, "--set", "methods=['original']", "--set",
                                      "fabric.devices=2", "--set", "fabric.strategy=ddp",
                                      "--set", "launch.peer_timeout_s=4"),
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - start < 60
    text = " ".join(done.stderr.split())
    assert "rank 1 waiting for the other 1 process(es) of the world to join" in text
    assert "did not join within 4 s" in text and "Fix: start every process" in text


def test_one_launcher_protocol_three_launchers() -> None:
    import inspect

    from supreme.engine import choose_launcher
    from supreme.errors import ConfigError
    from supreme.launch.base import Launcher
    from supreme.launch.inprocess import InProcess
    from supreme.launch.slurm import Slurm
    from supreme.launch.workers import LocalWorkers

    chosen = [choose_launcher("slurm", n_workers=4, cells=9, wait=False),
              choose_launcher("local", n_workers=2, cells=3),
              choose_launcher("local", n_workers=2, cells=1),  # one cell: no worker process
              choose_launcher("local", n_workers=1, cells=9)]
    assert [type(c) for c in chosen] == [Slurm, LocalWorkers, InProcess, InProcess]
    assert (chosen[0].wait, chosen[0].dry_run, chosen[1].n_workers) == (False, False, 2)
    expected = list(inspect.signature(Launcher.launch).parameters)
    for launcher in chosen:
        assert list(inspect.signature(type(launcher).launch).parameters) == expected
        assert launcher.name in ("slurm", "workers", "local")
    with pytest.raises(ConfigError) as info:
        choose_launcher("local", n_workers=1, cells=9, dry_run=True)
    assert info.value.message == "--dry-run only applies to --launcher slurm"
