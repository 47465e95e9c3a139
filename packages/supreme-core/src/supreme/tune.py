"""``supreme tune``: search a method's hyper-parameters against the retrained model M_r.

One Optuna study per (dataset, model, scenario, method), kept in SQLite under
``RUN_DIR/tune/studies.db`` (resumable). A trial is an ordinary set of cells run through
the pipeline's own store on the *tuning data*:

* every dataset's training data minus a seeded, class-stratified validation split
  (``[tune.validation]``), which plays the test split: the real test split, which the
  report uses, is never read, and the validation examples are neither trained on by M_o
  and M_r nor seen by the method (they are not in D_f or D_r);
* the tuning seeds (``tune.train_seeds`` and ``tune.unlearn_seeds``, sparse protocol),
  which must not be the experiment's own unlearning and evaluation seeds.

M_o, the split and M_r are shared by every trial (their store keys do not depend on the
method's settings), so a trial costs the method's unlearning and its evaluation. The
objective is the ranking's distance to retrain (:func:`supreme.report.ranking.
seed_distances`) over ``tune.objective`` (default: forget accuracy, retain accuracy and
the MIA: DeepUnlearn's objective), averaged over the tuning cells, minimised. Trial 0 is
the method's current settings, so "tuned vs default" on the validation split is in every
study. A trial whose method or metric fails is recorded as failed and the study goes on;
with ``tune.prune``, a trial worse than the median of earlier trials after a tuning cell
is stopped (Optuna's median pruner, one step per cell).

The best settings are written as an experiment-file fragment,
``RUN_DIR/tune/<dataset>-<model>-<scenario>-<method>.toml``, holding
``[method."METHOD@tuned"]`` and its ``[tuned."METHOD@tuned"]`` provenance; ``supreme run
--include FRAGMENT`` adds the tuned row next to the default one. docs/tuning.md.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from supreme.config import ExperimentConfig, component_config
from supreme.contracts.method import RETRAIN
from supreme.contracts.search import Search, parse_search
from supreme.errors import ConfigError, SupremeError, UsageError
from supreme.plan import resolve, seed_triples
from supreme.registry import Registry, default

if TYPE_CHECKING:
    import optuna

__all__ = ["StudyResult", "search_space", "trial_config", "tune", "tune_dir"]

#: the label of the variant a tuned configuration runs as (``neg_grad@tuned``)
TUNED_LABEL = "tuned"


class TrialFailed(SupremeError):
    """A trial's method or metric failed (recorded as a failed trial; the study goes on)."""

    exit_code = 1


class ReferencesFailed(SupremeError):
    """The tuning M_o or M_r fail their checks: every trial would score against them, so
    the study stops (exit 1)."""

    exit_code = 1


@dataclass
class StudyResult:
    """What one study found (``supreme tune`` prints one row per study)."""

    study: str
    method: str
    dataset: str
    model: str
    scenario: str
    trials: int
    complete: int
    pruned: int
    failed: int
    default_value: float | None
    best_value: float | None
    best_trial: int | None
    best_params: dict[str, Any]
    trial_seconds: list[float] = field(default_factory=list)
    fragment: Path | None = None
    plots: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else
                    [str(p) for p in v] if k == "plots" else v)
                for k, v in self.__dict__.items()}


def tune_dir(config: ExperimentConfig) -> Path:
    return config.run_dir() / "tune"


def study_name(dataset: str, model: str, scenario: str, method: str) -> str:
    return f"{dataset}/{model}/{scenario}/{method}"


def fragment_path(config: ExperimentConfig, dataset: str, model: str, scenario: str,
                  method: str) -> Path:
    return tune_dir(config) / f"{dataset}-{model}-{scenario}-{method}.toml"


