"""Experiment loggers: CSV, TensorBoard and Weights & Biases, written on rank 0 only.

``[loggers] use = ["csv", "tensorboard", "wandb"]`` picks them (none by default); each
writes under ``RUN_DIR/logs/`` (``RUN_DIR = config.run_dir()``). See docs/loggers.md.

The loggers observe a run through the same channel as plugins (:mod:`supreme.observers`):
:class:`ExperimentLoggers` implements the observer hooks ``supreme_stage_end(event)`` and
``supreme_cell_end(cell, records, failures)``, called on global rank 0 of the process that
observes the run. Interface::

    loggers = ExperimentLoggers.open(config, run_dir, world_size=fabric.world_size)
    loggers.stage(event)                    # every StageEvent, as it ends
    loggers.cell(cell, records, failures)   # once per cell, when its records are known
    loggers.close()                         # once, at the end (also on error)

* :meth:`ExperimentLoggers.open` checks that every chosen logger's extra is installed
  (a :class:`~supreme.errors.ConfigError` naming the logger and the ``pip install``
  command otherwise) before creating anything; with ``use = []`` it creates nothing and
  every other method does nothing. ``world_size`` gives the ``no_dist``/``dist_X`` part
  of the W&B project name; left out, it is read from ``[fabric]``.
* :meth:`ExperimentLoggers.stage` takes a :class:`supreme.contracts.StageEvent`.
* :meth:`ExperimentLoggers.cell` takes a :class:`supreme.contracts.Cell`, the cell's
  result records (:class:`supreme.contracts.Record`) and its failures
  (:class:`supreme.contracts.Failure`; ``metric`` is ``None`` when the method itself failed).
* :meth:`ExperimentLoggers.close` is idempotent; the object is also a context manager.

What is written:

* csv: ``logs/csv/metrics.csv`` (one row per cell, method, metric and key),
  ``logs/csv/stages.csv`` (one row per stage event) and ``logs/csv/failures.csv``.
* tensorboard: ``logs/tensorboard/{project}/{tseed..._useed...}/`` per cell, scalars
  tagged ``{method}/{metric}/{key}`` (and ``{method}/failed``), step 0; stage timings in
  ``logs/tensorboard/stages/`` tagged ``stage_seconds/{stage}``.
* wandb: one run per (cell, method) under ``logs/wandb/``, named as the reference does
  (:func:`project_name`, :func:`run_name`, :func:`group_name`).

Secrets: the value of every environment variable whose name contains KEY, TOKEN, SECRET
or PASSWORD (``WANDB_API_KEY`` included), and every configuration value under such a
name, is masked as ``***`` in everything these loggers write (:func:`supreme.secrets.redact`,
:func:`supreme.secrets.scrub`).

wandb (0.19.10 or newer: ``reinit="create_new"``, ``x_disable_meta``), tensorboard and
lightning are imported inside functions only. W&B's service completes a finished run's
offline files asynchronously (at the latest at process exit; ``wandb.teardown()`` waits).
"""

from __future__ import annotations

import csv
import hashlib
import netrc
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from supreme.errors import ConfigError
from supreme.secrets import redact, scrub, secret_values

if TYPE_CHECKING:
    from supreme.config import ExperimentConfig, FabricConfig
    from supreme.contracts.records import Cell, Failure, Record, StageEvent

#: The extra that provides each logger, and the module whose import proves it is installed.
EXTRAS: dict[str, tuple[str, str]] = {"tensorboard": ("tensorboard", "tensorboard"),
                                      "wandb": ("wandb", "wandb")}

CELL_FIELDS = ("dataset", "model", "scenario", "target", "train_seed", "unlearn_seed",
               "eval_seed")

#: W&B rejects ``/ \\ # ? % :`` in project names; we keep a conservative set that is also
#: safe as a directory name (TensorBoard) and free of ``$`` (Lightning expands variables).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
PROJECT_MAX_LENGTH = 128


