"""UnlearnData: frozen facts, runtime services behind a protocol, no Fabric in the data."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from supreme.contracts import Augment, UnlearnData
from supreme.pipeline.data import BatchTransform
from supreme.testing import TinyNet, make_unlearn_data, synthetic_images


@pytest.fixture(scope="module")
def data() -> UnlearnData:
    return make_unlearn_data(TinyNet(), synthetic_images(per_class=8), seed=5)


def test_the_data_holds_no_fabric_and_no_pipeline_transform(data):
    for name in ("fabric", "transform"):
        assert not hasattr(data, name), name
    assert {f.name for f in dataclasses.fields(UnlearnData)} == {"facts", "services",
                                                                  "generator"}


def test_facts_are_frozen_and_replace_gives_a_new_data_with_a_fresh_generator(data):
    with pytest.raises(AttributeError):
        data.forget = data.retain  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.facts.scenario = "random"  # type: ignore[misc]
    before = data.draw_seed()
    other = data.replace(forget_class=1, scenario="subclass")
    assert (other.forget_class, other.scenario) == (1, "subclass")
    assert (data.forget_class, data.scenario) == (0, "fullclass")
    assert other.services is data.services
    # the new data's generator starts from the seed, as a new cell's would
    assert other.draw_seed() == make_unlearn_data(TinyNet(), synthetic_images(per_class=8),
                                                  seed=5).draw_seed()
    assert data.draw_seed() != before


def test_a_transform_can_be_given_and_sets_the_input_shape():
    # make_unlearn_data(..., transform=...) used to raise "multiple values for keyword"
    transform = BatchTransform(mean=(0.5,), std=(0.25,), size=16, channels=1)
    data = make_unlearn_data(TinyNet(), synthetic_images(per_class=4), transform=transform)
    assert data.input_shape == (1, 16, 16)
    x, _ = next(iter(data.loader("forget", batch_size=3, shuffle=False)))
    assert tuple(x.shape) == (3, 1, 16, 16)
    images = data.forget.images[:3]
    assert torch.equal(data.prepare(torch.as_tensor(images)), x)


def test_facts_sizes_and_train_order(data):
    assert data.facts.sizes == {"forget": len(data.forget), "retain": len(data.retain)}
    assert torch.equal(data.train.labels, torch.cat([data.retain.labels, data.forget.labels]))


def test_one_process_sum_is_the_identity_and_the_shard_is_everything(data):
    values = {"w": torch.arange(3.0)}
    assert data.sum_over_ranks(values) is values
    assert (data.rank, data.world_size) == (0, 1)
    assert data.rank_shard("retain") is data.retain


class Recording:
    """A DataServices that records what UnlearnData asks of it (the protocol is small)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.original = TinyNet()
        self.device = torch.device("cpu")
        self.rank, self.world_size = 1, 3

    def new_model(self):
        return TinyNet()

    def loader(self, tensors, **kw):
        self.calls.append(("loader", {"n": len(tensors), **kw}))
        return []

    def local_loader(self, tensors, **kw):
        self.calls.append(("local_loader", {"n": len(tensors), **kw}))
        return []

    def prepare(self, images):
        return images.float()

    def fit(self, model, tensors, recipe, **kw):
        self.calls.append(("fit", {"n": len(tensors), "epochs": recipe.epochs, **kw}))
        return model

    def sum_over_ranks(self, values):
        self.calls.append(("sum", {}))
        return {k: v * self.world_size for k, v in values.items()}

    def cache(self, name, key, compute):
        return compute()


def test_the_facade_resolves_splits_seeds_and_defaults_before_calling_the_services(data):
    services = Recording()
    facts = dataclasses.replace(data.facts, batch_size=7)
    own = UnlearnData(facts, services)
    expected_seed = UnlearnData(facts, services).draw_seed()
    own.loader(["forget", "retain"], augment=True)
    name, kw = services.calls[-1]
    assert name == "loader"
    assert kw == {"n": len(data.forget) + len(data.retain), "batch_size": 7, "shuffle": True,
                  "augment": facts.recipe.augment, "seed": expected_seed}
    assert isinstance(kw["augment"], Augment)
    own.loader("forget", augment=False, seed=11, batch_size=2, shuffle=False)
    assert services.calls[-1][1] == {"n": len(data.forget), "batch_size": 2, "shuffle": False,
                                     "augment": None, "seed": 11}
    own.local_loader(own.rank_shard("train"))
    n = len(data.train)
    assert services.calls[-1] == ("local_loader", {"n": len(range(1, n, 3)), "batch_size": 7})
    assert torch.equal(own.sum_over_ranks({"w": torch.ones(2)})["w"], torch.full((2,), 3.0))
    own.fit(TinyNet(), "retain", augment=False)
    assert services.calls[-1][1]["n"] == len(data.retain)
    assert services.calls[-1][1]["epochs"] == facts.recipe.epochs
    with pytest.raises(ValueError, match="unknown split 'test'"):
        own.loader("test")  # type: ignore[arg-type]
