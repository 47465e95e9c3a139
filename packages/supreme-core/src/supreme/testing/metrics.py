"""Conformance checks for :class:`~supreme.contracts.Metric` plugins.

``check_metric(MyMetric)`` evaluates the metric on a small standard fixture (synthetic
8x8 images, :class:`~supreme.testing.TinyNet` models) as each kind of row — a method's
M_u, the ``original`` row (M_u = M_o) and the ``retrain`` row (M_u = M_r) — and checks:

* the class: a valid ``name``, a one-line description, ``needs`` within
  :data:`~supreme.contracts.NEEDS`, a :class:`~supreme.contracts.ComponentConfig`
  ``Config`` and a module docstring (where the formula belongs);
* the values: a non-empty ``dict`` of ``str`` keys to finite ``float`` values, the same
  keys for every row and on a second evaluation, identical values on recomputation;
* the contract: it reads only the models and timings its ``needs`` declare, asks for
  penultimate features only if it declares ``features``, and leaves every model's weights
  and train/eval mode untouched;
* with ``processes=2``: the values on two CPU processes (Lightning Fabric, gloo) equal
  the single-process ones.

A :class:`~supreme.contracts.GridMetric` is checked the same way through its
``per_example`` (one finite float per example of its ``example_split``, returned as
``example.<i>`` keys), and its ``aggregate`` must turn the rows' stacked outputs into a
non-empty dict of finite floats, the same on a second call.

Every failure is an ``AssertionError`` whose message says what to fix.
``check_metrics`` runs several metrics at once (one process launch for all of them).
"""

from __future__ import annotations

import copy
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import torch

from supreme.contracts import (
    NEEDS,
    SPLITS,
    ComponentConfig,
    EvalContext,
    GridMetric,
    ImageTensors,
    Metric,
    Outputs,
)
from supreme.contracts.base import config_defaults_error
from supreme.testing import component_settings

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from torch import nn

__all__ = ["check_metric", "check_metrics", "metric_fixture"]

MetricEntry = tuple[type[Metric], Mapping[str, Any] | ComponentConfig | None]
ROWS = ("method", "original", "retrain")
#: What the fixture hands to metrics that declare ``timings``.
TIMINGS = {"method": 1.5, "original": 0.001, "retrain": 6.0}
RESOURCES = {"seconds": 1.5, "wall_seconds": 1.75, "excluded_seconds": 0.25,
             "peak_rss_gb": 1.25, "peak_rss_increase_gb": 0.5,
             "cpu_util_avg": 40.0, "cpu_util_peak": 90.0}
NUM_CLASSES = 4
FORGET_CLASS = 0
REL_TOL, ABS_TOL = 1e-5, 1e-7


def check_metric(
    metric_cls: type[Metric], config: Mapping[str, Any] | ComponentConfig | None = None, *,
    processes: int = 1,
) -> dict[str, dict[str, float]]:
    """Check one metric; returns its values per row kind (``method``, ``original``, ``retrain``).

    ``config``: a dict of fields or a ``metric_cls.Config`` (defaults when ``None``).
    """
    return check_metrics([(metric_cls, config)], processes=processes)[metric_cls.name]


def check_metrics(
    metrics: Iterable[type[Metric] | MetricEntry], *, processes: int = 1
) -> dict[str, dict[str, dict[str, float]]]:
    """Check several metrics: ``{metric name: {row kind: values}}``.

    ``metrics`` holds classes or ``(class, config)`` pairs (a config as in
    :func:`check_metric`). ``processes > 1`` also evaluates them on that many CPU processes
    (one launch for all) and compares.
    """
    pairs = [m if isinstance(m, tuple) else (m, None) for m in metrics]
    for cls, _ in pairs:
        _check_class(cls)
    entries = [(cls, component_settings(cls, config, check="check_metric"))
               for cls, config in pairs]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for cls, config in entries:
        first = _evaluate_rows(cls, config, fabric=None, checked=True)
        again = _evaluate_rows(cls, config, fabric=None, checked=False)
        for row in ROWS:
            _assert_same(cls.name, row, first[row], again[row], "a second evaluation",
                         "make compute deterministic: seed every random choice from ctx.seed",
                         exact=True)
        results[cls.name] = first
    if processes > 1:
        distributed = _launch(entries, processes)
        for cls, _ in entries:
            for row in ROWS:
                _assert_same(cls.name, row, results[cls.name][row], distributed[cls.name][row],
                             f"{processes} processes",
                             "read model outputs only through ctx.outputs (which gathers every "
                             "rank's samples once) and call it in the same order on every rank",
                             exact=False)
    return results


