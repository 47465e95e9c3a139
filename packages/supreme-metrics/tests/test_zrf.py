"""zrf: 1 - JS/ln 2 against a seeded incompetent model, on D'_f."""

from __future__ import annotations

import math

import pytest
import torch
from supreme.errors import SupremeError
from supreme.testing import TinyNet, fullclass_split, make_eval_context, synthetic_images
from supreme_metrics.zrf import ZRF

JS_HAND = 0.5 * (0.5 * math.log(0.8) + 0.5 * math.log(4 / 3)) + 0.5 * (
    0.75 * math.log(1.2) + 0.25 * math.log(2 / 3))


def test_zrf_of_hand_computed_outputs(logit_context, tagged) -> None:
    labels = torch.zeros(1, dtype=torch.long)
    skewed = torch.tensor([[math.log(3.0), 0.0]], dtype=torch.float64)
    ctx = logit_context({
        ("unlearned", "forget_test"): (skewed, labels),
        ("original", "forget_test"): (torch.tensor([[0.0, 1000.0]]), labels),
        ("incompetent", "forget_test"): (torch.tensor([[1000.0, 0.0]]), labels),
    }, new_model=lambda: tagged("incompetent"))
    # the incompetent model's row also lives in the table, so drop it from the roles
    ctx.models = {k: v for k, v in ctx.models.items() if k != "incompetent"}
    result = ZRF().compute(ctx)
    # initial: M_o's one-hot output is disjoint from T_i's -> JS = ln 2 -> ZRF = 0
    assert result["initial"] == pytest.approx(0.0, abs=1e-12)
    # final: (3/4, 1/4) against (1, 0): m = (7/8, 1/8)
    js = 0.5 * (0.75 * math.log(0.75 / 0.875) + 0.25 * math.log(0.25 / 0.125)) \
        + 0.5 * math.log(1 / 0.875)
    assert result["final"] == pytest.approx(1 - js / math.log(2), rel=1e-9)


def real_context(unlearned: torch.nn.Module, original: torch.nn.Module, seed: int = 5):
    data = synthetic_images(4, per_class=5, seed=4)
    forget, retain = fullclass_split(data, 0)
    return make_eval_context(
        {"unlearned": unlearned, "original": original},
        {"test": data, "retain_test": retain, "forget_test": forget},
        seed=seed, new_model=lambda: TinyNet(4))


def test_a_model_equal_to_the_incompetent_one_scores_one() -> None:
    torch.manual_seed(5)  # the incompetent model is TinyNet(4) built right after seeding s_e
    random_net = TinyNet(4)
    torch.manual_seed(123)
    original = TinyNet(4)
    with torch.no_grad():
        original.head.weight.mul_(10)
    result = ZRF().compute(real_context(random_net, original, seed=5))
    assert result["final"] == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= result["initial"] < 0.99


def test_the_incompetent_model_is_seeded_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(1)
    a, b = TinyNet(4), TinyNet(4)
    state = torch.random.get_rng_state()
    first = ZRF().compute(real_context(a, b))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert ZRF().compute(real_context(a, b)) == first


def test_without_a_model_factory_zrf_says_what_to_do(logit_context) -> None:
    labels = torch.zeros(1, dtype=torch.long)
    ctx = logit_context({("unlearned", "forget_test"): (torch.zeros(1, 2), labels),
                         ("original", "forget_test"): (torch.zeros(1, 2), labels)})
    with pytest.raises(SupremeError, match="no new_model factory"):
        ZRF().compute(ctx)
