"""Checks before compute: supreme.validate, check_fabric, load_state, safe store loading."""

from __future__ import annotations

import hashlib
import io
import json
import os
import typing
from pathlib import Path
from typing import Any

import pytest
import supreme
import torch
from supreme import registry
from supreme.config import PRECISION_ALIASES, PRECISIONS, FabricConfig, load_config
from supreme.contracts import DatasetSpec, ImageTensors, Metric, StageEvent
from supreme.errors import ConfigError, DatasetError, PluginError, StoreError, SupremeError
from supreme.pipeline.checkpoint import load_state
from supreme.pipeline.fabric import DEEPSPEED_INSTALL, Machine, check_fabric, make_fabric
from supreme.plan import resolve
from supreme.store import META, PAYLOAD, Store
from supreme.testing import TinyNet, synthetic_images
from supreme.validate import validate

CPU = Machine(cpus=4)
ONE_GPU = Machine(cuda=1, cuda_bf16=True, cpus=8)
OLD_GPU = Machine(cuda=2, cuda_bf16=False, cpus=8)


def fabric(**settings: Any) -> FabricConfig:
    return FabricConfig(**settings)


# -- [fabric] -------------------------------------------------------------------------------
def test_our_precision_list_is_lightnings() -> None:
    from lightning.fabric.connector import _PRECISION_INPUT_STR, _PRECISION_INPUT_STR_ALIAS_CONVERSION

    assert set(PRECISIONS) == set(typing.get_args(_PRECISION_INPUT_STR))
    assert PRECISION_ALIASES == _PRECISION_INPUT_STR_ALIAS_CONVERSION


@pytest.mark.parametrize(("settings", "machine", "accelerator"), [
    ({}, CPU, "cpu"),
    ({"accelerator": "auto"}, CPU, "cpu"),
    ({"accelerator": "auto"}, ONE_GPU, "cuda"),
    ({"accelerator": "gpu", "precision": "16-mixed"}, ONE_GPU, "cuda"),
    ({"accelerator": "cuda", "devices": "0,1", "strategy": "ddp"}, OLD_GPU, "cuda"),
    ({"accelerator": "cuda", "devices": -1, "precision": "bf16-mixed"}, ONE_GPU, "cuda"),
    ({"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}, CPU, "cpu"),
    ({"accelerator": "cpu", "precision": "bf16-mixed"}, CPU, "cpu"),
    ({"accelerator": "cuda", "strategy": "deepspeed"}, Machine(cuda=1, deepspeed=True), "cuda"),
    ({"accelerator": "mps"}, Machine(mps=True), "mps"),
])
def test_runnable_settings_pass(settings: dict[str, Any], machine: Machine, accelerator: str) -> None:
    assert check_fabric(fabric(**settings), machine) == accelerator


@pytest.mark.parametrize(("settings", "machine", "fragment"), [
    ({"accelerator": "cuda"}, CPU, "fabric.accelerator = 'cuda': this machine has no usable CUDA GPU"),
    ({"accelerator": "gpu"}, CPU, "this machine has no GPU"),
    ({"accelerator": "mps"}, CPU, "no Apple MPS device"),
    ({"accelerator": "tpu"}, CPU, "no TPU"),
    ({"accelerator": "cuda", "devices": 2}, ONE_GPU, "asks for 2 cuda device(s), but this machine has 1"),
    ({"accelerator": "cuda", "devices": "0,2"}, OLD_GPU, "asks for cuda device(s) [2]"),
    ({"accelerator": "mps", "devices": 2}, Machine(mps=True), "this machine has 1"),
    ({"devices": "0,1"}, CPU, "device indices mean nothing on the CPU"),
    ({"precision": "16-mixed"}, CPU, "float16 mixed precision is not supported on the CPU"),
    ({"precision": "16"}, CPU, "float16 mixed precision is not supported on the CPU"),
    ({"accelerator": "cuda", "precision": "bf16-true"}, OLD_GPU, "this GPU does not support bfloat16"),
    ({"accelerator": "cuda", "precision": "transformer-engine"}, ONE_GPU, "Transformer Engine"),
    ({"precision": "transformer-engine"}, CPU, "needs a CUDA GPU"),
    ({"accelerator": "mps", "precision": "64-true"}, Machine(mps=True), "MPS devices have no float64"),
    ({"strategy": "fsdp"}, CPU, "fabric.strategy = 'fsdp': needs CUDA GPUs"),
    ({"strategy": "deepspeed_stage_2"}, CPU, "needs CUDA GPUs"),
    ({"accelerator": "cuda", "strategy": "deepspeed"}, ONE_GPU, DEEPSPEED_INSTALL),
    ({"strategy": "xla"}, CPU, "needs TPUs"),
    ({"strategy": "dp"}, CPU, "DataParallel does not run on the CPU"),
    ({"strategy": "ddpp"}, CPU, "Did you mean 'ddp'?"),
])
def test_settings_this_machine_cannot_run_are_config_errors(
    settings: dict[str, Any], machine: Machine, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        check_fabric(fabric(**settings), machine)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2


def test_deepspeed_on_the_cpu_also_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError) as info:
        check_fabric(fabric(strategy="deepspeed"), CPU)
    assert "needs CUDA GPUs" in info.value.message and DEEPSPEED_INSTALL in info.value.hint


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("accelerator", "cdua", "did you mean 'cuda'?"),
    ("precision", "fp16", "unknown precision"),
    ("devices", 0, "fabric.devices = 0"),
    ("devices", -2, "fabric.devices = -2"),
    ("devices", "two", "fabric.devices = 'two'"),
    ("devices", "[0, 1]", "fabric.devices = '\\[0, 1\\]'"),
])
def test_fabric_values_are_checked_when_the_config_loads(field: str, value: Any, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("?", r"\?").replace("(", r"\(")):
        load_config(data={"fabric": {field: value}})


