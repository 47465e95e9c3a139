"""The experiment configuration: a TOML file validated by pydantic.

Every field has a default, so an empty file (or no file) is the embedded default
experiment: full-class forgetting of digit 3 on the embedded ``digits`` dataset with
ResNet18, one seed. ``--set a.b=c`` overrides any field. See docs/configuration.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from supreme.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Scenario = Literal["fullclass", "subclass", "random"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FabricConfig(_Strict):
    """Where and how each cell runs (Lightning Fabric settings)."""

    accelerator: str = Field("cpu", description="cpu, cuda, gpu, mps, tpu or auto")
    devices: int | str = Field(1, description="number of devices, or 'auto'")
    num_nodes: int = Field(1, ge=1)
    strategy: str = Field("auto", description="auto, ddp, ddp_spawn, fsdp, deepspeed, ...")
    precision: str = Field("32-true", description="any Fabric precision string")


class SeedConfig(_Strict):
    """The three-level seed protocol: I training seeds, J unlearning and K evaluation seeds."""

    train: list[int] = Field(default_factory=lambda: [0], min_length=1)
    unlearn_per_train: int = Field(1, ge=1, le=10_000, description="J")
    eval_per_unlearn: int = Field(1, ge=1, le=10_000, description="K")
    protocol: Literal["paper", "sparse"] = "paper"

    @field_validator("train")
    @classmethod
    def _seeds_in_range(cls, seeds: list[int]) -> list[int]:
        for seed in seeds:
            if not 0 <= seed < 2**31:
                raise ValueError(f"seed {seed} is outside 0 .. 2**31-1")
        if len(set(seeds)) != len(seeds):
            raise ValueError("training seeds must be distinct")
        return seeds


class TrainingConfig(_Strict):
    """Overrides of the model's training recipe for M_o and M_r (unset = recipe default)."""

    epochs: int | None = Field(None, ge=1, le=100_000)
    batch_size: int | None = Field(None, ge=1, le=1_000_000)
    optimizer: Literal["sgd", "adam", "adamw"] | None = None
    lr: float | None = Field(None, gt=0)
    momentum: float | None = Field(None, ge=0, lt=1)
    weight_decay: float | None = Field(None, ge=0)
    warmup_epochs: int | None = Field(None, ge=0)
    schedule: Literal["multistep", "cosine", "constant"] | None = None
    milestones: list[int] | None = None
    gamma: float | None = Field(None, gt=0, le=1)
    selection: Literal["last", "best_val"] | None = None

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class UnlearningConfig(_Strict):
    """Batch sizes used by methods and by evaluation."""

    batch_size: int | None = Field(
        None, ge=1, le=1_000_000, description="default: 64 (fullclass/subclass), 128 (random)"
    )
    eval_batch_size: int = Field(512, ge=1, le=1_000_000)


class DataConfig(_Strict):
    """Where the decoded images live while a cell runs."""

    on_device: bool = Field(
        False,
        description="keep each dataset's uint8 tensors on the accelerator while training M_o "
        "and evaluating (no per-batch copy); methods, retrain included, get host tensors",
    )


class ExperimentConfig(_Strict):
    """One experiment: what to train, forget, unlearn and measure, and where results go."""

    name: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    output_dir: Path = Path("supreme-runs")
    datasets: list[str] = Field(default_factory=lambda: ["digits"], min_length=1)
    models: list[str] = Field(default_factory=lambda: ["resnet18"], min_length=1)
    scenarios: list[Scenario] = Field(default_factory=lambda: ["fullclass"], min_length=1)
    targets: dict[Scenario, list[str]] = Field(
        default_factory=dict, description="per scenario; unset = the dataset's default targets"
    )
    methods: list[str] = Field(
        default_factory=lambda: ["original", "retrain", "finetune"], min_length=1
    )
    metrics: list[str] = Field(default_factory=lambda: ["accuracy", "loss"], min_length=1)
    seeds: SeedConfig = SeedConfig()
    fabric: FabricConfig = FabricConfig()
    training: TrainingConfig = TrainingConfig()
    unlearning: UnlearningConfig = UnlearningConfig()
    data: DataConfig = DataConfig()
    # Per-component configuration tables, validated against each component's Config.
    dataset: dict[str, dict[str, Any]] = Field(default_factory=dict)
    model: dict[str, dict[str, Any]] = Field(default_factory=dict)
    method: dict[str, dict[str, Any]] = Field(default_factory=dict)
    metric: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("datasets", "models", "methods", "metrics")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        seen = [n for i, n in enumerate(names) if n in names[:i]]
        if seen:
            raise ValueError(f"{seen[0]!r} is listed twice")
        return names

    def run_dir(self) -> Path:
        return self.output_dir / self.name


# -- loading ------------------------------------------------------------------------
def parse_override(assignment: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (["a", "b"], c); the value is read as TOML when it parses, else a string."""
    key, sep, raw = assignment.partition("=")
    path = [part.strip() for part in key.split(".")]
    if not sep or not all(path):
        raise ConfigError(
            f"--set {assignment!r} is not of the form key.path=value",
            "Example: --set seeds.train=[0,1] or --set method.finetune.epochs=3",
        )
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    for assignment in overrides:
        path, value = parse_override(assignment)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    f"--set {assignment!r}: {part!r} is a value, not a table",
                    "Set the whole value instead, e.g. --set " + ".".join(path[:-1]) + "=...",
                )
            node = child
        node[path[-1]] = value
    return data


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"experiment file {str(path)!r} does not exist",
            "Pass the path of a TOML experiment file, or no file for the default experiment.",
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason})", "Save it as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "Fix the syntax there.") from exc


def validation_error(exc: ValidationError, source: str, prefix: str = "") -> ConfigError:
    """A :class:`ConfigError` naming each bad field path, its value and what is allowed."""
    lines = []
    for err in exc.errors():
        field = ".".join([prefix, *(str(p) for p in err["loc"])] if prefix else
                         [str(p) for p in err["loc"]]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown key")
        else:
            value = err.get("input")
            lines.append(f"{field} = {value!r}: {err['msg']}")
    head = f"invalid experiment ({source}): " + "; ".join(lines)
    return ConfigError(head, "Fix the field(s) named above; docs/configuration.md lists them all.")


def load_config(
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    data: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """Build an :class:`ExperimentConfig` from a TOML file and/or a mapping, plus overrides."""
    merged: dict[str, Any] = dict(data or {})
    if path is not None:
        merged = {**read_toml(path), **merged}
    merged = apply_overrides(merged, overrides)
    try:
        return ExperimentConfig.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc, str(path) if path else "settings") from None


def component_config(cls: Any, table: Mapping[str, Any] | None, prefix: str) -> Any:
    """Validate a ``[method.NAME]``-style table against the component's ``Config``."""
    try:
        return cls.Config.model_validate(dict(table or {}))
    except ValidationError as exc:
        raise validation_error(exc, "settings", prefix=prefix) from None
