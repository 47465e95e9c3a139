"""Conformance check for unlearning methods: :func:`check_method`.

Run it from a plugin's test suite for every method the plugin registers::

    from supreme.testing.methods import check_method

    @pytest.mark.parametrize("method_cls", MY_METHODS)
    def test_conformance(method_cls):
        check_method(method_cls)

It trains a :class:`~supreme.testing.TinyNet` on a tiny synthetic data set on CPU, runs
the method twice with the same seed, and raises ``AssertionError`` with a troubleshooting
note when the method breaks the contract of :class:`~supreme.contracts.UnlearningMethod`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from supreme.contracts import ComponentConfig, ImageTensors, UnlearningMethod
from supreme.contracts.base import config_defaults_error
from supreme.pipeline.train import fit, unwrap
from supreme.testing import (
    TinyNet,
    component_settings,
    cpu_fabric,
    make_unlearn_data,
    synthetic_images,
    tiny_recipe,
    tiny_transform,
)

if TYPE_CHECKING:
    from lightning.fabric import Fabric

__all__ = ["check_method", "tiny_dataset", "tiny_original", "tiny_unlearn_data"]

NUM_CLASSES = 4
UNKNOWN_KEY = "no_such_hyperparameter"


def tiny_dataset(scenario: str = "fullclass", seed: int = 0) -> ImageTensors:
    """96 synthetic 8x8 images in 4 classes; for ``subclass`` the 4 classes are coarse
    classes made of two fine classes each (``fine_labels`` holds the 8 fine ids)."""
    if scenario != "subclass":
        return synthetic_images(NUM_CLASSES, per_class=24, seed=seed)
    fine = synthetic_images(2 * NUM_CLASSES, per_class=12, seed=seed)
    return ImageTensors(fine.images, fine.labels // 2, fine.labels)


def tiny_original(
    scenario: str = "fullclass", seed: int = 0, fabric: Fabric | None = None
) -> tuple[nn.Module, ImageTensors]:
    """A TinyNet trained for a few epochs on :func:`tiny_dataset`, and that data set."""
    fabric = fabric or cpu_fabric()
    train = tiny_dataset(scenario, seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        untrained = TinyNet(NUM_CLASSES)
    model = fit(untrained, train, tiny_recipe(epochs=10, lr=0.1), fabric=fabric,
                transform=tiny_transform(), seed=seed, augment=False, description="train tiny M_o")
    return model, train


def tiny_unlearn_data(
    original: nn.Module, train: ImageTensors, scenario: str = "fullclass", seed: int = 0,
    fabric: Fabric | None = None, **context: Any,
) -> Any:
    """What the pipeline would hand a method for ``scenario`` on :func:`tiny_dataset`.

    ``fullclass`` forgets class 0; ``subclass`` forgets fine class 0 (coarse class 0);
    ``random`` forgets a seeded quarter of the samples (batch size 32).
    """

    def new_model() -> nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(seed + 1)
            return TinyNet(NUM_CLASSES)

    common: dict[str, Any] = dict(num_classes=NUM_CLASSES, scenario=scenario, seed=seed,
                                  new_model=new_model, fabric=fabric, **context)
    if scenario == "fullclass":
        return make_unlearn_data(original, train, forget_class=0, **common)
    if scenario == "subclass":
        assert train.fine_labels is not None, "subclass needs fine labels (use tiny_dataset)"
        mask = train.fine_labels == 0
        forget = train.subset(mask.nonzero().flatten())
        retain = train.subset((~mask).nonzero().flatten())
        return make_unlearn_data(original, train, forget_class=0, forget=forget, retain=retain,
                                 **common)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    cut = len(train) // 4
    return make_unlearn_data(original, train, forget_class=None, forget=train.subset(order[:cut]),
                             retain=train.subset(order[cut:]), batch_size=32, **common)


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in unwrap(module).state_dict().items()}


def _same(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], atol: float) -> list[str]:
    return [k for k in a if not torch.allclose(a[k].float(), b[k].float(), atol=atol, rtol=0)]


def check_method(
    method_cls: type[UnlearningMethod],
    config: Mapping[str, Any] | ComponentConfig | None = None,
    *,
    scenario: str | None = None,
    seed: int = 0,
    atol: float = 1e-6,
) -> nn.Module:
    """Check ``method_cls`` against the method contract; return the unlearned model.

    Checks, each with a troubleshooting note on failure:

    1. the class has a valid ``name``, a non-empty one-line description, supported
       ``scenarios`` among fullclass/subclass/random, and a ``Config`` whose defaults
       validate;
    2. an unknown configuration key is rejected with an error that names it;
    3. ``unlearn`` returns an ``nn.Module`` with the same architecture (same class, same
       state-dict keys and shapes) and finite weights;
    4. the frozen teacher ``data.original`` and the model passed in as ``original`` are not
       modified, and the teacher stays in eval mode;
    5. two runs with the same seed give the same weights, even when the global torch RNG
       differs between them (all randomness must come from ``data.generator``).

    ``config`` overrides hyperparameters (for example fewer epochs) for speed: a dict of
    fields or a ``method_cls.Config`` (:func:`supreme.testing.component_settings`).
    """
    name = method_cls.__name__
    _check_class(method_cls)
    cfg = component_settings(method_cls, config, check="check_method")
    _check_rejects_unknown_key(method_cls)
    scenario = scenario or next(s for s in ("fullclass", "subclass", "random")
                                if s in method_cls.scenarios)

    original, train = tiny_original(scenario, seed)
    original_state = _state(original)
    runs: list[dict[str, torch.Tensor]] = []
    result: nn.Module | None = None
    fabric = cpu_fabric()
    for global_seed in (1234, 98765):
        torch.manual_seed(global_seed)
        data = tiny_unlearn_data(original, train, scenario=scenario, seed=seed, fabric=fabric)
        teacher_state = _state(data.original)
        student = copy.deepcopy(original).train()
        result = method_cls(cfg).unlearn(student, data, fabric)
        assert isinstance(result, nn.Module), (
            f"{name}.unlearn returned {type(result).__name__}, not an nn.Module. "
            "Return the (possibly wrapped) model you trained."
        )
        plain = unwrap(result)
        assert type(plain) is type(original), (
            f"{name}.unlearn returned a {type(plain).__name__}, expected {type(original).__name__}"
            ". Return a model of the architecture you were given (train a copy, not a new class)."
        )
        state = _state(plain)
        assert state.keys() == original_state.keys() and all(
            state[k].shape == original_state[k].shape for k in state
        ), f"{name}.unlearn changed the model's parameters or buffers (names or shapes)."
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        assert not bad, f"{name}.unlearn produced non-finite weights in {bad}. Lower the lr?"
        changed = _same(teacher_state, _state(data.original), atol=0.0)
        assert not changed, (
            f"{name}.unlearn modified data.original ({changed[:3]}). The teacher is shared by "
            "every method: copy it (copy.deepcopy) before changing anything."
        )
        assert not data.original.training, (
            f"{name}.unlearn left data.original in train mode; teachers must stay in eval mode."
        )
        changed = _same(original_state, _state(original), atol=0.0)
        assert not changed, f"{name}.unlearn modified a model it was not given ({changed[:3]})."
        runs.append(state)
    differ = _same(runs[0], runs[1], atol=atol)
    assert not differ, (
        f"{name}.unlearn is not deterministic under a fixed seed: {differ[:3]} differ between "
        "two runs. Draw all randomness from data.generator / data.draw_seed(), never from the "
        "global torch/numpy/random state."
    )
    assert result is not None
    return unwrap(result)


def _check_class(method_cls: type[UnlearningMethod]) -> None:
    name = method_cls.__name__
    assert isinstance(method_cls, type) and issubclass(method_cls, UnlearningMethod), (
        f"{method_cls!r} is not an UnlearningMethod subclass."
    )
    assert method_cls.name and method_cls.name.isidentifier() and method_cls.name.islower(), (
        f"{name}.name = {method_cls.name!r}: set a lowercase identifier such as 'my_method'."
    )
    assert method_cls.describe(), (
        f"{name} has no docstring; its first line is what `supreme list methods` shows."
    )
    unknown = set(method_cls.scenarios) - {"fullclass", "subclass", "random"}
    assert method_cls.scenarios and not unknown, (
        f"{name}.scenarios = {set(method_cls.scenarios)}: use a non-empty subset of "
        "fullclass, subclass, random."
    )
    problem = config_defaults_error(getattr(method_cls, "Config", None))
    assert problem is None, (
        f"{name}.Config: its defaults do not validate ({problem}): keep each default within "
        "its field's bounds (a field without a default is required and is fine)."
    )


def _check_rejects_unknown_key(method_cls: type[UnlearningMethod]) -> None:
    from supreme.config import component_config
    from supreme.errors import ConfigError

    prefix = f"method.{method_cls.name}"
    try:
        component_config(method_cls, {UNKNOWN_KEY: 1}, prefix)
    except ConfigError as exc:
        assert f"{prefix}.{UNKNOWN_KEY}" in str(exc), (
            f"the error for an unknown key does not name it: {exc}"
        )
        return
    raise AssertionError(
        f"{method_cls.__name__}.Config accepted the unknown key {UNKNOWN_KEY!r}. Subclass "
        "supreme.contracts.ComponentConfig (extra='forbid') instead of pydantic.BaseModel."
    )
