"""Results are never stale or silently wrong: code-aware keys, --recompute, strict values,
checked component configs, notebook-safe registration and `supreme describe`."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import supreme
from pydantic import Field
from supreme import fingerprint, hookimpl, registry
from supreme.contracts import ComponentConfig, EvalContext, Metric, UnlearningMethod
from supreme.contracts.types import BatchSize, Epochs, LearningRate
from supreme.engine import plan
from supreme.errors import ConfigError, PluginError, UsageError
from supreme.store import Store

HERE = Path(__file__).parent
TOY = str(HERE / "toyplugin.py")

# -- helpers -------------------------------------------------------------------------------


def experiment(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {"output_dir": str(tmp_path / "runs"), "datasets": ["toy"], "models": ["tiny"],
            "methods": ["original", "retrain", "toy_ascent"],
            "metrics": ["toy_accuracy", "toy_gap"], **changes}


def computed(results: Any) -> list[str]:
    """The stages a run computed (not reused), sorted."""
    return sorted(e.stage for e in results.events if not e.reused)


def to_compute(config: Any, **kwargs: Any) -> dict[str, int]:
    return {kind: c["to_compute"] for kind, c in plan(config, **kwargs).counts().items()}


def strict_load(text: str) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def write(path: Path, text: str) -> None:
    """Write ``text`` so that the change is visible to (path, mtime, size) caches."""
    path.write_text(textwrap.dedent(text))
    stat = path.stat()
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


PACKAGE_INIT = """
    from supreme import hookimpl


    @hookimpl
    def supreme_register_methods():
        from trustplug import method
        return [method.PlugMethod]


    @hookimpl
    def supreme_register_metrics():
        from trustplug import metric
        return [metric.PlugMetric]
"""

METHOD = """
    import torch
    from supreme.contracts import UnlearningMethod


    class PlugMethod(UnlearningMethod):
        \"\"\"Scale every weight (a method under development).\"\"\"

        name = "plug_method"

        def unlearn(self, model, data, fabric):
            from trustplug._helper import factor
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(factor())
            return model
"""

HELPER = """
    def factor():
        return {factor}
"""

METRIC = """
    from supreme.contracts import Metric


    class PlugMetric(Metric):
        \"\"\"Mean logit on the test split (a metric under development).\"\"\"

        name = "plug_metric"

        def compute(self, ctx):
            return {{"test": float(ctx.outputs("unlearned", "test").logits.mean()) + {offset}}}
"""


@pytest.fixture
def trustplug(tmp_path: Path, toy: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable plugin package on disk (as an editable install is), registered at run
    time: ``trustplug/method.py`` imports ``_helper.py`` inside a function."""
    root = tmp_path / "src" / "trustplug"
    root.mkdir(parents=True)
    write(root / "__init__.py", PACKAGE_INIT)
    write(root / "method.py", METHOD)
    write(root / "_helper.py", HELPER.format(factor=0.5))
    write(root / "metric.py", METRIC.format(offset=0.0))
    write(root / "unrelated.py", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(root.parent))
    for name in [m for m in sys.modules if m == "trustplug" or m.startswith("trustplug.")]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("trustplug")
    importlib.import_module("trustplug.method")
    importlib.import_module("trustplug.metric")
    registry.register_plugin(module, name="trustplug")
    yield root
    for name in [m for m in sys.modules if m == "trustplug" or m.startswith("trustplug.")]:
        sys.modules.pop(name, None)


def reload_plugin() -> None:
    """What a developer does after editing a file in a notebook: reload, register again."""
    for name in ("trustplug._helper", "trustplug.method", "trustplug.metric"):
        if name in sys.modules:
            importlib.reload(sys.modules[name])
    registry.register_plugin(sys.modules["trustplug"], name="trustplug")


# -- code fingerprints ------------------------------------------------------------------------

