"""Run an experiment: every cell, every stage reused from the store when it exists.

Per cell: load the dataset (decoded once, cached), train M_o (shared by every cell with
the same dataset, model, recipe and training seed), build the split, retrain M_r when a
method or metric needs it (shared by every method of the cell), run each method on a
copy of M_o, and evaluate every row (methods and the reference rows) with every metric
from one cached forward pass per (model, split).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme import signals
from supreme.builtins import Retrain
from supreme.config import ExperimentConfig
from supreme.contracts import (
    ORIGINAL,
    RETRAIN,
    EvalContext,
    GridMetric,
    ImageTensors,
    LazyImages,
    Outputs,
    ShadowOutputs,
    UnlearnData,
    UnlearningMethod,
)
from supreme.contracts.records import Failure, Record, StageEvent
from supreme.errors import Interrupted, PluginError, StageError
from supreme.fingerprint import callable_code, component_code, distribution_version
from supreme.gates import describe_failures, floors_for, record_flag
from supreme.gates import verdict as gate_verdict
from supreme.observers import Observers
from supreme.pipeline.data import BatchTransform
from supreme.pipeline.evaluate import Forward, training_batches
from supreme.pipeline.fabric import (
    identity,
    seed_everything,
    synchronize,
)
from supreme.pipeline.resources import ResourceMonitor, gather_ranks
from supreme.pipeline.results import Reporter as Reporter  # re-exported
from supreme.pipeline.results import Results as Results  # re-exported
from supreme.pipeline.services import unlearn_data as build_unlearn_data
from supreme.pipeline.split import Split, build_split, carve_validation, from_tensors
from supreme.pipeline.train import fit, unwrap
from supreme.plan import Cell, Resolved
from supreme.recompute import Recompute
from supreme.stage import Stage, StageKind
from supreme.store import Store, atomic_write_bytes, hash_key
from supreme.values import checked_values


class GateWarning(UserWarning):
    """A reference model (M_o or M_r) of a cell failed a check (docs/validity.md)."""


if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from torch import nn


@dataclass
class CellData:
    """Tensors and helpers shared by the stages of one (dataset, model) pair."""

    train: ImageTensors
    test: ImageTensors
    transform: BatchTransform
    new_model: Callable[[], nn.Module]


@dataclass(frozen=True)
class CellRun:
    """One cell past its shared stages: its data and recipe, M_o, the split, and the store
    keys the later stages (retrain, unlearn, evaluate) build on."""

    cell: Cell
    data: CellData
    recipe: Any
    #: what M_o and M_r's store keys share: dataset, model, recipe, execution, core code
    common: dict[str, Any]
    #: the dataset artifact the stages read (empty for a dataset that is not cached)
    data_deps: list[tuple[str, str]]
    train_key: str
    original_state: dict[str, Any]
    split: Split
    split_key: str


class PlanView:
    """A read-only view of a store, for ``supreme plan``: what the store holds is reported
    as reused, what it lacks as to compute; nothing is computed or written, except that
    datasets and splits are built in memory (cheap, and later keys depend on them).

    A :class:`Runner` over this view runs every stage of a cell exactly as a run would,
    so the plan's keys are the run's. Under ``--recompute`` a stage whose artifact would
    be redone counts as to compute, and so do the stages that read it (a planned
    artifact reads as newer than any stored one).
    """

    writes = False
    #: kinds built in memory when missing
    BUILT = ("datasets", "splits")

    def __init__(self, store: Store) -> None:
        self.store = store
        #: keys the plan computes
        self.planned: set[str] = set()

    def has(self, kind: str, key: str) -> bool:
        return self.store.has(kind, key)

    def meta(self, kind: str, key: str) -> dict[str, Any]:
        return self.store.meta(kind, key)

    def path(self, kind: str, key: str) -> Path:
        return self.store.path(kind, key)

    def written_ns(self, kind: str, key: str) -> int:
        return 2**63 if key in self.planned else self.store.written_ns(kind, key)

    def get_or_compute(self, kind: str, key: str,
                       compute: Callable[[], tuple[Mapping[str, Any], Mapping[str, Any] | None]],
                       *, writer: bool = True,
                       stale: Callable[[dict[str, Any]], bool] | None = None
                       ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        stored = self.store.has(kind, key)
        # an artifact --recompute would redo counts as to compute
        exists = stored and not (stale is not None and stale(self.store.meta(kind, key)))
        if not exists:
            self.planned.add(key)
        if kind in self.BUILT:
            meta, tensors, _ = self.store.get_or_compute(kind, key, compute, writer=False)
            return meta, tensors, exists
        placeholder: dict[str, Any] = {"seconds": 0.0, "resources": {}, "values": []}
        if stored:
            return {**placeholder, **self.store.meta(kind, key)}, {}, exists
        return placeholder, {}, False


class Runner:
    """Runs cells against a store; stateless between cells except for in-memory caches."""

    def __init__(self, resolved: Resolved, fabric: Fabric, store: Store | PlanView,
                 observers: Observers | None = None, *, fail_fast: bool = False,
                 worker: int | None = None, recompute: Recompute | None = None) -> None:
        self.r = resolved
        #: ``--recompute``: stages to compute again although the store has them
        self.recompute = recompute or Recompute()
        #: > 0 while a selected unlearning stage runs: the caches it computes are redone
        self._recomputing = 0
        self.config: ExperimentConfig = resolved.config
        self.fabric = fabric
        self.store = store
        #: the run's observers (plugins' stage hooks, the reporter, the loggers), called on
        #: global rank 0 only
        self.observers = observers or Observers()
        self.events: list[StageEvent] = []
        #: failures of the current cell (reset by :meth:`run_cell`)
        self.failures: list[Failure] = []
        self.fail_fast = fail_fast
        self.worker = worker
        self.current_stage = ""
        #: the reference-model gates of the current cell (supreme/gates.py), or None
        self.gates: dict[str, Any] | None = None
        #: "kind/key" of every artifact the current cell used (kept by `supreme gc`)
        self.artifacts: list[str] = []
        #: the per-example outputs of the current cell's grid metrics: one entry per row and
        #: grid metric (``method``, ``metric``, ``artifact``, ``model_key``: the row's
        #: model; pipeline/grid.py)
        self.examples: list[dict[str, str]] = []
        #: the run's lease (supreme.lease), told about every artifact a stage references
        self.lease: Any = None
        self.fabric_id = identity(fabric, self.config.fabric)
        # the tensor library computes every number: another version may round differently
        self.fabric_id["torch"] = distribution_version("torch")
        speed = self.config.speed.model_dump(exclude_defaults=True)
        if speed:  # changes numbers slightly; default runs keep their keys
            self.fabric_id = {**self.fabric_id, "speed": speed}
        self._datasets: dict[str, tuple[ImageTensors, ImageTensors, str]] = {}
        self._resident: dict[str, tuple[ImageTensors, ImageTensors]] = {}

    # -- stage bookkeeping ------------------------------------------------------------
    def _stage(self, stage: Stage, cell: Cell | str, kind: str, payload: Mapping[str, Any],
               compute: Callable[[], tuple[Mapping[str, Any], Mapping[str, Any] | None]],
               deps: Sequence[tuple[str, str]] = ()
               ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Load or compute one artifact. ``deps`` are the ``(kind, key)`` of the artifacts
        the stage reads; under ``--recompute`` a stage whose dependency is newer than its
        own artifact is computed again."""
        key = hash_key(payload)
        label = cell if isinstance(cell, str) else cell.label()
        name = str(stage)
        self.current_stage = name
        self.artifacts.append(f"{kind}/{key}")
        if self.lease is not None:  # before reading it: `supreme gc` keeps it from now on
            self.lease.use(f"{kind}/{key}")
        if self.fabric.is_global_zero:
            self.observers.stage_start(StageEvent(name, label, None, 0.0, key, self.worker, kind))
        start = time.perf_counter()
        meta, tensors, reused = self.store.get_or_compute(
            kind, key, compute, writer=self.fabric.is_global_zero,
            stale=self._stale_rule(stage, deps) if self.recompute else None,
        )
        if self.fabric.world_size > 1:
            self.fabric.barrier()
        event = StageEvent(name, label, reused, time.perf_counter() - start, key, self.worker,
                           kind)
        self.events.append(event)
        if self.fabric.is_global_zero:
            self.observers.stage_end(event)
        signals.check_interrupt(name)
        return key, meta, tensors

    # -- faults ---------------------------------------------------------------------------
    def fail(self, cell: Cell, method: str | None, metric: str | None, stage: Stage | str,
             exc: BaseException) -> None:
        """Record a failed stage of ``cell``; with ``fail_fast``, stop the run instead."""
        from supreme.safeio import WriteFailed

        if isinstance(exc, (Interrupted, PluginError, WriteFailed)):
            raise exc  # not a cell's failure: a stop, a broken plugin, a full or read-only disk
        from supreme.secrets import scrub, secret_values

        error_type, message = describe_failure(exc, stage, self.config, self.fabric)
        message = scrub(message, secret_values(self.config.model_dump(mode="json")))
        record = Failure(**cell.as_dict(), experiment=self.config.name, method=method,
                         metric=metric, stage=str(stage), error_type=error_type, error=message)
        self.failures.append(record)
        if self.fail_fast:
            raise StageError(
                f"{stage} failed in cell {cell.label()}: {error_type}: {message}",
                "--fail-fast stops at the first failure; without it the other cells go on.",
            ) from exc
        import warnings

        warnings.warn(f"{stage} failed in cell {cell.label()}: {error_type}: {message}",
                      RuntimeWarning, stacklevel=2)

    def _selected(self, stage: Stage) -> bool:
        return self.recompute.selects(stage) or (stage.kind is StageKind.CACHE
                                                 and self._recomputing > 0)

    def _stale_rule(self, stage: Stage, deps: Sequence[tuple[str, str]]
                    ) -> Callable[[dict[str, Any]], bool]:
        """``--recompute``: an artifact is stale if its stage is selected and it predates
        the run, or if an artifact it was computed from is newer than it."""
        selected = self._selected(stage)

        def stale(meta: dict[str, Any]) -> bool:
            written = meta.get("written_ns", 0)
            if not isinstance(written, int):
                written = 0
            if selected and written < self.recompute.since_ns:
                return True
            return any(self.store.written_ns(k, d) > written for k, d in deps)
        return stale

    # -- data ---------------------------------------------------------------------------
    def dataset(self, name: str) -> tuple[ImageTensors, ImageTensors, str]:
        """(train, test, key) of a dataset, decoded once and kept in the store.

        A dataset whose spec is not ``cached`` (lazy images, decoded batch by batch) is
        listed again in each process instead; its key still names its content.
        """
        if name not in self._datasets:
            spec = self.r.datasets[name]
            payload = {"stage": "dataset", "dataset": self.r.identity("datasets", name),
                       "fingerprint": spec.fingerprint(), "core": self.r.core("data")}
            validation = self.config.validation
            if validation is not None:  # a tuning trial: the test split is never read
                payload["validation"] = validation.model_dump(mode="json")

            def load() -> tuple[ImageTensors, ImageTensors]:
                if validation is None:
                    return spec.load("train"), spec.load("test")
                return carve_validation(spec.load("train"), validation.fraction, validation.seed)

            if not spec.cached:
                self._datasets[name] = (*load(), hash_key(payload))
                return self._datasets[name]

            def decode() -> tuple[dict[str, Any], dict[str, Any]]:
                train, test = (part.materialised() for part in load())
                tensors = {"train_images": train.images, "train_labels": train.labels,
                           "test_images": test.images, "test_labels": test.labels}
                if train.fine_labels is not None and test.fine_labels is not None:
                    tensors |= {"train_fine": train.fine_labels, "test_fine": test.fine_labels}
                return {"dataset": name, "train": len(train), "test": len(test)}, tensors

            key, _, t = self._stage(Stage(StageKind.DATASET), name, "datasets", payload, decode)
            train = ImageTensors(t["train_images"], t["train_labels"], t.get("train_fine"))
            test = ImageTensors(t["test_images"], t["test_labels"], t.get("test_fine"))
            self._datasets[name] = (train, test, key)
        return self._datasets[name]

    def resident(self, name: str) -> tuple[ImageTensors, ImageTensors]:
        """The dataset where batches are drawn from: on the accelerator with ``data.on_device``."""
        train, test, _ = self.dataset(name)
        if not keep_on_device(self.config.data.on_device, self.fabric.device,
                              resident_bytes(train, test)):
            return train, test
        if name not in self._resident:
            self._resident[name] = (train.to(self.fabric.device), test.to(self.fabric.device))
        return self._resident[name]

    def cell_data(self, cell: Cell) -> CellData:
        spec, model_spec = self.r.datasets[cell.dataset], self.r.models[cell.model]
        train, test = self.resident(cell.dataset)
        mean, std = model_spec.norm_stats(spec)
        size = model_spec.input_side(spec)
        channels = spec.channels
        transform = BatchTransform(tuple(mean), tuple(std), size, channels,
                                   channels_last=self.config.speed.channels_last)

        def new_model() -> nn.Module:
            return model_spec.create(spec.num_classes, channels, size)

        return CellData(train, test, transform, new_model)

    def recipe(self, cell: Cell) -> Any:
        spec, model_spec = self.r.datasets[cell.dataset], self.r.models[cell.model]
        recipe = model_spec.recipe(spec).updated(**self.config.training.overrides())
        if not spec.allow_hflip and recipe.augment.hflip:
            recipe = recipe.updated(augment={**recipe.augment.model_dump(), "hflip": False})
        if self.config.fabric.batch == "per_device":  # every process takes a full batch
            recipe = recipe.updated(batch_size=recipe.batch_size * self.fabric.world_size)
        return recipe

    def new_trainable(self, data: CellData, state: Mapping[str, Any] | None = None,
                      key: str = "") -> nn.Module:
        """A model to train (M_o) or unlearn (a copy of M_o), with SyncBatchNorm under DDP."""
        model = data.new_model() if state is None else self.load(data, state, key)
        return sync_batchnorm(model, self.fabric)

    # -- the cell -------------------------------------------------------------------------
    def run_cell(self, cell: Cell) -> list[Record]:
        """The records of ``cell``; failed stages go to :attr:`failures` (reset here).

        A failing method or metric only removes its own rows; a failure in a stage the
        whole cell needs (dataset, M_o, split) raises.
        """
        self.failures = []
        self.artifacts = []
        self.examples = []
        self.gates = None
        data = self.cell_data(cell)
        if self.r.datasets[cell.dataset].cached:
            self.artifacts.append(f"datasets/{self.dataset(cell.dataset)[2]}")
        recipe = self.recipe(cell)
        dataset_id = {**self.r.identity("datasets", cell.dataset), "store": self.dataset(cell.dataset)[2]}
        model_id = self.r.identity("models", cell.model)
        common = {"dataset": dataset_id, "model": model_id, "recipe": recipe.model_dump(mode="json"),
                  "fabric": self.fabric_id, "core": self.r.core("model")}
        data_deps = [("datasets", dataset_id["store"])] if self.r.datasets[cell.dataset].cached else []

        # M_o: shared by every cell with this dataset, model, recipe and training seed
        def train_original() -> tuple[dict[str, Any], dict[str, Any]]:
            seed_everything(cell.train_seed)
            model = prepare(self.fabric.to_device(self.new_trainable(data)), self.config.speed)
            start = time.perf_counter()
            trained = fit(model, data.train, recipe, fabric=self.fabric, transform=data.transform,
                          seed=cell.train_seed, description=f"train M_o s_t={cell.train_seed}")
            synchronize(self.fabric)
            return {"seconds": time.perf_counter() - start}, finite_state(trained, "M_o")

        train_key, _, original_state = self._stage(
            Stage(StageKind.TRAIN), f"{cell.dataset}/{cell.model} s_t={cell.train_seed}", "models",
            {"stage": "train", **common, "seed": cell.train_seed}, train_original, data_deps)

        split_key, split = self.split(cell, dataset_id, data_deps)
        run = CellRun(cell, data, recipe, common, data_deps, train_key, original_state, split,
                      split_key)
        rows = self.unlearn_rows(run)
        return self.evaluate(run, rows, self.shadows(run, rows))

    def split(self, cell: Cell, dataset_id: Mapping[str, Any],
              deps: Sequence[tuple[str, str]] = ()) -> tuple[str, Split]:
        spec = self.r.datasets[cell.dataset]
        train, test, _ = self.dataset(cell.dataset)
        built: list[Split] = []

        def compute() -> tuple[dict[str, Any], dict[str, Any]]:
            s = build_split(spec, train, test, cell.scenario, cell.target, cell.unlearn_seed)
            built.append(s)
            sizes = {k: len(v) for k, v in s.tensors().items()}
            return {"forget_class": s.forget_class, "sizes": sizes}, s.tensors()

        key, meta, tensors = self._stage(
            Stage(StageKind.SPLIT), cell.label(), "splits",
            {"stage": "split", "dataset": dataset_id, "scenario": cell.scenario,
             "target": cell.target, "seed": cell.unlearn_seed, "core": self.r.core("data")},
            compute, deps)
        split = built[0] if built else from_tensors(cell.scenario, cell.target,
                                                    meta["forget_class"], tensors)
        if self.fabric.is_global_zero and self.store.writes:
            export_split(self.config.run_dir() / "splits", cell, split, train, test)
        return key, split

    # -- unlearning -------------------------------------------------------------------------
    def needs_reference(self) -> bool:
        return (RETRAIN in self.r.methods or self.r.needs("reference") or self.r.needs("timings")
                or any(isinstance(m, GridMetric) for m in self.r.metrics.values()))

    def unlearn_rows(self, run: CellRun) -> dict[str, Row]:
        """M_o's row, M_r's when needed, and one row per method's M_u (failures recorded)."""
        cell, common = run.cell, run.common
        train_key, original_state, split_key = run.train_key, run.original_state, run.split_key
        split = run.split
        # methods get host tensors (data.on_device covers M_o's training and evaluation)
        train, test, _ = self.dataset(cell.dataset)
        parts = split.materialise(train, test)
        batch_size = self.batch_size(cell)
        split_id = {"scenario": cell.scenario, "target": cell.target, "seed": cell.unlearn_seed,
                    "sizes": {k: len(v) for k, v in split.tensors().items()}, "key": split_key}

        def run_method(method: UnlearningMethod
                       ) -> Callable[[], tuple[dict[str, Any], dict[str, Any]]]:
            return self.unlearner(run, method, cell.unlearn_seed, original_state, train_key,
                                  parts["forget_train"], parts["retain_train"], batch_size)

        rows: dict[str, Row] = {ORIGINAL: Row(ORIGINAL, train_key, original_state, 0.0, {})}
        if self.needs_reference():
            # M_r: the retrain row when asked for, else the same model for metrics' sake
            retrain = self.r.methods.get(RETRAIN) or Retrain()
            try:
                key, meta, state = self._stage(
                    Stage(StageKind.RETRAIN), cell.label(), "models",
                    {"stage": "retrain", **common, "split": split_id, "seed": cell.unlearn_seed,
                     "method": {"name": RETRAIN,
                                "config": retrain.config.model_dump(mode="json"),
                                "code": component_code(type(retrain))}},
                    run_method(retrain), [*run.data_deps, ("splits", split_key)],
                )
                rows[RETRAIN] = Row(RETRAIN, key, state, meta["seconds"],
                                      meta.get("resources", {}))
            except Exception as exc:
                self.fail(cell, RETRAIN, None, Stage(StageKind.RETRAIN), exc)
        for name, method in self.r.methods.items():
            if method.reference is not None:
                continue
            try:
                key, meta, state = self._stage(
                    Stage(StageKind.UNLEARN, name), cell.label(), "models",
                    {"stage": "unlearn", "original": train_key, "split": split_id,
                     "method": self.r.identity("methods", name), "seed": cell.unlearn_seed,
                     "batch_size": batch_size, "fabric": self.fabric_id,
                     "core": self.r.core("model")},
                    run_method(method), [("models", train_key), ("splits", split_key)])
            except Exception as exc:
                self.fail(cell, name, None, Stage(StageKind.UNLEARN, name), exc)
                continue
            rows[name] = Row(name, key, state, meta["seconds"], meta.get("resources", {}))
        return rows

    def batch_size(self, cell: Cell) -> int:
        """The unlearning batch size of ``cell`` (``unlearning.batch_size`` or 64/128)."""
        size = self.config.unlearning.batch_size or (128 if cell.scenario == "random" else 64)
        if self.config.fabric.batch == "per_device":
            size *= self.fabric.world_size
        return size

    def unlearner(self, run: CellRun, method: UnlearningMethod, seed: int,
                  original_state: Mapping[str, Any], original_key: str, forget: ImageTensors,
                  retain: ImageTensors, batch_size: int
                  ) -> Callable[[], tuple[dict[str, Any], dict[str, Any]]]:
        """The compute function of one unlearning stage: ``method`` applied to a copy of
        the model ``original_state`` (``models/original_key``: M_o, or a shadow model) with
        forget set ``forget`` and retain set ``retain`` (host tensors), seeded by ``seed``."""
        cell, data, recipe, split = run.cell, run.data, run.recipe, run.split

        def unlearn_data() -> UnlearnData:
            original = self.fabric.to_device(self.load(data, original_state, original_key)).eval()
            for p in original.parameters():
                p.requires_grad_(False)
            return build_unlearn_data(
                forget=forget, retain=retain,
                num_classes=self.r.datasets[cell.dataset].num_classes, scenario=cell.scenario,
                forget_class=split.forget_class, seed=seed, batch_size=batch_size,
                recipe=recipe, fabric=self.fabric, transform=data.transform, original=original,
                new_model=lambda: prepare(data.new_model(), self.config.speed, self.fabric.device),
                cache=self.cache(original_key), dataset_name=cell.dataset, model_name=cell.model,
                model_family=self.r.models[cell.model].family,
            )

        def compute() -> tuple[dict[str, Any], dict[str, Any]]:
            seed_everything(seed)
            udata = unlearn_data()
            model = prepare(self.fabric.to_device(
                self.new_trainable(data, original_state, original_key)).train(), self.config.speed)
            selected = self.recompute.selects(Stage(StageKind.UNLEARN, method.name))
            self._recomputing += selected  # the caches it computes are redone too
            try:
                with ResourceMonitor(self.fabric.device) as monitor:
                    result = method.unlearn(model, udata, self.fabric)
            finally:
                self._recomputing -= selected
            # T_u: wall time of the call (accelerator-synchronised) minus untimed blocks,
            # the maximum over ranks; resources combined over ranks
            measured = gather_ranks(self.fabric, monitor.result())
            return ({"seconds": measured["seconds"], "resources": measured},
                    finite_state(unwrap(result), f"the model returned by {method.name!r}"))
        return compute

    def cache(self, train_key: str) -> Callable[..., dict[str, torch.Tensor]]:
        """The store-backed cache handed to methods (keyed by M_o and the caller's key)."""
        def cache(name: str, key: Mapping[str, Any], compute: Callable[[], dict[str, Any]]
                  ) -> dict[str, Any]:
            # the code that computes the entry: the module defining ``compute`` and what it
            # imports, so methods sharing a helper share its entries
            payload = {"stage": f"cache:{name}", "original": train_key, "key": dict(key),
                       "code": callable_code(compute), "core": self.r.core("model")}
            _, _, tensors = self._stage(Stage(StageKind.CACHE, name), name, "caches", payload,
                                        lambda: ({"name": name}, compute()),
                                        [("models", train_key)])
            return tensors
        return cache

    def load(self, data: CellData, state: Mapping[str, Any], key: str = "") -> nn.Module:
        """A new model holding ``state`` (the store artifact ``models/key``); weights of
        another architecture raise a StoreError naming the artifact."""
        from supreme.pipeline.checkpoint import load_state

        where = str(self.store.path("models", key)) if key else "an in-memory state"
        return load_state(data.new_model(), state, where)

    # -- shadow models (metrics that declare "shadows": U-LiRA) -------------------------------
    def shadow_count(self) -> int:
        """How many shadow models the run's metrics read (0: none is trained)."""
        return max((m.shadow_models() for m in self.r.metrics.values() if "shadows" in m.needs),
                   default=0)

    def shadows(self, run: CellRun, rows: Mapping[str, Row]) -> Shadows | None:
        """The shadow models of ``run`` for the rows a shadow metric evaluates.

        Shadow k trains on a seeded random half H_k of D_f ∪ D_r (its seed is
        :data:`SHADOW_SEED` + k, whatever the cell's seeds), F_k = D_f ∩ H_k is its forget
        set, ``M_r#k`` retrains on H_k without F_k and ``METHOD#k`` applies a method to a
        copy of shadow k. Their store keys name the examples they train on (not the cell),
        so cells whose splits hold the same examples share them, and every method shares
        shadow k and ``M_r#k``. A failed stage is recorded once; the rows it concerns get
        the error (their shadow metrics are skipped)."""
        count = self.shadow_count()
        if not count:
            return None
        import torch

        cell, data, recipe, common = run.cell, run.data, run.recipe, run.common
        train, _, _ = self.dataset(cell.dataset)
        tensors = run.split.tensors()
        forget_idx, retain_idx = tensors["forget_train"].long(), tensors["retain_train"].long()
        pool = torch.cat([forget_idx, retain_idx]).sort().values  # by content, not order
        batch_size = self.batch_size(cell)
        retrain = self.r.methods.get(RETRAIN) or Retrain()
        shown = [n for n in rows if n in self.config.methods or n == RETRAIN]
        members_of = torch.zeros(count, len(forget_idx), dtype=torch.bool)
        retrained: dict[int, Row] = {}
        unlearned: dict[str, dict[int, Row]] = {name: {} for name in shown}
        failed: dict[str, BaseException] = {}
        for k in shadow_order(self.worker, count):
            seed = SHADOW_SEED + k
            generator = torch.Generator().manual_seed(seed)
            half = pool[torch.randperm(len(pool), generator=generator)[: len(pool) // 2]]
            members = half.sort().values
            in_forget = torch.isin(forget_idx, members)
            members_of[k] = in_forget
            forget_k = forget_idx[in_forget]
            retain_k = members[~torch.isin(members, forget_idx)]
            ids = {"members": index_digest(members), "forget": index_digest(forget_k)}
            retain_id = index_digest(retain_k)

            def train_shadow(members: torch.Tensor = members, seed: int = seed, k: int = k
                             ) -> tuple[dict[str, Any], dict[str, Any]]:
                seed_everything(seed)
                model = prepare(self.fabric.to_device(self.new_trainable(data)), self.config.speed)
                start = time.perf_counter()
                trained = fit(model, data.train.subset(members), recipe, fabric=self.fabric,
                              transform=data.transform, seed=seed,
                              description=f"train shadow {k}")
                synchronize(self.fabric)
                return ({"seconds": time.perf_counter() - start},
                        finite_state(trained, f"shadow model {k}"))

            stage = Stage(StageKind.SHADOW, f"M_o#{k}")
            try:
                shadow_key, _, shadow_state = self._stage(
                    stage, cell.label(), "models",
                    {"stage": "shadow train", **common, "members": ids["members"], "seed": seed},
                    train_shadow, run.data_deps)
                forget_t, retain_t = train.subset(forget_k), train.subset(retain_k)
                stage = Stage(StageKind.SHADOW, f"M_r#{k}")
                retrained_key, meta, retrained_state = self._stage(
                    stage, cell.label(), "models",
                    {"stage": "shadow retrain", **common, **ids, "seed": seed,
                     "method": {"name": RETRAIN,
                                "config": retrain.config.model_dump(mode="json"),
                                "code": component_code(type(retrain))}},
                    self.unlearner(run, retrain, seed, shadow_state, shadow_key, forget_t,
                                   retain_t, batch_size), run.data_deps)
            except Exception as exc:
                self.fail(cell, None, None, stage, exc)
                return Shadows(members_of, [], {}, error=exc)
            retrained[k] = Row(f"M_r#{k}", retrained_key, retrained_state, meta["seconds"], {})
            for name in shown:
                if name in failed:
                    continue
                if name in (ORIGINAL, RETRAIN):
                    unlearned[name][k] = (Row(f"M_o#{k}", shadow_key, shadow_state, 0.0, {})
                                          if name == ORIGINAL else retrained[k])
                    continue
                stage = Stage(StageKind.SHADOW, f"{name}#{k}")
                try:
                    key, meta, state = self._stage(
                        stage, cell.label(), "models",
                        {"stage": "shadow unlearn", "original": shadow_key,
                         "forget": ids["forget"], "retain": retain_id,
                         "method": self.r.identity("methods", name), "seed": seed,
                         "batch_size": batch_size, "fabric": self.fabric_id,
                         "core": self.r.core("model")},
                        self.unlearner(run, self.r.methods[name], seed, shadow_state, shadow_key,
                                       forget_t, retain_t, batch_size),
                        [("models", shadow_key)])
                except Exception as exc:
                    self.fail(cell, name, None, stage, exc)
                    failed[name] = exc
                    continue
                unlearned[name][k] = Row(f"{name}#{k}", key, state, meta["seconds"],
                                         meta.get("resources", {}))
        return Shadows(members_of, [retrained[k] for k in range(count)],
                       {name: failed[name] if name in failed else [unlearned[name][k] for k in range(count)]
                        for name in shown})

    def shadow_outputs(self, run: CellRun, rows: list[Row], retrained: list[Row],
                       members: torch.Tensor, forget: ImageTensors,
                       forward: Callable[..., Outputs]) -> ShadowOutputs:
        """Forward passes of one row's shadow models and the retrained ones over D_f."""
        def outputs(row: Row) -> Outputs:
            model = self.fabric.to_device(self.load(run.data, row.state, row.key)).eval()
            return forward(model, forget, False)

        count = min(len(rows), len(retrained))
        return ShadowOutputs(members[:count].clone(),
                             tuple(outputs(r) for r in rows[:count]),
                             tuple(outputs(r) for r in retrained[:count]))


    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, run: CellRun, rows: dict[str, Row],
                 shadows: Shadows | None = None) -> list[Record]:
        """Every metric on every row of ``rows``, after the reference-model gates
        (``shadows``: the cell's shadow models, for metrics that declare them)."""
        cell, data, split, split_key = run.cell, run.data, run.split, run.split_key
        train_key = run.train_key
        parts = split.materialise(data.train, data.test)
        forward = Forward(self.fabric, data.transform, self.config.unlearning.eval_batch_size)
        memo: dict[tuple[str, int, bool], Outputs] = {}
        models: dict[str, nn.Module] = {}

        def model_of(row: Row) -> nn.Module:
            if row.key not in models:
                model = self.fabric.to_device(self.load(data, row.state, row.key)).eval()
                if self.config.speed.channels_last:  # not compiled: each model would recompile
                    to_channels_last(model)
                models[row.key] = model
            return models[row.key]

        def cached_forward(model: nn.Module, tensors: ImageTensors, features: bool) -> Outputs:
            k = (str(id(model)), id(tensors), features)
            if k not in memo:
                memo[k] = forward(model, tensors, features)
            return memo[k]

        records: list[Record] = []
        reference = rows.get(RETRAIN)
        self.gates = self.check_references(run, rows, parts, model_of, cached_forward)
        shown = [name for name in self.config.methods if name in rows]
        grid = any(isinstance(m, GridMetric) for m in self.r.metrics.values())
        if grid and RETRAIN in rows and RETRAIN not in shown:
            shown.append(RETRAIN)  # the grid metrics compare every row with M_r's outputs
        for name in shown:
            row = rows[name]
            context: EvalContext | None = None
            for metric_name, metric in self.r.metrics.items():
                if name not in self.config.methods and not isinstance(metric, GridMetric):
                    continue
                if isinstance(metric, GridMetric):
                    def contextual(row: Row = row) -> EvalContext:
                        nonlocal context
                        if context is None:
                            context = self._context(run, row, reference, rows[ORIGINAL], parts,
                                                    model_of, cached_forward, shadows,
                                                    forward)
                        return context
                    self.per_example(run, row, metric_name, metric, contextual)
                    continue
                if reference is None and self.needs_reference() and (
                        "reference" in metric.needs or "timings" in metric.needs):
                    if name != RETRAIN:  # retrain's own failure is recorded already
                        self.fail(cell, name, metric_name, Stage(StageKind.EVALUATE, name, metric_name),
                                  StageError("skipped: it needs M_r, whose retraining failed"))
                    continue
                shadow_keys: dict[str, list[str]] | None = None
                if "shadows" in metric.needs:
                    found = shadows.of(name) if shadows is not None else None
                    if not isinstance(found, list):
                        self.fail(cell, name, metric_name,
                                  Stage(StageKind.EVALUATE, name, metric_name),
                                  StageError(f"skipped: its shadow models failed ({found})"))
                        continue
                    count = metric.shadow_models()
                    shadow_keys = {"unlearned": [r.key for r in found[:count]],
                                   "retrained": [r.key for r in shadows.retrained[:count]]}
                payload = {
                    "stage": "evaluate", "model": row.key, "split": split_key,
                    **({"shadows": shadow_keys} if shadow_keys is not None else {}),
                    "reference": reference.key if reference and "reference" in metric.needs else None,
                    "original": train_key if "original" in metric.needs else None,
                    "timings": "timings" in metric.needs and (row.seconds, reference and reference.seconds),
                    "metric": self.r.identity("metrics", metric_name), "seed": cell.eval_seed,
                    "eval_batch_size": self.config.unlearning.eval_batch_size,
                    "fabric": self.fabric_id, "core": self.r.core("evaluate"),
                }
                deps: list[tuple[str, str]] = [("models", row.key), ("splits", split_key)]
                if reference is not None and "reference" in metric.needs:
                    deps.append(("models", reference.key))
                if "original" in metric.needs:
                    deps.append(("models", train_key))
                if shadow_keys is not None:
                    deps += [("models", k) for keys in shadow_keys.values() for k in keys]

                def compute(metric: Any = metric, row: Row = row) -> tuple[dict[str, Any], None]:
                    nonlocal context
                    if context is None:
                        context = self._context(run, row, reference, rows[ORIGINAL], parts,
                                                model_of, cached_forward, shadows,
                                                forward)
                    values = metric.compute(context)
                    # a list keeps the metric's own key order (JSON objects get sorted)
                    return {"values": checked_values(metric, values)}, None

                try:
                    _, meta, _ = self._stage(Stage(StageKind.EVALUATE, name, metric_name), cell.label(),
                                             "results", payload, compute, deps)
                except Exception as exc:
                    self.fail(cell, name, metric_name, Stage(StageKind.EVALUATE, name, metric_name), exc)
                    continue
                for entry in meta["values"]:
                    records.append(self._record(cell, name, metric_name, entry, row))
        return records

    def check_references(self, run: CellRun, rows: dict[str, Row],
                         parts: dict[str, ImageTensors], model_of: Callable[[Row], nn.Module],
                         forward: Callable[..., Outputs]) -> dict[str, Any] | None:
        """The reference-model gates of this cell (supreme/gates.py): accuracies of M_o and
        M_r, stored once per (M_o, M_r, split), judged against the dataset's floors and the
        ``[gates]`` thresholds. A failed check warns; with ``gates.mode = "strict"`` it fails
        the cell."""
        if self.config.gates.mode == "off":
            return None
        cell, split_key = run.cell, run.split_key
        original, reference = rows[ORIGINAL], rows.get(RETRAIN)

        def accuracy(row: Row, *names: str) -> float:
            model = model_of(row)
            correct = total = 0
            for name in names:
                out = forward(model, parts[name], False)
                correct += int((out.logits.argmax(1) == out.labels).sum())
                total += len(out.labels)
            return 100.0 * correct / max(1, total)

        def compute() -> tuple[dict[str, Any], None]:
            values = {"original_train": accuracy(original, "forget_train", "retain_train"),
                      "original_test": accuracy(original, "test"),
                      "original_retain_test": accuracy(original, "retain_test")}
            if reference is not None:
                values |= {"retrain_retain_test": accuracy(reference, "retain_test"),
                           "retrain_forget_test": accuracy(reference, "forget_test")}
            return {"accuracies": values}, None

        payload = {"stage": "reference accuracies", "original": original.key,
                   "reference": reference.key if reference else None, "split": split_key,
                   "eval_batch_size": self.config.unlearning.eval_batch_size,
                   "fabric": self.fabric_id, "core": self.r.core("evaluate")}
        deps = [("models", original.key), ("splits", split_key)]
        if reference is not None:
            deps.append(("models", reference.key))
        try:
            _, meta, _ = self._stage(Stage(StageKind.CHECK), cell.label(), "results", payload,
                                     compute, deps)
        except Exception as exc:
            self.fail(cell, None, None, Stage(StageKind.CHECK), exc)
            return None
        if not self.store.writes:  # a plan: the accuracies are not known
            return None
        spec = self.r.datasets[cell.dataset]
        gates = self.config.gates
        result = gate_verdict(meta["accuracies"], scenario=cell.scenario,
                              floors=floors_for(spec, self.r.models[cell.model].family),
                              num_classes=spec.num_classes,
                              retain_tolerance=gates.retain_tolerance, forget_max=gates.forget_max)
        result["accuracies"] = meta["accuracies"]
        if not result["passed"]:
            message = (f"reference models of cell {cell.label()} failed their checks: "
                       f"{describe_failures(result)}")
            if gates.mode == "strict":
                self.fail(cell, None, None, Stage(StageKind.CHECK), StageError(
                    message, "Train the references longer or fix the recipe "
                    "(docs/validity.md); gates.mode = 'warn' records the results anyway."))
            elif self.fabric.is_global_zero:
                import warnings

                warnings.warn(message, GateWarning, stacklevel=2)
        return result

    def per_example(self, run: CellRun, row: Row, metric_name: str, metric: GridMetric,
                    context: Callable[[], EvalContext]) -> None:
        """The per-example outputs of a grid metric on one row, stored as a tensor artifact
        (``values`` float64, ``index``: the examples' indices in their dataset split) and
        named in :attr:`examples`; the group's value is computed after its cells
        (:mod:`supreme.pipeline.grid`)."""
        cell, split = run.cell, run.split
        stage = Stage(StageKind.EVALUATE, row.name, metric_name)
        if metric.example_split not in split.tensors() and metric.example_split != "test":
            self.fail(cell, row.name, metric_name, stage, StageError(
                f"grid metric {metric_name!r} names the split {metric.example_split!r}, which "
                f"is not one of {', '.join(('test', *split.tensors()))}",
                "Fix the metric's example_split."))
            return
        payload = {"stage": "evaluate", "per_example": metric.example_split, "model": row.key,
                   "split": run.split_key, "metric": self.r.identity("metrics", metric_name),
                   "seed": cell.eval_seed,
                   "eval_batch_size": self.config.unlearning.eval_batch_size,
                   "fabric": self.fabric_id, "core": self.r.core("evaluate")}

        def compute() -> tuple[dict[str, Any], dict[str, Any]]:
            import torch

            if metric.example_split == "test":
                index = torch.arange(len(run.data.test))
            else:
                index = split.tensors()[metric.example_split]
            values = torch.as_tensor(metric.per_example(context())).detach().double().cpu()
            if values.shape != index.shape:
                raise StageError(
                    f"{metric_name}.per_example returned shape {tuple(values.shape)} for "
                    f"{len(index)} examples of {metric.example_split}",
                    "Return one float per example of the split, in split order.")
            bad = int((~torch.isfinite(values)).sum())
            if bad:
                raise StageError(
                    f"{metric_name}.per_example returned {bad} non-finite value(s) of "
                    f"{len(index)}", "Return finite values (clip or bound the score).")
            return ({"examples": len(index), "split": metric.example_split},
                    {"values": values, "index": index.long().cpu()})

        try:
            key, _, _ = self._stage(stage, cell.label(), "results", payload, compute,
                                    [("models", row.key), ("splits", run.split_key)])
        except Exception as exc:
            self.fail(cell, row.name, metric_name, stage, exc)
            return
        self.examples.append({"method": row.name, "metric": metric_name, "artifact": key,
                              "model_key": row.key})

    def _context(self, run: CellRun, row: Row, reference: Row | None, original: Row,
                 parts: dict[str, ImageTensors], model_of: Callable[[Row], nn.Module],
                 forward: Callable[..., Outputs], shadows: Shadows | None = None,
                 uncached: Callable[..., Outputs] | None = None) -> EvalContext:
        cell, split, data = run.cell, run.split, run.data
        models = {"unlearned": model_of(row), "original": model_of(original)}
        if reference is not None:
            models["reference"] = model_of(reference)
        timings = {"unlearn_seconds": row.seconds}
        if reference is not None:
            timings["retrain_seconds"] = reference.seconds

        def new_model() -> nn.Module:
            seed_everything(cell.eval_seed)
            return self.fabric.to_device(data.new_model()).eval()

        shadow_outputs: Callable[[], ShadowOutputs] | None = None
        found = shadows.of(row.name) if shadows is not None else None
        if shadows is not None and isinstance(found, list):
            def shadow_outputs() -> ShadowOutputs:
                assert shadows is not None and isinstance(found, list)
                # uncached: the memo is keyed by id(model), which a freed shadow's
                # successor may reuse
                return self.shadow_outputs(run, found, shadows.retrained, shadows.members,
                                           parts["forget_train"], uncached or forward)

        return EvalContext(
            method=row.name, models=models, splits=parts, forward=forward,
            shadows=shadow_outputs,
            num_classes=self.r.datasets[cell.dataset].num_classes, scenario=cell.scenario,
            forget_class=split.forget_class, seed=cell.eval_seed,
            timings=timings, resources=row.resources, new_model=new_model,
            batches=training_batches(data.transform, self.fabric.device),
        )

    def _record(self, cell: Cell, method: str, metric: str, entry: Sequence[Any],
                row: Row) -> Record:
        key, value = entry[0], entry[1]
        extra: dict[str, Any] = {"non_finite": entry[2]} if len(entry) > 2 else {}
        if self.r.metrics[metric].is_detail(key):
            extra["detail"] = True
        if self.gates is not None:
            extra["gates"] = record_flag(self.gates)
        return {
            "experiment": self.config.name, **cell.as_dict(), "method": method, "metric": metric,
            "key": key, "value": value, **extra, "artifact": row.key,
            "provenance": {
                "method": self.r.provenance("methods", method) if method in self.r.methods else {},
                "metric": self.r.provenance("metrics", metric),
                "dataset": self.r.provenance("datasets", cell.dataset),
                "model": self.r.provenance("models", cell.model),
            },
        }


def export_split(directory: Path, cell: Cell, split: Split, train: ImageTensors,
                 test: ImageTensors) -> Path:
    """Write a split as CSV (part, index, label[, fine_label]) plus per-class counts, for audit.

    ``index`` refers to the dataset's train set for ``forget_train``/``retain_train`` (and
    ``forget_test`` in the random scenario), to its test set otherwise.
    """
    import json
    import re

    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{cell.dataset}-{cell.scenario}-{cell.target}"
                  f"-s{cell.unlearn_seed}")
    rows = ["part,index,label,fine_label"]
    counts: dict[str, dict[str, int]] = {}
    for part, indices in split.tensors().items():
        from_train = part.endswith("_train") or (part == "forget_test" and split.forget_test_from_train)
        base = train if from_train else test
        labels = base.labels[indices].tolist()
        fine = base.fine_labels[indices].tolist() if base.fine_labels is not None else [""] * len(labels)
        rows += [f"{part},{i},{y},{f}" for i, y, f in zip(indices.tolist(), labels, fine, strict=True)]
        per_class: dict[str, int] = {}
        for y in labels:
            per_class[str(y)] = per_class.get(str(y), 0) + 1
        counts[part] = dict(sorted(per_class.items(), key=lambda kv: int(kv[0])))
    atomic_write_bytes(directory / f"{name}.csv", ("\n".join(rows) + "\n").encode())
    atomic_write_bytes(directory / f"{name}.counts.json", json.dumps(counts, indent=2).encode())
    return directory / f"{name}.csv"