# -- names ----------------------------------------------------------------------------
def target_label(scenario: str, target: str) -> str:
    """The target as W&B project names show it.

    Class names as they are; random-scenario fractions as ``{p}perc`` like the reference
    (``0.001perc``: p is a fraction, not a percentage), sample counts as ``{n}samples``.
    """
    if scenario != "random":
        return target
    try:
        amount = float(target)
    except ValueError:
        return target
    return f"{target}perc" if amount < 1 else f"{target}samples"


def dist_label(strategy: str, world_size: int) -> str:
    """``no_dist`` for one process, else ``dist_{strategy}`` as in the reference.

    ``auto`` with several processes is Fabric's DDP; DeepSpeed reads ``deepspeed_stage{k}``
    (``deepspeed`` alone is Lightning's default stage 2).
    """
    if world_size <= 1:
        return "no_dist"
    name = strategy.lower()
    if name == "auto":
        name = "ddp"
    elif name == "deepspeed":
        name = "deepspeed_stage2"
    name = re.sub(r"^deepspeed_stage_(\d)", r"deepspeed_stage\1", name)
    return f"dist_{name}"


def valid_project_name(name: str) -> str:
    """``name`` made acceptable to W&B and to file systems.

    Every character other than letters, digits, ``_``, ``.`` and ``-`` becomes ``_``; a
    name longer than 128 characters keeps its first 119 and ends with ``_`` and the first
    8 hex digits of the SHA-256 of the full (cleaned) name, so distinct long names stay
    distinct.
    """
    cleaned = _UNSAFE.sub("_", name) or "_"
    if len(cleaned) <= PROJECT_MAX_LENGTH:
        return cleaned
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:8]
    return f"{cleaned[:PROJECT_MAX_LENGTH - 9]}_{digest}"


def project_name(cell: Cell, *, prefix: str, precision: str, dist: str) -> str:
    """``{prefix}_UNLEARNING_{model}_{dataset}_{scenario}_{target}_precision_{P}_{dist}``."""
    target = target_label(cell.scenario, cell.target)
    return valid_project_name(f"{prefix}_UNLEARNING_{cell.model}_{cell.dataset}_{cell.scenario}"
                              f"_{target}_precision_{precision}_{dist}")


def seeds_name(cell: Cell) -> str:
    """``tseed{s_t}_useed{s_u}``, plus ``_eseed{s_e}`` when s_e differs from s_u."""
    name = f"tseed{cell.train_seed}_useed{cell.unlearn_seed}"
    return name if cell.eval_seed == cell.unlearn_seed else f"{name}_eseed{cell.eval_seed}"


def run_name(method: str, cell: Cell) -> str:
    """The W&B run name: ``{method}_tseed{s_t}_useed{s_u}[_eseed{s_e}]``."""
    return f"{method}_{seeds_name(cell)}"


def group_name(method: str) -> str:
    return f"{method}_group"


def world_size_of(fabric: FabricConfig) -> int:
    """The number of processes ``[fabric]`` asks for (the pipeline knows it better)."""
    devices = fabric.devices
    if isinstance(devices, str):
        text = devices.strip()
        if "," in text:
            devices = len([part for part in text.split(",") if part.strip()])
        elif text.lstrip("-").isdigit():
            devices = int(text)
    if not isinstance(devices, int) or devices < 0:  # "auto" or -1: every visible device
        devices = 1
        if fabric.accelerator in ("cuda", "gpu", "auto"):
            import torch

            devices = max(1, torch.cuda.device_count())
    return max(1, devices) * fabric.num_nodes


# -- W&B mode ---------------------------------------------------------------------------
def api_key_configured() -> bool:
    """Whether W&B has an API key: ``WANDB_API_KEY`` or a netrc entry for its host."""
    if os.environ.get("WANDB_API_KEY", "").strip():
        return True
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname
    names = [os.environ["NETRC"]] if os.environ.get("NETRC") else [
        os.path.join(os.path.expanduser("~"), ".netrc"),
        os.path.join(os.path.expanduser("~"), "_netrc"),
    ]
    for name in names:
        try:
            if netrc.netrc(name).authenticators(host or "api.wandb.ai") is not None:
                return True
        except (OSError, netrc.NetrcParseError):
            continue
    return False