# -- the search space ---------------------------------------------------------------------
def search_space(config: ExperimentConfig, method: str, registry: Registry) -> dict[str, Search]:
    """The space of ``method``: its class's ``search_space``, with ``[tune.space.METHOD]``
    replacing the fields it names. Every field must be a field of the method's ``Config``
    and every value the space can draw (both bounds, or each choice) valid for it."""
    cls = registry.get("methods", method)
    space: dict[str, Search] = dict(getattr(cls, "search_space", {}) or {})
    for name, table in config.tune.space.get(method, {}).items():
        try:
            space[name] = parse_search(table, f"tune.space.{method}.{name}")
        except ValueError as exc:
            raise ConfigError(str(exc), "Write e.g. lr = {low = 1e-4, high = 0.1, log = true} "
                              "or mode = {choices = ['eval', 'train']}.") from None
    if not space:
        raise ConfigError(f"method {method!r} declares no search space",
                          f"Name the fields to search in [tune.space.{method}], e.g. "
                          "lr = {low = 1e-4, high = 0.1, log = true}.")
    fields = cls.Config.model_fields
    own = dict(config.method.get(method, {}))
    for name, search in space.items():
        if name not in fields:
            raise ConfigError(
                f"the search space of {method!r} names {name!r}, which is not one of its "
                "settings", f"Its settings: {', '.join(fields) or 'none'} (supreme describe "
                f"{method}).")
        for value in search.values_to_check():
            component_config(cls, {**own, name: value}, f"tune.space.{method}.{name}")
    return space


def suggest(trial: optuna.Trial, name: str, search: Search) -> Any:
    if search.choices is not None:
        return trial.suggest_categorical(name, list(search.choices))
    if search.integer:
        return trial.suggest_int(name, int(search.low), int(search.high),  # type: ignore[arg-type]
                                 step=int(search.step or 1), log=search.log)
    return trial.suggest_float(name, float(search.low), float(search.high),  # type: ignore[arg-type]
                               step=search.step, log=search.log)