# -- the fixture ------------------------------------------------------------------------------
def metric_fixture() -> tuple[dict[str, nn.Module], dict[str, ImageTensors]]:
    """Models (``unlearned``, ``reference``, ``original``) and the five evaluation splits.

    Split sizes are odd (7 forget-test samples) so two processes need padding.
    """
    from supreme.testing import TinyNet, fullclass_split, synthetic_images

    train = synthetic_images(NUM_CLASSES, per_class=13, seed=1)
    test = synthetic_images(NUM_CLASSES, per_class=7, seed=2)
    forget_train, retain_train = fullclass_split(train, FORGET_CLASS)
    forget_test, retain_test = fullclass_split(test, FORGET_CLASS)
    splits = {"test": test, "retain_test": retain_test, "forget_test": forget_test,
              "retain_train": retain_train, "forget_train": forget_train}
    models: dict[str, nn.Module] = {}
    for offset, role in enumerate(("unlearned", "reference", "original")):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(100 + offset)
            model = TinyNet(NUM_CLASSES)
            with torch.no_grad():
                model.head.weight.mul_(8.0)  # confident, varied predictions
                for module in model.modules():
                    if isinstance(module, torch.nn.BatchNorm2d):
                        assert module.running_mean is not None and module.running_var is not None
                        module.running_mean.uniform_(-0.5, 0.5)
                        module.running_var.uniform_(0.5, 2.0)
        models[role] = model.train()  # the metric must not rely on (or change) the mode
    return models, splits


def _new_model() -> nn.Module:
    from supreme.testing import TinyNet

    return TinyNet(NUM_CLASSES)


class _Recording:
    """Wraps a forward pass and records whether penultimate features were requested."""

    def __init__(self, forward: Any) -> None:
        self.forward = forward
        self.features = False

    def __call__(self, model: nn.Module, split: ImageTensors, features: bool) -> Outputs:
        self.features = self.features or features
        return self.forward(model, split, features)


def _context(metric_cls: type[Metric], row: str, models: Mapping[str, nn.Module],
             splits: Mapping[str, ImageTensors], fabric: Fabric | None) -> EvalContext:
    from supreme.testing import make_eval_context

    unlearned = {"method": models["unlearned"], "original": models["original"],
                 "retrain": models["reference"]}[row]
    chosen: dict[str, nn.Module] = {"unlearned": unlearned}
    if "reference" in metric_cls.needs:
        chosen["reference"] = models["reference"]
    if "original" in metric_cls.needs:
        chosen["original"] = models["original"]
    timings = ({"unlearn_seconds": TIMINGS[row], "retrain_seconds": TIMINGS["retrain"]}
               if "timings" in metric_cls.needs else {})
    ctx = make_eval_context(chosen, splits, num_classes=NUM_CLASSES, forget_class=FORGET_CLASS,
                            seed=7, fabric=fabric, batch_size=8, timings=timings,
                            resources=dict(RESOURCES), new_model=_new_model)
    ctx.method = {"method": "test_method", "original": "original", "retrain": "retrain"}[row]
    ctx.forward = _Recording(ctx.forward)
    if "shadows" in metric_cls.needs:
        ctx.shadows = _shadows(ctx, models, splits)
    return ctx


#: shadow models the harness gives a metric that declares ``shadows``
SHADOWS = 4