@dataclass(frozen=True)
class Row:
    """A model to evaluate: a method's M_u, or a reference row (M_o, M_r)."""

    name: str
    key: str
    state: dict[str, Any]
    seconds: float
    resources: dict[str, float]


#: shadow model k is seeded with SHADOW_SEED + k (its half of the data, its training and
#: every method applied to it), independent of the cell's seeds
SHADOW_SEED = 7_000_000
#: the golden ratio's fractional part: worker w starts its shadows at ((w-1)·GOLDEN mod 1)·K
GOLDEN = 0.6180339887498949


@dataclass
class Shadows:
    """A cell's shadow models: ``members[k, s]`` (example s of D_f in shadow k's forget
    set), ``retrained`` (``M_r#k``) and per evaluated row its ``unlearned`` shadows (or the
    error that stopped them); ``error``: a failure of a shadow or its retraining."""

    members: torch.Tensor
    retrained: list[Row]
    unlearned: dict[str, list[Row] | BaseException]
    error: BaseException | None = None

    def of(self, row: str) -> list[Row] | BaseException | None:
        """Row ``row``'s shadows, or the error that stopped them (None: the row has none)."""
        return self.error if self.error is not None else self.unlearned.get(row)


def shadow_order(worker: int | None, count: int) -> list[int]:
    """The order in which a process visits shadows 0..count-1: worker w (1-based; a single
    process is worker 1) starts at round(((w-1)·GOLDEN mod 1)·count) and wraps around, so
    concurrent cells sharing the shadows compute different ones instead of waiting on one
    lock. The results do not depend on the order."""
    start = round(((worker or 1) - 1) * GOLDEN % 1.0 * count) % count
    return [*range(start, count), *range(start)]