def test_component_fingerprint_covers_its_module_and_what_it_imports_only(trustplug: Path) -> None:
    method = sys.modules["trustplug.method"].PlugMethod
    closure = fingerprint.module_closure("trustplug.method")
    assert sorted(closure) == ["trustplug", "trustplug._helper", "trustplug.method"]
    before = fingerprint.component_code(method)
    write(trustplug / "unrelated.py", "VALUE = 2  # a sibling module it does not import\n")
    assert fingerprint.component_code(method) == before
    write(trustplug / "_helper.py", HELPER.format(factor=0.25))  # imported inside a function
    assert fingerprint.component_code(method) != before


def test_a_class_without_a_source_file_is_fingerprinted_by_its_bytecode() -> None:
    def make(factor: float) -> type:
        namespace: dict[str, Any] = {"__name__": "notebook_cell"}
        exec(textwrap.dedent(f"""
            class Cell:
                name = "cell_method"
                def unlearn(self):
                    return {factor}
        """), namespace)
        return namespace["Cell"]

    assert "notebook_cell" not in sys.modules
    one, same, other = make(0.5), make(0.5), make(0.25)
    assert fingerprint.component_code(one) == fingerprint.component_code(same)
    assert fingerprint.component_code(one) != fingerprint.component_code(other)


def test_every_core_module_is_either_in_a_stage_code_set_or_declared_keyless() -> None:
    unclassified = [m for m in fingerprint.core_modules() if fingerprint.classify(m) is None]
    assert unclassified == [], (
        f"{unclassified}: add each to fingerprint.CORE_CODE (if a stored number depends on "
        "it) or to NOT_IN_KEYS with the reason it cannot change one")
    covered = fingerprint._core_files(fingerprint.CORE_CODE["model"])
    assert {"pipeline/train.py", "pipeline/data.py", "builtins.py"} <= {
        p.relative_to(fingerprint._CORE_ROOT).as_posix() for p in covered}


def test_editing_a_method_recomputes_exactly_its_unlearning_and_evaluations(
        tmp_path: Path, trustplug: Path) -> None:
    data = experiment(tmp_path, methods=["original", "retrain", "toy_ascent", "plug_method"],
                      metrics=["toy_accuracy", "toy_gap", "plug_metric"])
    first = supreme.run(supreme.load_config(data=data))
    assert "unlearn plug_method" in computed(first)
    assert computed(supreme.run(supreme.load_config(data=data))) == []

    write(trustplug / "_helper.py", HELPER.format(factor=0.75))
    reload_plugin()
    config = supreme.load_config(data=data)
    assert to_compute(config) == {"trainings": 0, "retrainings": 0, "unlearning runs": 1,
                                  "evaluations": 3}
    again = supreme.run(config)
    assert computed(again) == ["evaluate plug_method:plug_metric",
                               "evaluate plug_method:toy_accuracy",
                               "evaluate plug_method:toy_gap", "unlearn plug_method"]
    old = [r["value"] for r in first.records if r["method"] == "plug_method"
           and r["metric"] == "plug_metric"]
    new = [r["value"] for r in again.records if r["method"] == "plug_method"
           and r["metric"] == "plug_metric"]
    assert new != old  # the new numbers, not the stored ones

    # editing the metric recomputes its evaluations of every row, nothing else
    write(trustplug / "metric.py", METRIC.format(offset=1.0))
    reload_plugin()
    config = supreme.load_config(data=data)
    assert to_compute(config) == {"trainings": 0, "retrainings": 0, "unlearning runs": 0,
                                  "evaluations": 4}
    third = supreme.run(config)
    assert computed(third) == [f"evaluate {m}:plug_metric"
                               for m in ("original", "plug_method", "retrain", "toy_ascent")]
    shifted = {r["method"]: r["value"] for r in third.records if r["metric"] == "plug_metric"}
    before = {r["method"]: r["value"] for r in again.records if r["metric"] == "plug_metric"}
    assert all(math.isclose(shifted[m], before[m] + 1.0, rel_tol=0, abs_tol=1e-9) for m in before)


