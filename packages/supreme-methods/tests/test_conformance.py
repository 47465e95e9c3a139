"""supreme.testing's method conformance check, run for every method this plugin registers."""

from __future__ import annotations

import pytest
from supreme.testing.methods import check_method
from supreme_methods.plugin import METHODS


@pytest.mark.parametrize("method_cls", METHODS, ids=lambda c: c.name)
def test_conformance(method_cls):
    check_method(method_cls)


def test_check_method_catches_a_nondeterministic_method():
    import torch
    from supreme.contracts import UnlearningMethod

    class Noisy(UnlearningMethod):
        """Adds global-RNG noise (breaks the seeding contract)."""

        name = "noisy"

        def unlearn(self, model, data, fabric):
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p) * 1e-3)
            return model

    with pytest.raises(AssertionError, match="not deterministic under a fixed seed"):
        check_method(Noisy)


def test_check_method_catches_a_method_that_modifies_the_teacher():
    import torch
    from supreme.contracts import UnlearningMethod

    class Vandal(UnlearningMethod):
        """Zeroes the teacher's head (breaks the frozen-teacher contract)."""

        name = "vandal"

        def unlearn(self, model, data, fabric):
            with torch.no_grad():
                data.original.head.weight.zero_()
            return model

    with pytest.raises(AssertionError, match=r"modified data\.original"):
        check_method(Vandal)


@pytest.mark.parametrize(
    ("name", "scenario"),
    [("random_labeling", "random"), ("unsir", "subclass"), ("bad_teacher", "random"),
     ("ssd", "subclass"), ("assd", "random"), ("salun", "random"), ("l1_sparse", "subclass"),
     ("neg_grad_plus", "random"), ("cf_k", "subclass"), ("eu_k", "random"),
     ("fisher", "random"), ("fisher", "subclass")],
)
def test_conformance_in_other_scenarios(name, scenario):
    method_cls = next(cls for cls in METHODS if cls.name == name)
    check_method(method_cls, scenario=scenario)