def _shadows(ctx: EvalContext, models: Mapping[str, nn.Module],
             splits: Mapping[str, ImageTensors]) -> Any:
    """Shadow outputs built from the fixture's models: shadow k alternates between the
    original and the unlearned model, its retraining is the reference model with its
    logits shifted by k / 10; every forget example is in the forget set of every other
    shadow."""
    from supreme.contracts import Outputs, ShadowOutputs

    def build() -> ShadowOutputs:
        forget = splits["forget_train"]
        size = len(forget)
        members = torch.zeros(SHADOWS, size, dtype=torch.bool)
        passes = {role: ctx.forward(models[role], forget, False)
                  for role in ("original", "unlearned", "reference")}
        reference = passes["reference"]
        for k in range(SHADOWS):
            members[k, (torch.arange(size) + k) % 2 == 0] = True
        return ShadowOutputs(
            members,
            tuple(passes["original" if k % 2 else "unlearned"] for k in range(SHADOWS)),
            tuple(Outputs(reference.logits + k / 10, reference.labels) for k in range(SHADOWS)))
    return build


def _evaluate_rows(metric_cls: type[Metric], config: ComponentConfig | None,
                   fabric: Fabric | None, checked: bool) -> dict[str, dict[str, float]]:
    name = metric_cls.name
    models, splits = metric_fixture()
    metric = metric_cls(config)
    values: dict[str, dict[str, float]] = {}
    for row in ROWS:
        ctx = _context(metric_cls, row, models, splits, fabric)
        before = {role: (m.training, copy.deepcopy(m.state_dict())) for role, m in models.items()}
        try:
            result = (_per_example(metric, ctx, row) if isinstance(metric, GridMetric)
                      else metric.compute(ctx))
        except KeyError as exc:
            raise AssertionError(
                f"metric {name!r} raised KeyError({exc}) on the {row} row. Troubleshooting: a "
                f"metric may read ctx.models[...] / ctx.timings[...] only for what it declares "
                f"in `needs` (it declares {sorted(metric_cls.needs)}); declare 'reference', "
                "'original' or 'timings' to get them"
            ) from exc
        if checked:
            _check_values(name, row, result,
                          None if isinstance(metric, GridMetric) else metric_cls.is_detail)
            if ctx.forward.features and "features" not in metric_cls.needs:  # type: ignore[attr-defined]
                raise AssertionError(
                    f"metric {name!r} asked ctx.outputs(..., features=True) without declaring "
                    "'features' in `needs`; add it so the pipeline knows to capture them"
                )
            for role, model in models.items():
                training, state = before[role]
                if model.training != training or any(
                    not torch.equal(state[k], v) for k, v in model.state_dict().items()
                ):
                    raise AssertionError(
                        f"metric {name!r} changed the {role} model (weights, buffers or "
                        f"train/eval mode) on the {row} row; metrics must treat models as "
                        "read-only: copy a model before changing it"
                    )
        values[row] = dict(result)
    if checked:
        keys = {row: sorted(v) for row, v in values.items()}
        if len({tuple(k) for k in keys.values()}) != 1:
            raise AssertionError(
                f"metric {name!r} returns different keys for different rows: {keys}; keys "
                "must be stable so rows can be compared side by side"
            )
        if isinstance(metric, GridMetric):
            _check_aggregate(metric, values)
    return values


def _per_example(metric: GridMetric, ctx: EvalContext, row: str) -> dict[str, float]:
    """A grid metric's per-example outputs as ``{"example.<i>": value}``."""
    where = f"grid metric {metric.name!r} on the {row} row"
    if metric.example_split not in SPLITS:
        raise AssertionError(f"grid metric {metric.name!r}: example_split = "
                             f"{metric.example_split!r}; use one of {', '.join(SPLITS)}")
    values = metric.per_example(ctx)
    size = len(ctx.splits[metric.example_split])
    if not isinstance(values, torch.Tensor) or tuple(values.shape) != (size,):
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise AssertionError(f"{where}: per_example returned {shape}; return a 1-D tensor with "
                             f"one value per example of {metric.example_split} ({size})")
    return {f"example.{i}": float(v) for i, v in enumerate(values.double().tolist())}


def _check_aggregate(metric: GridMetric, values: Mapping[str, Mapping[str, float]]) -> None:
    import numpy as np

    rows = [[v[k] for k in sorted(v, key=lambda k: int(k.split(".")[1]))] for v in values.values()]
    stacked = np.asarray(rows, dtype=np.float64)
    first = metric.aggregate(stacked, stacked[::-1].copy())
    _check_values(metric.name, "aggregate", first, metric.is_detail)
    again = metric.aggregate(stacked, stacked[::-1].copy())
    _assert_same(metric.name, "aggregate", first, again, "a second aggregate",
                 "make aggregate deterministic", exact=True)


