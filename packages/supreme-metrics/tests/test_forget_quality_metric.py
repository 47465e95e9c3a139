"""The forget_quality grid metric: its per-example output and its aggregate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from supreme.contracts import GridMetric
from supreme.testing import make_eval_context
from supreme.testing.metrics import metric_fixture
from supreme_metrics._forget_quality import DELTA, logit_scaled_confidence
from supreme_metrics.forget_quality import ForgetQuality


def test_it_is_a_grid_metric_over_the_training_side_forget_set() -> None:
    assert issubclass(ForgetQuality, GridMetric)
    assert ForgetQuality.example_split == "forget_train" and ForgetQuality.min_models == 8
    assert not ForgetQuality.is_detail("forget_quality") and ForgetQuality.is_detail("epsilon_max")


def test_per_example_is_the_logit_scaled_confidence_in_the_label() -> None:
    models, splits = metric_fixture()
    ctx = make_eval_context({"unlearned": models["unlearned"]}, splits, num_classes=4,
                            forget_class=0, seed=1, batch_size=8)
    values = ForgetQuality(None).per_example(ctx)
    out = ctx.outputs("unlearned", "forget_train")
    assert values.shape == (len(splits["forget_train"]),)
    p = torch.softmax(out.logits.double(), 1).gather(1, out.labels.view(-1, 1)).squeeze(1)
    assert torch.allclose(values, torch.log(p) - torch.log1p(-p), atol=1e-9)
    assert torch.equal(values, logit_scaled_confidence(out.logits, out.labels))


def test_aggregate_is_one_for_identical_models_and_its_floor_for_separated_ones() -> None:
    rng = np.random.default_rng(0)
    retrained = rng.normal(0.0, 1.0, size=(16, 50))
    same = ForgetQuality(None).aggregate(retrained.copy(), retrained)
    assert same["forget_quality"] == 1.0 and same["epsilon_max"] == 0.0
    apart = ForgetQuality(None).aggregate(retrained + 20.0, retrained)
    assert apart["forget_quality"] == pytest.approx(2.0 ** -12)
    assert apart["epsilon_median"] == pytest.approx(math.log((1 - DELTA - 1 / 16) / (1 / 16)))
    coarser = ForgetQuality(ForgetQuality.Config(bins=5)).aggregate(retrained + 20.0, retrained)
    assert coarser["forget_quality"] == pytest.approx(2.0 ** -4)
    assert set(same) == {"forget_quality", "epsilon_median", "epsilon_max"}
