"""The experiment configuration: a TOML file validated by pydantic.

Every field has a default, so an empty file (or no file) is the embedded default
experiment: full-class forgetting of digit 3 on the embedded ``digits`` dataset with
ResNet18, one seed. ``--set a.b=c`` overrides any field. See docs/configuration.md.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from supreme.contracts.model import Recipe
from supreme.contracts.types import (
    BatchSize,
)
from supreme.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Scenario = Literal["fullclass", "subclass", "random"]

#: ``fabric.accelerator`` values (Lightning Fabric's accelerator names).
ACCELERATORS = ("auto", "cpu", "cuda", "gpu", "mps", "tpu")
#: ``fabric.precision`` values (Lightning Fabric's precision strings; a test keeps this in
#: step with Lightning) and the short aliases Fabric also accepts, with their meaning.
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true",
              "transformer-engine", "transformer-engine-float16")
PRECISION_ALIASES = {"32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed", "64": "64-true"}
_DEVICES = re.compile(r"^\s*(auto|-1|\d+(\s*,\s*\d+)*\s*,?)\s*$")  # as Lightning parses
#: Bounds on how many processes a configuration may ask for (per node, nodes).
MAX_DEVICES = 1024
MAX_NODES = 4096
#: How deeply an experiment's tables and lists may nest (TOML and --set values).
MAX_DEPTH = 32
#: Run names that would put a run directory on top of the store.
RESERVED_NAMES = frozenset({"store"})


def _closest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _inside(path: Path | None, what: str) -> Path | None:
    """``path`` must be relative and must not climb out with ``..`` (an output location)."""
    if path is None:
        return None
    text = str(path)
    if "\0" in text:
        raise ValueError("contains a NUL character")
    if path.is_absolute() or text.startswith("~"):
        raise ValueError(f"must be a relative path inside {what}")
    if ".." in path.parts:
        raise ValueError(f"must not contain '..': it has to stay inside {what}")
    return path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FabricConfig(_Strict):
    """Where and how each cell runs (Lightning Fabric settings)."""

    accelerator: str = Field("cpu", description="cpu, cuda, gpu, mps, tpu or auto")
    devices: int | str = Field(1, description="number of devices, or 'auto'")
    num_nodes: int = Field(1, ge=1, le=MAX_NODES)
    strategy: str = Field("auto", description="auto, ddp, ddp_spawn, fsdp, deepspeed, ...")
    precision: str = Field("32-true", description="any Fabric precision string")
    batch: Literal["global", "per_device"] = Field(
        "global",
        description="global: the configured batch size is split across processes (the "
        "effective batch is preserved); per_device: every process takes a full batch",
    )

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str) -> str:
        if value not in ACCELERATORS:
            raise ValueError(f"unknown accelerator{_closest(value, ACCELERATORS)}; use one of "
                             + ", ".join(ACCELERATORS))
        return value

    @field_validator("precision")
    @classmethod
    def _precision(cls, value: str) -> str:
        if value not in PRECISIONS and value not in PRECISION_ALIASES:
            raise ValueError(f"unknown precision{_closest(value, PRECISIONS)}; use one of "
                             + ", ".join(PRECISIONS))
        return value

    @field_validator("devices")
    @classmethod
    def _devices(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 1 and value != -1:
                raise ValueError("must be a number of devices >= 1, -1 (all) or 'auto'")
        elif not _DEVICES.match(value) or len(value) > 10_000:
            raise ValueError("must be a number of devices, 'auto', -1, or device indices "
                             "such as '0,1'")
        numbers = [int(v) for v in re.findall(r"\d+", str(value))]
        if any(n > MAX_DEVICES for n in numbers) or len(numbers) > MAX_DEVICES:
            raise ValueError(f"asks for more than {MAX_DEVICES} devices per node")
        return value


def _distinct_seeds(seeds: list[int]) -> list[int]:
    for seed in seeds:
        if not 0 <= seed < 2**31:
            raise ValueError(f"seed {seed} is outside 0 .. 2**31-1")
    if len(set(seeds)) != len(seeds):
        raise ValueError("training seeds must be distinct")
    return seeds


class SeedConfig(_Strict):
    """The three-level seed protocol: I training seeds, J unlearning and K evaluation seeds."""

    train: list[int] = Field(default_factory=lambda: [0], min_length=1, max_length=10_000)
    unlearn_per_train: int = Field(1, ge=1, le=10_000, description="J")
    eval_per_unlearn: int = Field(1, ge=1, le=10_000, description="K")
    protocol: Literal["paper", "sparse"] = "paper"

    @field_validator("train")
    @classmethod
    def _seeds_in_range(cls, seeds: list[int]) -> list[int]:
        return _distinct_seeds(seeds)

    @model_validator(mode="after")
    def _sparse_seeds_do_not_collide(self) -> SeedConfig:
        # sparse: s_u = 1000 s_t + (j - 1), s_e = 1000 s_u + (k - 1)
        if self.protocol == "sparse":
            for field, count in (("unlearn_per_train", self.unlearn_per_train),
                                 ("eval_per_unlearn", self.eval_per_unlearn)):
                if count > 1000:
                    raise ValueError(
                        f"{field} = {count}: the sparse protocol numbers at most 1000 seeds per "
                        "level (more would reuse the next seed's numbers); use protocol = 'paper'")
        return self


def overrides_of(model: type[BaseModel], name: str, doc: str) -> type[_Strict]:
    """A config class with every field of ``model``, each optional (``None`` = keep the
    default) and validated exactly as in ``model`` (same types, bounds and validators);
    a nested model becomes a nested table of optional overrides."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = overrides_of(annotation, f"{name}{annotation.__name__}",
                                      f"Overrides of {annotation.__name__} (unset = default).")
        elif info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[field_name] = (annotation | None, Field(None, description=info.description))

    def overrides(self: BaseModel) -> dict[str, Any]:
        """The fields that are set, nested tables included (``None`` ones left out)."""
        return {k: v.overrides() if isinstance(v, _Strict) else v
                for k, v in ((k, getattr(self, k)) for k in type(self).model_fields)
                if v is not None}

    built: type[_Strict] = create_model(  # type: ignore[call-overload]
        name, __base__=_Strict, __doc__=doc, __module__=__name__, **fields)
    built.overrides = overrides  # type: ignore[attr-defined]
    return built


