"""One run directory, one experiment.

``OUTPUT_DIR/NAME/config.json`` records the experiment whose results the directory holds.
Starting an experiment there again resumes it when it is the same experiment, and is
refused (exit 2) when it is another one, unless ``--overwrite`` clears the directory first.

"The same experiment" means the same :func:`experiment_identity`:
every field that changes what a cell computes (the same fields that make up cell ids).
Fields that only decide how cells are scheduled, where their tensors live or where results
go (``[launch]`` such as ``--workers``, ``[slurm]``, ``[loggers]``, ``[data]``,
``output_dir``, ``name``) may differ between a run and its resumption. Both sides are
compared after secret redaction, since ``config.json`` is written redacted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from supreme.config import ExperimentConfig
from supreme.errors import ConfigError

#: what a run writes in its run directory (``--overwrite`` removes exactly these)
WRITTEN = ("config.json", "results.jsonl", "failures.jsonl", "cells", "splits", "logs", "slurm",
           "report")
#: experiment fields that decide how cells are scheduled or where their tensors live, not
#: what they compute (``[data] on_device`` moves the same batches to the same device)
SCHEDULING = {"launch", "slurm", "loggers", "output_dir", "name", "data"}


#: Fields that change no number a run computes: how ``supreme tune`` searches, and the
#: provenance of tuned variants (their settings are in ``[method]``).
NOT_COMPUTED = {"tune", "tuned"}


def experiment_identity(config: ExperimentConfig) -> dict[str, Any]:
    """Every field of ``config`` that changes what a cell computes (cell ids hash it).
    ``validation`` enters only when set, so the identities of runs written before it
    existed are unchanged."""
    identity = config.model_dump(mode="json", exclude=SCHEDULING | NOT_COMPUTED)
    if identity.get("validation") is None:
        identity.pop("validation", None)
    return identity


def identity(config: ExperimentConfig) -> dict[str, Any]:
    """The experiment identity of ``config``, with secrets redacted."""
    from supreme.secrets import redact

    return redact(experiment_identity(config), secrets=())


def identity_hash(config: ExperimentConfig) -> str:
    from supreme.lease import experiment_hash

    return experiment_hash(identity(config))


def recorded(run_dir: Path) -> ExperimentConfig | str | None:
    """The experiment recorded in ``run_dir/config.json``: ``None`` when there is none, a
    string (why) when it cannot be read as an experiment."""
    path = run_dir / "config.json"
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ExperimentConfig.model_validate(data)
    except (OSError, ValueError, RecursionError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths where two identities differ (first few)."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        path = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, path + ".")
        elif a != b:
            out.append(f"{path} ({json.dumps(a, default=str)} there, {json.dumps(b, default=str)} now)")
    return out


def claim(config: ExperimentConfig, *, overwrite: bool = False) -> None:
    """Check that ``config`` may write to its run directory; with ``overwrite`` clear what an
    earlier run wrote there (the store is untouched)."""
    run_dir = config.run_dir()
    found = recorded(run_dir)
    if found is None:
        return
    if overwrite:
        clear(run_dir)
        return
    if isinstance(found, str):
        raise ConfigError(
            f"run directory {run_dir} holds a config.json that is not a readable experiment "
            f"({found}), so its results cannot be matched to this experiment",
            "Use another run directory with --set name=NEW_NAME, or replace its results with "
            "--overwrite.",
        )
    changed = differences(identity(found), identity(config))
    if changed:
        shown = "; ".join(changed[:3]) + (f"; and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise ConfigError(
            f"run directory {run_dir} holds the results of another experiment "
            f"({run_dir / 'config.json'}); this one differs in {shown}",
            "Give this experiment its own run directory with --set name=NEW_NAME, or replace "
            "the old results with --overwrite (the store keeps every artifact).",
        )


def clear(run_dir: Path) -> None:
    """Remove what a run wrote in ``run_dir`` (links are removed as links)."""
    for name in WRITTEN:
        path = run_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
