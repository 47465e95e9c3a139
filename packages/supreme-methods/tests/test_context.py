"""Per-context defaults: the reference's SSD/LFSSD α/λ table, overridable per experiment."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from supreme.config import component_config
from supreme.errors import ConfigError
from supreme_methods._context import resolve
from supreme_methods.assd import ASSD
from supreme_methods.lfssd import LFSSD
from supreme_methods.lfssd_det import LFSSDDet
from supreme_methods.ssd import SSD
from supreme_methods.ssd_det import SSDDet


def cell(scenario="fullclass", dataset="cifar100", model="resnet18", family="resnet"):
    return SimpleNamespace(scenario=scenario, dataset_name=dataset, model_name=model,
                           model_family=family)


def alpha_lambda(cls, **kw):
    values = resolve(cls.Config(), cell(**kw))
    return values["alpha"], values["dampening"]


@pytest.mark.parametrize("cls", [SSD, SSDDet])
def test_ssd_table(cls):
    assert alpha_lambda(cls) == (10.0, 1.0)
    assert alpha_lambda(cls, dataset="pins") == (50.0, 0.1)
    assert alpha_lambda(cls, dataset="Pins", scenario="random") == (10.0, 1.0)
    assert alpha_lambda(cls, scenario="subclass", dataset="cifar20", model="vit", family="vit") == (
        25.0, 1.0)
    assert alpha_lambda(cls, scenario="subclass", dataset="cifar20") == (10.0, 1.0)


@pytest.mark.parametrize("cls", [LFSSD, LFSSDDet])
def test_lfssd_table(cls):
    assert alpha_lambda(cls) == (10.0, 1.0)
    assert alpha_lambda(cls, dataset="cifar20") == (5.0, 1.0)
    assert alpha_lambda(cls, scenario="random", dataset="digits") == (3.5, 1.0)
    assert alpha_lambda(cls, dataset="pins") == (10.0, 1.0)


def test_explicit_value_beats_the_table():
    cfg = component_config(SSD, {"alpha": 3.0}, "method.ssd")
    assert resolve(cfg, cell(dataset="pins"))["alpha"] == 3.0
    assert resolve(cfg, cell(dataset="pins"))["dampening"] == 0.1


def test_table_can_be_replaced_from_the_experiment_file():
    table = {"by_context": [{"alpha": 7.0, "dampening": 1.0},
                            {"datasets": ["digits"], "alpha": 2.0}]}
    cfg = component_config(SSD, table, "method.ssd")
    assert resolve(cfg, cell(dataset="digits"))["alpha"] == 2.0
    assert resolve(cfg, cell(dataset="cifar10"))["alpha"] == 7.0


def test_unknown_key_in_a_rule_is_rejected_with_its_path():
    with pytest.raises(ConfigError, match=r"method\.ssd\.by_context\.0\.alhpa: unknown key"):
        component_config(SSD, {"by_context": [{"alhpa": 3.0}]}, "method.ssd")


def test_assd_ignores_the_table():
    assert resolve(ASSD.Config(), cell(dataset="pins"))["dampening"] == 1.0
