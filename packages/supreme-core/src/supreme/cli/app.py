"""The Typer application: one module-level function per command, assembled by
:func:`build_app` (with the commands plugins add through ``supreme_register_commands``).

Each command is a plain function (Typer reads its signature), importable and callable on its
own, e.g. ``from supreme.cli.app import plan; plan(as_json=True)``. Errors propagate as
:class:`~supreme.errors.SupremeError`; :mod:`supreme.cli.main` turns them into messages
and exit codes.
"""

from __future__ import annotations

import enum
import json
import statistics
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from supreme.cli import output
from supreme.cli.options import OPTION


class Kind(str, enum.Enum):
    methods = "methods"
    metrics = "metrics"
    datasets = "datasets"
    models = "models"


CONFIG_ARG = typer.Argument(help="Experiment TOML file (default: the embedded default).",
                            show_default=False)
SET_OPTION = typer.Option(
    "--set", "-s", help="Override a field, e.g. --set seeds.train=[0,1] (repeatable).",
    show_default=False,
)
JSON_OPTION = typer.Option("--json", help="Print machine-readable JSON on stdout.")
INCLUDE_OPTION = typer.Option(
    "--include", "-i", help="Add an experiment-file fragment, e.g. one `supreme tune` wrote "
    "(its tuned method rows run next to the default ones; repeatable).", show_default=False)
RECOMPUTE_OPTION = typer.Option(
    "--recompute", help="Compute these stages again, and what depends on them: all, dataset, "
    "models, split, retrain, unlearn[:METHOD], evaluate[:METRIC], shadows (comma-separated, "
    "repeatable). Old artifacts stay until the new ones are written.",
    metavar="STAGE[,STAGE]", show_default=False)


def run(
    config: Annotated[Path | None, CONFIG_ARG] = None,
    set_: Annotated[list[str] | None, SET_OPTION] = None,
    include: Annotated[list[Path] | None, INCLUDE_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Progress bars (default: on a terminal).",
        show_default=False)] = None,
    workers: Annotated[str | None, typer.Option(
        "--workers", "-w", help="Cells run at once on this machine (N or auto; "
        "default: launch.workers).", show_default=False)] = None,
    launcher: Annotated[str | None, typer.Option(
        "--launcher", help="local or slurm (default: launch.launcher).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --launcher slurm: print the sbatch parameters and the "
        "cells, submit nothing.")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="With --launcher slurm: wait for the job array and collect "
        "its results (default), or return once it is submitted.")] = True,
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", help="Stop at the first failed stage (default: record it, go on).")
    ] = False,
    recompute: Annotated[list[str] | None, RECOMPUTE_OPTION] = None,
    strict_gates: Annotated[bool, typer.Option(
        "--strict-gates", help="A cell whose reference models (M_o, M_r) fail their "
        "checks fails (same as gates.mode = 'strict').")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="The run directory holds another experiment: replace its "
        "results (the store keeps every artifact).")] = False,
    all_keys: Annotated[bool, typer.Option(
        "--all-keys", help="Also print the keys metrics declare details (e.g. per-layer "
        "distances); they are always in results.jsonl.")] = False,
) -> None:
    """Train, unlearn and evaluate every cell of an experiment; print the results.

    A failing method or metric fails its cell (recorded in failures.jsonl and the
    report) and the grid goes on; the exit code is then 1. Ctrl-C stops after the
    current stage; rerunning resumes from the store.
    """
    import supreme
    from supreme import progress as bars
    from supreme.engine import failures_error

    overrides = [*(set_ or ()), *(["gates.mode='strict'"] if strict_gates else [])]
    cfg = supreme.load_config(config, overrides, includes=include or ())
    bars.enable(False if as_json else progress)
    results = supreme.run(cfg, reporter=output.stage_printer(),  # stage lines: stderr
                          fail_fast=fail_fast, workers=workers, launcher=launcher,
                          dry_run=dry_run, wait=wait,
                          recompute=recompute, overwrite=overwrite)
    if dry_run or results.rank != 0:
        return  # one process prints (under DDP every process runs this command)
    if not wait:
        typer.echo(f"submitted; follow it with: supreme status {results.run_dir}", err=True)
        return
    if results.ran == 0 and results.cells:
        typer.echo(f"every cell had finished with this code, torch and data: read "
                   f"{results.cells} outcome file(s) from {results.run_dir / 'cells'} "
                   "(--recompute STAGE computes again)", err=True)
    if as_json:
        payload = {"run_dir": str(results.run_dir), "records": results.records,
                   "failures": results.failures, "gates": results.gates}
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        output.print_results(results, all_keys)
    if results.failures or results.unfinished:
        raise failures_error(results)


