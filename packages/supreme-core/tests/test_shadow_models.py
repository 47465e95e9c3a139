"""Shadow models (metrics that declare ``shadows``): trained through the store, shared by
the methods and by cells with the same split, handed to the metric, counted by the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
import supreme
import torch
from pydantic import Field
from supreme import hookimpl, registry
from supreme.contracts import ComponentConfig, Metric, ShadowOutputs, UnlearningMethod
from supreme.engine import plan
from supreme.errors import ConfigError
from supreme.pipeline import run as run_module
from supreme.pipeline.run import shadow_order
from supreme.stage import Stage, StageKind


class ToyShadow(Metric):
    """Records the shadow outputs it is given; returns their count and member share."""

    name = "toy_shadow"
    needs = frozenset({"reference", "shadows"})
    seen: ClassVar[dict[str, ShadowOutputs]] = {}

    class Config(ComponentConfig):
        shadows: int = Field(2, ge=0)

    def shadow_models(self) -> int:
        return self.config.shadows  # type: ignore[attr-defined, no-any-return]

    def compute(self, ctx: Any) -> dict[str, float]:
        shadows = ctx.shadow_outputs()
        ToyShadow.seen[ctx.method] = shadows
        # order-sensitive values: shadow 0's members and outputs
        return {"shadows": float(len(shadows)), "members": float(shadows.members.float().mean()),
                "first_members": float(shadows.members[0].sum()),
                "first_unlearned": float(shadows.unlearned[0].logits.double().sum()),
                "first_retrained": float(shadows.retrained[0].logits.double().sum())}


class ShadowShy(UnlearningMethod):
    """Returns M_o unchanged, but fails on a shadow model (seeds from 7,000,000)."""

    name = "shadow_shy"

    class Config(ComponentConfig):
        pass

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        if data.seed >= 7_000_000:
            raise RuntimeError("refuses shadow models")
        return model


class _Plugin:
    @hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [ToyShadow]

    @hookimpl
    def supreme_register_methods(self) -> list[type[UnlearningMethod]]:
        return [ShadowShy]


@pytest.fixture
def experiment(toy_experiment: dict[str, Any]) -> dict[str, Any]:
    registry.register_plugin(_Plugin(), name="shadow-test")
    ToyShadow.seen.clear()
    return {**toy_experiment, "metrics": ["toy_accuracy", "toy_shadow"],
            "seeds": {"train": [1, 2]}}


def test_the_plan_counts_the_shadow_trainings_and_unlearning_runs_exactly(
        experiment: dict[str, Any]) -> None:
    config = supreme.load_config(data=experiment)
    counts = plan(config).counts()
    # K = 2 shadows, each trained (M_o#k) and retrained (M_r#k) once: the full-class split
    # of target b holds the same examples for both cells, so both cells share them; one
    # method (toy_ascent) runs on each shadow; original and retrain reuse M_o#k and M_r#k
    assert counts["shadow trainings"] == {"total": 4, "existing": 0, "to_compute": 4}
    assert counts["shadow unlearning runs"] == {"total": 2, "existing": 0, "to_compute": 2}
    assert counts["trainings"]["total"] == 2 and counts["retrainings"]["total"] == 2
    # a plan without shadow metrics has no shadow rows
    no_shadows = supreme.load_config(data={**experiment, "metrics": ["toy_accuracy"]})
    assert "shadow trainings" not in plan(no_shadows).counts()

    results = supreme.run(config)
    assert not results.failures
    shadow_events = {e.stage for e in results.events if Stage.parse(e.stage).kind is StageKind.SHADOW}
    assert shadow_events == {"shadow M_o#0", "shadow M_o#1", "shadow M_r#0", "shadow M_r#1",
                             "shadow toy_ascent#0", "shadow toy_ascent#1"}
    after = plan(config).counts()
    assert after["shadow trainings"] == {"total": 4, "existing": 4, "to_compute": 0}
    assert after["shadow unlearning runs"] == {"total": 2, "existing": 2, "to_compute": 0}


def test_the_metric_gets_each_rows_shadows_and_the_retrained_ones(
        experiment: dict[str, Any]) -> None:
    results = supreme.run(supreme.load_config(data=experiment))
    seen = ToyShadow.seen
    assert set(seen) == {"original", "retrain", "toy_ascent"}
    members = seen["original"].members
    assert members.shape[0] == 2 and members.dtype == torch.bool
    # every example of D_f is in about half the shadows' forget sets, differently per shadow
    assert 0.3 < float(members.float().mean()) < 0.7
    assert not torch.equal(members[0], members[1])
    for row in seen.values():
        assert torch.equal(row.members, members)
    # the retrain row's unlearned shadows are the retrained shadows themselves
    for k in range(2):
        assert torch.equal(seen["retrain"].unlearned[k].logits, seen["retrain"].retrained[k].logits)
        assert torch.equal(seen["original"].retrained[k].logits, seen["retrain"].retrained[k].logits)
        # the method moved shadow k (toy_ascent ascends the loss on F_k)
        assert not torch.equal(seen["toy_ascent"].unlearned[k].logits,
                               seen["original"].unlearned[k].logits)
    values = {(r["method"], r["key"]): r["value"] for r in results.records
              if r["metric"] == "toy_shadow" and r["train_seed"] == 1}
    assert values[("toy_ascent", "shadows")] == 2.0

    # a rerun trains no shadow and gives the same records
    again = supreme.run(supreme.load_config(data=experiment))
    assert all(e.reused for e in again.events if Stage.parse(e.stage).kind is StageKind.SHADOW)
    assert [r["value"] for r in again.records] == [r["value"] for r in results.records]


def test_fewer_than_two_shadows_is_a_config_error(experiment: dict[str, Any]) -> None:
    experiment = {**experiment, "metric": {"toy_shadow": {"shadows": 1}}}
    with pytest.raises(ConfigError) as caught:
        plan(supreme.load_config(data=experiment))
    assert caught.value.message == (
        "metric 'toy_shadow' needs shadow models but asks for 1; a per-example attack needs "
        "at least 2")
    assert caught.value.hint.startswith("Set [metric.toy_shadow] shadows to 2 or more")


def test_a_method_failing_on_a_shadow_skips_only_its_rows_shadow_metric(
        experiment: dict[str, Any]) -> None:
    experiment = {**experiment, "methods": ["original", "retrain", "toy_ascent", "shadow_shy"],
                  "seeds": {"train": [1]}}
    with pytest.warns(RuntimeWarning, match="refuses shadow models"):
        results = supreme.run(supreme.load_config(data=experiment))
    failures = {(f["method"], f["metric"], f["stage"]): f["error"] for f in results.failures}
    assert failures[("shadow_shy", None, "shadow shadow_shy#0")] == "refuses shadow models"
    assert failures[("shadow_shy", "toy_shadow", "evaluate shadow_shy:toy_shadow")] == (
        "skipped: its shadow models failed (refuses shadow models)")
    assert len(failures) == 2
    measured = {(r["method"], r["metric"]) for r in results.records}
    assert ("shadow_shy", "toy_accuracy") in measured
    assert ("toy_ascent", "toy_shadow") in measured and ("shadow_shy", "toy_shadow") not in measured


def test_workers_visit_the_shadows_from_different_starts() -> None:
    assert shadow_order(None, 4) == shadow_order(1, 4) == [0, 1, 2, 3]
    assert shadow_order(2, 3) == [2, 0, 1]  # round(0.618 * 3) = 2
    assert shadow_order(3, 16) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3]
    for count in range(1, 20):
        if count >= 2:  # the first two workers never start at the same shadow
            assert shadow_order(1, count)[0] != shadow_order(2, count)[0]
        for worker in range(1, 9):
            assert sorted(shadow_order(worker, count)) == list(range(count))


def test_the_visiting_order_changes_no_value(experiment: dict[str, Any], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    experiment = {**experiment, "metric": {"toy_shadow": {"shadows": 3}}}
    one = supreme.run(supreme.load_config(data={**experiment, "output_dir": str(tmp_path / "a")}))
    monkeypatch.setattr(run_module, "shadow_order", lambda worker, count: [2, 0, 1])
    other = supreme.run(supreme.load_config(data={**experiment, "output_dir": str(tmp_path / "b")}))
    order = [e.stage for e in other.events if e.stage.startswith("shadow M_o#")]
    assert order[:3] == ["shadow M_o#2", "shadow M_o#0", "shadow M_o#1"]

    def values(results: Any) -> dict[tuple[Any, ...], float]:
        return {(r["train_seed"], r["method"], r["metric"], r["key"]): r["value"]
                for r in results.records}
    assert values(other) == values(one)