#: ``[training]``: overrides of the model's recipe for M_o and M_r, derived from
#: :class:`~supreme.contracts.Recipe` so the two cannot drift (every recipe field, with
#: the recipe's own bounds and validators; ``augment`` as a partial table).
TrainingConfig = overrides_of(
    Recipe, "TrainingConfig",
    "Overrides of the model's training recipe for M_o and M_r (unset = recipe default).")


class UnlearningConfig(_Strict):
    """Batch sizes used by methods and by evaluation."""

    batch_size: BatchSize | None = Field(
        None, description="default: 64 (fullclass/subclass), 128 (random)"
    )
    eval_batch_size: BatchSize = 512


class DataConfig(_Strict):
    """Where the decoded images live while a cell runs."""

    on_device: bool | Literal["auto"] = Field(
        "auto",
        description="keep each dataset's uint8 tensors on the accelerator while training M_o "
        "and evaluating (no per-batch copy); methods, retrain included, get host tensors. "
        "auto: on a CUDA device when they take at most a quarter of its free memory",
    )


class SpeedConfig(_Strict):
    """Optional fast paths for training M_o/M_r and for unlearning (measured in bench/)."""

    channels_last: bool = Field(False, description="NHWC memory format for conv models")
    compile: bool = Field(False, description="torch.compile the model before training")


#: The most local workers one device (group) takes: each is a process with its own CUDA
#: context, about 0.5 GiB before any tensor.
MAX_WORKERS_PER_DEVICE = 16


class LaunchConfig(_Strict):
    """How the cells of the grid are scheduled."""

    launcher: Literal["local", "slurm"] = "local"
    workers: int | Literal["auto"] = Field(
        1, description="cells run at once on this machine; auto = workers_per_device on "
        "each device (CUDA), or one per two CPU cores"
    )
    workers_per_device: int = Field(
        1, ge=1, le=MAX_WORKERS_PER_DEVICE,
        description="worker processes sharing one device (group) on CUDA: small models "
        "leave a large GPU idle, several cells at once fill it"
    )
    peer_timeout_s: float = Field(
        600.0, gt=0, le=86_400,
        description="how long a process of a multi-process world waits for its peers to "
        "join before it stops with an error",
    )

    @field_validator("workers")
    @classmethod
    def _workers(cls, workers: int | str) -> int | str:
        if isinstance(workers, int) and not 1 <= workers <= 256:
            raise ValueError("workers must be between 1 and 256, or 'auto'")
        return workers