@pytest.mark.parametrize("devices", [1, 4, -1, "auto", "-1", "2", "0,1,3", "1,", "0, 1"])
def test_device_spellings_fabric_accepts_load(devices: Any) -> None:
    assert load_config(data={"fabric": {"devices": devices}}).fabric.devices == devices


def test_make_fabric_checks_before_building_a_fabric() -> None:
    if torch.cuda.is_available():
        pytest.skip("checks a CPU-only machine")
    with pytest.raises(ConfigError, match="float16 mixed precision"):
        make_fabric(fabric(precision="16-mixed"))


# -- load_state -------------------------------------------------------------------------------
def test_load_state_loads_matching_weights() -> None:
    source, target = TinyNet(4, 1, 8), TinyNet(4, 1, 8)
    loaded = load_state(target, source.state_dict(), "store/models/abc")
    assert loaded is target
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(),
                                                 target.state_dict().values(), strict=True))


@pytest.mark.parametrize(("state", "fragment"), [
    (lambda: TinyNet(4, 1, 16).state_dict(), "of another shape ('features.0.weight': stored [16, 1, 3, 3]"),
    (lambda: TinyNet(7, 1, 8).state_dict(), "'head.weight': stored [7, 8], model [4, 8]"),
    (lambda: {k: v for k, v in TinyNet(4, 1, 8).state_dict().items() if k != "head.bias"},
     "1 missing ('head.bias')"),
    (lambda: {**TinyNet(4, 1, 8).state_dict(), "extra.weight": torch.zeros(1)},
     "1 unexpected ('extra.weight')"),
    (lambda: {**TinyNet(4, 1, 8).state_dict(), "head.bias": [0.0] * 4}, "not tensors ('head.bias')"),
    (lambda: {}, "holds no weights"),
])
def test_load_state_names_the_artifact_and_what_does_not_fit(state: Any, fragment: str) -> None:
    with pytest.raises(StoreError) as info:
        load_state(TinyNet(4, 1, 8), state(), "runs/store/models/abc")
    assert fragment in info.value.message
    assert "runs/store/models/abc" in info.value.message and "Delete" in info.value.hint
    assert info.value.__cause__ is None  # found before torch's long RuntimeError