def index_digest(indices: torch.Tensor) -> str:
    """A digest of a tensor of example indices (a store key names the examples by it)."""
    import hashlib

    return hashlib.sha256(indices.cpu().numpy().astype("<i8").tobytes()).hexdigest()[:32]


#: ``data.on_device = "auto"`` keeps a dataset on a CUDA device up to this share of its free memory
AUTO_DEVICE_SHARE = 0.25


def resident_bytes(*parts: ImageTensors) -> int | None:
    """The bytes of decoded tensors, or ``None`` for lazily decoded images."""
    if any(isinstance(part.images, LazyImages) for part in parts):
        return None  # decoded batch by batch: nothing to keep resident
    return sum(t.element_size() * t.nelement() for part in parts
               for t in (part.images, part.labels, part.fine_labels) if t is not None)


def keep_on_device(setting: bool | str, device: Any, nbytes: int | None) -> bool:
    """``data.on_device``: ``True``/``False`` as set; ``"auto"``: on a CUDA device when the
    decoded tensors take at most :data:`AUTO_DEVICE_SHARE` of its free memory."""
    if setting != "auto":
        return bool(setting)
    if getattr(device, "type", "cpu") != "cuda" or nbytes is None:
        return False
    import torch

    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= AUTO_DEVICE_SHARE * free