def _check_class(cls: type[Metric]) -> None:
    name = getattr(cls, "name", "")
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise AssertionError(f"{cls!r} is not a subclass of supreme.contracts.Metric")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise AssertionError(f"{cls.__qualname__}.name = {name!r}: use lower_snake_case")
    if not cls.describe():
        raise AssertionError(f"metric {name!r}: the class docstring's first line is the "
                             "description `supreme list metrics` shows; write one")
    if not (isinstance(cls.needs, frozenset) and cls.needs <= NEEDS):
        raise AssertionError(f"metric {name!r}: needs = {cls.needs!r}; use a frozenset of "
                             f"{sorted(NEEDS)}")
    detail = cls.detail_keys
    if not (isinstance(detail, frozenset) and all(isinstance(k, str) and k for k in detail)):
        raise AssertionError(f"metric {name!r}: detail_keys = {detail!r}; use a frozenset of "
                             "key patterns, e.g. frozenset({'layer.*'})")
    problem = config_defaults_error(cls.Config)
    if problem is not None:
        raise AssertionError(f"metric {name!r}: its Config does not validate with its defaults "
                             f"({problem}); keep each default within its field's bounds")
    if not (sys.modules[cls.__module__].__doc__ or "").strip():
        raise AssertionError(f"metric {name!r}: module {cls.__module__} has no docstring; "
                             "write the metric's formula and its differences from the "
                             "reference there")


def _check_values(name: str, row: str, result: object,
                  detail: Callable[[str], bool] | None = None) -> None:
    where = f"metric {name!r} on the {row} row"
    if not isinstance(result, dict) or not result:
        raise AssertionError(f"{where} returned {result!r}; return a non-empty dict "
                             "{key: float} on the standard fixture")
    for key, value in result.items():
        if not isinstance(key, str) or not key:
            raise AssertionError(f"{where}: key {key!r} is not a non-empty string")
        if not isinstance(value, float) or isinstance(value, bool):
            raise AssertionError(f"{where}: {key} = {value!r} ({type(value).__name__}); "
                                 "convert with float(...) (not a tensor or numpy scalar)")
        if not math.isfinite(value):
            raise AssertionError(f"{where}: {key} = {value}; values must be finite (compute "
                                 "in log space / float64, or leave the key out when undefined)")
    if detail is not None and all(detail(key) for key in result):
        raise AssertionError(f"{where}: every key ({', '.join(sorted(result))}) matches "
                             "detail_keys, so no table or plot would show it; keep at least "
                             "one summary key (e.g. a total) out of detail_keys")


def _assert_same(name: str, row: str, expected: Mapping[str, float], got: Mapping[str, float],
                 what: str, hint: str, *, exact: bool) -> None:
    if sorted(expected) != sorted(got):
        raise AssertionError(f"metric {name!r} on the {row} row: keys {sorted(got)} with {what} "
                             f"differ from {sorted(expected)}; {hint}")
    for key, value in expected.items():
        same = value == got[key] if exact else math.isclose(
            value, got[key], rel_tol=REL_TOL, abs_tol=ABS_TOL)
        if not same:
            raise AssertionError(f"metric {name!r} on the {row} row: {key} = {got[key]!r} with "
                                 f"{what}, {value!r} otherwise; {hint}")


# -- several processes ----------------------------------------------------------------------------
def _launch(entries: list[MetricEntry], processes: int) -> dict[str, dict[str, dict[str, float]]]:
    from supreme.testing import launch_processes

    return launch_processes(_worker, entries, processes=processes)  # type: ignore[no-any-return]


def _worker(fabric: Fabric, entries: list[MetricEntry]) -> dict[str, dict[str, dict[str, float]]]:
    torch.set_num_threads(1)
    return {cls.name: _evaluate_rows(cls, config, fabric, checked=False) for cls, config in entries}
