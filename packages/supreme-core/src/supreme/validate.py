"""Everything that can be checked before the first epoch, checked before the first epoch.

``run()`` and ``plan()`` call :func:`validate` after resolving the experiment (which has
already looked up every component, suggested the closest name for an unknown one,
validated every ``[kind.NAME]`` table, checked that each dataset and method supports the
chosen scenarios and that each forget target exists). :func:`validate` then checks, in
this order, from cheapest to dearest:

1. the output locations (``output_dir``, the store and the run directory are directories
   or can be created; ``slurm.folder`` stays inside the run directory);
2. the ``[fabric]`` table against this machine (:func:`supreme.pipeline.fabric.check_fabric`;
   for a SLURM submission only what holds on any machine);
3. what the chosen metrics need (known needs only; penultimate features need a model with a
   linear head);
4. the data: a dataset's own file check (:meth:`DatasetSpec.check_files
   <supreme.contracts.DatasetSpec.check_files>`, which checks nothing unless a spec
   overrides it, raising :class:`~supreme.errors.DatasetError`), its labels, and the
   forget/retain sets of every cell, which must not be empty.

The labels come from :meth:`DatasetSpec.split_labels
<supreme.contracts.DatasetSpec.split_labels>`, which the image-folder datasets implement
without decoding a single image; where it returns ``None`` (the default) the split is
loaded (``load(split)``), which for the built-in datasets is cheap (a lazy spec decodes
nothing).

Every problem is one :class:`~supreme.errors.SupremeError` naming the field, the bad value
and the fix. Nothing is written: no run directory, no store entry.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from supreme.contracts.metric import NEEDS
from supreme.errors import ConfigError, DatasetError, PluginError, SupremeError

if TYPE_CHECKING:
    import torch

    from supreme.config import ExperimentConfig
    from supreme.contracts import DatasetSpec
    from supreme.plan import Cell, Resolved

__all__ = ["check_data", "check_metrics", "check_outputs", "validate"]

#: What a run writes inside its run directory: folders, then files.
RUN_FOLDERS = ("splits", "cells", "logs", "slurm")
RUN_FILES = ("config.json", "results.jsonl", "failures.jsonl")


def validate(resolved: Resolved, cells: Sequence[Cell], *, local: bool | None = None) -> None:
    """Raise the first problem of the experiment that would show only after some compute.

    ``local``: whether the cells run on this machine (default: ``launch.launcher`` is
    ``local``). For a SLURM submission the ``[fabric]`` table is checked only for what holds
    on any machine (the compute nodes check the rest when their Fabric is built), so a GPU
    job can be submitted from a login node without GPUs.
    """
    from supreme.pipeline.fabric import Machine, check_fabric

    config = resolved.config
    if local is None:
        local = getattr(getattr(config, "launch", None), "launcher", "local") != "slurm"
    check_outputs(config)
    check_fabric(config.fabric, None if local else Machine.elsewhere())
    check_metrics(resolved)
    check_data(resolved, cells)


# -- outputs --------------------------------------------------------------------------
def check_outputs(config: ExperimentConfig) -> None:
    """Every output location is (or can become) a writable directory inside ``output_dir/name``."""
    out = Path(config.output_dir)
    run_dir = config.run_dir()
    if len(Path(config.name).parts) != 1 or config.name in (".", ".."):
        raise ConfigError(f"name = {config.name!r} is not a single directory name",
                          "Use letters, digits, '_', '.' and '-' only.")
    slurm = getattr(getattr(config, "slurm", None), "folder", None)
    if slurm is not None and (Path(slurm).is_absolute() or ".." in Path(slurm).parts):
        raise ConfigError(f"slurm.folder = {str(slurm)!r} would leave the run directory {run_dir}",
                          "Give a relative path without '..' (it is relative to output_dir/name).")
    _check_path_lengths(out)
    folders = [(out, "output_dir"), (out / "store", "output_dir"), (run_dir, "name")]
    folders += [(run_dir / sub, "name") for sub in RUN_FOLDERS]
    for path, field in folders:
        if path.exists() and not path.is_dir():
            what = _not_a_folder(path)
            fix = (f"Move or delete {path}, or choose another {field}." if what == "a file"
                   else f"Choose another {field} (e.g. --set output_dir=supreme-runs); leave "
                   f"{path} as it is.")
            raise ConfigError(
                f"{field} = {str(getattr(config, field))!r}: {path} is {what}, not a directory",
                fix,
            )
        if path.is_dir():
            _check_writable(path, field, str(getattr(config, field)))
    for name in RUN_FILES:
        if (run_dir / name).is_dir():
            raise ConfigError(
                f"name = {config.name!r}: {run_dir / name} is a directory, but the run writes a "
                "file there", f"Move or delete {run_dir / name}, or choose another name.",
            )
    existing = next(p for p in (run_dir, *run_dir.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        what = _not_a_folder(existing)
        raise ConfigError(
            f"output_dir = {str(out)!r}: {existing} is {what}, so {run_dir} cannot be created",
            "Choose an output_dir whose parent directories are directories"
            + (f", or move {existing}." if what == "a file" else f"; leave {existing} as it is."),
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"output_dir = {str(out)!r}: {existing} is not writable, so results cannot be saved",
            "Choose an output_dir you can write to (e.g. --set output_dir=supreme-runs).",
        )


def _not_a_folder(path: Path) -> str:
    """What ``path`` is, in words: "a file", or the kind of special file it is."""
    import stat

    mode = os.stat(path).st_mode
    for test, what in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "a file"


def _check_path_lengths(out: Path) -> None:
    too_long = [p for p in out.parts if len(os.fsencode(p)) > 255]
    if too_long or len(os.fsencode(str(out))) > 3900:
        raise ConfigError(
            f"output_dir is too long for the file system ({len(str(out))} characters"
            + (f"; a part has {len(os.fsencode(too_long[0]))} bytes, at most 255" if too_long
               else "") + ")",
            "Choose a shorter output_dir (e.g. --set output_dir=supreme-runs).",
        )


def _check_writable(path: Path, field: str, value: str) -> None:
    """``path`` (an existing folder a run writes into) is writable: not on a read-only file
    system, not without write permission."""
    read_only = False
    with contextlib.suppress(OSError):
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    if read_only or not os.access(path, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if read_only else "is not writable"
        raise ConfigError(
            f"{field} = {value!r}: {path} {why}, so results cannot be saved there",
            "Remount it read-write or fix its permissions, or choose another output_dir "
            "(e.g. --set output_dir=supreme-runs).",
        )


# -- metrics --------------------------------------------------------------------------
def check_metrics(resolved: Resolved) -> None:
    """Each metric declares only known needs, and the models can give what it needs."""
    for name, metric in resolved.metrics.items():
        unknown = sorted(set(metric.needs) - NEEDS)
        if unknown:
            where = resolved.provenance("metrics", name)
            if unknown == ["weights"]:
                raise PluginError(
                    f"metric {name!r} (from {where['distribution']} {where['version']}) needs "
                    "'weights', which supreme-core 0.3.0 removed (it changed nothing)",
                    "Drop 'weights' from the metric's needs: every metric reads the models' "
                    "parameters through ctx.models.")
            raise PluginError(
                f"metric {name!r} (from {where['distribution']} {where['version']}) needs "
                f"{', '.join(map(repr, unknown))}, which the pipeline cannot provide",
                f"A metric may need only: {', '.join(sorted(NEEDS))}. Update the plugin, or "
                f"remove {name!r} from metrics.",
            )
        if "shadows" in metric.needs:
            count = metric.shadow_models()
            if not isinstance(count, int) or count < 2:
                raise ConfigError(
                    f"metric {name!r} needs shadow models but asks for {count!r}; a "
                    "per-example attack needs at least 2",
                    f"Set [metric.{name}] shadows to 2 or more (docs/metrics.md says how many "
                    "give a meaningful value).")
    wanting = [name for name, metric in resolved.metrics.items() if "features" in metric.needs]
    if wanting:
        _check_feature_layers(resolved, wanting[0])


def _check_feature_layers(resolved: Resolved, metric: str) -> None:
    """Penultimate features are the input of the last ``nn.Linear``: the model needs one."""
    import torch

    from supreme.pipeline.evaluate import penultimate_layer

    for model_name, model_spec in resolved.models.items():
        for spec in resolved.datasets.values():
            channels = spec.channels
            try:  # built on the meta device: no memory, no initialisation cost
                with torch.device("meta"):
                    net = model_spec.create(spec.num_classes, channels, model_spec.input_side(spec))
            except SupremeError:
                raise
            except Exception:  # cannot be built on the meta device: checked when it runs
                continue
            if penultimate_layer(net) is None:
                raise ConfigError(
                    f"metric {metric!r} needs penultimate-layer features, but model "
                    f"{model_name!r} has no nn.Linear layer to take them from",
                    f"Remove {metric!r} from metrics, or use a model with a linear "
                    "classification head.",
                )
            break


# -- data -----------------------------------------------------------------------------
def check_data(resolved: Resolved, cells: Sequence[Cell]) -> None:
    """Dataset files, labels, and non-empty forget/retain sets for every cell."""
    wanted: dict[str, set[tuple[str, str]]] = {}
    for cell in cells:
        wanted.setdefault(cell.dataset, set()).add((cell.scenario, cell.target))
    for name, pairs in wanted.items():
        spec = resolved.datasets[name]
        spec.check_files()
        labels = {split: _labels(spec, name, split) for split in ("train", "test")}
        for scenario, target in sorted(pairs):
            _check_split(spec, name, scenario, target, labels)
        _check_same_amounts(name, sorted(t for s, t in pairs if s == "random"),
                            len(labels["train"][0]))


def _labels(spec: DatasetSpec, name: str, split: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    import torch

    known = spec.split_labels(split)  # type: ignore[arg-type]
    if known is not None:
        labels, fine = known
    else:
        data = spec.load(split)  # type: ignore[arg-type]
        labels, fine = data.labels, data.fine_labels
    labels = torch.as_tensor(labels).reshape(-1).long()
    fine = None if fine is None else torch.as_tensor(fine).reshape(-1).long()
    if len(labels) == 0:
        raise DatasetError(f"dataset {name!r} has no {split} samples",
                           "Check the dataset's files (and its `root` option).")
    _check_range(name, split, "labels", labels, spec.num_classes)
    if fine is not None:
        if len(fine) != len(labels):
            raise DatasetError(f"dataset {name!r}: its {split} split has {len(labels)} labels but "
                               f"{len(fine)} fine labels", "Fix the dataset's load().")
        _check_range(name, split, "fine labels", fine, len(spec.fine_class_names or ()))
    return labels, fine


def _check_range(name: str, split: str, what: str, values: torch.Tensor, count: int) -> None:
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= count:
        raise DatasetError(
            f"dataset {name!r}: its {split} {what} run from {low} to {high}, but it names "
            f"{count} classes (ids 0..{count - 1})",
            "The dataset's files and its class list disagree; fix or replace them.",
        )


def _check_same_amounts(name: str, targets: list[str], n_train: int) -> None:
    """Two random-scenario targets that forget the same number of samples ("0.5" and "32" of
    64) are one target: their cells would compute the same splits twice."""
    from supreme.pipeline.split import parse_amount

    seen: dict[int, str] = {}
    for target in targets:
        size = parse_amount(target, n_train)
        if size in seen:
            raise ConfigError(
                f"targets.random: {seen[size]!r} and {target!r} both forget {size} of the "
                f"{n_train} training samples of {name!r}, so they are the same target",
                "Keep one of them in targets.random.",
            )
        seen[size] = target


def _check_split(spec: DatasetSpec, name: str, scenario: str, target: str,
                 labels: dict[str, tuple[torch.Tensor, torch.Tensor | None]]) -> None:
    from supreme.pipeline.split import parse_amount

    (train, train_fine), (test, test_fine) = labels["train"], labels["test"]
    field = f"targets.{scenario} = {target!r}"
    if scenario == "random":
        size = parse_amount(target, len(train))
        if size >= len(train):
            raise ConfigError(
                f"{field}: would forget {size} of the {len(train)} training samples of "
                f"{name!r}, leaving the retain set D_r empty",
                "Forget fewer samples: a fraction in (0, 1) such as \"0.1\", or a smaller count.",
            )
        if size < 1:
            raise ConfigError(f"{field}: forgets no sample of the {len(train)} of {name!r}",
                              "Use a larger fraction or a count of at least 1.")
        return
    if scenario == "fullclass":
        what, ident = "class", spec.class_id(target)
        in_train, in_test = train == ident, test == ident
    else:
        if train_fine is None or test_fine is None or not spec.fine_class_names:
            raise ConfigError(
                f"dataset {name!r} has no coarse/fine labels, so it has no sub-class scenario",
                "Use a dataset with a class hierarchy (e.g. cifar20), or another scenario.",
            )
        what, ident = "fine class", spec.fine_class_names.index(target)
        in_train, in_test = train_fine == ident, test_fine == ident
    n_train, n_test = int(in_train.sum()), int(in_test.sum())
    parts = (("forget set D_f", n_train), ("retain set D_r", len(train) - n_train),
             ("forget test set D'_f", n_test), ("retain test set D'_r", len(test) - n_test))
    for part, count in parts:
        if count == 0:
            raise ConfigError(
                f"{field}: the {part} of {name!r} would be empty ({what} {target!r} has "
                f"{n_train} of {len(train)} training and {n_test} of {len(test)} test samples)",
                f"Choose another {what} as target, or fix the dataset so that every class has "
                "training and test samples.",
            )
