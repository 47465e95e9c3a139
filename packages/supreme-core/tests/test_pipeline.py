"""End-to-end runs on the toy plugin: results, reuse, recomputation, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import supreme
from supreme.errors import ConfigError
from supreme.store import META, PAYLOAD, StoreWarning


def run(settings: dict[str, Any], **changes: Any) -> supreme.Results:
    # changed experiments replace the run directory's results (the store is shared)
    return supreme.run(supreme.load_config(data={**settings, **changes}), overwrite=True)


def test_a_run_produces_every_record_and_writes_them(toy_experiment: dict[str, Any]) -> None:
    results = run(toy_experiment)
    methods = {r["method"] for r in results.records}
    assert methods == {"original", "retrain", "toy_ascent"}
    # 3 rows x (3 accuracy keys + 1 gap key)
    assert len(results.records) == 12
    # the retrained model never saw class "b": it cannot predict it
    assert results.mean("retrain", "toy_accuracy", "forget_test") == 0.0
    assert results.mean("retrain", "toy_gap", "test") == 0.0  # compared with itself
    assert results.mean("original", "toy_gap", "test") > 0.0
    written = [json.loads(line) for line in (results.run_dir / "results.jsonl").read_text().splitlines()]
    assert written == json.loads(json.dumps(results.records))
    record = written[0]
    assert record["provenance"]["dataset"]["distribution"] == "<runtime>"
    assert record["provenance"]["method"]["distribution"] == "supreme-core"


def forget_outcomes(results: supreme.Results) -> None:
    """Remove the cells' outcome files: the next run runs every cell again."""
    shutil.rmtree(results.run_dir / "cells")


