"""``supreme tune``: the validation split, search spaces, resumable studies, failed trials,
the fragment it writes and method variants (``NAME@LABEL``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, ClassVar

import pytest
import supreme
import torch
from supreme import hookimpl, registry
from supreme.config import component_config, load_config
from supreme.contracts import ComponentConfig, Search, UnlearningMethod
from supreme.contracts.types import LearningRate
from supreme.errors import ConfigError, UsageError
from supreme.pipeline.split import carve_validation, validation_indices
from supreme.testing import synthetic_images

pytest.importorskip("optuna")

from supreme.tune import ReferencesFailed, search_space, trial_config, tune


def _rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(row.flatten().tolist()) for row in images}


class Recorder(UnlearningMethod):
    """Returns M_o unchanged and records every image the method is given."""

    name = "recorder"
    search_space = {"lr": Search(1e-3, 1e-1, log=True)}
    seen: ClassVar[list[torch.Tensor]] = []

    class Config(ComponentConfig):
        lr: LearningRate = 0.01

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        Recorder.seen.extend([data.forget.images, data.retain.images])
        return model


class Picky(UnlearningMethod):
    """Scales the head by ``lr``; fails whenever ``lr`` > 0.05 (a failing trial)."""

    name = "picky"
    search_space = {"lr": Search(1e-3, 1.0, log=True)}

    class Config(ComponentConfig):
        lr: LearningRate = 0.01

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        if self.config.lr > 0.05:
            raise RuntimeError(f"lr {self.config.lr} is too large for picky")
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 - self.config.lr)
        return model


class _Plugin:
    @hookimpl
    def supreme_register_methods(self) -> list[type[UnlearningMethod]]:
        return [Recorder, Picky]


@pytest.fixture
def experiment(toy_experiment: dict[str, Any]) -> dict[str, Any]:
    registry.register_plugin(_Plugin(), name="tune-test")
    Recorder.seen.clear()
    return {**toy_experiment, "methods": ["original", "retrain", "toy_ascent"],
            "metrics": ["toy_accuracy", "toy_gap"], "gates": {"mode": "off"},
            "tune": {"objective": ["toy_accuracy:forget_test", "toy_accuracy:retain_test"],
                     "unlearn_seeds": 1, "prune": False}}


def _quiet(line: str) -> None:
    pass


# -- the validation split -------------------------------------------------------------------
def test_the_validation_split_is_stratified_seeded_and_disjoint_from_the_rest() -> None:
    train = synthetic_images(4, 20, seed=0)
    held = validation_indices(train, 0.25, seed=3)
    assert torch.equal(held, validation_indices(train, 0.25, seed=3))
    assert not torch.equal(held, validation_indices(train, 0.25, seed=4))
    assert [int((train.labels[held] == c).sum()) for c in range(4)] == [5, 5, 5, 5]
    kept, validation = carve_validation(train, 0.25, seed=3)
    assert len(kept) == 60 and len(validation) == 20
    assert not _rows(kept.images) & _rows(validation.images)
    assert _rows(kept.images) | _rows(validation.images) == _rows(train.images)


def test_a_trial_never_reads_the_test_split_and_the_method_never_sees_the_validation_split(
        experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment, "methods": ["original", "retrain", "recorder"]})
    trial = trial_config(config, "toy", "tiny", "fullclass", "recorder")
    assert trial.validation is not None and trial.methods == ["retrain", "recorder"]
    supreme.run(trial)
    cls = registry.default().get("datasets", "toy")
    spec = cls(component_config(cls, {}, "dataset.toy"))
    full_train, real_test = spec.load("train"), spec.load("test")
    held = validation_indices(full_train, trial.validation.fraction, trial.validation.seed)
    validation = _rows(full_train.images[held])
    given = set().union(*(_rows(t) for t in Recorder.seen))
    assert given and not given & validation  # D_f and D_r exclude the validation examples
    assert not given & _rows(real_test.images)
    assert len(given) == len(full_train) - len(held)
    # the trial's "test" numbers are on the validation split: its forget_test is the held
    # out examples of the forgotten class
    splits = Path(trial.run_dir(), "splits")
    forget_test = [r for f in splits.glob("*.csv") for r in csv.DictReader(f.open())
                   if r.get("part") == "forget_test"]
    assert len(forget_test) == int((full_train.labels[held] == 1).sum())


# -- search spaces ----------------------------------------------------------------------------
def test_a_search_space_naming_an_unknown_field_or_an_invalid_bound_is_refused(
        experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment, "tune": {"space": {
        "toy_ascent": {"momentum": {"low": 0.1, "high": 0.9}}}}})
    with pytest.raises(ConfigError) as err:
        search_space(config, "toy_ascent", registry.default())
    assert err.value.message == ("the search space of 'toy_ascent' names 'momentum', which is "
                                 "not one of its settings")
    assert err.value.hint == "Its settings: lr (supreme describe toy_ascent)."
    config = load_config(data={**experiment, "tune": {"space": {
        "toy_ascent": {"lr": {"low": 0.1, "high": 5000.0, "log": True}}}}})
    with pytest.raises(ConfigError, match=r"tune\.space\.toy_ascent\.lr\.lr = 5000\.0"):
        search_space(config, "toy_ascent", registry.default())
    config = load_config(data={**experiment, "tune": {"space": {
        "toy_ascent": {"lr": {"low": 0.1, "high": 0.01}}}}})
    with pytest.raises(ConfigError, match=r"tune\.space\.toy_ascent\.lr: Search needs low < high"):
        search_space(config, "toy_ascent", registry.default())


def test_a_method_without_a_search_space_needs_one_in_the_experiment(
        experiment: dict[str, Any]) -> None:
    config = load_config(data=experiment)
    with pytest.raises(ConfigError) as err:
        search_space(config, "toy_ascent", registry.default())
    assert err.value.message == "method 'toy_ascent' declares no search space"
    config = load_config(data={**experiment, "tune": {"space": {
        "toy_ascent": {"lr": {"low": 1e-3, "high": 0.1, "log": True}}}}})
    assert search_space(config, "toy_ascent", registry.default()) == {
        "lr": Search(1e-3, 0.1, log=True)}


def test_search_draws_integers_from_integer_bounds_and_checks_itself() -> None:
    assert Search(1, 10).integer and not Search(1.0, 10.0).integer
    assert not Search(choices=(1, 2)).integer
    with pytest.raises(ValueError, match="log-scale Search needs low > 0"):
        Search(0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="either choices or low/high"):
        Search(1, 2, choices=(1,))


def test_tuning_seeds_that_are_the_experiments_own_are_refused(
        experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment, "seeds": {"train": [1], "unlearn_per_train": 2,
                                                         "protocol": "sparse"},
                               "tune": {**experiment["tune"], "train_seeds": [1],
                                        "unlearn_seeds": 2}})
    with pytest.raises(ConfigError) as err:
        tune(config, ["picky"], say=_quiet)
    assert err.value.message == ("the tuning seeds reuse the experiment's unlearning/"
                                 "evaluation seed(s) 1000, 1001")


# -- studies ----------------------------------------------------------------------------------
def _trials(config: Any) -> list[dict[str, str]]:
    path = config.run_dir() / "tune" / "toy-tiny-fullclass-picky.trials.csv"
    return list(csv.DictReader(path.open()))


def test_trial_one_is_the_current_settings_and_a_resumed_study_continues_its_count(
        experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment, "tune": {**experiment["tune"], "space": {
        "picky": {"lr": {"low": 0.001, "high": 0.04}}}}})
    first = tune(config, ["picky"], trials=2, say=_quiet)[0]
    assert (first.trials, first.complete) == (2, 2)
    rows = _trials(config)
    assert rows[0]["default"] == "True" and rows[0]["lr"] == ""  # the current settings
    assert first.default_value == float(rows[0]["objective"])
    again = tune(config, ["picky"], trials=4, say=_quiet)[0]
    assert again.trials == 4
    resumed = _trials(config)
    assert [r["trial"] for r in resumed] == ["1", "2", "3", "4"]
    assert resumed[:2] == rows  # the first two trials are the same trials, not redone
    # a study already at its count runs nothing more
    assert tune(config, ["picky"], trials=4, say=_quiet)[0].trials == 4


def test_a_failing_trial_is_recorded_as_failed_and_the_study_goes_on(
        experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment, "tune": {**experiment["tune"], "space": {
        "picky": {"lr": {"choices": [0.01, 0.5]}}}}})
    result = tune(config, ["picky"], trials=8, say=_quiet)[0]
    rows = _trials(config)
    states = {r["lr"]: r["state"] for r in rows if r["lr"]}
    assert states == {"0.01": "complete", "0.5": "fail"}
    assert result.failed == sum(r["state"] == "fail" for r in rows) >= 1
    assert {r["error"] for r in rows if r["state"] == "fail"} == {
        "unlearn picky: RuntimeError: lr 0.5 is too large for picky"}
    assert result.trials == 8 and result.best_value is not None
    assert result.best_params in ({}, {"lr": 0.01})  # never the failing value


def test_a_changed_objective_does_not_resume_a_study(experiment: dict[str, Any]) -> None:
    config = load_config(data=experiment)
    tune(config, ["picky"], trials=1, say=_quiet)
    changed = load_config(data={**experiment, "tune": {**experiment["tune"],
                                                        "objective": ["toy_gap:test"]}})
    with pytest.raises(ConfigError, match="was started with another objective"):
        tune(changed, ["picky"], trials=2, say=_quiet)


def test_failed_reference_checks_stop_the_study(experiment: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from supreme.pipeline import run as run_module

    def failing(accuracies: Any, **kwargs: Any) -> dict[str, Any]:
        return {"passed": False, "failed": ["original_train"], "checks": [
            {"name": "original_train", "passed": False, "what": "M_o accuracy on its "
             "training data", "value": 40.0, "op": ">=", "threshold": 97.0}]}

    monkeypatch.setattr(run_module, "gate_verdict", failing)
    config = load_config(data={**experiment, "gates": {"mode": "warn"}})
    with pytest.raises(ReferencesFailed, match=r"fail their checks: M_o accuracy on its "
                       r"training data 40\.00% < 97\.00%"), pytest.warns(UserWarning):
        tune(config, ["picky"], trials=3, say=_quiet)


# -- the fragment and method variants ----------------------------------------------------------
def test_the_best_fragment_round_trips_into_supreme_run_next_to_the_default(
        experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment, "tune": {**experiment["tune"], "space": {
        "picky": {"lr": {"choices": [0.002, 0.03]}}}}})
    result = tune(config, ["picky"], trials=4, say=_quiet)[0]
    assert result.fragment is not None and result.fragment.is_file()
    run = load_config(data={**experiment, "methods": ["original", "retrain", "picky"]},
                      includes=[result.fragment])
    assert run.methods == ["original", "retrain", "picky", "picky@tuned"]
    assert run.tuned["picky@tuned"].study == "toy/tiny/fullclass/picky"
    assert run.tuned["picky@tuned"].value == result.best_value
    assert run.method["picky@tuned"] == result.best_params
    records = supreme.run(run).records
    rows = {r["method"] for r in records}
    assert {"picky", "picky@tuned"} <= rows
    # the tuned row is the method with the best settings: the same numbers as a run of
    # picky configured that way by hand
    by_hand = load_config(data={**experiment, "name": "by-hand",
                                "methods": ["original", "retrain", "picky"],
                                "method": {"picky": result.best_params}})
    expected = {(r["metric"], r["key"]): r["value"] for r in supreme.run(by_hand).records
                if r["method"] == "picky"}
    tuned = {(r["metric"], r["key"]): r["value"] for r in records if r["method"] == "picky@tuned"}
    assert tuned == expected
    # the report marks the row and shows how it was tuned, with the study's plots
    pytest.importorskip("matplotlib")
    from supreme.report import write_report

    html = write_report(run.run_dir())["html"].read_text()
    assert "How the tuned rows were tuned (1)" in html
    assert 'alt="Optuna optimisation history of the study that tuned picky@tuned"' in html
    assert ">tuned<" in html  # the Setting column of the summary


def test_an_included_fragment_adds_rows_and_never_changes_the_experiments_own(
        experiment: dict[str, Any], tmp_path: Path) -> None:
    fragment = tmp_path / "f.toml"
    fragment.write_text('[method."toy_ascent@tuned"]\nlr = 0.5\n')
    with pytest.raises(ConfigError, match="already sets differently"):
        load_config(data={**experiment, "method": {"toy_ascent@tuned": {"lr": 0.1}}},
                    includes=[fragment])
    fragment.write_text('seeds = {train = [3]}\n')
    with pytest.raises(ConfigError) as err:
        load_config(data=experiment, includes=[fragment])
    assert err.value.message == (f"fragment {str(fragment)!r} sets seeds: a fragment may only "
                                 "hold [method.NAME] and [tuned.NAME] tables")


def test_method_variants_run_one_method_with_two_settings(experiment: dict[str, Any]) -> None:
    config = load_config(data={**experiment,
                               "methods": ["original", "retrain", "toy_ascent", "toy_ascent@slow"],
                               "method": {"toy_ascent@slow": {"lr": 0.001}}})
    records = supreme.run(config).records
    own = {r["method"]: r["value"] for r in records
           if r["metric"] == "toy_gap" and r["key"] == "test"}
    assert own["toy_ascent"] != own["toy_ascent@slow"]
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(data={**experiment, "methods": ["toy_ascent@slow"],
                          "method": {"toy_ascent@slow": {"rate": 0.1}}})
    with pytest.raises(UsageError) as err:
        supreme.run(load_config(data={**experiment, "methods": ["toy_ascent@Slow"]}))
    assert err.value.message == "method name 'toy_ascent@Slow' is not valid"
    with pytest.raises(ConfigError, match="is a variant of the reference row 'retrain'"):
        supreme.run(load_config(data={**experiment, "methods": ["original", "retrain@x"]}))


# -- the command line -------------------------------------------------------------------------
def _cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from supreme.cli.main import main

    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def test_supreme_tune_without_a_method_or_with_a_reference_row_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli("tune", capsys=capsys)
    assert code == 2
    assert "no method to tune" in err and "supreme tune CONFIG --method neg_grad" in err
    assert "Traceback" not in err
    code, err = _cli("tune", "--method", "retrain", capsys=capsys)
    assert code == 2 and "'retrain' cannot be tuned" in err


def test_supreme_tune_prints_the_study_and_the_command_that_uses_its_fragment(
        experiment: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:

    path = tmp_path / "exp.toml"
    path.write_text(
        f'output_dir = "{experiment["output_dir"]}"\ndatasets = ["toy"]\nmodels = ["tiny"]\n'
        'methods = ["original", "retrain", "picky"]\nmetrics = ["toy_accuracy"]\n'
        '[gates]\nmode = "off"\n[tune]\nunlearn_seeds = 1\nprune = false\n'
        'objective = ["toy_accuracy:forget_test", "toy_accuracy:retain_test"]\n'
        '[tune.space.picky]\nlr = {choices = [0.002, 0.03]}\n')
    code, err = _cli("tune", str(path), "--method", "picky", "--trials", "2", capsys=capsys)
    assert code == 0, err
    assert "toy/tiny/fullclass/picky: 2 trial(s); trial 1 is the current settings" in err
    assert "picky trial 1/2: objective" in err and "[the current settings]" in err
    fragment = Path(experiment["output_dir"]) / "default" / "tune" / \
        "toy-tiny-fullclass-picky.toml"
    assert f"--include {fragment}" in err
    code, err = _cli("plan", str(path), "--include", str(fragment), "--json", capsys=capsys)
    assert code == 0, err


def test_parallel_workers_share_one_study_and_propose_different_settings(
        toy_experiment: dict[str, Any]) -> None:
    """--workers 2: two spawned processes take the trials of one study (SQLite) and the
    store; each seeds its sampler differently, so they do not try the same settings."""
    config = load_config(data={
        **toy_experiment, "metrics": ["toy_accuracy"], "gates": {"mode": "off"},
        "tune": {"objective": ["toy_accuracy:forget_test", "toy_accuracy:retain_test"],
                 "unlearn_seeds": 1, "prune": False,
                 "space": {"toy_ascent": {"lr": {"low": 1e-4, "high": 1.0, "log": True}}}}})
    result = tune(config, ["toy_ascent"], trials=5, workers=2, say=_quiet)[0]
    assert (result.trials, result.complete) == (5, 5)
    path = config.run_dir() / "tune" / "toy-tiny-fullclass-toy_ascent.trials.csv"
    rows = list(csv.DictReader(path.open()))
    assert [r["trial"] for r in rows] == ["1", "2", "3", "4", "5"]
    sampled = [r["lr"] for r in rows if r["default"] == "False"]
    assert len(sampled) == 4 and len(set(sampled)) == 4