def wandb_mode(setting: str) -> Literal["online", "offline"]:
    """``online``/``offline`` as configured; ``auto``: online when an API key is configured."""
    if setting in ("online", "offline"):
        return setting  # type: ignore[return-value]
    return "online" if api_key_configured() else "offline"


# -- the facade ---------------------------------------------------------------------------
class ExperimentLoggers:
    """The chosen loggers of one experiment run (see the module docstring)."""

    def __init__(self, backends: list[Any]) -> None:
        self._backends = backends
        self._closed = False

    @classmethod
    def open(cls, config: ExperimentConfig, run_dir: Path, *,
             world_size: int | None = None) -> ExperimentLoggers:
        """Check the chosen loggers' extras, then open them under ``run_dir/logs``."""
        chosen: list[str] = list(dict.fromkeys(config.loggers.use))
        for name in chosen:
            require_extra(name)
        if not chosen:
            return cls([])
        setup = _Setup(config, Path(run_dir),
                       world_size if world_size is not None else world_size_of(config.fabric),
                       secret_values(config.model_dump(mode="json")))
        kinds = {"csv": _Csv, "tensorboard": _TensorBoard, "wandb": _Wandb}
        backends: list[Any] = []
        try:
            for name in chosen:
                backends.append(kinds[name](setup))
        except BaseException:
            for backend in backends:
                backend.close()
            raise
        return cls(backends)

    @property
    def names(self) -> list[str]:
        """The open loggers, in the configured order."""
        return [backend.name for backend in self._backends]

    def stage(self, event: StageEvent) -> None:
        self._check_open()
        for backend in self._backends:
            backend.stage(event)

    def cell(self, cell: Cell, records: list[dict[str, Any]],
             failures: list[dict[str, Any]] | None = None) -> None:
        self._check_open()
        for backend in self._backends:
            backend.cell(cell, records, list(failures or ()))

    # the observer hooks (supreme.observers): the loggers watch a run like a plugin does
    def supreme_stage_end(self, event: StageEvent) -> None:
        self.stage(event)

    def supreme_cell_end(self, cell: Cell, records: list[Record],
                         failures: list[Failure]) -> None:
        self.cell(cell, records, failures)

    def close(self) -> None:
        """Flush and close every logger (each one even when another fails)."""
        if self._closed:
            return
        self._closed = True
        first: BaseException | None = None
        for backend in self._backends:
            try:
                backend.close()
            except BaseException as exc:  # close the rest, then report the first
                first = first or exc
        if first is not None:
            raise first

    def __enter__(self) -> ExperimentLoggers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("these experiment loggers are closed")


def require_extra(name: str) -> None:
    """Raise a :class:`ConfigError` when logger ``name`` lacks its optional dependency."""
    if name not in EXTRAS:
        return
    extra, module = EXTRAS[name]
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"logger {name!r} is chosen in [loggers] use, but its package {module!r} is not "
            f"installed ({type(exc).__name__})",
            f'Install it with: pip install "supreme-core[{extra}]" '
            f"(or remove {name!r} from loggers.use).",
        ) from None


class _Setup:
    """What every backend needs: the config, where to write, the world size, the secrets."""

    def __init__(self, config: ExperimentConfig, run_dir: Path, world_size: int,
                 config_secrets: frozenset[str]) -> None:
        self.config = config
        self.logs = run_dir / "logs"
        self.world_size = world_size
        self.dist = dist_label(config.fabric.strategy, world_size)
        self.secrets = secret_values() | config_secrets

    def project(self, cell: Cell) -> str:
        return project_name(cell, prefix=self.config.loggers.wandb.project,
                            precision=self.config.fabric.precision, dist=self.dist)

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def redact(self, obj: Any) -> Any:
        return redact(obj, self.secrets)