class SlurmConfig(_Strict):
    """Job-array settings for ``launcher = "slurm"`` (see docs/cluster.md)."""

    partition: str | None = None
    account: str | None = None
    time_min: int = Field(60, ge=1, le=525_600, description="time limit per task, minutes")
    nodes: int = Field(1, ge=1, le=4096)
    tasks_per_node: int | None = Field(None, ge=1, le=MAX_DEVICES,
                                       description="default: fabric.devices")
    gpus_per_task: int = Field(0, ge=0, le=64, description="GPUs per task (gres)")
    cpus_per_task: int | None = Field(None, ge=1, le=4096)
    mem_gb: float | None = Field(None, gt=0, le=1_000_000)
    max_concurrent: int | None = Field(None, ge=1, le=100_000,
                                       description="array tasks running at once")
    cells_per_task: int = Field(1, ge=1, le=100_000)
    extra: dict[str, str | int | bool] = Field(
        default_factory=dict, description="more sbatch options, e.g. {qos = 'high'}"
    )
    folder: Path | None = Field(None, description="submitit logs; default RUN_DIR/slurm")

    @field_validator("folder")
    @classmethod
    def _folder_inside_run_dir(cls, value: Path | None) -> Path | None:
        return _inside(value, "the run directory (it is relative to output_dir/name)")

    @field_validator("mem_gb", mode="before")
    @classmethod
    def _finite_memory(cls, value: Any) -> Any:
        return _finite(value) if isinstance(value, float) else value  # before the bounds


class WandbConfig(_Strict):
    project: str = "supreme"
    entity: str | None = None
    mode: Literal["auto", "online", "offline"] = Field(
        "auto", description="auto: online when an API key is configured, else offline"
    )
    tags: list[str] = Field(default_factory=list)


class LoggersConfig(_Strict):
    """Experiment loggers (rank 0 only); each is an optional extra of supreme-core."""

    use: list[Literal["csv", "tensorboard", "wandb"]] = Field(default_factory=list)
    wandb: WandbConfig = WandbConfig()


class GatesConfig(_Strict):
    """Checks of the reference models M_o and M_r in every cell (docs/validity.md)."""

    mode: Literal["warn", "strict", "off"] = Field(
        "warn", description="warn: a failed check is a warning and a flag on the cell's "
        "records; strict: it also fails the cell (exit 1); off: no checks")
    retain_tolerance: float = Field(
        2.0, ge=0, le=100, allow_inf_nan=False,
        description="M_r's retain-test accuracy may be at most this many points below M_o's")
    forget_max: float = Field(
        5.0, ge=0, le=100, allow_inf_nan=False,
        description="full-class: M_r's forget-test accuracy must be at most this (percent)")


class ValidationConfig(_Strict):
    """A validation split carved from each dataset's training data (``supreme tune``).

    A seeded, class-stratified ``fraction`` of the training examples becomes the test
    split and the rest the training data, so every stage (M_o, the split, M_r, the
    methods, the metrics) runs unchanged while the real test split is never read: the
    ``*_test`` keys of such a run are validation numbers. ``supreme tune`` sets it on its
    trials; a reported run leaves it unset.
    """

    fraction: float = Field(0.2, gt=0, lt=1, allow_inf_nan=False,
                            description="share of each class's training examples held out")
    seed: int = Field(0, ge=0, lt=2**31, description="which examples are held out")


#: The default tuning objective: DeepUnlearn's mean absolute gap to M_r over forget and
#: retain accuracy and the MIA (here on the validation split; MIA scaled to percent).
DEFAULT_OBJECTIVE = ("accuracy:forget_test", "accuracy:retain_test", "mia:forget_train")