def test_a_rerun_of_a_finished_run_runs_nothing_and_gives_identical_results(
    toy_experiment: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run(toy_experiment)
    assert not any(e.reused for e in first.events) and first.ran == 1
    import supreme.engine
    import supreme.pipeline.cells

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a finished run must not be validated or run again")

    # every cell's outcome is current: neither the checks before compute nor a cell run
    monkeypatch.setattr(supreme.engine, "validate", refuse)
    monkeypatch.setattr(supreme.pipeline.cells, "run_cells_with_runner", refuse)
    again = run(toy_experiment)
    assert again.ran == 0 and again.events == []
    assert again.records == first.records and again.gates == first.gates
    written = (again.run_dir / "results.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in written] == json.loads(json.dumps(first.records))


def test_a_cell_without_its_outcome_runs_again_and_reuses_every_stage(
    toy_experiment: dict[str, Any],
) -> None:
    first = run(toy_experiment)
    forget_outcomes(first)
    again = run(toy_experiment)
    assert again.ran == 1 and again.events and all(e.reused for e in again.events)
    assert again.records == first.records


@pytest.mark.parametrize("damage", [
    lambda o: {**o, "records": "not a list"},
    lambda o: {**o, "records": [1, 2]},
    lambda o: {k: v for k, v in o.items() if k != "failures"},
    lambda o: {**o, "gates": [True]},
    lambda o: {**o, "status": "running"},
], ids=["records-text", "records-numbers", "no-failures", "gates-list", "unfinished"])
def test_a_damaged_outcome_file_is_not_taken_for_results(
    toy_experiment: dict[str, Any], damage: Any,
) -> None:
    first = run(toy_experiment)
    [path] = (first.run_dir / "cells").iterdir()
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    again = run(toy_experiment)
    assert again.ran == 1 and again.records == first.records  # the cell ran again


def test_a_payload_rewritten_with_the_same_bytes_is_verified_in_full_not_trusted(
    toy_experiment: dict[str, Any],
) -> None:
    import os

    first = run(toy_experiment)
    train = next(e for e in first.events if e.stage == "train M_o")
    payload = Path(toy_experiment["output_dir"]) / "store" / "models" / train.key / PAYLOAD
    stat = payload.stat()
    os.utime(payload, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # e.g. copied without times
    again = run(toy_experiment)
    assert again.ran == 1 and all(e.reused for e in again.events)  # the checksum still holds
    assert again.records == first.records


@pytest.mark.parametrize("change", ["torch", "data"])
def test_an_outcome_written_with_another_torch_or_other_data_files_is_stale(
    toy_experiment: dict[str, Any], toy: Any, monkeypatch: pytest.MonkeyPatch, change: str,
) -> None:
    import supreme.fingerprint

    run(toy_experiment)
    if change == "torch":  # the outcome's digest names the installed torch
        real = supreme.fingerprint.distribution_version
        monkeypatch.setattr(supreme.fingerprint, "distribution_version",
                            lambda name: "99.0" if name == "torch" else real(name))
    else:  # and every dataset's file fingerprint
        monkeypatch.setattr(toy.Toy, "fingerprint", lambda self: "other files")
    assert run(toy_experiment).ran == 1


def test_a_deleted_artifact_is_recomputed_and_nothing_else(toy_experiment: dict[str, Any]) -> None:
    first = run(toy_experiment)
    retrain = next(e for e in first.events if e.stage == "retrain M_r")
    shutil.rmtree(Path(toy_experiment["output_dir"]) / "store" / "models" / retrain.key)
    again = run(toy_experiment)  # the finished cell used it: it runs again
    assert again.ran == 1
    recomputed = [e.stage for e in again.events if not e.reused]
    assert recomputed == ["retrain M_r"]
    assert again.records == first.records  # deterministic on CPU


def test_a_corrupted_checkpoint_is_detected_and_recomputed(toy_experiment: dict[str, Any]) -> None:
    first = run(toy_experiment)
    train = next(e for e in first.events if e.stage == "train M_o")
    payload = Path(toy_experiment["output_dir"]) / "store" / "models" / train.key / PAYLOAD
    payload.write_bytes(payload.read_bytes()[:-100])
    with pytest.warns(StoreWarning, match=f"artifact models/{train.key} is corrupted"):
        again = run(toy_experiment)
    assert [e.stage for e in again.events if not e.reused] == ["train M_o"]
    assert again.records == first.records


def test_a_changed_method_config_recomputes_only_that_method(toy_experiment: dict[str, Any]) -> None:
    run(toy_experiment)
    again = run(toy_experiment, method={"toy_ascent": {"lr": 0.5}})
    recomputed = {e.stage for e in again.events if not e.reused}
    assert recomputed == {"unlearn toy_ascent", "evaluate toy_ascent:toy_accuracy",
                          "evaluate toy_ascent:toy_gap"}


def test_the_reference_is_trained_only_when_needed(toy_experiment: dict[str, Any]) -> None:
    results = run(toy_experiment, methods=["original", "toy_ascent"], metrics=["toy_accuracy"])
    assert "retrain M_r" not in {e.stage for e in results.events}
    results = run(toy_experiment, methods=["toy_ascent"], metrics=["toy_gap"])
    assert "retrain M_r" in {e.stage for e in results.events}
    assert {r["method"] for r in results.records} == {"toy_ascent"}


def test_subclass_scenario_forgets_one_fine_class(toy_experiment: dict[str, Any]) -> None:
    results = run(toy_experiment, datasets=["toy_fine"], scenarios=["subclass"],
                  methods=["retrain"], metrics=["toy_accuracy"])
    split = next(e for e in results.events if e.stage == "split")
    meta = json.loads((Path(toy_experiment["output_dir"]) / "store" / "splits" / split.key / META)
                      .read_text())
    # fine class "c" (12 train, 4 test images) belongs to coarse class 1
    assert meta["forget_class"] == 1
    assert meta["sizes"] == {"forget_train": 12, "retain_train": 84, "forget_test": 4,
                             "retain_test": 28}


def test_unknown_target_and_unsupported_scenario_fail_before_compute(
    toy_experiment: dict[str, Any],
) -> None:
    with pytest.raises(ConfigError, match="forget target 'z' is not a class of this dataset"):
        run(toy_experiment, targets={"fullclass": ["z"]})
    with pytest.raises(ConfigError, match="dataset 'toy' does not support the 'subclass' scenario"):
        run(toy_experiment, scenarios=["subclass"])
    assert not (Path(toy_experiment["output_dir"]) / "store" / "models").exists()


def test_a_bad_component_table_names_the_field(toy_experiment: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="method.toy_ascent.learning_rate: unknown key"):
        run(toy_experiment, method={"toy_ascent": {"learning_rate": 1}})
    with pytest.raises(ConfigError, match=r"\[metric.toy_acc\]: unknown metric 'toy_acc'"):
        run(toy_experiment, metric={"toy_acc": {}})


def test_splits_are_exported_for_audit(toy_experiment: dict[str, Any]) -> None:
    results = run(toy_experiment, methods=["original"], metrics=["toy_accuracy"])
    directory = results.run_dir / "splits"
    rows = (directory / "toy-fullclass-b-s0.csv").read_text().splitlines()
    assert rows[0] == "part,index,label,fine_label"
    parts: dict[str, list[str]] = {}
    for row in rows[1:]:
        part, _, label, _ = row.split(",")
        parts.setdefault(part, []).append(label)
    assert {p: len(v) for p, v in parts.items()} == {
        "forget_train": 24, "retain_train": 72, "forget_test": 8, "retain_test": 24}
    assert set(parts["forget_train"]) == {"1"} and "1" not in set(parts["retain_test"])
    counts = json.loads((directory / "toy-fullclass-b-s0.counts.json").read_text())
    assert counts["retain_train"] == {"0": 24, "2": 24, "3": 24}


def test_a_lazily_decoded_dataset_gives_the_same_results_batch_by_batch(
    toy_experiment: dict[str, Any],
) -> None:
    from toyplugin import ToyLazy

    eager = run(toy_experiment)
    ToyLazy.decoded.clear()
    lazy = run(toy_experiment, datasets=["toy_lazy"])
    strip = ("dataset", "artifact", "provenance")

    def values(results: supreme.Results) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in strip} for r in results.records]

    assert values(lazy) == values(eager)
    assert "dataset" not in {e.stage for e in lazy.events}  # nothing cached in the store
    # decoded per batch (training batch 16, evaluation batches of a split), never whole
    assert ToyLazy.decoded and max(ToyLazy.decoded) < 96


def test_data_on_device_gives_the_same_results(toy_experiment: dict[str, Any]) -> None:
    # on a CPU machine the "device" is the CPU: the resident path must not change numbers
    plain = run(toy_experiment)
    other_store = str(Path(toy_experiment["output_dir"]) / "resident")
    resident = run(toy_experiment, data={"on_device": True}, output_dir=other_store)
    assert not any(e.reused for e in resident.events)  # computed afresh, not read back
    assert [r["value"] for r in resident.records] == [r["value"] for r in plain.records]


def test_plan_counts_exactly_the_work_a_run_then_does(toy_experiment: dict[str, Any]) -> None:
    from supreme.engine import plan

    settings = {**toy_experiment, "seeds": {"train": [0, 1]}, "targets": {"fullclass": ["b", "c"]}}
    config = supreme.load_config(data=settings)
    before = plan(config)
    assert len(before.cells) == 4
    assert before.counts() == {
        "trainings": {"total": 2, "existing": 0, "to_compute": 2},
        "retrainings": {"total": 4, "existing": 0, "to_compute": 4},
        "unlearning runs": {"total": 4, "existing": 0, "to_compute": 4},
        "evaluations": {"total": 24, "existing": 0, "to_compute": 24},  # 4 cells x 3 rows x 2
    }
    assert not (Path(settings["output_dir"]) / "store" / "models").exists()  # wrote nothing
    results = supreme.run(config)
    computed = [e.stage for e in results.events if not e.reused]
    assert computed.count("train M_o") == 2 and computed.count("retrain M_r") == 4
    assert sum(s.startswith("evaluate ") for s in computed) == 24
    after = plan(config).counts()
    assert all(c["to_compute"] == 0 and c["existing"] == c["total"] for c in after.values())


def test_channels_last_runs_the_whole_pipeline_under_its_own_keys(
    toy_experiment: dict[str, Any],
) -> None:
    plain = run(toy_experiment)
    fast = run(toy_experiment, speed={"channels_last": True})
    # its own store keys (numbers may differ in the last bits), nothing reused from plain
    assert not any(e.reused for e in fast.events if e.stage not in ("dataset", "split"))
    assert [(r["method"], r["metric"], r["key"]) for r in fast.records] == [
        (r["method"], r["metric"], r["key"]) for r in plain.records]
    for a, b in zip(plain.records, fast.records, strict=True):
        assert b["value"] == pytest.approx(a["value"], rel=1e-3, abs=1e-3)


def test_load_results_reads_back_what_the_run_returned(toy_experiment: dict[str, Any]) -> None:
    first = run(toy_experiment)
    loaded = supreme.load_results(first.run_dir)
    assert loaded.records == json.loads(json.dumps(first.records))
    assert loaded.failures == first.failures and loaded.gates == first.gates
    assert loaded.cells == first.cells == 1 and loaded.ran is None and loaded.events == []
    assert loaded.mean("retrain", "toy_accuracy", "forget_test") == 0.0


def test_results_to_pandas_is_the_tidy_table(toy_experiment: dict[str, Any]) -> None:
    from supreme.pipeline.results import TIDY_COLUMNS

    results = run(toy_experiment)
    frame = results.to_pandas()
    assert tuple(frame.columns) == TIDY_COLUMNS and len(frame) == len(results.records) == 12
    assert str(frame["train_seed"].dtype) == "Int64" and str(frame["value"].dtype) == "float64"
    assert frame["detail"].dtype == bool and not frame["detail"].any()
    row = frame[(frame.method == "retrain") & (frame.metric == "toy_accuracy")
                & (frame.key == "forget_test")]
    assert row["value"].tolist() == [0.0] and row["dataset"].tolist() == ["toy"]
    assert json.loads(row["provenance"].iloc[0])["method"]["distribution"] == "supreme-core"
    # a key declared a detail, and a value declared non-finite (recorded as null)
    results.records[0] = {**results.records[0], "detail": True}
    results.records[1] = {**results.records[1], "value": None, "non_finite": "nan"}
    frame = results.to_pandas()
    assert frame["detail"].tolist()[:2] == [True, False]
    assert pd_isna(frame["value"].iloc[1]) and frame["non_finite"].iloc[1] == "nan"
    assert len(results.to_pandas(details=False)) == 11


def pd_isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_data_on_device_auto_keeps_a_dataset_on_a_gpu_only_when_it_fits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from supreme.contracts import ImageTensors
    from supreme.pipeline.run import AUTO_DEVICE_SHARE, keep_on_device, resident_bytes

    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (4_000, 8_000))
    assert AUTO_DEVICE_SHARE == 0.25
    assert keep_on_device("auto", cuda, 1_000) and not keep_on_device("auto", cuda, 1_001)
    assert not keep_on_device("auto", cpu, 1)  # nothing to gain on the host
    assert not keep_on_device("auto", cuda, None)  # lazily decoded images stay lazy
    assert keep_on_device(True, cpu, 10**12) and not keep_on_device(False, cuda, 1)
    data = ImageTensors(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.zeros(10, dtype=torch.int64))
    assert resident_bytes(data, data) == 2 * (40 + 80)


def test_where_the_data_lives_does_not_make_another_experiment(toy_experiment: dict[str, Any]) -> None:
    first = run(toy_experiment, data={"on_device": False})
    # no --overwrite: the same experiment, resumed; every cell had finished
    again = supreme.run(supreme.load_config(data={**toy_experiment, "data": {"on_device": True}}))
    assert again.ran == 0 and again.records == first.records


def test_data_on_device_defaults_to_auto() -> None:
    assert supreme.load_config(data={}).data.on_device == "auto"
    assert supreme.load_config(overrides=["data.on_device=true"]).data.on_device is True
