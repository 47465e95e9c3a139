"""Experiment loggers: files read back (CSV, TensorBoard events, W&B offline runs), names,
W&B mode, missing extras, and that no secret is ever written."""

from __future__ import annotations

import csv
import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import supreme
from supreme.config import ExperimentConfig, load_config
from supreme.errors import ConfigError
from supreme.loggers import (
    ExperimentLoggers,
    dist_label,
    group_name,
    project_name,
    run_name,
    valid_project_name,
    wandb_mode,
    world_size_of,
)
from supreme.pipeline.run import StageEvent
from supreme.plan import Cell
from supreme.secrets import MASK, redact, scrub, secret_values

CELL = Cell("digits", "resnet18", "fullclass", "3", 0, 0, 0)
PROVENANCE = {"plugin": "supreme", "distribution": "supreme-core", "version": supreme.__version__}


def record(cell: Cell, method: str, metric: str, key: str, value: float) -> dict[str, Any]:
    return {"experiment": "exp", **cell.as_dict(), "method": method, "metric": metric,
            "key": key, "value": value, "artifact": f"art-{method}",
            "provenance": {"method": {**PROVENANCE, "plugin": f"p-{method}"},
                           "metric": {**PROVENANCE, "plugin": f"p-{metric}"},
                           "dataset": PROVENANCE, "model": PROVENANCE}}


RECORDS = [
    record(CELL, "original", "accuracy", "forget_test", 99.25),
    record(CELL, "original", "accuracy", "retain_test", 98.5),
    record(CELL, "finetune", "accuracy", "forget_test", 12.125),
    record(CELL, "finetune", "loss", "forget_test", 0.1 + 0.2),  # not exact in decimal
]
FAILURES = [{"method": "ssd", "metric": None, "stage": "unlearn ssd",
             "error_type": "RuntimeError", "error": "CUDA out of memory"}]
EVENTS = [StageEvent("train M_o", "digits/resnet18 s_t=0", False, 1.5, "k" * 24),
          StageEvent("unlearn finetune", CELL.label(), True, 0.25, "u" * 24),
          StageEvent("train M_o", "digits/resnet18 s_t=1", False, 2.5, "t" * 24)]