class TuneConfig(_Strict):
    """``supreme tune``: the search for each method's hyper-parameters (docs/tuning.md)."""

    trials: int = Field(30, ge=1, le=100_000, description="trials per study")
    timeout_s: float | None = Field(None, gt=0, allow_inf_nan=False,
                                    description="stop starting trials after this long")
    objective: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OBJECTIVE), min_length=1,
        description="metric:key terms; the objective is the mean absolute gap to M_r over "
        "them (the ranking's distance), on the validation split, minimised")
    train_seeds: list[int] = Field(default_factory=lambda: [100], min_length=1, max_length=100,
                                   description="training seeds of the tuning M_o")
    unlearn_seeds: int = Field(2, ge=1, le=100,
                               description="unlearning seeds per training seed in each trial")
    validation: ValidationConfig = ValidationConfig()
    sampler_seed: int = Field(0, ge=0, lt=2**31, description="the TPE sampler's seed")
    prune: bool = Field(True, description="stop a trial whose running objective after a "
                        "tuning cell is worse than the median of earlier trials there")
    space: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description="per method, per config field: {low, high, log, step} or {choices}; "
        "replaces the method's own search space for the fields named")

    @field_validator("objective")
    @classmethod
    def _terms(cls, terms: list[str]) -> list[str]:
        for term in terms:
            metric, sep, key = term.partition(":")
            if not sep or not metric or not key:
                raise ValueError(f"objective term {term!r} is not metric:key "
                                 "(e.g. 'accuracy:forget_test')")
        if len(set(terms)) != len(terms):
            raise ValueError("an objective term is listed twice")
        return terms

    @field_validator("train_seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        return _distinct_seeds(seeds)


class TunedInfo(_Strict):
    """Where a tuned method variant's settings come from (``[tuned."NAME@tuned"]``, written
    by ``supreme tune``). Provenance only: it enters no store key."""

    method: str
    study: str
    dataset: str
    model: str
    scenario: str
    objective: list[str]
    trials: int = Field(ge=0)
    best_trial: int = Field(ge=1, description="1-based, as supreme tune prints trials")
    value: float = Field(allow_inf_nan=False, description="best objective (validation)")
    default_value: float | None = Field(None, allow_inf_nan=False,
                                        description="the default config's objective")
    params: dict[str, Any] = Field(default_factory=dict)
    plots: list[str] = Field(default_factory=list,
                             description="the study's history and importance plots (PNG)")


class ExperimentConfig(_Strict):
    """One experiment: what to train, forget, unlearn and measure, and where results go."""

    name: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    output_dir: Path = Path("supreme-runs")
    datasets: list[str] = Field(default_factory=lambda: ["digits"], min_length=1)
    models: list[str] = Field(default_factory=lambda: ["resnet18"], min_length=1)
    scenarios: list[Scenario] = Field(default_factory=lambda: list[Scenario](["fullclass"]),
                                      min_length=1)
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
    speed: SpeedConfig = SpeedConfig()
    launch: LaunchConfig = LaunchConfig()
    slurm: SlurmConfig = SlurmConfig()
    loggers: LoggersConfig = LoggersConfig()
    gates: GatesConfig = GatesConfig()
    deterministic: bool = Field(
        False, description="torch.use_deterministic_algorithms (GPU: slower, see docs/reliability.md)"
    )
    validation: ValidationConfig | None = Field(
        None, description="carve a validation split from the training data and use it as "
        "the test split (set by supreme tune on its trials)")
    tune: TuneConfig = TuneConfig()
    tuned: dict[str, TunedInfo] = Field(
        default_factory=dict, description="tuned method variants and their study (written "
        "by supreme tune into a fragment; read with --include)")
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

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name.lower() in RESERVED_NAMES:
            raise ValueError(f"{name!r} is reserved: output_dir/{name} is the artifact store")
        return name

    @field_validator("output_dir")
    @classmethod
    def _output_dir(cls, path: Path) -> Path:
        if "\0" in str(path):
            raise ValueError("contains a NUL character")
        return path

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: dict[str, list[str]]) -> dict[str, list[str]]:
        for scenario, chosen in targets.items():
            if not chosen:
                raise ValueError(f"targets.{scenario} is empty: list at least one target, or "
                                 "remove the key to use the dataset's default targets")
            if scenario == "random":
                for target in chosen:
                    _check_random_target(target)
            spelled = [_canonical_target(scenario, t) for t in chosen]
            for i, canonical in enumerate(spelled):
                if canonical in spelled[:i]:
                    first = chosen[spelled.index(canonical)]
                    twice = (f"target {first!r} is listed twice" if first == chosen[i] else
                             f"targets {first!r} and {chosen[i]!r} are the same target")
                    raise ValueError(f"{twice} in targets.{scenario}")
        return targets

    def run_dir(self) -> Path:
        return self.output_dir / self.name


