"""SSD, LFSSD, SSD-Det, LFSSD-Det and ASSD: importances, selection, dampening, caching."""

from __future__ import annotations

import math

import pytest
import torch
from methods_helpers import accuracy, student
from supreme.contracts.types import MAX_SCALE
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods import _importance as imp
from supreme_methods.assd import ASSD, assd_percentile
from supreme_methods.lfssd import LFSSD
from supreme_methods.lfssd_det import LFSSDDet
from supreme_methods.ssd import SSD
from supreme_methods.ssd_det import SSDDet


def _fresh(tiny, **kw):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    return tiny_unlearn_data(original, train, **kw)


def _params(model):
    return {n: p.detach().clone() for n, p in unwrap(model).named_parameters()}


@pytest.mark.parametrize("cls", [SSD, LFSSD, SSDDet, LFSSDDet])
def test_infinite_alpha_changes_nothing(tiny, cls):
    original, _ = tiny
    data = _fresh(tiny)
    # the largest α a config accepts: F/O stays far below it (O is over D, which holds D_f)
    result = cls(cls.Config(alpha=MAX_SCALE)).unlearn(student(original), data, cpu_fabric())
    before, after = _params(original), _params(result)
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("cls", [SSD, LFSSD, SSDDet, LFSSDDet])
def test_zero_lambda_zeroes_exactly_the_selected_weights(tiny, cls):
    original, _ = tiny
    alpha = 2.0
    probe = cls(cls.Config(alpha=alpha, dampening=0.0))
    f, o = probe.importances(student(original), _fresh(tiny, seed=4))  # same draws as below
    data = _fresh(tiny, seed=4)
    result = probe.unlearn(student(original), data, cpu_fabric())
    before, after = _params(original), _params(result)
    selected_total = 0
    for name in before:
        selected = f[name] > alpha * o[name]
        selected_total += int(selected.sum())
        assert torch.all(after[name][selected] == 0), name
        assert torch.equal(after[name][~selected], before[name][~selected]), name
    assert selected_total > 0


def test_dampening_factor_closed_form():
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, 3.0]]))
    forget = {"weight": torch.tensor([[8.0, 1.0]])}
    full = {"weight": torch.tensor([[1.0, 1.0]])}
    counts = imp.dampen(model, forget, full, alpha=5.0, dampening=2.0)
    # first element: 8 > 5·1, factor min(1, 2·1/8) = 0.25; second not selected
    assert torch.allclose(model.weight, torch.tensor([[0.5, 3.0]]))
    assert counts == {"weight": 1}


def test_ssd_forgets_the_class_and_keeps_the_rest(tiny):
    original, _ = tiny
    data = _fresh(tiny)
    result = SSD().unlearn(student(original), data, cpu_fabric())
    assert accuracy(result, data, "forget") < 0.2
    assert accuracy(result, data, "retain") > 0.9


def test_lfssd_importance_ignores_labels(tiny):
    from supreme.contracts import ImageTensors

    original, _ = tiny
    data = _fresh(tiny)
    shuffled = ImageTensors(data.forget.images, torch.randint(0, 4, (len(data.forget),)))
    a = imp.per_sample_importance(student(original), data.forget, data, "l2", 16)
    b = imp.per_sample_importance(student(original), shuffled, data, "l2", 16)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("criterion", ["ce", "l2"])
def test_vmap_per_sample_importance_equals_the_backward_loop(tiny, criterion):
    original, _ = tiny
    data = _fresh(tiny)
    fast = imp.per_sample_importance(student(original), data.train, data, criterion, 32,
                                     chunk_size=5)
    slow = imp.per_sample_importance_loop(student(original), data.train, data, criterion, 32)
    for k in fast:
        assert torch.allclose(fast[k], slow[k], rtol=1e-4, atol=1e-10), k


def test_per_sample_importance_does_not_depend_on_order_or_batch_size(tiny):
    original, _ = tiny
    data = _fresh(tiny)
    train = data.train
    reversed_train = train.subset(torch.arange(len(train) - 1, -1, -1))
    a = imp.per_sample_importance(student(original), train, data, "ce", 32)
    b = imp.per_sample_importance(student(original), reversed_train, data, "ce", 7)
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-12), k


def test_batch_importance_is_the_squared_batch_mean_gradient(tiny):
    original, _ = tiny
    data = _fresh(tiny)
    model = student(original).eval()
    x, y = next(iter(data.loader("forget", batch_size=64, shuffle=False)))
    got = imp.batch_importance(model, [(x, y)], "ce", data, 1)
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for n, p in model.named_parameters():
        assert torch.allclose(got[n], p.grad.pow(2)), n


@pytest.mark.parametrize("cls", [SSD, SSDDet])
def test_full_importance_is_computed_once_across_targets(tiny, cls):
    from supreme.contracts.unlearn_data import memory_cache

    original, train = tiny
    store = memory_cache()
    calls = []

    def counting_cache(name, key, compute):
        def counted():
            calls.append(key)
            return compute()
        return store(name, key, counted)

    from supreme.testing.methods import tiny_unlearn_data

    results = []
    for target in (0, 1):
        data = tiny_unlearn_data(original, train, cache=counting_cache)
        if target:  # forget class 1 instead of 0, same M_o and D
            from supreme.testing import fullclass_split

            forget, retain = fullclass_split(train, 1)
            data = data.replace(forget=forget, retain=retain, forget_class=1)
        results.append(cls().unlearn(student(original), data, cpu_fabric()))
    assert len(calls) == 1
    # and the cached O equals a fresh computation for the second target
    data = tiny_unlearn_data(original, train)
    from supreme.testing import fullclass_split

    forget, retain = fullclass_split(train, 1)
    data = data.replace(forget=forget, retain=retain, forget_class=1)
    fresh = cls().unlearn(student(original), data, cpu_fabric())
    a, b = _params(results[1]), _params(fresh)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_assd_alpha_is_the_stated_percentile_of_the_ratios(tiny):
    original, _ = tiny
    method = ASSD()
    f, o = method.importances(student(original), _fresh(tiny, seed=2))
    data = _fresh(tiny, seed=2)
    method.unlearn(student(original), data, cpu_fabric())
    ratios = torch.cat([(f[k] / o[k]).flatten() for k in f]).double()
    ratios = torch.sort(ratios[torch.isfinite(ratios)]).values
    q = 100 - math.log(1 + 100 * len(data.forget) / (len(data.forget) + len(data.retain)))
    pos = q / 100 * (len(ratios) - 1)
    lo = math.floor(pos)
    expected = float(ratios[lo] + (ratios[lo + 1] - ratios[lo]) * (pos - lo))
    assert method.used["alpha"] == pytest.approx(expected, rel=1e-9)
    assert method.used["dampening"] == 1.0


def test_percentile_matches_linear_interpolation():
    values = torch.tensor([3.0, 1.0, 4.0, 2.0])
    assert imp.percentile(values, 50) == 2.5
    assert imp.percentile(values, 0) == 1.0
    assert imp.percentile(values, 100) == 4.0
    assert imp.percentile(values, 25) == pytest.approx(1.75)
    assert assd_percentile(0, 10) == 100.0
    assert assd_percentile(1, 10) == pytest.approx(100 - math.log(11))


def test_finite_ratios_drop_zero_over_zero_and_division_by_zero():
    forget = {"w": torch.tensor([0.0, 1.0, 2.0])}
    full = {"w": torch.tensor([0.0, 0.0, 4.0])}
    assert imp.finite_ratios(forget, full).tolist() == [0.5]