def _by_method(records: list[dict[str, Any]], failures: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys([r["method"] for r in records] + [f["method"] for f in failures]))


def _error_text(failure: Mapping[str, Any]) -> str:
    where = failure.get("stage") or "?"
    if failure.get("metric"):
        where = f"{where} ({failure['metric']})"
    return f"{where}: {failure.get('error_type') or 'Error'}: {failure.get('error') or ''}"


# -- CSV ----------------------------------------------------------------------------------
class _Csv:
    """Plain CSV files under ``logs/csv/``, flushed after every row."""

    name = "csv"
    HEADERS = {
        "metrics": ("experiment", *CELL_FIELDS, "method", "metric", "key", "value", "artifact"),
        "stages": ("index", "stage", "cell", "reused", "seconds", "key"),
        "failures": ("experiment", *CELL_FIELDS, "method", "metric", "stage", "error_type",
                     "error"),
    }

    def __init__(self, setup: _Setup) -> None:
        self.setup = setup
        self.directory = setup.logs / "csv"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        self._stages = 0
        try:
            for table, header in self.HEADERS.items():
                # open for the logger's lifetime (closed by close()), flushed row by row
                handle = open(self.directory / f"{table}.csv", "w", newline="",  # noqa: SIM115
                              encoding="utf-8")
                self._files[table] = handle
                self._writers[table] = csv.writer(handle)
                self._write(table, header)
        except BaseException:
            self.close()
            raise

    def _write(self, table: str, row: Iterable[Any]) -> None:
        self._writers[table].writerow(
            [self.setup.scrub(v) if isinstance(v, str) else v for v in row])
        self._files[table].flush()

    def stage(self, event: StageEvent) -> None:
        self._write("stages", (self._stages, event.stage, event.cell, event.reused,
                               event.seconds, event.key))
        self._stages += 1

    def cell(self, cell: Cell, records: list[dict[str, Any]],
             failures: list[dict[str, Any]]) -> None:
        head = (self.setup.config.name, *(getattr(cell, f) for f in CELL_FIELDS))
        for r in records:
            self._write("metrics", (*head, r["method"], r["metric"], r["key"], r["value"],
                                    r.get("artifact")))
        for f in failures:
            self._write("failures", (*head, f["method"], f.get("metric"), f.get("stage"),
                                     f.get("error_type"), f.get("error")))

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()


# -- TensorBoard ----------------------------------------------------------------------------
class _TensorBoard:
    """Lightning Fabric's TensorBoardLogger: a sub-run per cell, one for stage timings."""

    name = "tensorboard"

    def __init__(self, setup: _Setup) -> None:
        from lightning.fabric.loggers import TensorBoardLogger

        self.setup = setup
        self.root = setup.logs / "tensorboard"
        self.root.mkdir(parents=True, exist_ok=True)
        self._logger_class = TensorBoardLogger
        self._stages: Any = None
        self._steps: dict[str, int] = {}

    def _open(self, name: str, version: str) -> Any:
        return self._logger_class(root_dir=str(self.root), name=name, version=version,
                                  default_hp_metric=False)

    def stage(self, event: StageEvent) -> None:
        if self._stages is None:
            self._stages = self._open("", "stages")
        step = self._steps.get(event.stage, 0)
        self._steps[event.stage] = step + 1
        tag = self.setup.scrub(f"stage_seconds/{event.stage}")
        self._stages.log_metrics({tag: float(event.seconds)}, step=step)

    def cell(self, cell: Cell, records: list[dict[str, Any]],
             failures: list[dict[str, Any]]) -> None:
        scalars = {self.setup.scrub(f"{r['method']}/{r['metric']}/{r['key']}"): float(r["value"])
                   for r in records if r["value"] is not None}
        scalars |= {self.setup.scrub(f"{method}/failed"): 1.0
                    for method in dict.fromkeys(f["method"] for f in failures)}
        if not scalars:
            return
        logger = self._open(self.setup.project(cell), seeds_name(cell))
        try:
            logger.log_metrics(scalars, step=0)
        finally:
            logger.finalize("success")

    def close(self) -> None:
        if self._stages is not None:
            self._stages.finalize("success")
            self._stages = None