# -- the store refuses what is not plain tensors ------------------------------------------------
class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _replace_payload(store: Store, kind: str, key: str, data: bytes) -> Path:
    directory = store.path(kind, key)
    (directory / PAYLOAD).write_bytes(data)
    meta = json.loads((directory / META).read_text())
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    (directory / META).write_text(json.dumps(meta))
    return directory / PAYLOAD


def test_a_malicious_payload_is_refused_naming_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.save("models", "k", {}, {"w": torch.zeros(1)})
    buffer = io.BytesIO()
    torch.save({"w": Evil(tmp_path / "PWNED")}, buffer)
    payload = _replace_payload(store, "models", "k", buffer.getvalue())
    with pytest.raises(StoreError) as info:
        store.load("models", "k")
    assert str(payload) in info.value.message and "GLOBAL posix.system" in info.value.message
    assert "weights_only" not in str(info.value)  # never the advice to turn the check off
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda d: (d / META).write_text("[]"), "malformed meta.json"),
    (lambda d: (d / META).write_text('{"sha256": 3}'), "malformed meta.json"),
    (lambda d: (d / META).write_text("{"), "unreadable meta.json"),
    (lambda d: (d / PAYLOAD).write_bytes(b"xx"), "does not match its checksum (2 bytes"),
])
def test_broken_artifacts_are_store_errors_naming_the_file(tmp_path: Path, edit: Any,
                                                           fragment: str) -> None:
    store = Store(tmp_path)
    store.save("models", "k", {"seconds": 1.0}, {"w": torch.zeros(2)})
    edit(store.path("models", "k"))
    with pytest.raises(StoreError) as info:
        store.load("models", "k")
    assert fragment in info.value.message and str(store.path("models", "k")) in info.value.message


def test_a_payload_that_is_not_a_mapping_is_a_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save("models", "k", {}, {"w": torch.zeros(1)})
    buffer = io.BytesIO()
    torch.save([torch.zeros(1)], buffer)
    _replace_payload(store, "models", "k", buffer.getvalue())
    with pytest.raises(StoreError, match="expected a mapping of names to tensors, got list"):
        store.load("models", "k")


# -- validate() ---------------------------------------------------------------------------------
class Hollow(DatasetSpec):
    """Class 'c' is listed but has no training image; 'd' has no test image."""

    name = "hollow"
    class_names = ("a", "b", "c", "d")
    channels = 1
    image_size = 8
    default_targets = {"fullclass": ("a",)}
    loads: typing.ClassVar[list[str]] = []

    def load(self, split: str) -> ImageTensors:
        Hollow.loads.append(split)
        data = synthetic_images(4, 6, seed=0)
        drop = 2 if split == "train" else 3
        return data.subset((data.labels != drop).nonzero().flatten())


class Checked(Hollow):
    """Its files are broken; its labels come from a cheap hook (load must not be called)."""

    name = "checked"

    def check_files(self) -> None:
        raise DatasetError("checked: class folder 'x' holds no images", "Add images.")

    def load(self, split: str) -> ImageTensors:
        raise AssertionError("validate must use split_labels, not load")


class Labelled(Hollow):
    name = "labelled"

    def split_labels(self, split: str) -> tuple[torch.Tensor, None]:
        return torch.tensor([0, 1, 1, 3] if split == "train" else [0, 1, 2, 3]), None

    def load(self, split: str) -> ImageTensors:
        raise AssertionError("validate must use split_labels, not load")


class Greedy(Metric):
    name = "greedy"
    needs = frozenset({"reference", "oracle"})

    def compute(self, ctx: Any) -> dict[str, float]:
        return {}


class Weighty(Metric):
    name = "weighty"
    needs = frozenset({"reference", "weights"})

    def compute(self, ctx: Any) -> dict[str, float]:
        return {}


