"""Grid metrics: one value per cell group, from the rows' stored per-example outputs.

A **group** is a (dataset, model, scenario, target); a **run** of it is one (s_t, s_u) pair
(cells that differ only in s_e share their models). Every row of every cell stored a grid
metric's per-example outputs (:meth:`supreme.contracts.GridMetric.per_example`, an
artifact of the ``results`` store kind holding ``values`` and the examples' ``index``).
Once every cell of a group has evaluated M_r, the group's runs are cut in two halves:

* with two or more training seeds, by training seed: the runs of the first ⌈I/2⌉ training
  seeds (in sorted order) form half A, the others half B, so that no model of A shares
  an M_o with a model of B;
* with one training seed, by unlearning seed in the same way.

For a row X (a method, ``original`` or ``retrain``) and a grid metric G::

    unlearned = G's outputs of X's models in A        [n distinct models, S examples]
    retrained = G's outputs of M_r's models in B      [m distinct models, S examples]
    value     = G.aggregate(unlearned, retrained)

over the S examples (by their index in the dataset) that every one of those models
scored. Models are told apart by their store keys, so the same M_o (the ``original`` row
of runs sharing a training seed) counts once. The retrain row compares two disjoint sets
of retrained models: the value a method indistinguishable from retraining gets at these
sample sizes, which is what a method's value is read against; ``original`` is the model
that forgot nothing. In the random scenario every unlearning seed draws its own forget
set, so the runs share few or no forget examples; the group is then reported as having
no common examples.

The value is stored too (a ``results`` artifact keyed by the metric's identity, the row,
the per-example artifacts of both halves and the core's evaluation code), so a rerun of a
finished run reads it without loading anything. The records go to ``grid_results.jsonl``
and ``Results.grid``; a group with fewer than ``G.min_models`` models on either side gets
``"coarse": true`` and a :class:`GridWarning`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supreme.contracts import RETRAIN, GridMetric
from supreme.contracts.records import Cell
from supreme.errors import StoreError, SupremeError
from supreme.plan import Resolved
from supreme.store import Store, atomic_write_bytes, hash_key, strict_json
from supreme.values import checked_values

GROUP_FIELDS = ("dataset", "model", "scenario", "target")
#: the file of a run directory that holds the grid metrics' records
GRID_RESULTS = "grid_results.jsonl"


class GridWarning(UserWarning):
    """A grid metric could not be computed for a group, or only coarsely."""


@dataclass(frozen=True)
class Halves:
    """The runs ``(s_t, s_u)`` of a group, cut in two (see the module docstring)."""

    a: frozenset[tuple[int, int]]
    b: frozenset[tuple[int, int]]
    by: str  # "training seed" | "unlearning seed"


def halves(cells: Sequence[Cell]) -> Halves:
    """Half A and half B of a group's runs: by training seed when it has several, else by
    unlearning seed; the first ⌈k/2⌉ seeds in sorted order form A."""
    runs = {(c.train_seed, c.unlearn_seed) for c in cells}
    train = sorted({t for t, _ in runs})
    if len(train) >= 2:
        first = set(train[:math.ceil(len(train) / 2)])
        return Halves(frozenset(r for r in runs if r[0] in first),
                      frozenset(r for r in runs if r[0] not in first), "training seed")
    unlearn = sorted({u for _, u in runs})
    first = set(unlearn[:math.ceil(len(unlearn) / 2)])
    return Halves(frozenset(r for r in runs if r[1] in first),
                  frozenset(r for r in runs if r[1] not in first), "unlearning seed")


def group_of(item: Mapping[str, Any] | Cell) -> tuple[str, ...]:
    get = item.get if isinstance(item, Mapping) else lambda k: getattr(item, k)
    return tuple(str(get(k)) for k in GROUP_FIELDS)


def compute(resolved: Resolved, cells: Sequence[Cell], examples: Sequence[Mapping[str, Any]],
            *, write: bool = True) -> list[dict[str, Any]]:
    """The grid metrics' records of every group whose cells have all evaluated M_r (and
    ``grid_results.jsonl`` when ``write``). Groups not ready, or with too few runs, are
    left out with a :class:`GridWarning` saying why."""
    metrics = {n: m for n, m in resolved.metrics.items() if isinstance(m, GridMetric)}
    if not metrics:
        return []
    config = resolved.config
    store = Store(config.output_dir / "store")
    groups: dict[tuple[str, ...], list[Cell]] = {}
    for cell in cells:
        groups.setdefault(group_of(cell), []).append(cell)
    # per (group, metric, row): {(s_t, s_u): {model key: artifact key}}
    found: dict[tuple[tuple[str, ...], str, str], dict[tuple[int, int], dict[str, str]]] = {}
    for e in examples:
        if e.get("metric") not in metrics:
            continue
        run = (int(e["train_seed"]), int(e["unlearn_seed"]))
        found.setdefault((group_of(e), e["metric"], e["method"]), {}).setdefault(
            run, {})[e["model_key"]] = e["artifact"]
    rows = [m for m in config.methods if m != RETRAIN] + [RETRAIN]
    records: list[dict[str, Any]] = []
    for group, members in groups.items():
        label = "/".join(group[:3]) + f":{group[3]}"
        runs = {(c.train_seed, c.unlearn_seed) for c in members}
        cut = halves(members)
        for name, metric in metrics.items():
            reference = found.get((group, name, RETRAIN), {})
            if set(reference) != runs:
                if reference:
                    warnings.warn(f"grid metric {name} of {label}: {len(reference)} of {len(runs)} "
                                  "runs have evaluated M_r; it is computed when all have",
                                  GridWarning, stacklevel=2)
                continue
            if not cut.a or not cut.b:
                warnings.warn(
                    f"grid metric {name} of {label} needs at least two runs (training or "
                    f"unlearning seeds) and has {len(runs)}: not computed", GridWarning, stacklevel=2)
                continue
            retrained = _side(reference, cut.b)
            for row in rows:
                unlearned = _side(found.get((group, name, row), {}), cut.a)
                if not unlearned:
                    continue  # the row failed or is not evaluated in half A
                try:
                    result = _value(store, resolved, name, metric, row, unlearned, retrained,
                                    write=write)
                except (StoreError, SupremeError, ValueError) as exc:
                    message = exc.message if isinstance(exc, SupremeError) else str(exc)
                    warnings.warn(f"grid metric {name} of {label}, row {row}: {message}",
                                  GridWarning, stacklevel=2)
                    continue
                coarse = min(result["unlearned_models"], result["retrained_models"]) < metric.min_models
                if result["examples"] == 0:
                    warnings.warn(
                        f"grid metric {name} of {label}, row {row}: no example of "
                        f"{metric.example_split} was scored by every model (in the random "
                        "scenario each unlearning seed draws its own forget set)",
                        GridWarning, stacklevel=2)
                    continue
                for entry in result["values"]:
                    records.append({
                        "experiment": config.name, **dict(zip(GROUP_FIELDS, group, strict=True)),
                        "method": row, "metric": name, "key": entry[0], "value": entry[1],
                        **({"non_finite": entry[2]} if len(entry) > 2 else {}),
                        **({"detail": True} if metric.is_detail(entry[0]) else {}),
                        "unlearned_models": result["unlearned_models"],
                        "retrained_models": result["retrained_models"],
                        "examples": result["examples"], "runs": len(runs), "halves_by": cut.by,
                        "coarse": coarse,
                    })
                if coarse and row == RETRAIN:
                    warnings.warn(
                        f"grid metric {name} of {label} compares {result['unlearned_models']} with "
                        f"{result['retrained_models']} models; below {metric.min_models} per side "
                        "the value is coarse (records carry \"coarse\": true). Raise seeds.train "
                        "or seeds.unlearn_per_train.", GridWarning, stacklevel=2)
    if write:
        write_records(config.run_dir(), records)
    return records


def write_records(run_dir: Path, records: Sequence[Mapping[str, Any]]) -> None:
    lines = "".join(strict_json(r, sort_keys=True) + "\n" for r in records)
    atomic_write_bytes(run_dir / GRID_RESULTS, lines.encode())


def _side(by_run: Mapping[tuple[int, int], Mapping[str, str]],
          half: frozenset[tuple[int, int]]) -> dict[str, str]:
    """``{model key: artifact key}`` of the runs in ``half`` (a model shared by runs once)."""
    side: dict[str, str] = {}
    for run in sorted(half):
        for model, artifact in sorted(by_run.get(run, {}).items()):
            side.setdefault(model, artifact)
    return side


def _value(store: Store, resolved: Resolved, name: str, metric: GridMetric, row: str,
           unlearned: Mapping[str, str], retrained: Mapping[str, str], *,
           write: bool) -> dict[str, Any]:
    """The stored (or newly computed) aggregate of one row of one group."""
    payload = {"stage": "grid", "metric": resolved.identity("metrics", name), "row": row,
               "unlearned": sorted(unlearned.values()), "retrained": sorted(retrained.values()),
               "core": resolved.core("evaluate")}
    key = hash_key(payload)

    def compute() -> tuple[dict[str, Any], None]:
        u, r, count = _aligned(store, list(unlearned.values()), list(retrained.values()))
        values = checked_values(metric, metric.aggregate(u, r)) if count else []
        return {"values": values, "unlearned_models": len(unlearned),
                "retrained_models": len(retrained), "examples": count}, None

    if not write:
        return compute()[0]
    meta, _, _ = store.get_or_compute("results", key, compute)
    return meta


def _aligned(store: Store, unlearned: Sequence[str], retrained: Sequence[str]) -> tuple[Any, Any, int]:
    """``[n, S]`` and ``[m, S]`` float64 arrays over the examples every artifact scored."""
    import numpy as np

    loaded = []
    for artifact in [*unlearned, *retrained]:
        _, tensors = store.load("results", artifact)
        if not {"values", "index"} <= set(tensors):
            raise StoreError(f"artifact results/{artifact} holds no per-example outputs",
                             "Delete it and run again; it will be recomputed.")
        loaded.append((tensors["index"].numpy(), tensors["values"].numpy()))
    common = loaded[0][0]
    for index, _ in loaded[1:]:
        common = np.intersect1d(common, index)
    rows = []
    for index, values in loaded:
        order = np.argsort(index)
        position = order[np.searchsorted(index, common, sorter=order)]
        rows.append(values[position].astype(np.float64))
    matrix = np.stack(rows) if rows else np.zeros((0, 0))
    return matrix[:len(unlearned)], matrix[len(unlearned):], len(common)
