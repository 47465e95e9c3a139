"""SUPREME: evaluate machine-unlearning methods against a model retrained from scratch.

The Python API (for notebooks and scripts)::

    import supreme

    config = supreme.load_config("experiment.toml", overrides=["seeds.train=[0,1]"])
    results = supreme.run(config)          # trains, unlearns, evaluates (reusing the store)
    results.mean("finetune", "accuracy", "forget_test")

    supreme.register_plugin(my_module)     # a plugin without packaging (again: replaces it)
    supreme.unregister_plugin("my_module")
    supreme.list_components("methods")     # what is installed, with provenance

Importing this package does not import torch; ``run`` imports the pipeline on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supreme.config import ExperimentConfig, load_config
from supreme.contracts import (
    DatasetSpec,
    EvalContext,
    GridMetric,
    ImageTensors,
    Metric,
    ModelSpec,
    Recipe,
    UnlearnData,
    UnlearningMethod,
)
from supreme.errors import ConfigError, SupremeError, UsageError
from supreme.hookspecs import hookimpl
from supreme.registry import list_components, register_plugin, unregister_plugin

if TYPE_CHECKING:
    from supreme.engine import Results, run
    from supreme.report import load_results

__version__ = "0.3.0"

__all__ = [
    "ConfigError",
    "DatasetSpec",
    "EvalContext",
    "ExperimentConfig",
    "GridMetric",
    "ImageTensors",
    "Metric",
    "ModelSpec",
    "Recipe",
    "Results",
    "SupremeError",
    "UnlearnData",
    "UnlearningMethod",
    "UsageError",
    "__version__",
    "hookimpl",
    "list_components",
    "load_config",
    "load_results",
    "register_plugin",
    "run",
    "unregister_plugin",
]


def __getattr__(name: str) -> Any:
    if name in ("run", "Results"):
        from supreme import engine

        return getattr(engine, name)
    if name == "load_results":
        from supreme.report import load_results

        return load_results
    raise AttributeError(f"module 'supreme' has no attribute {name!r}")