def _canonical_target(scenario: str, target: str) -> Any:
    """What a target means, whatever its spelling: the number of a random-scenario target
    ("0.5", "0.50", "5e-1" and " .5" are one fraction; "50" and "50.0" one count), a class
    name as written after Unicode normalisation (NFC) otherwise."""
    import unicodedata

    if scenario == "random":
        value = float(target)
        return ("count", int(value)) if value >= 1 else ("fraction", value)
    return unicodedata.normalize("NFC", target)


def _check_random_target(target: str) -> None:
    """A random-scenario target: a fraction in (0, 1) such as "0.01", or a count such as "50"."""
    try:
        value = float(target)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"random target {target!r} is not a fraction in (0, 1) such as '0.01' "
                         "or a sample count such as '50'")
    if value >= 1 and (value != int(value) or not target.strip().isdigit()):
        raise ValueError(f"random target {target!r} is neither a fraction in (0, 1) nor a whole "
                         "sample count: write a fraction such as '0.5' or a count such as '50'")


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
    if len(path) > MAX_DEPTH:
        raise ConfigError(f"--set {_shorten(key)}=...: the key has {len(path)} parts, more than "
                          f"the {MAX_DEPTH} an experiment can nest", "Set an existing field, e.g. "
                          "--set seeds.train=[0,1].")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        raise _too_deep(f"--set {_shorten(key)}=...") from None
    check_depth(value, f"--set {_shorten(key)}", len(path))
    return path, value


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _too_deep(where: str) -> ConfigError:
    return ConfigError(f"{where}: nested more than {MAX_DEPTH} levels deep",
                       "An experiment is a few levels of tables and lists; flatten the value.")


def check_depth(value: Any, where: str, depth: int = 0) -> None:
    """Refuse tables and lists nested more than :data:`MAX_DEPTH` levels (iteratively: a
    value nested thousands of levels deep must not exhaust the stack here either)."""
    stack = [(value, depth)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            raise _too_deep(where)
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)


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
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise ConfigError(
            f"experiment file {str(path)!r} {what}",
            "Pass the path of a TOML experiment file, or no file for the default experiment.",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason})", "Save it as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "Fix the syntax there.") from exc
    except RecursionError:
        raise _too_deep(str(path)) from None
    check_depth(data, str(path))
    return data


def validation_error(exc: ValidationError, source: str, prefix: str = "") -> ConfigError:
    """A :class:`ConfigError` naming each bad field path, its value and what is allowed
    (the value of a secret-looking key is shown as ``***``)."""
    head = f"invalid experiment ({source}): " + "; ".join(validation_problems(exc, prefix))
    return ConfigError(head, "Fix the field(s) named above; docs/configuration.md lists them all.")


