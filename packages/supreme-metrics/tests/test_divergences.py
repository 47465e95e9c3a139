"""js_divergence, activation_distance and completeness: closed forms and hand-computed values."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from supreme.testing import TinyNet, make_eval_context, synthetic_images
from supreme_metrics._math import js_per_sample, legacy_js
from supreme_metrics.activation_distance import ActivationDistance
from supreme_metrics.completeness import Completeness
from supreme_metrics.js_divergence import JSDivergence

LN2 = math.log(2)
# p = softmax(0, 0) = (1/2, 1/2); q = softmax(ln 3, 0) = (3/4, 1/4); m = (5/8, 3/8)
UNIFORM = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
SKEWED = torch.tensor([[math.log(3.0), 0.0]], dtype=torch.float64)
# ½[½ ln(4/5) + ½ ln(4/3)] + ½[¾ ln(6/5) + ¼ ln(2/3)], worked out by hand
JS_HAND = 0.5 * (0.5 * math.log(0.8) + 0.5 * math.log(4 / 3)) + 0.5 * (
    0.75 * math.log(1.2) + 0.25 * math.log(2 / 3))


def test_hand_value_of_the_example_is_what_the_text_says() -> None:
    assert pytest.approx(0.0338220756, abs=1e-10) == JS_HAND


def test_js_of_identical_distributions_is_zero() -> None:
    logits = torch.randn(50, 10, generator=torch.Generator().manual_seed(0)) * 5
    assert torch.allclose(js_per_sample(logits, logits), torch.zeros(50, dtype=torch.float64))


def test_js_is_symmetric_and_bounded_by_ln2() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(200, 7, generator=g) * 10, torch.randn(200, 7, generator=g) * 10
    forward, backward = js_per_sample(a, b), js_per_sample(b, a)
    assert torch.allclose(forward, backward, atol=1e-12)
    assert bool((forward >= 0).all()) and bool((forward <= LN2).all())


def test_js_equals_the_hand_computed_value() -> None:
    assert float(js_per_sample(UNIFORM, SKEWED)[0]) == pytest.approx(JS_HAND, rel=1e-9)


def test_js_of_disjoint_one_hot_outputs_is_ln2_and_finite() -> None:
    # the softmaxes underflow to exact zeros in float64: the reference's KL gives inf here
    a, b = torch.tensor([[1000.0, 0.0]]), torch.tensor([[0.0, 1000.0]])
    assert float(js_per_sample(a, b)[0]) == pytest.approx(LN2, rel=1e-12)
    assert math.isinf(legacy_js(a, b))


def test_legacy_js_is_the_reversed_kl_over_n_times_c() -> None:
    # ½ KL(m‖p)/C + ½ KL(m‖q)/C with C = 2, N = 1
    m = (5 / 8, 3 / 8)
    kl_mp = m[0] * math.log(m[0] / 0.5) + m[1] * math.log(m[1] / 0.5)
    kl_mq = m[0] * math.log(m[0] / 0.75) + m[1] * math.log(m[1] / 0.25)
    assert legacy_js(UNIFORM, SKEWED) == pytest.approx(0.25 * (kl_mp + kl_mq), rel=1e-9)


def two_sample_context(logit_context):
    model = torch.cat([UNIFORM, UNIFORM])
    reference = torch.cat([SKEWED, UNIFORM])
    labels = torch.tensor([0, 1])
    return logit_context({("unlearned", "test"): (model, labels),
                          ("reference", "test"): (reference, labels)})


def test_js_metric_averages_over_samples(logit_context) -> None:
    ctx = two_sample_context(logit_context)
    assert JSDivergence().compute(ctx) == {"test": pytest.approx(JS_HAND / 2, rel=1e-7)}
    legacy = JSDivergence(JSDivergence.Config(legacy=True)).compute(ctx)["test"]
    assert legacy == pytest.approx(legacy_js(torch.cat([SKEWED, UNIFORM]),
                                             torch.cat([UNIFORM, UNIFORM])), rel=1e-9)


def test_activation_distance_equals_the_hand_computed_mean_and_rms(logit_context) -> None:
    # sample 1: ‖(1/2, 1/2) - (3/4, 1/4)‖ = √(2/16) = √2/4; sample 2: 0
    ctx = two_sample_context(logit_context)
    assert ActivationDistance().compute(ctx) == {"test": pytest.approx(math.sqrt(2) / 8)}
    rms = ActivationDistance(ActivationDistance.Config(legacy=True)).compute(ctx)
    assert rms == {"test": pytest.approx(math.sqrt((2 / 16) / 2))}


def test_completeness_counts_agreeing_predictions(logit_context) -> None:
    model = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    reference = torch.tensor([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 9.0], [0.0, 1.0, 0.0]])
    labels = torch.zeros(4, dtype=torch.long)
    ctx = logit_context({("unlearned", "forget_test"): (model, labels),
                         ("reference", "forget_test"): (reference, labels)})
    assert Completeness().compute(ctx) == {"forget_test": 75.0}


def identical_models_context():
    data = synthetic_images(4, per_class=6, seed=3)
    torch.manual_seed(0)
    model = TinyNet(4)
    splits = {"test": data, "retain_test": data.subset(torch.arange(10)),
              "forget_test": data.subset(torch.arange(10, 15))}
    return make_eval_context({"unlearned": model, "reference": copy.deepcopy(model)}, splits)


def test_identical_models_have_zero_distance_and_full_completeness() -> None:
    ctx = identical_models_context()
    keys = {"test", "retain_test", "forget_test"}
    assert JSDivergence().compute(ctx) == dict.fromkeys(keys, 0.0)
    assert ActivationDistance().compute(ctx) == dict.fromkeys(keys, 0.0)
    assert Completeness().compute(ctx) == dict.fromkeys(keys, 100.0)
    assert ctx.forward_passes == 6  # two models x three splits, shared by the three metrics