class Extras:
    @supreme.hookimpl
    def supreme_register_datasets(self) -> list[type[DatasetSpec]]:
        return [Hollow, Checked, Labelled]

    @supreme.hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [Greedy, Weighty]


@pytest.fixture
def extras(toy: Any) -> None:
    registry.register_plugin(Extras(), name="extras")


def check(settings: dict[str, Any], **changes: Any) -> None:
    config = load_config(data={**settings, **changes})
    resolved = resolve(config, registry.default())
    validate(resolved, resolved.cells())


def test_a_sound_experiment_validates_and_nothing_is_written(
    toy_experiment: dict[str, Any], extras: None
) -> None:
    check(toy_experiment)
    check(toy_experiment, scenarios=["fullclass", "random"], datasets=["toy", "toy_lazy"])
    check(toy_experiment, datasets=["toy_fine"], scenarios=["subclass"])
    assert not Path(toy_experiment["output_dir"]).exists()


@pytest.mark.parametrize(("changes", "error", "fragment"), [
    ({"datasets": ["hollow"], "targets": {"fullclass": ["c"]}}, ConfigError,
     "the forget set D_f of 'hollow' would be empty (class 'c' has 0 of 18 training"),
    ({"datasets": ["hollow"], "targets": {"fullclass": ["d"]}}, ConfigError,
     "the forget test set D'_f of 'hollow' would be empty"),
    ({"datasets": ["labelled"], "targets": {"fullclass": ["c"]}}, ConfigError,
     "the forget set D_f of 'labelled' would be empty"),
    ({"scenarios": ["random"], "targets": {"random": ["96"]}}, ConfigError,
     "would forget 96 of the 96 training samples"),
    ({"datasets": ["checked"]}, DatasetError, "class folder 'x' holds no images"),
    ({"metrics": ["toy_accuracy", "greedy"]}, PluginError, "needs 'oracle'"),
    ({"metrics": ["weighty"]}, PluginError,
     "needs 'weights', which supreme-core 0.3.0 removed (it changed nothing)"),
    ({"fabric": {"strategy": "fsdp"}}, ConfigError, "needs CUDA GPUs"),
])
def test_problems_are_found_before_compute(
    toy_experiment: dict[str, Any], extras: None, changes: dict[str, Any],
    error: type[SupremeError], fragment: str,
) -> None:
    with pytest.raises(error) as info:
        check(toy_experiment, **changes)
    assert type(info.value) is error
    assert fragment in info.value.message, info.value.message
    assert not Path(toy_experiment["output_dir"]).exists()


