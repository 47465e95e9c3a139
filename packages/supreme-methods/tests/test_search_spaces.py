"""Every method ships a search space for ``supreme tune`` whose every drawable value is a
valid setting (both bounds, or each choice, pass the method's ``Config``)."""

from __future__ import annotations

import pytest
from supreme.config import load_config
from supreme.contracts import Search
from supreme.registry import default
from supreme.tune import search_space
from supreme_methods.plugin import supreme_register_methods

METHODS = list(supreme_register_methods())


@pytest.mark.parametrize("cls", METHODS, ids=[cls.name for cls in METHODS])
def test_every_method_ships_a_valid_search_space(cls: type) -> None:
    space = search_space(load_config(), cls.name, default())
    assert space == dict(cls.search_space) and space
    for field, search in space.items():
        assert isinstance(search, Search)
        assert field in cls.Config.model_fields
        if search.choices is None and field in ("lr", "impair_lr", "repair_lr", "noise_lr",
                                                "alpha", "l1", "noise_std"):
            # rates and scales span orders of magnitude: sampled on a log scale (α of
            # NegGrad+ is a convex weight in [0, 1], linear)
            assert search.log or cls.name == "neg_grad_plus", (cls.name, field)


def test_each_space_covers_the_methods_own_default() -> None:
    """The reference defaults lie inside the searched ranges, so tuning can only match or
    beat them (trial 1 runs them as they are)."""
    for cls in METHODS:
        defaults = cls.Config()
        for field, search in cls.search_space.items():
            value = getattr(defaults, field)
            if value is None or search.choices is not None:
                continue  # chosen per context (SSD's α), or a set of choices
            assert search.low <= value <= search.high, (cls.name, field, value)
