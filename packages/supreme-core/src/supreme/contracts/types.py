"""Shared annotated types for hyperparameters: one rule for every numeric setting.

Every built-in method, metric, dataset and model uses these, and so does the experiment's
``[training]`` table, so that an epoch count, a learning rate or a batch size has the same
bounds wherever it is set. Plugin authors use them the same way::

    from pydantic import Field
    from supreme.contracts import ComponentConfig
    from supreme.contracts.types import BatchSize, Epochs, LearningRate

    class Config(ComponentConfig):
        epochs: Epochs = Field(5, description="passes over D_r")
        lr: LearningRate = 0.01
        batch_size: BatchSize | None = None

Floats are finite everywhere: :class:`~supreme.contracts.ComponentConfig` rejects NaN and
infinities (``1e999`` in TOML reads as infinity) in every float field. The bounds are
deliberately wide: they exist to refuse typos that would hang a run or overflow (``1e12``
epochs, a ``1e9`` batch), not to second-guess a recipe.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from pydantic import AfterValidator, AllowInfNan

#: The largest epoch count anywhere (M_o's recipe, a method's passes).
MAX_EPOCHS = 100_000
#: The largest batch size anywhere (training, unlearning, evaluation).
MAX_BATCH_SIZE = 1_000_000
#: The largest number of optimisation steps or iterations a setting may ask for.
MAX_STEPS = 10_000_000
#: The largest learning rate (SGD, Adam or a method's own).
MAX_LEARNING_RATE = 1_000.0
#: The largest scale factor, temperature or penalty weight.
MAX_SCALE = 1_000_000.0

_finite = AllowInfNan(False)

#: Passes over a dataset: 1 .. MAX_EPOCHS.
Epochs = Annotated[int, Ge(1), Le(MAX_EPOCHS)]
#: A number of epochs that may be 0 (warm-up): 0 .. MAX_EPOCHS.
EpochCount = Annotated[int, Ge(0), Le(MAX_EPOCHS)]
#: A positive number of steps or iterations: 1 .. MAX_STEPS.
Steps = Annotated[int, Ge(1), Le(MAX_STEPS)]
#: A number of steps that may be 0: 0 .. MAX_STEPS.
StepCount = Annotated[int, Ge(0), Le(MAX_STEPS)]
#: Samples per batch: 1 .. MAX_BATCH_SIZE.
BatchSize = Annotated[int, Ge(1), Le(MAX_BATCH_SIZE)]
#: A learning rate: (0, MAX_LEARNING_RATE], finite.
LearningRate = Annotated[float, Gt(0), Le(MAX_LEARNING_RATE), _finite]
#: SGD momentum: [0, 1), finite.
Momentum = Annotated[float, Ge(0), Lt(1), _finite]
#: Weight decay (L2 penalty): [0, 1], finite.
WeightDecay = Annotated[float, Ge(0), Le(1), _finite]
#: A fraction that cannot be 0: (0, 1].
Fraction = Annotated[float, Gt(0), Le(1), _finite]
#: A probability or share: [0, 1].
Probability = Annotated[float, Ge(0), Le(1), _finite]
#: A positive scale, temperature, threshold or weight: (0, MAX_SCALE].
PositiveScale = Annotated[float, Gt(0), Le(MAX_SCALE), _finite]
#: A non-negative scale or weight: [0, MAX_SCALE].
Scale = Annotated[float, Ge(0), Le(MAX_SCALE), _finite]
#: A multiplicative decay factor such as a schedule's gamma: (0, 1].
Decay = Annotated[float, Gt(0), Le(1), _finite]



def _increasing(epochs: tuple[int, ...]) -> tuple[int, ...]:
    if list(epochs) != sorted(set(epochs)):
        raise ValueError("milestones must be distinct and increasing")
    return epochs


#: Epochs at which a multistep schedule decays the learning rate: distinct, increasing,
#: each 0 .. MAX_EPOCHS, at most 10000 of them.
Milestones = Annotated[tuple[EpochCount, ...], MaxLen(10_000), AfterValidator(_increasing)]

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_EPOCHS",
    "MAX_LEARNING_RATE",
    "MAX_SCALE",
    "MAX_STEPS",
    "BatchSize",
    "Decay",
    "EpochCount",
    "Epochs",
    "Fraction",
    "LearningRate",
    "Milestones",
    "Momentum",
    "PositiveScale",
    "Probability",
    "Scale",
    "StepCount",
    "Steps",
    "WeightDecay",
]