def plan(
    config: Annotated[Path | None, CONFIG_ARG] = None,
    set_: Annotated[list[str] | None, SET_OPTION] = None,
    include: Annotated[list[Path] | None, INCLUDE_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
    recompute: Annotated[list[str] | None, RECOMPUTE_OPTION] = None,
) -> None:
    """Show the cells of an experiment and the work they imply, without running it
    (with --recompute: what `supreme run --recompute` would compute again)."""
    import supreme
    from supreme.engine import plan as make_plan

    cfg = supreme.load_config(config, set_ or (), includes=include or ())
    result = make_plan(cfg, recompute=recompute)
    counts = result.counts()
    if as_json:
        payload = {"cells": [c.as_dict() for c in result.cells], "counts": counts}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    output.table(f"cells ({len(result.cells)})", [c.as_dict() for c in result.cells],
                 ["dataset", "model", "scenario", "target", "train_seed", "unlearn_seed",
                  "eval_seed"])
    output.table("work", [{"kind": k, **v} for k, v in counts.items()],
                 ["kind", "total", "existing", "to_compute"])


def tune(
    config: Annotated[Path | None, CONFIG_ARG] = None,
    method: Annotated[list[str] | None, typer.Option(
        "--method", "-m", help="The method to tune (repeatable).", show_default=False)] = None,
    trials: Annotated[int | None, typer.Option(
        "--trials", "-n", min=1, help="Trials per study (default: tune.trials).",
        show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=1, help="Start no trial after this many seconds per study "
        "(default: tune.timeout_s).", show_default=False)] = None,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1, max=64, help="Trials run at once (processes sharing the "
        "study).")] = 1,
    set_: Annotated[list[str] | None, SET_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Search a method's hyper-parameters against the retrained model, with Optuna.

    Trials run on a validation split carved from the training data (never the test
    split) with the tuning seeds; the objective is the distance to M_r (docs/tuning.md).
    The study is kept in RUN_DIR/tune/studies.db (rerunning resumes it) and the best
    settings are written as a fragment for `supreme run --include`.
    """
    import supreme
    from supreme import progress as bars
    from supreme.tune import tune as run_tune

    cfg = supreme.load_config(config, set_ or ())
    bars.enable(False)
    def say(line: str) -> None:
        typer.echo(line, err=True)

    results = run_tune(cfg, list(method or ()), trials=trials, timeout_s=timeout,
                       workers=workers, say=say)
    if as_json:
        sys.stdout.write(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
        return
    output.table("tuning", [{
        "study": r.study, "trials": f"{r.complete}/{r.trials}" + (
            f" ({r.pruned} pruned, {r.failed} failed)" if r.pruned or r.failed else ""),
        "default": "-" if r.default_value is None else f"{r.default_value:.4g}",
        "best": "-" if r.best_value is None else f"{r.best_value:.4g}",
        "best settings": ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in r.best_params.items()),
        "s/trial": f"{statistics.median(r.trial_seconds):.1f}" if r.trial_seconds else "-",
    } for r in results], ["study", "trials", "default", "best", "best settings", "s/trial"])
    for r in results:
        if r.fragment is not None:
            command = " ".join(["supreme run", *([str(config)] if config else []),
                                "--include", str(r.fragment)])
            typer.echo(f"{r.study}: {command}", err=True)


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (output_dir/name).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write (default: RUN_DIR/report).")] = None,
    rank_by: Annotated[list[str] | None, typer.Option(
        "--rank-by", help="metric:key the ranking distance to retrain averages (repeatable; "
        "default: accuracy:forget_test, accuracy:retain_test, accuracy:test, "
        "mia:forget_train).", metavar="METRIC:KEY", show_default=False)] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Write the tables (CSV, Parquet, Markdown, LaTeX), ranking, plots, leaderboard and
    HTML report of a finished run."""
    from supreme.report import write_report

    files = write_report(run_dir, out, rank_by=rank_by)
    if as_json:
        sys.stdout.write(json.dumps({k: str(v) for k, v in files.items()}, indent=2) + "\n")
    else:
        for kind, path in files.items():
            typer.echo(f"{kind:<12} {path}")


def gc(
    output_dir: Annotated[Path, typer.Argument(
        help="The experiments' output_dir (holds store/ and one directory per run).")
    ] = Path("supreme-runs"),
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be removed; remove nothing.")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Remove store artifacts that no cell of any run references. While runs are alive,
    everything they use or wrote since they started is kept (and listed with why)."""
    from supreme.gc import collect_garbage

    found = collect_garbage(output_dir, dry_run=dry_run)
    if as_json:
        sys.stdout.write(json.dumps(found.__dict__, indent=2) + "\n")
        return
    verb = "would remove" if dry_run else "removed"
    for run in found.live_runs:
        typer.echo(f"live run: {run}")
    for name in found.removed:
        typer.echo(f"{verb} {name}")
    for name in found.links:
        typer.echo(f"{verb} {name} (a symlink: the link only, its target is untouched)")
    for name in found.busy:
        typer.echo(f"skipped {name} (being computed)")
    for name, reason in found.in_use.items():
        typer.echo(f"kept {name} ({reason})")
    typer.echo(f"{verb} {len(found.removed)} artifacts and {len(found.temporary)} temporary "
               f"files ({found.freed_bytes / 1e6:.1f} MB); kept {found.kept}")


def list_(
    kind: Annotated[Kind, typer.Argument(help="What to list.")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List installed components of one kind with the distribution providing each."""
    from supreme import registry

    entries = registry.list_components(kind.value)
    rows = [e.as_dict() for e in entries]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        output.table(f"{kind.value} ({len(rows)})", rows,
                     ["name", "distribution", "version", "description"])


def describe(
    component: Annotated[str, typer.Argument(
        help="A component name, or KIND:NAME (e.g. finetune, metric:accuracy).",
        show_default=False)],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show a component: where it comes from, what it does, and every hyperparameter
    with its type, default, bounds and description (what [method.NAME] etc. accept)."""
    from supreme import registry
    from supreme.describe import describe as describe_entry
    from supreme.describe import find

    info = describe_entry(find(registry.default(), component))
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    output.describe(info)


def plugins(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Show loaded plugins, what each registers, and any that failed to load."""
    from supreme import registry

    rows = plugin_rows(registry.default())
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        output.table("plugins", rows, ["plugin", "distribution", "version", "status",
                                       "components"])


def env(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Versions of Python, torch, CUDA, Lightning and every plugin (for bug reports)."""
    info = environment()
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
    else:
        output.key_values("environment", info)


def status(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (output_dir/name).")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Per cell: queued, running, finished, failed or missing (SLURM jobs included)."""
    from supreme.launch.status import run_status

    info = run_status(run_dir)
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    rows = [{**r, "job": r["job"] or "", "error": "; ".join(r["errors"])[:120]}
            for r in info["cells"]]
    output.table(f"cells of {info['run_dir']}", rows,
                 ["index", "label", "state", "job", "error"])
    typer.echo(", ".join(f"{n} {s}" for s, n in info["counts"].items() if n) or "no cells")
    for row in info["cells"]:
        for error in row["errors"]:
            typer.echo(f"[{row['index']}] {error}")
    for note in info["notes"]:
        typer.echo(f"note: {note}")


def new_plugin(
    name: Annotated[str, typer.Argument(
        help="The plugin's name: the entry point, the prefix of its components and of "
        "the distribution (supreme-NAME).", show_default=False)],
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Where to write it (default: ./supreme-NAME).",
        show_default=False)] = None,
) -> None:
    """Write a working plugin distribution: a method, a metric, a dataset and a model,
    their conformance tests, the entry point, mypy-clean code (docs/plugins.md)."""
    from supreme import __version__
    from supreme.scaffold import new_plugin as scaffold

    target = scaffold(name, directory, core=__version__)
    typer.echo(f"wrote {target}; next: cd {target} && pip install -e '.[test]' && pytest")


def global_options(
    debug: Annotated[bool, typer.Option("--debug", help=OPTION["--debug"].help)] = False,
    strict_plugins: Annotated[bool, typer.Option(
        "--strict-plugins", help=OPTION["--strict-plugins"].help)] = False,
    plugin: Annotated[list[Path] | None, typer.Option(
        "--plugin", help=OPTION["--plugin"].help)] = None,
) -> None:
    """Global options may also be given after the command."""
    # Parsed before the app is built (supreme.cli.options.split_global_options); declared
    # here so that `supreme --help` shows them.


#: (name, function) of every built-in command, in the order `supreme --help` lists them
COMMANDS: tuple[tuple[str, Any], ...] = (
    ("run", run), ("plan", plan), ("tune", tune), ("report", report), ("gc", gc), ("list", list_),
    ("describe", describe), ("plugins", plugins), ("env", env), ("status", status),
)


def build_app() -> typer.Typer:
    """The ``supreme`` application: the built-in commands, ``new plugin`` and the commands
    of the loaded plugins (a new app per call: plugin sets differ between calls)."""
    app = typer.Typer(
        name="supreme",
        help="Evaluate machine-unlearning methods against a model retrained from scratch.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(global_options)
    for name, command in COMMANDS:
        app.command(name)(command)
    new = typer.Typer(help="Create a new project to start from.", no_args_is_help=True)
    new.command("plugin")(new_plugin)
    app.add_typer(new, name="new")

    from supreme import registry

    registry.default().plugins.pm.hook.supreme_register_commands(app=app)
    return app


def plugin_rows(reg: Any) -> list[dict[str, Any]]:
    counts: dict[str, list[str]] = {}
    for kind in ("methods", "metrics", "datasets", "models"):
        for entry in reg.list(kind):
            counts.setdefault(entry.provenance.plugin, []).append(f"{kind[:-1]}:{entry.name}")
    rows = [
        {**prov.as_dict(), "status": "loaded", "components": ", ".join(counts.get(name, []))}
        for name, _, prov in reg.plugins.plugins()
    ]
    rows += [
        {"plugin": f.plugin, "distribution": f.distribution, "version": f.version,
         "status": "failed", "components": f.error}
        for f in reg.plugins.failures
    ]
    return rows


def environment() -> dict[str, Any]:
    import platform
    from importlib import metadata

    from supreme import registry
    from supreme.plugins import core_version

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "supreme-core": core_version(),
    }
    for dist in ("torch", "lightning", "numpy", "pydantic", "pluggy", "typer"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[dist] = "not installed"
    try:
        import torch

        info["cuda available"] = torch.cuda.is_available()
        info["cuda"] = torch.version.cuda or "none"
        info["devices"] = torch.cuda.device_count()
        info["mps available"] = bool(getattr(torch.backends, "mps", None)
                                     and torch.backends.mps.is_available())
    except Exception as exc:  # torch broken: say so, env is for bug reports
        info["torch error"] = f"{type(exc).__name__}: {exc}"
    for name, _, prov in registry.default().plugins.plugins():
        info[f"plugin {name}"] = f"{prov.distribution} {prov.version}"
    return info