def experiment(tmp_path: Path, use: list[str], **more: Any) -> ExperimentConfig:
    data = {"name": "exp", "output_dir": str(tmp_path / "runs"),
            "loggers": {"use": use, "wandb": {"project": "R32", "mode": "offline",
                                              "tags": ["paper", "t2"]}}}
    return load_config(data={**data, **more})


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """W&B offline, with its own directories under tmp_path, no API key."""
    home = tmp_path / "wandb-home"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(home / "dir"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(home / "data"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return home


def log_all(loggers: ExperimentLoggers, records: list[dict[str, Any]] = RECORDS,
            failures: list[dict[str, Any]] = FAILURES) -> None:
    with loggers:
        for event in EVENTS:
            loggers.stage(event)
        loggers.cell(CELL, records, failures)


# -- reading a W&B offline run back ---------------------------------------------------------
def wandb_records(path: Path) -> list[Any]:
    """The protobuf records of a ``run-*.wandb`` file (LevelDB-log framing, 32 KiB blocks)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, pos, whole, parts = 32768, 7, [], []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:
            whole.append(chunk)
        elif kind == 2:
            parts = [chunk]
        elif kind == 3:
            parts.append(chunk)
        elif kind == 4:
            whole.append(b"".join([*parts, chunk]))
        else:
            break
    out = []
    for raw in whole:
        rec = pb.Record()
        rec.ParseFromString(raw)
        out.append(rec)
    return out


def item_key(item: Any) -> str:
    return item.key or ".".join(item.nested_key)


def wandb_flushed() -> None:
    """Wait until W&B has written everything: its service finishes the files of finished
    runs asynchronously (within milliseconds, or at the latest when the process exits)."""
    import wandb

    wandb.teardown()


def offline_runs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Every offline run under RUN_DIR/logs/wandb, by run name."""
    wandb_flushed()
    runs = {}
    for folder in sorted((run_dir / "logs" / "wandb" / "wandb").glob("offline-run-*")):
        (path,) = folder.glob("run-*.wandb")
        run: dict[str, Any] = {"config": {}, "summary": {}, "history": []}
        for rec in wandb_records(path):
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                run |= {"project": rec.run.project, "name": rec.run.display_name,
                        "group": rec.run.run_group, "tags": list(rec.run.tags),
                        "job_type": rec.run.job_type, "entity": rec.run.entity}
                run["config"] |= {item_key(i): json.loads(i.value_json)
                                  for i in rec.run.config.update}
            elif kind == "config":
                run["config"] |= {item_key(i): json.loads(i.value_json) for i in rec.config.update}
            elif kind == "summary":
                run["summary"] |= {item_key(i): json.loads(i.value_json) for i in rec.summary.update}
            elif kind == "history":
                run["history"].append({item_key(i): json.loads(i.value_json)
                                       for i in rec.history.item})
            elif kind == "exit":
                run["exit_code"] = rec.exit.exit_code
        runs[run["name"]] = run
    return runs


# -- names ----------------------------------------------------------------------------------
def test_project_names_follow_the_reference_pattern() -> None:
    assert project_name(CELL, prefix="R32", precision="32-true", dist="no_dist") == (
        "R32_UNLEARNING_resnet18_digits_fullclass_3_precision_32-true_no_dist")
    random_fraction = Cell("pins", "vit", "random", "0.001", 260, 260, 260)
    assert project_name(random_fraction, prefix="R32", precision="bf16-mixed",
                        dist="dist_ddp") == (
        "R32_UNLEARNING_vit_pins_random_0.001perc_precision_bf16-mixed_dist_ddp")
    random_count = Cell("pins", "vit", "random", "50", 1, 2, 3)
    assert project_name(random_count, prefix="Y56", precision="32-true", dist="no_dist") == (
        "Y56_UNLEARNING_vit_pins_random_50samples_precision_32-true_no_dist")
    # W&B rejects / \ # ? % : ; spaces and $ are replaced too
    odd = Cell("my data", "res/net", "subclass", "a:b#c?d%e\\f$g", 0, 0, 0)
    assert project_name(odd, prefix="team x", precision="32-true", dist="no_dist") == (
        "team_x_UNLEARNING_res_net_my_data_subclass_a_b_c_d_e_f_g_precision_32-true_no_dist")


def test_long_project_names_are_cut_to_128_characters_and_stay_distinct() -> None:
    assert valid_project_name("a" * 128) == "a" * 128
    just_under = "P" * 120 + "_tail_A"  # 127 characters: kept as it is
    assert valid_project_name(just_under) == just_under
    name = "P" * 125 + "_x/y"  # 129 characters; '/' becomes '_'
    cleaned = "P" * 125 + "_x_y"
    expected = "P" * 119 + "_" + hashlib.sha256(cleaned.encode()).hexdigest()[:8]
    assert valid_project_name(name) == expected
    assert len(expected) == 128
    assert valid_project_name("P" * 125 + "_x_z") != expected


def test_run_and_group_names() -> None:
    assert run_name("finetune", CELL) == "finetune_tseed0_useed0"
    assert run_name("ssd", Cell("d", "m", "fullclass", "3", 260, 260_000, 260_000)) == (
        "ssd_tseed260_useed260000")
    assert run_name("ssd", Cell("d", "m", "fullclass", "3", 1, 2, 5)) == (
        "ssd_tseed1_useed2_eseed5")
    assert group_name("bad_teacher") == "bad_teacher_group"


def test_dist_label_and_world_size() -> None:
    assert dist_label("auto", 1) == "no_dist"
    assert dist_label("ddp", 1) == "no_dist"  # the reference's single-GPU DDP is no_dist
    assert dist_label("auto", 2) == "dist_ddp"
    assert dist_label("fsdp", 4) == "dist_fsdp"
    assert dist_label("deepspeed_stage_3", 2) == "dist_deepspeed_stage3"
    assert dist_label("deepspeed", 2) == "dist_deepspeed_stage2"
    fabric = load_config(data={"fabric": {"devices": 4, "num_nodes": 2}}).fabric
    assert world_size_of(fabric) == 8
    assert world_size_of(load_config(data={"fabric": {"devices": "0,1,3"}}).fabric) == 3
    assert world_size_of(load_config(data={"fabric": {"devices": "auto"}}).fabric) == 1  # cpu


# -- W&B mode -------------------------------------------------------------------------------
def test_auto_mode_is_online_only_with_an_api_key(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("WANDB_API_KEY", "NETRC", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert wandb_mode("auto") == "offline"
    assert wandb_mode("online") == "online"
    (tmp_path / ".netrc").write_text("machine example.com login u password p\n")
    assert wandb_mode("auto") == "offline"
    (tmp_path / ".netrc").write_text("machine api.wandb.ai login user password abc\n")
    assert wandb_mode("auto") == "online"
    assert wandb_mode("offline") == "offline"
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.org")
    assert wandb_mode("auto") == "offline"  # the netrc entry is for another host
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode("auto") == "online"


# -- nothing chosen, missing extras -------------------------------------------------------------
def test_no_loggers_create_nothing(tmp_path: Path) -> None:
    config = experiment(tmp_path, [])
    loggers = ExperimentLoggers.open(config, config.run_dir())
    assert loggers.names == []
    log_all(loggers)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name", ["wandb", "tensorboard"])
def test_missing_extra_is_a_config_error_with_the_install_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    config = experiment(tmp_path, ["csv", name])
    with pytest.raises(ConfigError) as caught:
        ExperimentLoggers.open(config, config.run_dir())
    assert repr(name) in caught.value.message
    assert f'pip install "supreme-core[{name}]"' in caught.value.hint
    assert not (tmp_path / "runs").exists()  # checked before anything is created


def test_the_module_imports_no_heavy_package() -> None:
    code = ("import sys, supreme.loggers; "
            "print([m for m in ('wandb', 'tensorboard', 'lightning', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- CSV ----------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_rows_per_result_stage_and_failure(tmp_path: Path) -> None:
    config = experiment(tmp_path, ["csv"])
    log_all(ExperimentLoggers.open(config, config.run_dir()))
    folder = config.run_dir() / "logs" / "csv"
    metrics = read_csv(folder / "metrics.csv")
    assert [(r["method"], r["metric"], r["key"]) for r in metrics] == [
        ("original", "accuracy", "forget_test"), ("original", "accuracy", "retain_test"),
        ("finetune", "accuracy", "forget_test"), ("finetune", "loss", "forget_test")]
    assert [float(r["value"]) for r in metrics] == [99.25, 98.5, 12.125, 0.1 + 0.2]  # exact
    assert metrics[2] == {
        "experiment": "exp", "dataset": "digits", "model": "resnet18", "scenario": "fullclass",
        "target": "3", "train_seed": "0", "unlearn_seed": "0", "eval_seed": "0",
        "method": "finetune", "metric": "accuracy", "key": "forget_test", "value": "12.125",
        "artifact": "art-finetune"}
    stages = read_csv(folder / "stages.csv")
    assert [(r["index"], r["stage"], r["cell"], r["reused"], float(r["seconds"]), r["key"])
            for r in stages] == [
        ("0", "train M_o", "digits/resnet18 s_t=0", "False", 1.5, "k" * 24),
        ("1", "unlearn finetune", CELL.label(), "True", 0.25, "u" * 24),
        ("2", "train M_o", "digits/resnet18 s_t=1", "False", 2.5, "t" * 24)]
    (failure,) = read_csv(folder / "failures.csv")
    assert (failure["method"], failure["metric"], failure["stage"], failure["error_type"],
            failure["error"], failure["target"]) == (
        "ssd", "", "unlearn ssd", "RuntimeError", "CUDA out of memory", "3")


def test_a_second_open_starts_the_csv_files_afresh(tmp_path: Path) -> None:
    config = experiment(tmp_path, ["csv"])
    log_all(ExperimentLoggers.open(config, config.run_dir()))
    log_all(ExperimentLoggers.open(config, config.run_dir()), records=RECORDS[:1], failures=[])
    folder = config.run_dir() / "logs" / "csv"
    assert len(read_csv(folder / "metrics.csv")) == 1
    assert read_csv(folder / "failures.csv") == []


def test_closed_loggers_refuse_more_records(tmp_path: Path) -> None:
    config = experiment(tmp_path, ["csv"])
    loggers = ExperimentLoggers.open(config, config.run_dir())
    loggers.close()
    loggers.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        loggers.cell(CELL, RECORDS, [])


# -- TensorBoard ------------------------------------------------------------------------------
def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def test_tensorboard_scalars_per_cell_and_stage_timings(tmp_path: Path) -> None:
    config = experiment(tmp_path, ["tensorboard"])
    log_all(ExperimentLoggers.open(config, config.run_dir()))
    root = config.run_dir() / "logs" / "tensorboard"
    project = "R32_UNLEARNING_resnet18_digits_fullclass_3_precision_32-true_no_dist"
    assert sorted(p.name for p in root.iterdir()) == sorted([project, "stages"])
    assert [p.name for p in (root / project).iterdir()] == ["tseed0_useed0"]
    cell = scalars(root / project / "tseed0_useed0")
    assert set(cell) == {"original/accuracy/forget_test", "original/accuracy/retain_test",
                         "finetune/accuracy/forget_test", "finetune/loss/forget_test",
                         "ssd/failed"}
    assert cell["original/accuracy/forget_test"] == [(0, 99.25)]
    assert cell["finetune/accuracy/forget_test"] == [(0, 12.125)]
    assert cell["finetune/loss/forget_test"][0][1] == pytest.approx(0.3)
    assert cell["ssd/failed"] == [(0, 1.0)]
    stages = scalars(root / "stages")
    assert stages == {"stage_seconds/train M_o": [(0, 1.5), (1, 2.5)],
                      "stage_seconds/unlearn finetune": [(0, 0.25)]}


# -- W&B ------------------------------------------------------------------------------------
def test_wandb_offline_runs_per_method_with_config_and_summary(
        tmp_path: Path, wandb_env: Path) -> None:
    config = experiment(tmp_path, ["wandb"], fabric={"precision": "bf16-mixed"},
                        method={"finetune": {"epochs": 3}})
    log_all(ExperimentLoggers.open(config, config.run_dir(), world_size=2))
    runs = offline_runs(config.run_dir())
    assert set(runs) == {"original_tseed0_useed0", "finetune_tseed0_useed0", "ssd_tseed0_useed0"}
    project = "R32_UNLEARNING_resnet18_digits_fullclass_3_precision_bf16-mixed_dist_ddp"
    finetune = runs["finetune_tseed0_useed0"]
    assert (finetune["project"], finetune["group"], finetune["tags"], finetune["job_type"]) == (
        project, "finetune_group", ["paper", "t2"], "evaluation")
    cfg = {k: v for k, v in finetune["config"].items() if k != "_wandb"}
    assert cfg == {
        "experiment": "exp", "dataset": "digits", "model": "resnet18", "scenario": "fullclass",
        "target": "3", "train_seed": 0, "unlearn_seed": 0, "eval_seed": 0, "method": "finetune",
        "precision": "bf16-mixed", "strategy": "auto", "devices": 1, "num_nodes": 1,
        "world_size": 2, "accelerator": "cpu", "artifact": "art-finetune",
        "provenance": {"method": {**PROVENANCE, "plugin": "p-finetune"},
                       "dataset": PROVENANCE, "model": PROVENANCE,
                       "metrics": {"accuracy": {**PROVENANCE, "plugin": "p-accuracy"},
                                   "loss": {**PROVENANCE, "plugin": "p-loss"}}},
        "method_settings": {"epochs": 3}, "dataset_settings": {}, "model_settings": {}}
    summary = {k: v for k, v in finetune["summary"].items() if not k.startswith("_")}
    assert summary == {"accuracy/forget_test": 12.125, "loss/forget_test": 0.1 + 0.2,
                       "failed": False}
    assert finetune["history"][0]["accuracy/forget_test"] == 12.125
    assert finetune["exit_code"] == 0
    original = {k: v for k, v in runs["original_tseed0_useed0"]["summary"].items()
                if not k.startswith("_")}
    assert original == {"accuracy/forget_test": 99.25, "accuracy/retain_test": 98.5,
                        "failed": False}
    ssd = runs["ssd_tseed0_useed0"]
    assert ssd["group"] == "ssd_group" and ssd["exit_code"] == 1
    assert {k: v for k, v in ssd["summary"].items() if not k.startswith("_")} == {
        "failed": True, "error": "unlearn ssd: RuntimeError: CUDA out of memory",
        "error_type": "RuntimeError", "failed_stage": "unlearn ssd"}
    assert ssd["history"] == []  # no values for a failed method


def test_a_failed_metric_keeps_the_other_values_and_names_the_metric(
        tmp_path: Path, wandb_env: Path) -> None:
    config = experiment(tmp_path, ["wandb"])
    failure = {"method": "finetune", "metric": "loss", "stage": "evaluate finetune:loss",
               "error_type": "ValueError", "error": "nan"}
    log_all(ExperimentLoggers.open(config, config.run_dir()), records=RECORDS[2:3],
            failures=[failure])
    (run,) = offline_runs(config.run_dir()).values()
    assert run["summary"]["accuracy/forget_test"] == 12.125
    assert run["summary"]["failed"] is True
    assert run["summary"]["error"] == "evaluate finetune:loss (loss): ValueError: nan"


# -- secrets ----------------------------------------------------------------------------------
def test_redact_masks_secret_names_and_known_values() -> None:
    secrets = {"sk-live-abcdef"}
    data = {"api_key": "sk-live-abcdef", "HF_TOKEN": 123, "password": None,
            "nested": {"client_secret": {"a": 1}, "lr": 0.1,
                       "note": "uses sk-live-abcdef here", "items": [{"Token": "x"}, "ok"]},
            "tuple": ("sk-live-abcdef", 2), "name": "finetune"}
    assert redact(data, secrets) == {
        "api_key": MASK, "HF_TOKEN": MASK, "password": None,
        "nested": {"client_secret": MASK, "lr": 0.1, "note": "uses *** here",
                   "items": [{"Token": MASK}, "ok"]},
        "tuple": [MASK, 2], "name": "finetune"}
    assert data["api_key"] == "sk-live-abcdef"  # a copy, the input is untouched


def test_secret_values_come_from_secret_names_only(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WANDB_API_KEY": "sk-test-SECRET123", "TOKENIZERS_PARALLELISM": "false",
           "DB_PASSWORD": "hunter2-long", "HOME": "/home/someone-long", "MY_KEY": "abc"}
    found = secret_values({"method": {"x": {"hub_token": "tok-abcdef", "epochs": 3}},
                           "name": "not-a-secret"}, environ=env)
    # booleans and very short values are not searched for in text (still masked by name)
    assert found == {"sk-test-SECRET123", "hunter2-long", "tok-abcdef"}
    monkeypatch.setenv("WANDB_API_KEY", "sk-test-SECRET123")
    assert scrub("401: key sk-test-SECRET123 rejected; false") == "401: key *** rejected; false"


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def test_no_secret_is_written_anywhere(tmp_path: Path, wandb_env: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "sk-test-SECRET123")
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET789xyz")
    # the command line may carry a secret too (`--set`): W&B must not record it
    monkeypatch.setattr(sys, "argv", ["supreme", "run", "--set",
                                      "method.hub_method.hub_token=tok-SECRET456"])
    config = experiment(tmp_path, ["csv", "tensorboard", "wandb"],
                        # a plugin method (not installed here) whose config takes a token
                        method={"hub_method": {"hub_token": "tok-SECRET456", "epochs": 3}})
    leaky = [{"method": "hub_method", "metric": "loss", "stage": "evaluate hub_method:loss",
              "error_type": "PermissionError",
              "error": "401 with key sk-test-SECRET123, token tok-SECRET456, hf_SECRET789xyz"}]
    log_all(ExperimentLoggers.open(config, config.run_dir()), failures=FAILURES + leaky)
    wandb_flushed()

    written = files_under(tmp_path)
    names = {p.name for p in written}
    assert {"metrics.csv", "stages.csv", "failures.csv", "debug.log"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert any(n.endswith(".wandb") for n in names)
    for path in written:
        data = path.read_bytes()
        for secret in (b"SECRET123", b"SECRET456", b"SECRET789"):
            assert secret not in data, f"{secret!r} written to {path}"
    out, err = capfd.readouterr()
    assert "SECRET" not in out + err
    # the masks are where the secrets would have been
    runs = offline_runs(config.run_dir())
    hub_method = runs["hub_method_tseed0_useed0"]
    assert hub_method["config"]["method_settings"] == {"hub_token": MASK, "epochs": 3}
    assert hub_method["summary"]["error"] == (
        "evaluate hub_method:loss (loss): PermissionError: 401 with key ***, token ***, ***")
    failures = read_csv(config.run_dir() / "logs" / "csv" / "failures.csv")
    assert failures[1]["error"] == "401 with key ***, token ***, ***"


# -- with the real pipeline -----------------------------------------------------------------
def test_real_pipeline_records_and_stage_events_are_logged(
        tmp_path: Path, toy_experiment: dict[str, Any]) -> None:
    import supreme

    # the run itself has no loggers (however the pipeline wires them), ours are fed by hand
    config = supreme.load_config(data={**toy_experiment, "seeds": {"train": [0, 1]}})
    loggers_config = experiment(tmp_path, ["csv", "tensorboard"]).loggers
    chosen = config.model_copy(update={"loggers": loggers_config})
    with ExperimentLoggers.open(chosen, config.run_dir(), world_size=1) as loggers:
        results = supreme.run(config, reporter=loggers.stage)
        cells: dict[Cell, list[dict[str, Any]]] = {}
        for r in results.records:
            cells.setdefault(Cell(**{f: r[f] for f in Cell.__dataclass_fields__}), []).append(r)
        for cell, records in cells.items():
            loggers.cell(cell, records, [])
    folder = config.run_dir() / "logs" / "csv"
    metrics = read_csv(folder / "metrics.csv")
    assert len(metrics) == len(results.records) > 0
    for row, r in zip(metrics, results.records, strict=True):
        assert (row["method"], row["metric"], row["key"], float(row["value"]), row["artifact"],
                int(row["train_seed"])) == (
            r["method"], r["metric"], r["key"], r["value"], r["artifact"], r["train_seed"])
    stages = read_csv(folder / "stages.csv")
    assert [(s["stage"], s["key"]) for s in stages] == [(e.stage, e.key) for e in results.events]
    assert len(cells) == 2
    for cell, records in cells.items():
        project = project_name(cell, prefix="R32", precision="32-true", dist="no_dist")
        seeds = f"tseed{cell.train_seed}_useed{cell.unlearn_seed}"  # s_e = s_u here
        logged = scalars(config.run_dir() / "logs" / "tensorboard" / project / seeds)
        assert logged == {f"{r['method']}/{r['metric']}/{r['key']}": [(0, pytest.approx(r["value"]))]
                          for r in records}