def validation_problems(exc: ValidationError, prefix: str = "") -> list[str]:
    """One ``field = value: what is allowed`` per error of ``exc`` (field paths under
    ``prefix``; secret-looking values shown as ``***``)."""
    from supreme.secrets import is_secret_name
    lines = []
    for err in exc.errors():
        field = ".".join([prefix, *(str(p) for p in err["loc"])] if prefix else
                         [str(p) for p in err["loc"]]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown key")
        elif err["type"] == "missing":
            lines.append(f"{field}: required, and not set")
        else:
            value = err.get("input")
            shown = "'***'" if any(is_secret_name(str(p)) for p in err["loc"]) or \
                is_secret_name(prefix) else repr(value)
            lines.append(f"{field} = {shown}: {err['msg']}")
    return lines


def load_config(
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    data: Mapping[str, Any] | None = None,
    *,
    registry: Any = None,
    includes: Iterable[str | Path] = (),
) -> ExperimentConfig:
    """Build a validated :class:`ExperimentConfig` from a TOML file and/or a mapping, plus
    overrides.

    Besides the experiment's own fields, every component table (``[method.NAME]``,
    ``[metric.NAME]``, ``[dataset.NAME]``, ``[model.NAME]``) of a component the registry
    knows (``registry``, default: the process-wide one) is validated against that
    component's ``Config``: out-of-range values and unknown keys fail here, not at run
    time. Tables of names the registry does not know are left to :func:`supreme.run`
    (a plugin may be registered later).
    """
    merged: dict[str, Any] = dict(data or {})
    if path is not None:
        merged = {**read_toml(path), **merged}
    listed = merged.pop("include", [])
    if not isinstance(listed, list) or not all(isinstance(f, str) for f in listed):
        raise ConfigError(f"include = {listed!r} is not a list of file names",
                          'Write e.g. include = ["tuned/digits-resnet18-fullclass-neg_grad.toml"].')
    base = Path(path).parent if path is not None else Path()
    for fragment in [*(base / f for f in listed), *(Path(f) for f in includes)]:
        merged = apply_fragment(merged, fragment)
    merged = apply_overrides(merged, overrides)
    source = str(path) if path else "settings"
    check_depth(merged, str(path) if path else "settings")
    from supreme.secrets import remember_secrets

    remember_secrets(merged)  # never shown in an error message, a warning or config.json
    try:
        config = ExperimentConfig.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc, source) from None
    check_component_tables(config, registry, source)
    return config


#: The tables an included fragment may hold (``supreme tune`` writes them).
FRAGMENT_TABLES = ("method", "tuned")


def apply_fragment(merged: dict[str, Any], fragment: Path) -> dict[str, Any]:
    """Add an experiment-file fragment (``include = [...]``, ``--include``): its
    ``[method."NAME@LABEL"]`` tables and ``[tuned."NAME@LABEL"]`` provenance, with each
    tuned row appended to ``methods``. A fragment adds rows; it never changes one the
    experiment already configures differently."""
    data = read_toml(fragment)
    other = sorted(set(data) - set(FRAGMENT_TABLES))
    if other:
        raise ConfigError(f"fragment {str(fragment)!r} sets {', '.join(other)}: a fragment "
                          "may only hold [method.NAME] and [tuned.NAME] tables",
                          "Put the other settings in the experiment file itself.")
    merged = dict(merged)
    for table in FRAGMENT_TABLES:
        tables = data.get(table, {})
        if not isinstance(tables, dict):
            raise ConfigError(f"fragment {str(fragment)!r}: {table} is not a table",
                              f'Write [{table}."NAME@tuned"] tables.')
        own = dict(merged.get(table) or {})
        for name, values in tables.items():
            if name in own and own[name] != values:
                raise ConfigError(
                    f"fragment {str(fragment)!r} sets [{table}.\"{name}\"], which the "
                    "experiment already sets differently",
                    f"Remove [{table}.\"{name}\"] from the experiment, or include another "
                    "fragment.")
            own[name] = values
        if own:
            merged[table] = own
    methods = list(merged.get("methods") or ExperimentConfig.model_fields["methods"]
                   .get_default(call_default_factory=True))
    for name in data.get("tuned", {}):
        if name not in methods:
            methods.append(name)
    merged["methods"] = methods
    return merged


#: experiment table -> registry kind
COMPONENT_TABLES = {"dataset": "datasets", "model": "models", "method": "methods",
                    "metric": "metrics"}


def check_component_tables(config: ExperimentConfig, registry: Any = None,
                           source: str = "settings") -> None:
    """Validate each component table whose component the registry knows."""
    if not any(getattr(config, table) for table in COMPONENT_TABLES):
        return
    if registry is None:
        from supreme.registry import default

        registry = default()
    for table, kind in COMPONENT_TABLES.items():
        for name, values in getattr(config, table).items():
            entry = registry.entry(kind, name) if registry.has(kind, name) else None
            if entry is not None:
                component_config(entry.cls, values, f"{table}.{name}", source)


def component_config(cls: Any, table: Mapping[str, Any] | None, prefix: str,
                     source: str = "settings") -> Any:
    """Validate a ``[method.NAME]``-style table against the component's ``Config``."""
    try:
        return cls.Config.model_validate(dict(table or {}))
    except ValidationError as exc:
        raise validation_error(exc, source, prefix=prefix) from None
