"""The SLURM launcher (supreme.launch.slurm) and `supreme status`.

The first tests need no cluster. The ones marked ``cluster`` submit real job arrays to the
cluster named by ``SLURM_CONF`` (CI starts one with scripts/local-slurm.sh) and are
skipped without one. Each test has its own output directory, hence its own submitit
folder: a job id never meets an older job's result file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import supreme
from supreme import registry
from supreme.errors import ConfigError
from supreme.launch import slurm
from supreme.launch.status import run_status
from supreme.plan import Cell

TOY = str(Path(__file__).parent / "toyplugin.py")


def toy_settings(out: Path, **more: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "output_dir": str(out),
        "datasets": ["toy"],
        "models": ["tiny"],
        "methods": ["original", "retrain", "toy_ascent"],
        "metrics": ["toy_accuracy", "toy_gap"],
        "seeds": {"train": [0, 1]},
    }
    settings.update(more)
    return settings


# -- without a cluster ---------------------------------------------------------------------
def test_sbatch_parameters_follow_the_slurm_table() -> None:
    config = supreme.load_config(data={
        "fabric": {"devices": 2, "num_nodes": 2},
        "slurm": {"partition": "gpu", "account": "lab", "time_min": 90, "nodes": 2,
                  "gpus_per_task": 1, "cpus_per_task": 8, "mem_gb": 1.5, "max_concurrent": 3,
                  "extra": {"qos": "high", "exclusive": True, "requeue": False}},
    })
    params = slurm.sbatch_parameters(config)
    assert params == {
        "job_name": "supreme-default", "time": 90, "nodes": 2, "ntasks_per_node": 2,
        "partition": "gpu", "account": "lab", "cpus_per_task": 8, "mem": "1536M",
        "gpus_per_node": 2, "array_parallelism": 3,
        "additional_parameters": {"qos": "high", "exclusive": True},
    }
    lines = slurm.sbatch_lines(params, n_tasks=5)
    assert "#SBATCH --array=0-4%3" in lines
    assert "#SBATCH --gpus-per-node=2" in lines and "#SBATCH --exclusive" in lines
    assert not any("requeue" in line for line in lines)


@pytest.mark.parametrize(("settings", "words"), [
    ({"slurm": {"nodes": 2}}, "fabric.num_nodes"),
    ({"fabric": {"devices": 2}, "slurm": {"tasks_per_node": 1}}, "tasks_per_node = 1"),
    ({"fabric": {"devices": "auto"}}, "fabric.devices"),
])
def test_sbatch_parameters_refuse_a_world_fabric_cannot_see(settings: dict[str, Any],
                                                            words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        slurm.sbatch_parameters(supreme.load_config(data=settings))


def test_chunks_cover_every_cell_once_and_group_by_original_model() -> None:
    cells = [Cell("d", "m", "fullclass", t, s, s, s) for s in (0, 1, 2) for t in ("a", "b", "c")]
    todo = [i for i in range(len(cells)) if i != 4]
    chunks = slurm.chunk_cells(cells, todo, per_task=2)
    flat = [i for c in chunks for i in c]
    assert sorted(flat) == todo and len(flat) == len(set(flat))
    # chunks share one M_o (seed) and alternate between M_o; the leftovers come last
    assert chunks == [[0, 1], [3, 5], [6, 7], [2, 8]]
    assert slurm.chunk_cells(cells, todo, per_task=1) == [[i] for i in (0, 3, 6, 1, 5, 7, 2, 8)]
    # --workers hands cells out in the same order (one ordering for every launcher)
    from supreme.launch import order, workers

    assert workers.queue_order is order.queue_order and slurm.chunk_cells is order.chunk_cells
    assert order.queue_order(cells, todo) == [0, 3, 6, 1, 5, 7, 2, 8]


def test_job_states_are_parsed_from_sacct_and_squeue_rows() -> None:
    sacct = ("JobID|State|NodeList\n7_[2-4%2]|PENDING|None assigned\n7_0|COMPLETED|vm\n"
             "7_0.batch|COMPLETED|vm\n7_1|CANCELLED by 0|vm\n8|TIMEOUT|vm\n")
    states = slurm._parse_rows(sacct, header=True)
    assert states == {"7_2": "PENDING", "7_3": "PENDING", "7_4": "PENDING", "7_0": "COMPLETED",
                      "7_1": "CANCELLED", "8": "TIMEOUT"}
    assert slurm._parse_rows("9_1|RUNNING\n9_[3,5-6]|PENDING\n", header=False) == {
        "9_1": "RUNNING", "9_3": "PENDING", "9_5": "PENDING", "9_6": "PENDING"}
    assert [slurm.phase(s) for s in ("PENDING", "COMPLETING", "COMPLETED", "CANCELLED",
                                     "LOST", None)] == [
        "queued", "running", "completed", "failed", "failed", "unknown"]


def test_missing_submitit_is_a_config_error_naming_the_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.configure(paths=[TOY])
    monkeypatch.setitem(sys.modules, "submitit", None)  # import submitit -> ImportError
    config = supreme.load_config(data=toy_settings(tmp_path))
    with pytest.raises(ConfigError) as caught:
        slurm.launch(config, indices=None, dry_run=False, wait=False, plugin_files=[],
                     echo=lambda line: None)
    assert 'pip install "supreme-core[slurm]"' in caught.value.hint
    assert not (tmp_path / "default" / "slurm" / "jobs.json").exists()


def test_dry_run_prints_the_array_and_its_cells_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.main import main

    out = tmp_path / "runs"
    with pytest.raises(SystemExit) as caught:
        main(["--plugin", TOY, "run", "--launcher", "slurm", "--dry-run",
              "--set", f"output_dir='{out}'", "--set", "datasets=['toy']",
              "--set", "models=['tiny']", "--set", "metrics=['toy_accuracy']",
              "--set", "methods=['original','retrain','toy_ascent']",
              "--set", "seeds.train=[0,1,2]", "--set", "slurm.cells_per_task=2",
              "--set", "slurm.partition='short'"])
    assert caught.value.code in (0, None)
    text = capsys.readouterr().out
    assert "#SBATCH --array=0-1%2" in text and "#SBATCH --partition=short" in text
    assert "task 0: [0] toy/tiny/fullclass:b s_t=0" in text and "[2] toy/tiny" in text
    assert not out.exists()


def _write_outcome(run_dir: Path, config: Any, index: int, cell: Cell, status: str,
                   failures: list[dict[str, Any]]) -> None:
    from supreme.pipeline.cells import cell_path

    path = cell_path(config, cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"index": index, "cell": cell.as_dict(), "status": status,
                                "records": [], "failures": failures}))


def test_status_rules_from_outcomes_and_recorded_job_states(tmp_path: Path) -> None:
    from supreme.pipeline.cells import cell_id, write_config
    from supreme.plan import resolve

    registry.configure(paths=[TOY])
    config = supreme.load_config(data=toy_settings(tmp_path, seeds={"train": [0, 1, 2, 3, 4]}))
    cells = resolve(config, registry.default()).cells()
    run_dir = config.run_dir()
    write_config(config)
    crash = {"stage": "unlearn", "method": "toy_ascent", "error_type": "RuntimeError",
             "error": "boom"}
    _write_outcome(run_dir, config, 0, cells[0], "finished", [])
    _write_outcome(run_dir, config, 1, cells[1], "failed", [crash])
    _write_outcome(run_dir, config, 2, cells[2], "failed", [crash])  # resubmitted, running
    jobs = {"submissions": [{"array": "5", "submitted_at": 0, "folder": str(run_dir / "s/%j"),
                             "tasks": [{"job": "5_0", "cells": [2]}, {"job": "5_1", "cells": [3]}]}],
            "cells": {"2": {"job": "5_0", "id": cell_id(config, cells[2]), "cell": cells[2].as_dict()},
                      "3": {"job": "5_1", "id": cell_id(config, cells[3]), "cell": cells[3].as_dict()}},
            "states": {"5_0": "RUNNING", "5_1": "CANCELLED"}}
    slurm.save_jobs(run_dir, jobs)

    info = run_status(run_dir, ask_slurm=False)
    states = {row["index"]: row["state"] for row in info["cells"]}
    assert states == {0: "finished", 1: "failed", 2: "running", 3: "failed", 4: "missing"}
    assert info["counts"] == {"queued": 0, "running": 1, "finished": 1, "failed": 2,
                              "missing": 1, "unknown": 0}
    errors = {row["index"]: row["errors"] for row in info["cells"]}
    assert errors[1] == ["unlearn toy_ascent: RuntimeError: boom"]
    assert "task 5_1 ended CANCELLED without finishing this cell" in errors[3][0]


def test_status_command_prints_counts_and_exits_0(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.main import main
    from supreme.pipeline.cells import write_config
    from supreme.plan import resolve

    registry.configure(paths=[TOY])
    config = supreme.load_config(data=toy_settings(tmp_path))
    cells = resolve(config, registry.default()).cells()
    write_config(config)
    _write_outcome(config.run_dir(), config, 1, cells[1], "failed",
                   [{"stage": "evaluate", "error_type": "ValueError", "error": "bad metric"}])
    with pytest.raises(SystemExit) as caught:
        main(["--plugin", TOY, "status", str(config.run_dir()), "--json"])
    assert caught.value.code in (0, None)
    info = json.loads(capsys.readouterr().out)
    assert [r["state"] for r in info["cells"]] == ["missing", "failed"]
    with pytest.raises(SystemExit) as caught:
        main(["--plugin", TOY, "status", str(config.run_dir())])
    assert caught.value.code in (0, None)
    text = capsys.readouterr().out
    assert "1 failed, 1 missing" in text and "[1] evaluate: ValueError: bad metric" in text


# -- against a real cluster ---------------------------------------------------------------
def _cluster_reason() -> str | None:
    if not os.environ.get("SLURM_CONF"):
        return ("no SLURM cluster: SLURM_CONF is not set (scripts/local-slurm.sh start DIR, "
                "then source DIR/env.sh; .ci/run does this)")
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        return "no SLURM cluster: sbatch/squeue are not on PATH"
    try:
        import submitit  # noqa: F401
    except ImportError:
        return 'submitit is not installed (pip install "supreme-core[slurm]")'
    return None


cluster = pytest.mark.skipif(_cluster_reason() is not None, reason=_cluster_reason() or "")


def _plugin(path: Path, body: str) -> str:
    path.write_text(textwrap.dedent(body))
    return str(path)


def _squeue_state(job: str) -> str:
    out = subprocess.run(["squeue", "--states=all", "-h", "-o", "%T", "-j", job],
                         capture_output=True, text=True, timeout=10).stdout.split()
    return out[0] if out else ""


def _strip(records: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in records)


@pytest.mark.slow
@cluster
def test_grid_on_slurm_matches_a_local_run(tmp_path: Path) -> None:
    import torch

    registry.configure(paths=[TOY])
    settings = toy_settings(tmp_path / "slurm", seeds={"train": [0, 1, 2]},
                            slurm={"cells_per_task": 2})
    config = supreme.load_config(data=settings)
    start = time.monotonic()
    remote = supreme.run(config, launcher="slurm", plugin_files=[TOY])
    took = time.monotonic() - start

    jobs = slurm.load_jobs(config.run_dir())
    (submission,) = jobs["submissions"]
    assert [t["cells"] for t in submission["tasks"]] == [[0, 1], [2]]
    assert jobs["states"] == {t["job"]: "COMPLETED" for t in submission["tasks"]}
    assert sorted(int(i) for i in jobs["cells"]) == [0, 1, 2]
    pids = {json.loads(p.read_text())["pid"] for p in (config.run_dir() / "cells").glob("*")}
    assert len(pids) == 2 and os.getpid() not in pids  # computed by the two array tasks

    # the same cells in this process (one thread, like the 1-CPU tasks), another store
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = supreme.run(supreme.load_config(data={**settings,
                                                      "output_dir": str(tmp_path / "local")}))
    finally:
        torch.set_num_threads(threads)
    assert len(remote.records) == len(local.records) == 3 * 3 * (3 + 1)
    assert _strip(remote.records) == _strip(local.records)
    assert remote.failures == []

    # nothing is left to submit: a rerun returns at once without a new submission
    lines: list[str] = []
    assert slurm.launch(config, indices=None, dry_run=False, wait=True, plugin_files=[TOY],
                        echo=lines.append) == 0
    assert len(slurm.load_jobs(config.run_dir())["submissions"]) == 1
    assert "3 finished" in lines[0] and "0 to submit" in lines[0]
    print(f"slurm grid of 3 cells in 2 tasks: {took:.1f} s")


@pytest.mark.slow
@cluster
def test_a_task_of_two_processes_is_one_fabric_ddp_world(tmp_path: Path) -> None:
    registry.configure(paths=[TOY])
    config = supreme.load_config(data=toy_settings(
        tmp_path, methods=["original", "toy_ascent"], metrics=["toy_accuracy"],
        seeds={"train": [0]}, fabric={"devices": 2, "strategy": "ddp"}))
    assert slurm.sbatch_parameters(config)["ntasks_per_node"] == 2
    assert slurm.launch(config, indices=None, dry_run=False, wait=True, plugin_files=[TOY],
                        echo=lambda line: None) == 0
    job = slurm.load_jobs(config.run_dir())["cells"]["0"]["job"]
    folder = slurm.job_folder(config.run_dir() / "slurm" / "%j", job)
    assert "global_rank=1(2)" in (folder / f"{job}_1_log.out").read_text()
    # one world of two ranks (not two independent single-process runs)
    assert "Starting with 2 processes" in (folder / f"{job}_0_log.err").read_text()
    assert run_status(config.run_dir())["counts"]["finished"] == 1


FLAKY = """
    import os
    from supreme import hookimpl
    from supreme.contracts import ComponentConfig, UnlearningMethod

    class Flaky(UnlearningMethod):
        '''Kills its process the first time any cell runs it (a crashed task).'''
        name = "flaky"

        class Config(ComponentConfig):
            marker: str

        def unlearn(self, model, data, fabric):
            try:
                os.close(os.open(self.config.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return model
            os._exit(3)

    @hookimpl
    def supreme_register_methods():
        return [Flaky]
"""


@pytest.mark.slow
@cluster
def test_crashed_task_is_failed_then_resubmitted_alone(tmp_path: Path) -> None:
    flaky = _plugin(tmp_path / "flaky.py", FLAKY)
    marker = tmp_path / "crashed-once"
    registry.configure(paths=[TOY, flaky])
    config = supreme.load_config(data=toy_settings(
        tmp_path / "runs", methods=["original", "flaky"], metrics=["toy_accuracy"],
        method={"flaky": {"marker": str(marker)}}))
    lines: list[str] = []
    failed = slurm.launch(config, indices=None, dry_run=False, wait=True,
                          plugin_files=[TOY, flaky], echo=lines.append)
    assert failed == 1 and marker.exists()
    info = run_status(config.run_dir())
    (bad,) = [r for r in info["cells"] if r["state"] != "finished"]
    assert bad["state"] == "failed" and bad["job_state"] == "FAILED"
    assert "ended FAILED without finishing this cell" in bad["errors"][0]
    assert any(f"task {bad['job']} ended FAILED" in line for line in lines)

    lines.clear()
    assert slurm.launch(config, indices=None, dry_run=False, wait=True,
                        plugin_files=[TOY, flaky], echo=lines.append) == 0
    jobs = slurm.load_jobs(config.run_dir())
    assert len(jobs["submissions"]) == 2
    assert [t["cells"] for t in jobs["submissions"][1]["tasks"]] == [[bad["index"]]]
    assert jobs["cells"][str(bad["index"])]["job"] != bad["job"]
    info = run_status(config.run_dir())
    assert info["counts"]["finished"] == 2 and info["counts"]["failed"] == 0


SLEEPY = """
    import time
    from pathlib import Path
    from supreme import hookimpl
    from supreme.contracts import ComponentConfig, UnlearningMethod

    class Sleepy(UnlearningMethod):
        '''Says it started, then sleeps far longer than any test waits.'''
        name = "sleepy"

        class Config(ComponentConfig):
            started: str

        def unlearn(self, model, data, fabric):
            Path(self.config.started).touch()
            time.sleep(600)
            return model

    @hookimpl
    def supreme_register_methods():
        return [Sleepy]
"""


@pytest.mark.slow
@cluster
def test_cancelled_task_is_reported_failed_promptly(tmp_path: Path) -> None:
    sleepy = _plugin(tmp_path / "sleepy.py", SLEEPY)
    started = tmp_path / "started"
    registry.configure(paths=[TOY, sleepy])
    config = supreme.load_config(data=toy_settings(
        tmp_path / "runs", methods=["sleepy"], metrics=["toy_accuracy"], seeds={"train": [0]},
        method={"sleepy": {"started": str(started)}}))
    lines: list[str] = []
    result: dict[str, Any] = {}

    def waiting() -> None:
        try:
            result["failed"] = slurm.launch(config, indices=None, dry_run=False, wait=True,
                                            plugin_files=[TOY, sleepy], echo=lines.append)
        except BaseException as exc:  # surfaced by the assertions below
            result["error"] = exc

    thread = threading.Thread(target=waiting, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not started.exists():
        assert time.monotonic() < deadline, f"the task never started: {lines}"
        assert thread.is_alive(), result
        time.sleep(0.5)
    job = slurm.load_jobs(config.run_dir())["cells"]["0"]["job"]
    assert _squeue_state(job) == "RUNNING"
    subprocess.run(["scancel", job], check=True, timeout=10)
    cancelled_at = time.monotonic()
    thread.join(timeout=60)
    assert not thread.is_alive(), f"launch still waits 60 s after scancel: {lines}"
    assert "error" not in result, result
    assert result["failed"] == 1
    assert time.monotonic() - cancelled_at < 60
    assert any(f"task {job} ended CANCELLED" in line for line in lines), lines
    (row,) = run_status(config.run_dir())["cells"]
    assert row["state"] == "failed" and row["job_state"] == "CANCELLED"
    assert _squeue_state(job) == "CANCELLED"