def test_editing_the_cores_training_code_retrains_the_references(
        tmp_path: Path, toy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # stand-in for an edit to pipeline/train.py: a file added to the "model" code set
    extra = tmp_path / "train_extra.py"
    write(extra, "STEP = 1\n")
    monkeypatch.setitem(fingerprint.CORE_CODE, "model", (*fingerprint.CORE_CODE["model"], str(extra)))
    data = experiment(tmp_path)
    supreme.run(supreme.load_config(data=data))
    write(extra, "STEP = 2  # the training loop changed\n")
    config = supreme.load_config(data=data)
    assert to_compute(config) == {"trainings": 1, "retrainings": 1, "unlearning runs": 1,
                                  "evaluations": 6}
    stages = computed(supreme.run(config))
    assert "train M_o" in stages and "retrain M_r" in stages
    assert "dataset" not in stages and "split" not in stages

    # an edit to the evaluation code redoes the evaluations only
    monkeypatch.setitem(fingerprint.CORE_CODE, "evaluate",
                        (*fingerprint.CORE_CODE["evaluate"], str(extra)))
    config = supreme.load_config(data=data)
    assert to_compute(config) == {"trainings": 0, "retrainings": 0, "unlearning runs": 0,
                                  "evaluations": 6}


def test_a_plugin_file_edit_recomputes_its_method_through_the_cli(tmp_path: Path) -> None:
    plugin = tmp_path / "plug.py"
    source = """
        import torch
        from supreme import hookimpl
        from supreme.contracts import UnlearningMethod


        class FileMethod(UnlearningMethod):
            \"\"\"Shrink every weight.\"\"\"

            name = "file_method"

            def unlearn(self, model, data, fabric):
                with torch.no_grad():
                    for p in model.parameters():
                        p.mul_({factor})
                return model


        @hookimpl
        def supreme_register_methods():
            return [FileMethod]
    """
    write(plugin, source.format(factor=0.5))
    args = ["--plugin", TOY, "--plugin", str(plugin), "--set", f"output_dir='{tmp_path / 'runs'}'",
            "--set", "datasets=['toy']", "--set", "models=['tiny']",
            "--set", "methods=['original','file_method']", "--set", "metrics=['toy_accuracy']"]

    def supreme_cli(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "supreme", *extra, *args],
                              capture_output=True, text=True, timeout=300)

    first = supreme_cli("run")
    assert first.returncode == 0, first.stderr[-2000:]
    write(plugin, source.format(factor=0.25))
    planned = supreme_cli("plan", "--json")
    assert json.loads(planned.stdout)["counts"]["unlearning runs"]["to_compute"] == 1
    second = supreme_cli("run", "--json")
    assert second.returncode == 0, second.stderr[-2000:]
    computed_lines = [line for line in second.stderr.splitlines() if "computed in" in line]
    assert [line.split()[0:2] for line in computed_lines] == [
        ["unlearn", "file_method"], ["evaluate", "file_method:toy_accuracy"]]


# -- --recompute ------------------------------------------------------------------------------