# -- Weights & Biases -------------------------------------------------------------------------
class _Wandb:
    """One W&B run per (cell, method), finished before the next one starts."""

    name = "wandb"

    def __init__(self, setup: _Setup) -> None:
        import wandb

        self.setup = setup
        self.wandb = wandb
        self.options = setup.config.loggers.wandb
        self.mode = wandb_mode(self.options.mode)
        self.directory = setup.logs / "wandb"
        self.directory.mkdir(parents=True, exist_ok=True)
        # no console capture, command line, git state, code or system stats: the command
        # line and the console may carry secrets, and each run only holds a summary
        self.settings = wandb.Settings(console="off", x_disable_meta=True, x_disable_stats=True,
                                       save_code=False, disable_git=True,
                                       disable_job_creation=True, silent=True)

    def stage(self, event: StageEvent) -> None:
        """Stage timings go to CSV and TensorBoard; a W&B run exists per method only."""

    def cell(self, cell: Cell, records: list[dict[str, Any]],
             failures: list[dict[str, Any]]) -> None:
        for method in _by_method(records, failures):
            self._run(cell, method, [r for r in records if r["method"] == method],
                      [f for f in failures if f["method"] == method])

    def run_config(self, cell: Cell, method: str, records: list[dict[str, Any]]
                   ) -> dict[str, Any]:
        """The run's config (before redaction)."""
        config = self.setup.config
        provenance: dict[str, Any] = {}
        for record in records:
            origin = record.get("provenance") or {}
            for part in ("method", "dataset", "model"):
                if origin.get(part):
                    provenance.setdefault(part, origin[part])
            if origin.get("metric"):
                provenance.setdefault("metrics", {})[record["metric"]] = origin["metric"]
        return {
            "experiment": config.name,
            **cell.as_dict(),
            "method": method,
            "precision": config.fabric.precision,
            "strategy": config.fabric.strategy,
            "devices": config.fabric.devices,
            "num_nodes": config.fabric.num_nodes,
            "world_size": self.setup.world_size,
            "accelerator": config.fabric.accelerator,
            "artifact": next((r["artifact"] for r in records if r.get("artifact")), None),
            "provenance": provenance,
            # the experiment's own [method.NAME] / [dataset.NAME] / [model.NAME] tables
            "method_settings": config.method.get(method, {}),
            "dataset_settings": config.dataset.get(cell.dataset, {}),
            "model_settings": config.model.get(cell.model, {}),
        }

    def _run(self, cell: Cell, method: str, records: list[dict[str, Any]],
             failures: list[dict[str, Any]]) -> None:
        values = {f"{r['metric']}/{r['key']}": float(r["value"]) for r in records
                  if r["value"] is not None}
        status: dict[str, Any] = {"failed": bool(failures)}
        if failures:
            status |= {"error": self.setup.scrub("\n".join(_error_text(f) for f in failures)),
                       "error_type": failures[0].get("error_type"),
                       "failed_stage": failures[0].get("stage")}
        run = self.wandb.init(
            project=self.setup.project(cell), entity=self.options.entity,
            name=run_name(method, cell), group=group_name(method),
            tags=[self.setup.scrub(tag) for tag in self.options.tags], job_type="evaluation",
            config=self.setup.redact(self.run_config(cell, method, records)),
            dir=str(self.directory), mode=self.mode, reinit="create_new", settings=self.settings,
        )
        try:
            if values:
                run.log(values, step=0)
            # metric keys are not secret names: scrub the error text only, mask no key
            run.summary.update({**values, **status})
        finally:
            run.finish(exit_code=1 if failures else 0)

    def close(self) -> None:
        """Every run is finished when its cell is logged."""
