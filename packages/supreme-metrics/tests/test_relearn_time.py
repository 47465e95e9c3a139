"""relearn_time: SGD steps on D_f until its accuracy is back within a margin of M_o's."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from supreme.errors import SupremeError
from supreme.testing import TinyNet, make_eval_context, synthetic_images, tiny_transform
from supreme_metrics._math import accuracy_percent
from supreme_metrics.relearn_time import RelearnTime


def train(model: torch.nn.Module, data, steps: int, seed: int, lr: float = 0.05) -> torch.nn.Module:
    """Plain full-batch SGD on uint8 images, normalised as the test transform does."""
    transform = tiny_transform(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    torch.manual_seed(seed)
    model.train()
    for _ in range(steps):
        loss = F.cross_entropy(model(transform(data.images)), data.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def forget_accuracy(model: torch.nn.Module, forget) -> float:
    with torch.no_grad():
        return accuracy_percent(model.eval()(tiny_transform(1)(forget.images)), forget.labels)


@pytest.fixture(scope="module")
def memorised():
    """D = 4 learnable classes; D_f = 16 samples whose labels were replaced at random, so
    only a model that saw D_f predicts them. M_o trained on all of D, M_r on D_r only, and
    M_u = M_o fine-tuned on D_r until it no longer predicts D_f's labels."""
    data = synthetic_images(4, per_class=16, seed=3)
    g = torch.Generator().manual_seed(7)
    labels = data.labels.clone()
    labels[:16] = (labels[:16] + torch.randint(1, 4, (16,), generator=g)) % 4  # all wrong
    data = type(data)(data.images, labels)
    forget = data.subset(torch.arange(16))
    retain = data.subset(torch.arange(16, len(data)))
    torch.manual_seed(0)
    original = train(TinyNet(4, width=64), data, 400, seed=0)  # wide enough to memorise D_f
    torch.manual_seed(1)
    retrained = train(TinyNet(4, width=64), retain, 400, seed=1)
    unlearned = copy.deepcopy(original)
    for round_ in range(40):  # fine-tune on D_r until D_f's memorised labels are half gone
        if forget_accuracy(unlearned, forget) <= 50.0:
            break
        train(unlearned, retain, 5, seed=2 + round_)
    return data, forget, retain, original, retrained, unlearned


def context(model: torch.nn.Module, original: torch.nn.Module, forget, retain, seed: int = 0):
    return make_eval_context({"unlearned": model, "original": original},
                             {"forget_train": forget, "retain_train": retain}, seed=seed)


def test_the_original_model_relearns_in_zero_steps_and_the_threshold_is_its_accuracy_minus_the_margin(
        memorised) -> None:
    _, forget, retain, original, _, _ = memorised
    result = RelearnTime().compute(context(original, original, forget, retain))
    acc = forget_accuracy(original, forget)
    assert acc == 100.0  # it memorised the random labels
    assert result == {"steps": 0.0, "threshold": acc - 5.0, "start_accuracy": acc, "capped": 0.0}


def test_a_model_that_saw_the_forget_set_relearns_it_faster_than_one_that_never_did(
        memorised) -> None:
    _, forget, retain, original, retrained, unlearned = memorised
    metric = RelearnTime(RelearnTime.Config(check_every=1, max_steps=400))
    hidden = metric.compute(context(unlearned, original, forget, retain))
    never = metric.compute(context(retrained, original, forget, retain))
    assert hidden["start_accuracy"] <= 50.0 and never["start_accuracy"] <= 50.0
    assert hidden["capped"] == 0.0 and never["capped"] == 0.0
    assert 0 < hidden["steps"] < never["steps"] / 2


def test_an_untrained_model_hits_the_cap_and_the_evaluated_model_is_left_unchanged(
        memorised) -> None:
    _, forget, retain, original, _, _ = memorised
    torch.manual_seed(9)
    fresh = TinyNet(4)
    before = copy.deepcopy(fresh.state_dict())
    metric = RelearnTime(RelearnTime.Config(max_steps=10))
    result = metric.compute(context(fresh, original, forget, retain))
    assert result["steps"] == 10.0 and result["capped"] == 1.0
    assert all(torch.equal(before[k], v) for k, v in fresh.state_dict().items())


def test_the_same_evaluation_seed_gives_the_same_steps_and_a_fixed_threshold_is_used(
        memorised) -> None:
    _, forget, retain, original, retrained, _ = memorised
    metric = RelearnTime(RelearnTime.Config(check_every=1, threshold=60.0))
    first = metric.compute(context(retrained, original, forget, retain, seed=4))
    again = metric.compute(context(retrained, original, forget, retain, seed=4))
    assert first == again and first["threshold"] == 60.0 and first["capped"] == 0.0


def test_without_a_batches_factory_it_says_what_to_pass(memorised) -> None:
    _, forget, retain, original, retrained, _ = memorised
    ctx = context(retrained, original, forget, retain)
    ctx.batches = None
    with pytest.raises(SupremeError, match="has no batches factory"):
        RelearnTime().compute(ctx)


def test_no_forget_train_split_gives_no_keys(memorised) -> None:
    _, _, retain, original, retrained, _ = memorised
    ctx = make_eval_context({"unlearned": retrained, "original": original},
                            {"retain_train": retain})
    assert RelearnTime().compute(ctx) == {}