# -- the trial experiment -------------------------------------------------------------------
def trial_config(config: ExperimentConfig, dataset: str, model: str, scenario: str,
                 method: str, params: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """The experiment a trial runs: one (dataset, model, scenario), the retrain row and
    ``method`` configured with ``params``, the objective's metrics, the tuning seeds and
    the validation split in place of the test split."""
    tune = config.tune
    data = config.model_dump(mode="json", exclude={"tuned", "validation"})
    metrics = list(dict.fromkeys(metric for metric, _ in objective_keys(config)))
    table = {**config.method.get(method, {}), **dict(params or {})}
    data |= {
        # its own run directory: the audit copies of the tuning splits go there, not
        # among the experiment's
        "name": f"{config.name[:95]}.tune",
        "datasets": [dataset], "models": [model], "scenarios": [scenario],
        "methods": [RETRAIN, method], "metrics": metrics,
        "seeds": {"train": list(tune.train_seeds), "unlearn_per_train": tune.unlearn_seeds,
                  "eval_per_unlearn": 1, "protocol": "sparse"},
        "validation": tune.validation.model_dump(mode="json"),
        "method": {**config.method, method: table},
    }
    data["targets"] = {k: v for k, v in data.get("targets", {}).items() if k == scenario}
    return ExperimentConfig.model_validate(data)


def check_fresh_seeds(config: ExperimentConfig) -> None:
    """The tuning seeds must not be the experiment's unlearning or evaluation seeds:
    tuned settings are reported on seeds they were not chosen on."""
    tuning = trial_config(config, config.datasets[0], config.models[0], config.scenarios[0],
                          config.methods[0])
    reported = list(seed_triples(config))
    used = {s for t in seed_triples(tuning) for s in t[1:]}
    overlap = sorted(used & {s for t in reported for s in t[1:]})
    if overlap:
        raise ConfigError(
            f"the tuning seeds reuse the experiment's unlearning/evaluation seed(s) "
            f"{', '.join(map(str, overlap[:5]))}",
            "Set tune.train_seeds to seeds whose sparse unlearning seeds (1000*s_t + j) "
            "the experiment does not use, e.g. tune.train_seeds = [100].")


def objective_keys(config: ExperimentConfig) -> list[tuple[str, str]]:
    """``tune.objective`` as (metric, key) pairs (the terms are validated by the config)."""
    return [(metric, key) for metric, _, key in (t.partition(":") for t in config.tune.objective)]


def cell_distances(records: Sequence[Mapping[str, Any]], method: str,
                   keys: Sequence[tuple[str, str]]) -> list[float]:
    """The ranking's distance to M_r of ``method`` in each tuning cell (seed)."""
    from supreme.report.ranking import seed_distances

    rows = [dict(r) for r in records if not r.get("detail")]
    used, distances = seed_distances(rows, keys)
    missing = [f"{m}:{k}" for m, k in keys if (m, k) not in used]
    if missing:
        raise TrialFailed(f"the retrain row has no {', '.join(missing)}",
                          "Name objective terms the metrics compute (supreme describe METRIC).")
    return list(distances.get(method, {}).values())


# -- running --------------------------------------------------------------------------------
class _TrialRunner:
    """Runs trials of one study in this process: one Fabric, one store, one lease."""

    def __init__(self, config: ExperimentConfig, dataset: str, model: str, scenario: str,
                 method: str, registry: Registry, space: Mapping[str, Search],
                 worker: int | None = None) -> None:
        self.config, self.registry, self.space = config, registry, space
        self.where = (dataset, model, scenario)
        self.method = method
        self.worker = worker
        self.keys = objective_keys(config)
        self._fabric: Any = None

    def fabric(self) -> Any:
        if self._fabric is None:
            from supreme.pipeline.cells import prepare_process
            from supreme.pipeline.fabric import (
                launch_with_timeout,
                make_fabric,
                share_cpu_threads,
            )

            prepare_process(self.config)
            self._fabric = make_fabric(self.config.fabric)
            launch_with_timeout(self._fabric, self.config.launch.peer_timeout_s)
            share_cpu_threads(self._fabric, self.config.fabric.num_nodes)
        return self._fabric

    def __call__(self, trial: optuna.Trial) -> float:
        import optuna

        from supreme.observers import Observers
        from supreme.pipeline.run import Runner
        from supreme.store import Store

        # trial 0 runs the current settings as they are (values chosen per context, such
        # as SSD's α, included): the study's "default" to beat
        params = {} if trial.user_attrs.get("default") else {
            name: suggest(trial, name, s) for name, s in self.space.items()}
        try:  # a combination the method's Config refuses (a cross-field rule) fails the trial
            config = trial_config(self.config, *self.where, self.method, params)
            resolved = resolve(config, self.registry)
        except ConfigError as exc:
            self.failed(trial, f"invalid settings: {exc.message}", exc)
        runner = Runner(resolved, self.fabric(), Store(config.output_dir / "store"),
                        Observers(resolved.registry.hooks), worker=self.worker)
        records: list[dict[str, Any]] = []
        start = time.perf_counter()
        values: list[float] = []
        for step, cell in enumerate(resolved.cells()):
            try:
                cell_records = runner.run_cell(cell)
            except SupremeError:  # not the trial's: a stage the whole cell needs, a stop
                raise
            except Exception as exc:
                self.failed(trial, f"{cell.label()}: {type(exc).__name__}: {exc}", exc)
            gates = runner.gates
            if gates is not None and not gates["passed"]:
                from supreme.gates import describe_failures

                raise ReferencesFailed(
                    f"the tuning reference models of {cell.label()} fail their checks: "
                    f"{describe_failures(gates)}; an objective measured against them would "
                    "mean nothing", "Train them longer ([training] epochs) or pick other "
                    "tune.train_seeds; gates.mode = 'off' tunes anyway (docs/validity.md).")
            if runner.failures:
                first = runner.failures[0]
                self.failed(trial, f"{first['stage']}: {first['error_type']}: "
                            f"{first['error']}")
            records.extend(dict(r) for r in cell_records)
            values = cell_distances(records, self.method, self.keys)
            trial.report(statistics.fmean(values), step)
            if self.config.tune.prune and trial.should_prune():
                trial.set_user_attr("seconds", time.perf_counter() - start)
                raise optuna.TrialPruned(f"objective {statistics.fmean(values):.4g} after "
                                         f"{step + 1} tuning cell(s)")
        value = statistics.fmean(values)
        if not math.isfinite(value):
            self.failed(trial, f"the objective is {value}")
        trial.set_user_attr("seconds", time.perf_counter() - start)
        trial.set_user_attr("cells", values)
        trial.set_user_attr("values", _key_means(records, self.method, self.keys))
        return value


    @staticmethod
    def failed(trial: optuna.Trial, reason: str, cause: BaseException | None = None
               ) -> NoReturn:
        """Record the trial as failed, with its reason (printed, and in trials.csv)."""
        trial.set_user_attr("error", reason[:2000])
        raise TrialFailed(reason, "Failed trials stay in the study; see trials.csv.") from cause


def _key_means(records: Sequence[Mapping[str, Any]], method: str,
               keys: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Mean of each objective key for the method and for retrain (trials.csv)."""
    out: dict[str, float] = {}
    for row in (method, RETRAIN):
        for m, k in keys:
            values = [r["value"] for r in records
                      if r["method"] == row and r["metric"] == m and r["key"] == k]
            if values:
                out[f"{'retrain' if row == RETRAIN else 'method'}:{m}:{k}"] = \
                    statistics.fmean(values)
    return out


def _open_study(config: ExperimentConfig, name: str, space: Mapping[str, Search],
                worker: int = 0) -> optuna.Study:
    """The study ``name`` (created or resumed). Worker ``w`` of ``--workers`` seeds its
    sampler with ``sampler_seed + w``: with one seed, parallel workers would propose the
    same settings at the same time."""
    import optuna

    directory = tune_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials: our own line
    tune = config.tune
    pruner: optuna.pruners.BasePruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0) if tune.prune
        else optuna.pruners.NopPruner())
    study = optuna.create_study(
        storage=storage_url(config), study_name=name, direction="minimize",
        load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=tune.sampler_seed + worker),
        pruner=pruner)
    setup = {"objective": list(tune.objective), "space": {k: s.as_dict() for k, s in space.items()},
             "validation": tune.validation.model_dump(mode="json"),
             "train_seeds": list(tune.train_seeds), "unlearn_seeds": tune.unlearn_seeds}
    recorded = study.user_attrs.get("setup")
    if recorded is None:
        study.set_user_attr("setup", setup)
    elif recorded != json.loads(json.dumps(setup)):
        changed = sorted(k for k in setup if recorded.get(k) != json.loads(json.dumps(setup[k])))
        raise ConfigError(
            f"study {name!r} in {directory / 'studies.db'} was started with another "
            f"{', '.join(changed)}", "Resume it with the same [tune] settings, or delete "
            "the study (optuna delete-study) or the file to start again.")
    return study


def storage_url(config: ExperimentConfig) -> str:
    return f"sqlite:///{(tune_dir(config) / 'studies.db').resolve()}"


def _counts(study: optuna.Study) -> dict[str, int]:
    from optuna.trial import TrialState

    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {"complete": states.count(TrialState.COMPLETE),
            "pruned": states.count(TrialState.PRUNED),
            "failed": states.count(TrialState.FAIL), "all": len(states)}


def _say_trial(say: Callable[[str], None], method: str, total: int
               ) -> Callable[[optuna.Study, Any], None]:
    def callback(study: optuna.Study, trial: Any) -> None:
        seconds = trial.user_attrs.get("seconds")
        timing = f" ({seconds:.1f} s)" if isinstance(seconds, float) else ""
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        state = trial.state.name.lower()
        if trial.value is None:
            what = state
        elif state == "pruned":  # its value is the running objective where it stopped
            what = f"pruned at {trial.value:.4g} after {len(trial.intermediate_values)} cell(s)"
        else:
            what = f"objective {trial.value:.4g}"
        if trial.user_attrs.get("error"):
            what += f" ({trial.user_attrs['error']})"
        if trial.user_attrs.get("default"):
            params = "the current settings"
        best = ""
        with contextlib.suppress(ValueError):  # no trial completed yet
            best = f"; best {study.best_value:.4g} (trial {study.best_trial.number + 1})"
        say(f"{method} trial {trial.number + 1}/{total}: {what}{timing} [{params}]{best}")
    return callback


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def tune(config: ExperimentConfig, methods: Sequence[str], *, registry: Registry | None = None,
         trials: int | None = None, timeout_s: float | None = None, workers: int = 1,
         say: Callable[[str], None] = print) -> list[StudyResult]:
    """Tune each of ``methods`` on every (dataset, model, scenario) of ``config``; write the
    fragments and plots; return one :class:`StudyResult` per study. This is ``supreme tune``."""
    from supreme.validate import validate

    registry = registry or default()
    _require_optuna()
    if trials is not None:
        config = config.model_copy(update={"tune": config.tune.model_copy(
            update={"trials": trials})})
    if timeout_s is not None:
        config = config.model_copy(update={"tune": config.tune.model_copy(
            update={"timeout_s": timeout_s})})
    if not methods:
        raise UsageError("no method to tune", "Name one: supreme tune CONFIG --method neg_grad.")
    for method in methods:
        cls = registry.get("methods", method)
        if getattr(cls, "reference", None) or "@" in method:
            raise UsageError(f"{method!r} cannot be tuned: it is a reference row or a variant",
                             "Tune a method by its registered name, e.g. --method neg_grad.")
    check_fresh_seeds(config)
    results = []
    for dataset in config.datasets:
        for model in config.models:
            for scenario in config.scenarios:
                for method in methods:
                    space = search_space(config, method, registry)
                    base = trial_config(config, dataset, model, scenario, method)
                    resolved = resolve(base, registry)
                    validate(resolved, resolved.cells())
                    results.append(_tune_one(config, dataset, model, scenario, method, space,
                                             registry, workers, say))
    return results


def _tune_one(config: ExperimentConfig, dataset: str, model: str, scenario: str, method: str,
              space: Mapping[str, Search], registry: Registry, workers: int,
              say: Callable[[str], None]) -> StudyResult:
    from supreme.pipeline.cells import leased
    from supreme.signals import interruptible

    name = study_name(dataset, model, scenario, method)
    study = _open_study(config, name, space)
    counts = _counts(study)
    if counts["all"] == 0:
        study.enqueue_trial({}, user_attrs={"default": True})
    remaining = max(0, config.tune.trials - counts["all"])
    if counts["all"]:
        say(f"{name}: resuming a study with {counts['all']} trial(s); {remaining} to go")
    else:
        say(f"{name}: {remaining} trial(s); trial 1 is the current settings")
    base = trial_config(config, dataset, model, scenario, method)
    if remaining:
        if workers > 1:
            _optimize_in_workers(config, dataset, model, scenario, method, remaining, workers,
                                 say)
        else:
            runner = _TrialRunner(config, dataset, model, scenario, method, registry, space)
            with interruptible(), leased(base):
                study.optimize(runner, n_trials=remaining, timeout=config.tune.timeout_s,
                               catch=(TrialFailed,),
                               callbacks=[_say_trial(say, method, config.tune.trials)])
    return _finish(config, study, dataset, model, scenario, method, say)


def _optimize_in_workers(config: ExperimentConfig, dataset: str, model: str, scenario: str,
                         method: str, remaining: int, workers: int,
                         say: Callable[[str], None]) -> None:
    """``remaining`` trials shared by ``workers`` spawned processes on the same study
    (SQLite; the store's locks make M_o and M_r train once)."""
    import multiprocessing as mp
    import os

    from supreme import registry as registry_module

    shares = [remaining // workers + (1 if w < remaining % workers else 0)
              for w in range(workers)]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = mp.get_context("spawn")
    processes = [
        context.Process(target=_worker_main, name=f"supreme-tune-{w + 1}", args=(
            w + 1, config.model_dump(mode="json"), registry_module.portable_state(),
            [dataset, model, scenario, method], share, threads))
        for w, share in enumerate(shares) if share]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    bad = [p.exitcode for p in processes if p.exitcode]
    if bad:
        raise TrialFailed(f"{len(bad)} tuning worker(s) stopped with exit code(s) "
                          f"{', '.join(map(str, bad))}",
                          "Run again without --workers to see the error (the study resumes).")


def _worker_main(worker: int, config_json: dict[str, Any], plugins: dict[str, Any],
                 where: list[str], n_trials: int, threads: int) -> None:
    from supreme.launch.bootstrap import start_process
    from supreme.pipeline.cells import leased
    from supreme.signals import interruptible

    config = start_process(config_json, plugins, threads=threads)
    registry = default()
    dataset, model, scenario, method = where
    space = search_space(config, method, registry)
    study = _open_study(config, study_name(*where), space, worker=worker)
    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    runner = _TrialRunner(config, dataset, model, scenario, method, registry, space,
                          worker=worker)
    with interruptible(), leased(trial_config(config, dataset, model, scenario, method)):
        study.optimize(runner, n_trials=n_trials, timeout=config.tune.timeout_s,
                       catch=(TrialFailed,), callbacks=[_say_trial(say, method,
                                                                   config.tune.trials)])


def _finish(config: ExperimentConfig, study: optuna.Study, dataset: str, model: str,
            scenario: str, method: str, say: Callable[[str], None]) -> StudyResult:
    from optuna.trial import TrialState

    counts = _counts(study)
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    default = next((t for t in study.get_trials(deepcopy=False)
                    if t.user_attrs.get("default")), None)
    result = StudyResult(
        study.study_name, method, dataset, model, scenario, counts["all"], counts["complete"],
        counts["pruned"], counts["failed"],
        default.value if default is not None and default.state == TrialState.COMPLETE else None,
        None, None, {},
        [t.user_attrs["seconds"] for t in study.get_trials(deepcopy=False)
         if isinstance(t.user_attrs.get("seconds"), float)])
    _write_trials(config, study, dataset, model, scenario, method)
    if not done:
        say(f"{study.study_name}: no trial completed; no fragment written")
        return result
    best = study.best_trial
    result.best_value, result.best_trial, result.best_params = best.value, best.number + 1, best.params
    result.plots = _plots(config, study, dataset, model, scenario, method)
    result.fragment = write_fragment(config, result)
    return result


def write_fragment(config: ExperimentConfig, result: StudyResult) -> Path:
    """``[method."METHOD@tuned"]`` (the experiment's own settings for the method, with the
    best trial's values) and ``[tuned."METHOD@tuned"]`` (where they come from)."""
    from supreme.config import TunedInfo
    row = f"{result.method}@{TUNED_LABEL}"
    settings = {**config.method.get(result.method, {}), **result.best_params}
    info = TunedInfo(method=result.method, study=result.study, dataset=result.dataset,
                     model=result.model, scenario=result.scenario,
                     objective=list(config.tune.objective), trials=result.trials,
                     best_trial=result.best_trial or 1, value=result.best_value or 0.0,
                     default_value=result.default_value, params=dict(result.best_params),
                     plots=[str(p.resolve()) for p in result.plots])
    lines = [f"# supreme tune: the best of {result.trials} trial(s) of study {result.study!r}",
             f"# (objective on the validation split: {result.best_value:.6g}; the current "
             + ("settings: " + f"{result.default_value:.6g})" if result.default_value is not None
                else "settings did not complete)"),
             "# Use it with: supreme run EXPERIMENT --include THIS_FILE", "",
             f'[method."{row}"]', *(f"{k} = {_toml(v)}" for k, v in settings.items()), "",
             f'[tuned."{row}"]',
             *(f"{k} = {_toml(v)}" for k, v in info.model_dump(mode="json").items()
               if v is not None and k not in ("params", "plots")),
             f"plots = {_toml(info.plots)}",
             f"params = {_toml(info.params)}", ""]
    path = fragment_path(config, result.dataset, result.model, result.scenario, result.method)
    _write_text(path, "\n".join(lines))
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def _write_trials(config: ExperimentConfig, study: optuna.Study, dataset: str, model: str,
                  scenario: str, method: str) -> Path:
    import csv
    import io

    trials = study.get_trials(deepcopy=False)
    params = list(dict.fromkeys(k for t in trials for k in t.params))
    values = list(dict.fromkeys(k for t in trials for k in t.user_attrs.get("values", {})))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial", "state", "objective", "seconds", "default", *params, *values,
                     "error"])
    for t in trials:
        writer.writerow([t.number + 1, t.state.name.lower(),
                         "" if t.value is None else repr(t.value),
                         _fmt(t.user_attrs.get("seconds")), bool(t.user_attrs.get("default")),
                         *(t.params.get(p, "") for p in params),
                         *(_fmt(t.user_attrs.get("values", {}).get(v)) for v in values),
                         t.user_attrs.get("error", "")])
    path = tune_dir(config) / f"{dataset}-{model}-{scenario}-{method}.trials.csv"
    _write_text(path, out.getvalue())
    return path


def _write_text(path: Path, text: str) -> None:
    from supreme.safeio import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"))


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def _plots(config: ExperimentConfig, study: optuna.Study, dataset: str, model: str,
           scenario: str, method: str) -> list[Path]:
    """Optuna's optimisation history and parameter importances (matplotlib), PNG."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    stem = tune_dir(config) / f"{dataset}-{model}-{scenario}-{method}"
    written = []
    for suffix, plot in (("history", vis.plot_optimization_history),
                         ("importance", vis.plot_param_importances)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "experimental" warnings of the backend
                plot(study)
            figure = plt.gcf()  # the backend draws into a new current figure
            figure.set_size_inches(7, 4)
            figure.tight_layout()
            path = Path(f"{stem}.{suffix}.png")
            figure.savefig(path, dpi=100)
            plt.close(figure)
            written.append(path)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue  # importance needs two completed trials with varying parameters
    return written


def _require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise UsageError("supreme tune needs Optuna, which is not installed",
                         "Install the extra: pip install 'supreme-core[tune]'.") from None