def test_outputs_that_are_files_are_config_errors(
    toy_experiment: dict[str, Any], tmp_path: Path, extras: None
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check(toy_experiment, output_dir=str(blocker))
    with pytest.raises(ConfigError, match="is a file, so"):
        check(toy_experiment, output_dir=str(blocker / "runs"))


def test_output_locations_cannot_leave_the_run_directory() -> None:
    with pytest.raises(ConfigError, match="must not contain '..'"):
        load_config(data={"slurm": {"folder": "../elsewhere"}})
    with pytest.raises(ConfigError, match="must be a relative path"):
        load_config(data={"slurm": {"folder": "/var/log"}})
    with pytest.raises(ConfigError, match="is reserved"):
        load_config(data={"name": "store"})
    assert load_config(data={"slurm": {"folder": "logs/slurm"}}).slurm.folder == Path("logs/slurm")


@pytest.mark.parametrize(("target", "ok"), [
    ("0.01", True), ("0.5", True), ("50", True), ("1", True), ("1.0", False), ("1.5", False),
    ("0", False), ("-0.1", False), ("nan", False), ("inf", False), ("1e-3", True), ("abc", False),
])
def test_random_targets_are_fractions_in_0_1_or_whole_counts(target: str, ok: bool) -> None:
    data = {"scenarios": ["random"], "targets": {"random": [target]}}
    if ok:
        load_config(data=data)
    else:
        with pytest.raises(ConfigError, match="random target"):
            load_config(data=data)


EVENT = StageEvent("train", "toy/tiny s_t=0", None, 0.0, "k" * 64, kind="models")


# -- plugin hooks ---------------------------------------------------------------------------------
def test_a_stage_hook_that_raises_is_a_plugin_error_naming_it(toy: Any) -> None:
    class Listener:
        @supreme.hookimpl
        def supreme_stage_start(self, event: StageEvent) -> None:
            raise KeyError("boom")

    registry.register_plugin(Listener(), name="listener")
    hook = registry.default().hooks
    with pytest.raises(PluginError, match="plugin 'listener' .* supreme_stage_start hook: KeyError"):
        hook.supreme_stage_start(event=EVENT)


def test_a_supreme_error_from_a_hook_is_not_rewrapped(toy: Any) -> None:
    class Listener:
        @supreme.hookimpl
        def supreme_stage_end(self, event: StageEvent) -> None:
            raise DatasetError("the plugin's own message", "its own fix")

    registry.register_plugin(Listener(), name="listener")
    with pytest.raises(DatasetError, match="the plugin's own message"):
        registry.default().hooks.supreme_stage_end(event=EVENT)


def test_a_hook_with_the_old_arguments_is_refused_with_the_new_signature(toy: Any) -> None:
    class Listener:
        @supreme.hookimpl
        def supreme_stage_start(self, stage: str, info: dict[str, Any]) -> None:
            pass

    registry.register_plugin(Listener(), name="listener")
    with pytest.raises(PluginError) as error:
        registry.default()
    assert error.value.message == (
        "plugin 'listener' from <runtime> - implements a hook with the wrong arguments: "
        "supreme_stage_start takes info, stage, which the hook does not have")
    assert "event: supreme.contracts.StageEvent" in error.value.hint


# -- machines we cannot see, and launched processes ------------------------------------------------
@pytest.mark.parametrize("settings", [
    {"accelerator": "cuda", "devices": 8, "precision": "bf16-mixed"},
    {"accelerator": "gpu", "strategy": "fsdp"},
    {"accelerator": "auto", "strategy": "deepspeed", "precision": "16-mixed"},
    {"accelerator": "cuda", "precision": "transformer-engine"},
])
def test_a_slurm_submission_from_a_login_node_checks_only_what_holds_everywhere(
    settings: dict[str, Any]
) -> None:
    assert check_fabric(fabric(**settings), Machine.elsewhere()) in (None, "cuda")


@pytest.mark.parametrize(("settings", "fragment"), [
    ({"accelerator": "cpu", "strategy": "fsdp"}, "needs CUDA GPUs"),
    ({"accelerator": "cpu", "precision": "16-mixed"}, "not supported on the CPU"),
    ({"accelerator": "cpu", "devices": "0,1"}, "device indices"),
    ({"strategy": "ddpp"}, "unknown strategy"),
    ({"accelerator": "cpu", "precision": "transformer-engine"}, "needs a CUDA GPU"),
])
def test_what_fails_everywhere_fails_at_submission(settings: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        check_fabric(fabric(**settings), Machine.elsewhere())


def test_a_launched_process_that_sees_one_gpu_may_ask_for_several() -> None:
    one_visible = Machine(cuda=1, cuda_bf16=True, launched=True)
    assert check_fabric(fabric(accelerator="cuda", devices=4), one_visible) == "cuda"
    with pytest.raises(ConfigError, match="asks for 4 cuda"):
        check_fabric(fabric(accelerator="cuda", devices=4), Machine(cuda=1, cuda_bf16=True))


def test_validate_skips_machine_checks_for_a_slurm_launch(
    toy_experiment: dict[str, Any], extras: None
) -> None:
    if torch.cuda.is_available():
        pytest.skip("checks a CPU-only submitting host")
    config = load_config(data={**toy_experiment, "fabric": {"accelerator": "cuda"}})
    resolved = resolve(config, registry.default())
    validate(resolved, resolved.cells(), local=False)
    with pytest.raises(ConfigError, match="no usable CUDA GPU"):
        validate(resolved, resolved.cells())
