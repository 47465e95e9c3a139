"""Grid metrics: per-example outputs stored per row, one value per cell group after its runs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import supreme
import torch
from supreme import hookimpl, registry
from supreme.contracts import ComponentConfig, GridMetric, Metric
from supreme.contracts.records import Cell
from supreme.pipeline import grid
from supreme.pipeline.cells import read_outcome
from supreme.plan import resolve
from supreme.store import Store


class ToyConfidence(GridMetric):
    """Mean logit of the true label on D_f, compared between two sets of models."""

    name = "toy_confidence"
    detail_keys = frozenset({"examples"})
    calls: ClassVar[list[tuple[np.ndarray, np.ndarray]]] = []

    class Config(ComponentConfig):
        pass

    def per_example(self, ctx: Any) -> torch.Tensor:
        out = ctx.outputs("unlearned", self.example_split)
        return out.logits.gather(1, out.labels.view(-1, 1)).squeeze(1)

    def aggregate(self, unlearned: np.ndarray, retrained: np.ndarray) -> dict[str, float]:
        ToyConfidence.calls.append((unlearned, retrained))
        return {"gap": float(unlearned.mean() - retrained.mean()),
                "examples": float(unlearned.shape[1])}


class _Plugin:
    @hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [ToyConfidence]


@pytest.fixture
def experiment(toy_experiment: dict[str, Any]) -> dict[str, Any]:
    registry.register_plugin(_Plugin(), name="grid-test")
    ToyConfidence.calls.clear()
    return {**toy_experiment, "metrics": ["toy_accuracy", "toy_confidence"],
            "seeds": {"train": [1, 2, 3, 4]}}


def _stored(store: Store, run_dir: Path, row: str) -> dict[int, np.ndarray]:
    """Per training seed, the per-example outputs the cell stored for ``row``."""
    out = {}
    for path in sorted((run_dir / "cells").glob("*.json")):
        outcome = read_outcome(path)
        assert outcome is not None
        entry = next(e for e in outcome["examples"] if e["method"] == row)
        _, tensors = store.load("results", entry["artifact"])
        out[outcome["cell"]["train_seed"]] = tensors["values"].numpy()
    return out


def test_halves_split_runs_by_training_seed_else_by_unlearning_seed() -> None:
    def cells(runs: list[tuple[int, int]]) -> list[Cell]:
        return [Cell("d", "m", "fullclass", "0", t, u, u) for t, u in runs]

    by_train = grid.halves(cells([(1, 1), (1, 2), (2, 3), (2, 4), (3, 5), (3, 6)]))
    assert by_train.by == "training seed"
    assert by_train.a == {(1, 1), (1, 2), (2, 3), (2, 4)} and by_train.b == {(3, 5), (3, 6)}
    by_unlearn = grid.halves(cells([(7, 1), (7, 2), (7, 3), (7, 4)]))
    assert by_unlearn.by == "unlearning seed"
    assert by_unlearn.a == {(7, 1), (7, 2)} and by_unlearn.b == {(7, 3), (7, 4)}
    assert not grid.halves(cells([(1, 1)])).b


def test_a_grid_metric_compares_half_the_runs_with_the_other_halfs_retrained_models(
        experiment: dict[str, Any]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = supreme.run(supreme.load_config(data=experiment))
    config = supreme.load_config(data=experiment)
    run_dir, store = config.run_dir(), Store(config.output_dir / "store")
    # nothing per cell: the per-example outputs are artifacts the outcome files name
    assert not [r for r in results.records if r["metric"] == "toy_confidence"]
    assert len(results.examples) == 4 * 3  # 4 cells x (original, retrain, toy_ascent)
    by_row = {(r["method"], r["key"]): r for r in results.grid}
    assert sorted({m for m, _ in by_row}) == ["original", "retrain", "toy_ascent"]
    reference = by_row[("retrain", "gap")]
    assert (reference["unlearned_models"], reference["retrained_models"], reference["runs"]) == (2, 2, 4)
    assert reference["examples"] == 24 and reference["coarse"] is True
    assert by_row[("retrain", "examples")]["detail"] is True
    # the retrain row: M_r of training seeds 1, 2 against M_r of seeds 3, 4, example-aligned
    retrained = _stored(store, run_dir, "retrain")
    expected = float(np.mean([retrained[1], retrained[2]]) - np.mean([retrained[3], retrained[4]]))
    assert reference["value"] == pytest.approx(expected, rel=1e-12)
    method = _stored(store, run_dir, "toy_ascent")
    expected = float(np.mean([method[1], method[2]]) - np.mean([retrained[3], retrained[4]]))
    assert by_row[("toy_ascent", "gap")]["value"] == pytest.approx(expected, rel=1e-12)
    assert len(ToyConfidence.calls) == 3 and all(u.shape == (2, 24) and r.shape == (2, 24)
                                                 for u, r in ToyConfidence.calls)
    # written for the report, and the small run is flagged coarse with one warning
    lines = (run_dir / grid.GRID_RESULTS).read_text().splitlines()
    assert [json.loads(line) for line in lines] == results.grid
    coarse = [w for w in caught if issubclass(w.category, grid.GridWarning)]
    assert len(coarse) == 1 and "compares 2 with 2 models; below 8 per side" in str(coarse[0].message)

    # a rerun reads the stored values: nothing is aggregated again, the records are identical
    again = supreme.run(supreme.load_config(data=experiment))
    assert again.ran == 0 and len(ToyConfidence.calls) == 3
    assert again.grid == results.grid
    assert supreme.load_results(run_dir).grid == results.grid


def test_a_group_is_computed_only_when_every_run_has_evaluated_m_r(
        experiment: dict[str, Any]) -> None:
    results = supreme.run(supreme.load_config(data=experiment))
    config = supreme.load_config(data=experiment)
    resolved = resolve(config, registry.default())
    partial = [e for e in results.examples if not (e["method"] == "retrain" and e["train_seed"] == 4)]
    with pytest.warns(grid.GridWarning, match=r"toy_confidence of toy/tiny/fullclass:b: 3 of 4 "
                                              r"runs have evaluated M_r; it is computed when all have"):
        assert grid.compute(resolved, resolved.cells(), partial, write=False) == []


def test_one_run_is_too_few_for_a_grid_metric(experiment: dict[str, Any]) -> None:
    experiment["seeds"] = {"train": [1]}
    with pytest.warns(grid.GridWarning, match="needs at least two runs"):
        results = supreme.run(supreme.load_config(data=experiment))
    assert results.grid == []


def test_a_malformed_examples_entry_makes_the_outcome_unreadable(tmp_path: Path) -> None:
    base = {"status": "finished", "records": [], "failures": []}
    path = tmp_path / "cell.json"
    path.write_text(json.dumps({**base, "examples": [{"method": "x", "metric": "y",
                                                       "artifact": "z", "model_key": "k"}]}))
    assert read_outcome(path) is not None
    for bad in ([{"method": "x"}], {"method": "x"}, [{"method": "x", "metric": "y",
                                                       "artifact": 3, "model_key": "k"}]):
        path.write_text(json.dumps({**base, "examples": bad}))
        assert read_outcome(path) is None


def test_the_report_shows_the_grid_metrics(experiment: dict[str, Any]) -> None:
    pytest.importorskip("matplotlib")
    supreme.run(supreme.load_config(data=experiment))
    run_dir = supreme.load_config(data=experiment).run_dir()
    from supreme.report import write_report

    files = write_report(run_dir)
    tables = files["markdown"].read_text()
    assert "# Grid metrics" in tables
    assert "## toy / tiny / fullclass:b: 4 runs, 2 vs 2 models (coarse" in tables
    assert "| toy_confidence | gap |" in tables and "| toy_confidence | examples |" not in tables
    assert '<section id="grid">' in files["html"].read_text()