def test_recompute_redoes_the_named_stages_and_their_dependents(tmp_path: Path, toy: Any) -> None:
    data = experiment(tmp_path, targets={"fullclass": ["b", "c"]})
    config = supreme.load_config(data=data)
    first = supreme.run(config)
    store = Store(config.output_dir / "store")
    unlearn_key = next(e.key for e in first.events if e.stage == "unlearn toy_ascent")
    written = store.meta("models", unlearn_key)["written_ns"]

    assert to_compute(config, recompute="unlearn:toy_ascent") == {
        "trainings": 0, "retrainings": 0, "unlearning runs": 2, "evaluations": 4}
    again = supreme.run(config, recompute="unlearn:toy_ascent")
    assert computed(again) == ["evaluate toy_ascent:toy_accuracy"] * 2 + [
        "evaluate toy_ascent:toy_gap"] * 2 + ["unlearn toy_ascent"] * 2
    assert store.meta("models", unlearn_key)["written_ns"] > written
    assert again.records == first.records  # same code, same seeds: the same numbers

    # M_o is shared by both cells: recomputed once, then everything that reads it
    assert to_compute(config, recompute="models") == {
        "trainings": 1, "retrainings": 0, "unlearning runs": 2, "evaluations": 8}
    models = computed(supreme.run(config, recompute=["models"]))
    assert models.count("train M_o") == 1 and "retrain M_r" not in models
    # the retrain row's toy_gap does not read M_o: it stays
    assert models.count("evaluate retrain:toy_gap") == 0
    assert models.count("evaluate original:toy_accuracy") == 2

    assert computed(supreme.run(config, recompute="evaluate:toy_gap")) == [
        f"evaluate {m}:toy_gap" for m in ("original", "original", "retrain", "retrain",
                                          "toy_ascent", "toy_ascent")]
    everything = computed(supreme.run(config, recompute="all"))
    assert everything.count("dataset") == 1 and everything.count("split") == 2
    assert computed(supreme.run(config)) == []  # and a plain rerun reuses it all


@pytest.mark.parametrize(("value", "message"), [
    ("bogus", "--recompute 'bogus': unknown stage 'bogus'"),
    ("unlearn:nope", "--recompute 'unlearn:nope': the experiment has no method 'nope'"),
    ("evaluate:toy_acuracy", "--recompute 'evaluate:toy_acuracy': the experiment has no metric"),
    ("models:x", "--recompute 'models:x': models takes no name"),
])
def test_recompute_rejects_unknown_stages(tmp_path: Path, toy: Any, value: str, message: str) -> None:
    config = supreme.load_config(data=experiment(tmp_path))
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")) as info:
        supreme.run(config, recompute=value)
    assert info.value.exit_code == 2
    assert not (tmp_path / "runs").exists()  # refused before anything was written


# -- strict values --------------------------------------------------------------------------

class Values(Metric):
    """Returns fixed values (NaN and infinities included)."""

    name = "fixed_values"

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"finite": 1.5, "nan": math.nan}