def _cpu_state(model: nn.Module) -> dict[str, Any]:
    return {k: v.detach().cpu().clone() for k, v in unwrap(model).state_dict().items()}


def prepare(model: nn.Module, speed: Any, device: Any = None) -> nn.Module:
    """``[speed]`` fast paths (supreme.pipeline.speed, imported lazily: it imports torch)."""
    if not (speed.channels_last or speed.compile):
        return model
    from supreme.pipeline import speed as fast

    return fast.prepare(model, speed, device)


def to_channels_last(model: nn.Module) -> nn.Module:
    from supreme.pipeline import speed as fast

    return fast.to_channels_last(model)


def sync_batchnorm(model: nn.Module, fabric: Fabric) -> nn.Module:
    """BatchNorm statistics synchronised across processes under DDP on CUDA/XPU.

    PyTorch's SyncBatchNorm runs on accelerators only; on CPU (gloo) each process keeps
    its own batch statistics, as plain DDP does (docs/distributed.md).
    """
    import torch

    if fabric.world_size > 1 and fabric.device.type in ("cuda", "xpu"):
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def finite_state(model: nn.Module, what: str) -> dict[str, Any]:
    """The model's CPU state dict; a NaN or infinite weight raises :class:`StageError`.

    Such a model is never stored, so a rerun computes the stage again.
    """
    import torch

    state = _cpu_state(model)
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise StageError(
            f"{what} has non-finite weights (NaN or inf) in {len(bad)} of {len(state)} tensors, "
            f"first {bad[0]!r}",
            "The stage diverged: lower its learning rate or check its loss for NaN.",
        )
    return state


