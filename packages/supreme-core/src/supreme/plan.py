"""From an experiment config to a grid of cells, with the three-level seed protocol.

A cell is (dataset, model, scenario, target, s_t, s_u, s_e). With I training seeds,
J unlearning seeds per training seed and K evaluation seeds per unlearning seed:

* ``paper`` protocol (default): s_u = (i−1)J + j and s_e = (i−1)JK + (j−1)K + k
  (1-based i, j, k); the matched protocol J = K = 1 collapses to s_u = s_e = s_t.
* ``sparse`` protocol (the reference scripts): s_u = s_t if J = 1 else 1000·s_t + (j−1);
  s_e = s_u if K = 1 else 1000·s_u + (k−1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from supreme.config import ExperimentConfig, component_config
from supreme.contracts import DatasetSpec, Metric, ModelSpec, UnlearningMethod
from supreme.contracts.records import Cell
from supreme.errors import ConfigError
from supreme.registry import Registry, unknown, variant_base


def seed_triples(config: ExperimentConfig) -> Iterator[tuple[int, int, int]]:
    seeds = config.seeds
    J, K = seeds.unlearn_per_train, seeds.eval_per_unlearn
    for i, s_t in enumerate(seeds.train, start=1):
        for j in range(1, J + 1):
            for k in range(1, K + 1):
                if seeds.protocol == "sparse":
                    s_u = s_t if J == 1 else 1000 * s_t + (j - 1)
                    s_e = s_u if K == 1 else 1000 * s_u + (k - 1)
                elif J == 1 and K == 1:
                    s_u = s_e = s_t
                else:
                    s_u = (i - 1) * J + j
                    s_e = (i - 1) * J * K + (j - 1) * K + k
                yield s_t, s_u, s_e


@dataclass
class Resolved:
    """The experiment with every component looked up and configured."""

    config: ExperimentConfig
    registry: Registry
    datasets: dict[str, DatasetSpec]
    models: dict[str, ModelSpec]
    methods: dict[str, UnlearningMethod]
    metrics: dict[str, Metric]
    _code: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _core: dict[str, str] = field(default_factory=dict, repr=False)

    def provenance(self, kind: str, name: str) -> dict[str, str]:
        return self.registry.entry(kind, name).provenance.as_dict()  # type: ignore[arg-type]

    def identity(self, kind: str, name: str) -> dict[str, Any]:
        """What identifies a configured component in store keys: its name, its validated
        config, its distribution and version, and the fingerprint of its code
        (:func:`supreme.fingerprint.component_code`, computed once per resolved run)."""
        instance = getattr(self, kind)[name]
        entry = self.registry.entry(kind, name)  # type: ignore[arg-type]
        return {
            "name": entry.name,  # a variant NAME@LABEL shares NAME's artifacts at equal config
            "config": instance.config.model_dump(mode="json"),
            "distribution": entry.provenance.distribution,
            "version": entry.provenance.version,
            "code": self.code(kind, name),
        }

    def code(self, kind: str, name: str) -> str:
        """The fingerprint of a component's code (cached for the life of this object)."""
        if (kind, name) not in self._code:
            from supreme.fingerprint import component_code

            self._code[(kind, name)] = component_code(type(getattr(self, kind)[name]))
        return self._code[(kind, name)]

    def core(self, stage: str) -> str:
        """The fingerprint of the core's code a stage family runs (``data``, ``model``,
        ``evaluate``), cached for the life of this object."""
        if stage not in self._core:
            from supreme.fingerprint import core_code

            self._core[stage] = core_code(stage)
        return self._core[stage]

    def code_digest(self) -> str:
        """One digest of what a cell's numbers depend on beyond the experiment's config
        (which its cell id hashes): every component's and the core's code fingerprint, the
        installed torch version and every dataset's file fingerprint. A cell outcome
        written under another digest is stale: the code, torch or the data changed since.
        Computed without importing torch, so a finished run is answered without it."""
        from supreme.fingerprint import distribution_version
        from supreme.store import hash_key

        parts = {f"{kind}:{name}": self.code(kind, name)
                 for kind in ("datasets", "models", "methods", "metrics")
                 for name in getattr(self, kind)}
        parts |= {f"core:{s}": self.core(s) for s in ("data", "model", "evaluate")}
        parts |= {f"data:{name}": spec.fingerprint() for name, spec in self.datasets.items()}
        return hash_key({**parts, "torch": distribution_version("torch")})

    def needs(self, need: str) -> bool:
        return any(need in m.needs for m in self.metrics.values())

    def cells(self) -> list[Cell]:
        self._check_grid_size()
        cells = []
        for dataset in self.config.datasets:
            spec = self.datasets[dataset]
            for model in self.config.models:
                for scenario in self.config.scenarios:
                    for target in targets(self.config, spec, scenario):
                        for s_t, s_u, s_e in seed_triples(self.config):
                            cells.append(Cell(dataset, model, scenario, target, s_t, s_u, s_e))
        return cells


    def _check_grid_size(self) -> None:
        """Refuse a grid too large to list, run or report (before listing it)."""
        seeds = self.config.seeds
        triples = len(seeds.train) * seeds.unlearn_per_train * seeds.eval_per_unlearn
        pairs = sum(len(targets(self.config, self.datasets[d], s))
                    for d in self.config.datasets for s in self.config.scenarios)
        count = pairs * len(self.config.models) * triples
        if count > MAX_CELLS:
            raise ConfigError(
                f"the experiment has {count:,} cells ({pairs} dataset/scenario/target "
                f"combinations x {len(self.config.models)} model(s) x {triples:,} seed "
                f"triples), more than the {MAX_CELLS:,} one run can hold",
                "Lower seeds.train, seeds.unlearn_per_train or seeds.eval_per_unlearn, or split "
                "the experiment into several (each with its own name).",
            )