class DeclaredValues(Metric):
    """Declares that two keys may be non-finite."""

    name = "declared_values"
    non_finite_keys = frozenset({"nan", "inf"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"finite": 2.0, "nan": math.nan, "inf": math.inf}


class ValuesPlugin:
    @hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [Values, DeclaredValues]


def test_a_nan_metric_value_fails_its_row_and_every_file_is_strict_json(
        tmp_path: Path, toy: Any) -> None:
    registry.register_plugin(ValuesPlugin(), name="values")
    data = experiment(tmp_path, methods=["original", "toy_ascent"],
                      metrics=["toy_accuracy", "fixed_values", "declared_values"])
    with pytest.warns(RuntimeWarning, match="metric 'fixed_values' returned nan for key 'nan'"):
        results = supreme.run(supreme.load_config(data=data))
    assert {(f["method"], f["metric"], f["stage"]) for f in results.failures} == {
        ("original", "fixed_values", "evaluate original:fixed_values"),
        ("toy_ascent", "fixed_values", "evaluate toy_ascent:fixed_values")}
    assert all(f["error"].startswith("metric 'fixed_values' returned nan for key 'nan'")
               for f in results.failures)
    rows = {(r["method"], r["metric"]) for r in results.records}
    assert ("toy_ascent", "fixed_values") not in rows  # the whole row failed
    assert ("toy_ascent", "toy_accuracy") in rows      # the others did not
    declared = {r["key"]: r for r in results.records
                if r["metric"] == "declared_values" and r["method"] == "toy_ascent"}
    assert declared["finite"]["value"] == 2.0 and "non_finite" not in declared["finite"]
    assert (declared["nan"]["value"], declared["nan"]["non_finite"]) == (None, "nan")
    assert (declared["inf"]["value"], declared["inf"]["non_finite"]) == (None, "inf")

    run_dir = results.run_dir
    files = [run_dir / "config.json", *sorted((run_dir / "cells").glob("*.json")),
             *sorted((tmp_path / "runs" / "store").rglob("meta.json"))]
    for path in files:
        strict_load(path.read_text())
    for name in ("results.jsonl", "failures.jsonl"):
        lines = (run_dir / name).read_text().splitlines()
        assert lines and all(strict_load(line) for line in lines)
    # the failed evaluation was not stored: a rerun computes it again (and fails again)
    with pytest.warns(RuntimeWarning):
        again = supreme.run(supreme.load_config(data=data))
    assert computed(again) == []  # every other stage was stored and is reused
    assert len(again.failures) == 2


class PerPart(Metric):
    """A total and one value per part; the parts are details."""

    name = "per_part"
    detail_keys = frozenset({"part.*"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"total": 3.0, "part.a.weight": 1.0, "part.b": 2.0}


class OnlyDetails(Metric):
    """Declares every key a detail."""

    name = "only_details"
    detail_keys = frozenset({"*"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"x": 1.0}


class DetailPlugin:
    @hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [PerPart]


def test_declared_detail_keys_are_flagged_and_left_out_of_the_console_table(
        tmp_path: Path, toy: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.output import print_results

    registry.register_plugin(DetailPlugin(), name="details")
    data = experiment(tmp_path, methods=["original", "toy_ascent"], metrics=["per_part"])
    results = supreme.run(supreme.load_config(data=data))
    flags = {(r["method"], r["key"]): r.get("detail") for r in results.records}
    assert flags == {(m, k): (True if k.startswith("part.") else None)
                     for m in ("original", "toy_ascent") for k in ("total", "part.a.weight", "part.b")}
    on_disk = [json.loads(line) for line in (results.run_dir / "results.jsonl").read_text().splitlines()]
    assert sum(1 for r in on_disk if r.get("detail") is True) == 4
    print_results(results)
    shown = capsys.readouterr().out
    assert "total" in shown and "part.a.weight" not in shown
    assert "2 per-key detail row(s)" in shown and "--all-keys" in shown
    print_results(results, all_keys=True)
    assert "part.a.weight" in capsys.readouterr().out


def test_a_metric_whose_every_key_is_a_detail_fails_its_conformance_check() -> None:
    from supreme.testing.metrics import check_metric

    assert check_metric(PerPart)["method"] == {"total": 3.0, "part.a.weight": 1.0, "part.b": 2.0}
    with pytest.raises(AssertionError, match=r"metric 'only_details' on the method row: every "
                       r"key \(x\) matches detail_keys, so no table or plot would show it"):
        check_metric(OnlyDetails)


def test_finite_weights_with_overflowing_outputs_fail_the_evaluation_by_name() -> None:
    """A diverged model can have finite weights whose outputs overflow to inf; every
    metric computed from those outputs would be NaN, so the forward pass refuses them."""
    import torch
    from supreme.errors import StageError
    from supreme.pipeline.evaluate import Forward
    from supreme.testing import TinyNet, cpu_fabric, synthetic_images, tiny_transform

    data = synthetic_images(num_classes=4, per_class=4)
    model = TinyNet(num_classes=4)
    forward = Forward(cpu_fabric(), tiny_transform(), batch_size=8)
    assert torch.isfinite(forward(model, data).logits).all()
    with torch.no_grad():
        model.features[1].weight.fill_(3e38)  # a finite BatchNorm scale that overflows
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    with pytest.raises(StageError) as caught:
        forward(model, data)
    assert caught.value.message == (
        "the model's outputs are non-finite (NaN or inf) on 16 of 16 samples, although its "
        "weights are finite: the model diverged")
    assert caught.value.hint.startswith("Lower the method's learning rate")


def test_the_cli_exits_1_on_a_nan_metric(tmp_path: Path) -> None:
    plugin = tmp_path / "nanmetric.py"
    write(plugin, """
        import math
        from supreme import hookimpl
        from supreme.contracts import Metric


        class NanMetric(Metric):
            \"\"\"Always NaN.\"\"\"

            name = "nan_metric"

            def compute(self, ctx):
                return {"value": math.nan}


        @hookimpl
        def supreme_register_metrics():
            return [NanMetric]
    """)
    result = subprocess.run(
        [sys.executable, "-m", "supreme", "run", "--plugin", TOY, "--plugin", str(plugin),
         "--set", f"output_dir='{tmp_path / 'runs'}'", "--set", "datasets=['toy']",
         "--set", "models=['tiny']", "--set", "methods=['original']",
         "--set", "metrics=['toy_accuracy','nan_metric']"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "metric 'nan_metric' returned nan for key 'value'" in result.stderr
    assert "Traceback" not in result.stderr
    records = [strict_load(line) for line in
               (tmp_path / "runs" / "default" / "results.jsonl").read_text().splitlines()]
    assert {r["metric"] for r in records} == {"toy_accuracy"}


# -- checked component configs --------------------------------------------------------------

class BadDefaults(UnlearningMethod):
    """A method whose defaults do not validate."""

    name = "bad_defaults"

    class Config(ComponentConfig):
        lr: float = Field(-1.0, gt=0)
        epochs: int = "two"  # type: ignore[assignment]

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        return model


class BadDefaultsPlugin:
    @hookimpl
    def supreme_register_methods(self) -> list[type[UnlearningMethod]]:
        return [BadDefaults]


def test_a_component_with_invalid_defaults_is_refused_at_registration(toy: Any) -> None:
    registry.register_plugin(BadDefaultsPlugin(), name="baddefaults")
    with pytest.raises(PluginError) as info:
        registry.default()
    assert info.value.message == (
        "plugin 'baddefaults' (<runtime> -) registers the method 'bad_defaults' with an invalid "
        "Config: lr = -1.0: Input should be greater than 0; epochs = 'two': Input should be a "
        "valid integer, unable to parse string as an integer")
    assert "test_trust.BadDefaults.Config" in info.value.hint


def test_check_method_reports_invalid_defaults() -> None:
    from supreme.testing.methods import _check_class

    with pytest.raises(AssertionError, match=r"BadDefaults.Config: its defaults do not "
                       r"validate \(lr = -1.0"):
        _check_class(BadDefaults)


def test_conformance_checks_take_a_config_as_a_dict_or_a_config_alike() -> None:
    from supreme.testing import component_settings

    assert component_settings(NeedsPath, {"path": "x"}) == NeedsPath.Config(path="x")
    given = NeedsPath.Config(path="y", lr=0.5)
    assert component_settings(NeedsPath, given) is given
    cases = [
        ({"path": "x", "lr": -1}, "check_method(needs_path): invalid config.lr = -1: Input "
         "should be greater than 0"),
        ({"path": "x", "lrr": 1}, "check_method(needs_path): invalid config.lrr: unknown key"),
        ({}, "check_method(needs_path): invalid config.path: required, and not set"),
        (3, "check_method(needs_path): config is a int, not a NeedsPath.Config or a dict of "
         "its fields"),
        (BadDefaults.Config.model_construct(), "check_method(needs_path): config is a BadDefaults.Config, "
         "not a NeedsPath.Config"),
    ]
    for config, message in cases:
        with pytest.raises(AssertionError) as info:
            component_settings(NeedsPath, config, check="check_method")
        first, second = str(info.value).splitlines()
        assert first.startswith(message), first
        assert second.startswith("  troubleshooting: pass ")


class NeedsPath(UnlearningMethod):
    """A method with a required field (no default) beside a valid default."""

    name = "needs_path"

    class Config(ComponentConfig):
        path: str
        lr: float = Field(0.1, gt=0)

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        return model


class NeedsPathPlugin:
    @hookimpl
    def supreme_register_methods(self) -> list[type[UnlearningMethod]]:
        return [NeedsPath]


def test_a_required_field_registers_and_the_run_asks_for_it(toy: Any) -> None:
    from supreme.contracts.base import config_defaults_error

    assert config_defaults_error(NeedsPath.Config) is None

    class Mixed(ComponentConfig):
        path: str
        lr: float = Field(-1.0, gt=0)

    assert config_defaults_error(Mixed) == "lr = -1.0: Input should be greater than 0"
    registry.register_plugin(NeedsPathPlugin(), name="needspath")
    assert "needs_path" in registry.default().names("methods")
    base = ["datasets=['toy']", "models=['tiny']", "methods=['original','needs_path']",
            "metrics=['toy_accuracy']"]
    from supreme.plan import resolve

    with pytest.raises(ConfigError) as info:  # the plan of a run that leaves it out
        resolve(supreme.load_config(overrides=base), registry.default())
    assert info.value.message == (
        "invalid experiment (settings): method.needs_path.path: required, and not set")
    config = supreme.load_config(overrides=[*base, "method.needs_path.path='x'"])
    assert resolve(config, registry.default()).methods["needs_path"].config.path == "x"


@pytest.mark.parametrize(("setting", "message"), [
    ("method.toy_ascent.lr=-1", "method.toy_ascent.lr = -1: Input should be greater than 0"),
    ("method.toy_ascent.lr=inf", "method.toy_ascent.lr = inf: Input should be a finite number"),
    ("method.toy_ascent.lr=1e999", "method.toy_ascent.lr = inf: Input should be a finite number"),
    ("method.toy_ascent.steps=3", "method.toy_ascent.steps: unknown key"),
    ("model.tiny.width=0", "model.tiny.width = 0: Input should be greater than or equal to 1"),
    ("training.epochs=1e12",
     "training.epochs = 1000000000000.0: Input should be less than or equal to 100000"),
    ("training.lr=inf", "training.lr = inf: Input should be a finite number"),
    ("unlearning.batch_size=1000000000",
     "unlearning.batch_size = 1000000000: Input should be less than or equal to 1000000"),
])
def test_load_config_validates_component_tables_and_shared_bounds(
        toy: Any, setting: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        supreme.load_config(overrides=[setting, "datasets=['toy']", "models=['tiny']"])
    assert info.value.message == f"invalid experiment (settings): {message}"


def test_load_config_leaves_tables_of_unknown_components_to_the_run() -> None:
    # a plugin registered after the config was loaded still gets its table validated
    config = supreme.load_config(data={"method": {"later": {"lr": 0.1}}})
    assert config.method == {"later": {"lr": 0.1}}


# -- notebook registration ------------------------------------------------------------------

def test_registering_a_runtime_plugin_again_replaces_it(
        toy: Any, capsys: pytest.CaptureFixture[str]) -> None:
    versions = []
    for attempt in range(3):  # the same notebook cell run three times
        class CellMethod(UnlearningMethod):
            """A method being written in a notebook."""

            name = "cell_method"
            version = attempt

            def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
                return model

        class CellPlugin:
            @hookimpl
            def supreme_register_methods(self) -> list[type[UnlearningMethod]]:
                return [CellMethod]

        supreme.register_plugin(CellPlugin(), name="cell")
        versions.append(registry.get_method("cell_method").version)  # type: ignore[attr-defined]
    assert versions == [0, 1, 2]
    assert capsys.readouterr().err.count("supreme: replaced the runtime plugin 'cell'") == 2

    supreme.unregister_plugin("cell")
    assert "cell_method" not in registry.default().names("methods")
    with pytest.raises(UsageError) as info:
        supreme.unregister_plugin("cel")
    assert info.value.message == "no runtime plugin is named 'cel'"
    assert info.value.hint.startswith("Runtime plugins: toyplugin")


# -- describe -------------------------------------------------------------------------------

def test_describe_prints_provenance_summary_and_every_hyperparameter(
        capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.main import main

    def cli(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = cli("--plugin", TOY, "describe", "toy_ascent", "--json")
    assert code == 0
    info = json.loads(out)
    assert (info["kind"], info["name"], info["summary"]) == (
        "method", "toy_ascent", "One epoch of gradient ascent on the forget set.")
    assert (info["distribution"], info["version"]) == (TOY, "file")
    assert info["hyperparameters"] == [{"name": "lr", "type": "float", "default": 0.01,
                                        "bounds": ["> 0", "<= 1000.0", "finite"], "description": ""}]
    code, out, _ = cli("describe", "retrain")
    assert code == 0 and "supreme-core" in out and "no hyperparameters" in out
    code, _, err = cli("describe", "model:nope")
    assert code == 2 and "unknown model 'nope'" in err


def test_describe_shows_bounds_of_the_shared_types() -> None:
    from supreme.describe import describe
    from supreme.registry import Entry

    class Typed(UnlearningMethod):
        """Typed hyperparameters."""

        name = "typed"

        class Config(ComponentConfig):
            epochs: Epochs = Field(3, description="passes")
            lr: LearningRate = 0.1
            batch_size: BatchSize | None = None

        def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
            return model

    from supreme.contracts.base import Provenance

    info = describe(Entry("methods", "typed", Typed, Provenance("p", "d", "1")))
    assert [(p["name"], p["type"], p["default"], p["bounds"]) for p in info["hyperparameters"]] == [
        ("epochs", "int", 3, [">= 1", "<= 100000"]),
        ("lr", "float", 0.1, ["> 0", "<= 1000.0", "finite"]),
        ("batch_size", "int | None", None, [">= 1", "<= 1000000"]),
    ]


def test_fingerprints_cost_little(toy: Any) -> None:
    """Not a timing assertion (bench/startup.py measures it): the digests are cached, so a
    second pass over every component reads no file."""
    reg = registry.default()
    classes = [e.cls for kind in ("methods", "metrics", "datasets", "models") for e in reg.list(kind)]
    for cls in classes:
        fingerprint.component_code(cls)
    reads: list[str] = []
    real_open = open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(str(file))
        return real_open(file, *args, **kwargs)

    import builtins

    builtins.open = counting_open  # type: ignore[assignment]
    try:
        for cls in classes:
            fingerprint.component_code(cls)
    finally:
        builtins.open = real_open  # type: ignore[assignment]
    assert reads == [], reads


def test_stages_are_values_whose_names_read_back() -> None:
    from supreme.stage import Stage, StageKind

    stages = [Stage(StageKind.DATASET), Stage(StageKind.TRAIN), Stage(StageKind.SPLIT),
              Stage(StageKind.RETRAIN), Stage(StageKind.UNLEARN, "finetune"),
              Stage(StageKind.CACHE, "ssd:importances"),
              Stage(StageKind.EVALUATE, "original", "accuracy"), Stage(StageKind.CHECK)]
    names = [str(s) for s in stages]
    assert names == ["dataset", "train M_o", "split", "retrain M_r", "unlearn finetune",
                     "cache ssd:importances", "evaluate original:accuracy", "check references"]
    assert [Stage.parse(n) for n in names] == stages
    for bad in ("evaluate", "unlearn", "train", "bogus finetune"):
        with pytest.raises(ValueError, match="not a stage name"):
            Stage.parse(bad)
    with pytest.raises(ValueError):
        Stage(StageKind.EVALUATE, "finetune")  # an evaluation names its metric
    from supreme.recompute import Recompute

    chosen = Recompute(("unlearn:finetune", "evaluate:mia"))
    assert [chosen.selects(s) for s in stages] == [False] * 4 + [True] + [False] * 3
    assert chosen.selects("unlearn finetune") and chosen.selects("evaluate finetune:mia")
    assert not chosen.selects("evaluate mia:accuracy")  # a row named like the metric
    everything = Recompute(("all",))
    assert all(everything.selects(s) for s in stages)