def describe_failure(exc: BaseException, stage: Stage | str, config: ExperimentConfig,
                     fabric: Fabric) -> tuple[str, str]:
    """``(error type, message)`` for a failure record; out-of-memory says what to lower."""
    kind = stage.kind if isinstance(stage, Stage) else None
    if isinstance(stage, str):
        with contextlib.suppress(ValueError):
            kind = Stage.parse(stage).kind
    error_type = type(exc).__name__
    message = exc.message if isinstance(exc, StageError) else str(exc)
    if error_type == "OutOfMemoryError" or "out of memory" in message.lower():
        import torch

        if fabric.device.type == "cuda":
            torch.cuda.empty_cache()
        if kind in (StageKind.EVALUATE, StageKind.CHECK):
            knob = f"unlearning.eval_batch_size (now {config.unlearning.eval_batch_size})"
        elif kind in (StageKind.TRAIN, StageKind.RETRAIN):
            knob = f"training.batch_size (now {config.training.batch_size or 'the recipe default'})"
        else:
            knob = f"unlearning.batch_size (now {config.unlearning.batch_size or 'the default 64/128'})"
        message = (f"out of memory on {fabric.device} in stage {str(stage)!r}; lower {knob}, "
                   f"e.g. --set {knob.split()[0]}=32. ({message.splitlines()[0][:200]})")
        error_type = "OutOfMemoryError"
    return error_type, message