#: the most cells one experiment may have (each has an outcome file and report rows)
MAX_CELLS = 100_000


def targets(config: ExperimentConfig, spec: DatasetSpec, scenario: str) -> list[str]:
    from supreme.pipeline.split import check_target

    chosen = list(config.targets.get(scenario) or spec.default_targets.get(scenario, ()))  # type: ignore[call-overload]
    if not chosen:
        raise ConfigError(
            f"dataset {spec.name!r} has no default {scenario} targets",
            f"Set them in the experiment: [targets] {scenario} = [...].",
        )
    for target in chosen:
        check_target(spec, scenario, target)
    return chosen


def resolve(config: ExperimentConfig, registry: Registry) -> Resolved:
    """Look up every named component and validate its configuration table."""
    kinds = {"datasets": "dataset", "models": "model", "methods": "method", "metrics": "metric"}
    built: dict[str, dict[str, Any]] = {}
    for kind, table_name in kinds.items():
        tables: dict[str, dict[str, Any]] = getattr(config, table_name)
        for name in tables:
            if not registry.has(kind, name):  # type: ignore[arg-type]
                base = variant_base(kind, name)  # a malformed variant says so
                error = unknown(table_name, base, registry.names(kind))  # type: ignore[arg-type]
                raise ConfigError(f"[{table_name}.{_quoted(name)}]: {error.message}", error.hint)
        built[kind] = {}
        for name in getattr(config, kind):
            cls = registry.get(kind, name)  # type: ignore[arg-type]
            if name != cls.name and getattr(cls, "reference", None):
                raise ConfigError(f"method {name!r} is a variant of the reference row "
                                  f"{cls.name!r}, which has no settings to vary",
                                  f"List {cls.name!r} once, without a label.")
            settings = component_config(cls, tables.get(name), f"{table_name}.{name}")
            built[kind][name] = cls(settings)
    resolved = Resolved(config, registry, built["datasets"], built["models"], built["methods"],
                        built["metrics"])
    _check_scenarios(resolved)
    return resolved


def _quoted(name: str) -> str:
    return f'"{name}"' if "@" in name else name


def _check_scenarios(resolved: Resolved) -> None:
    for scenario in resolved.config.scenarios:
        for name, spec in resolved.datasets.items():
            if scenario not in spec.scenarios:
                raise ConfigError(
                    f"dataset {name!r} does not support the {scenario!r} scenario",
                    f"It supports: {', '.join(spec.scenarios)}.",
                )
        for name, method in resolved.methods.items():
            if scenario not in method.scenarios:
                raise ConfigError(
                    f"method {name!r} does not support the {scenario!r} scenario",
                    f"Remove it from methods, or use: {', '.join(sorted(method.scenarios))}.",
                )
