"""Evaluation metrics: the :class:`Metric` contract."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from supreme.contracts.base import C, Component

if TYPE_CHECKING:
    import numpy as np
    import torch

    from supreme.contracts.evaluation import EvalContext

#: What a metric may declare it needs from the pipeline; each changes what is computed:
#: ``reference`` trains M_r, ``original`` and ``timings`` enter the result's store key,
#: ``features`` checks that the models have a penultimate layer before compute,
#: ``shadows`` trains :meth:`Metric.shadow_models` shadow models per cell (U-LiRA).
NEEDS = frozenset({"reference", "original", "timings", "features", "shadows"})


class Metric(Component[C]):
    """Scores one evaluated model (M_u, or the reference rows M_o and M_r).

    ``compute`` reads cached forward passes from the :class:`EvalContext` and returns a
    flat mapping of result keys to floats (for example ``{"forget_test": 12.5}``). A
    metric declares in ``needs`` what it uses beyond the evaluated model's outputs:
    ``reference`` (the retrained model M_r), ``original`` (M_o),
    ``timings`` (unlearning and retraining wall time), ``features`` (penultimate
    activations) and ``shadows`` (:meth:`shadow_models` shadow models, read through
    :meth:`EvalContext.shadow_outputs`). The pipeline trains M_r only when a requested
    metric or method needs it.
    """

    needs: ClassVar[frozenset[str]] = frozenset()
    #: Keys whose value may be NaN or infinite (``"*"``: every key). Such a value is
    #: recorded as ``null`` with ``"non_finite": "nan" | "inf" | "-inf"``; any other
    #: non-finite value fails the row with a recorded failure (supreme/values.py).
    non_finite_keys: ClassVar[frozenset[str]] = frozenset()
    #: Keys that are details rather than summary numbers, as ``fnmatch`` patterns (for
    #: example ``{"layer.*"}`` for one value per layer). Their records carry
    #: ``"detail": true``; they stay in ``results.jsonl``, the CSV and Parquet files, and
    #: are left out of the console table (``supreme run --all-keys`` shows them), the
    #: report's summary tables, rankings and plots (the report lists them in a details
    #: section). At least one key of every result must be a summary key.
    detail_keys: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def is_detail(cls, key: str) -> bool:
        """Whether ``key`` matches one of :attr:`detail_keys`."""
        from fnmatch import fnmatchcase

        return any(fnmatchcase(key, pattern) for pattern in cls.detail_keys)

    def shadow_models(self) -> int:
        """How many shadow models this metric reads when ``needs`` holds ``shadows``
        (usually a config field). Per cell and k < this number, the pipeline trains shadow
        k on a seeded random half H_k of the split's training examples (D_f ∪ D_r), retrains
        one on H_k without F_k = D_f ∩ H_k, and applies every evaluated row's method to
        shadow k with forget set F_k; each is a stored stage, shared by every cell with
        the same split content and counted by ``supreme plan``. The largest number over the
        run's metrics is trained; a metric reading fewer takes the first ones."""
        return 0

    @abstractmethod
    def compute(self, ctx: EvalContext) -> dict[str, float]:
        """Return ``{key: value}`` for this model."""


class GridMetric(Metric[C]):
    """A metric of a whole cell group, computed once its seeds have all run.

    Some evidence of forgetting is a property of distributions over seeds, not of one
    model: the forgetting quality of the NeurIPS 2023 challenge compares, per forget
    example, the outputs of many unlearned models with those of many retrained ones. A
    grid metric therefore works in two steps:

    1. :meth:`per_example`, for every evaluated row of every cell (like
       :meth:`Metric.compute`, from the :class:`EvalContext`): one float per example of
       :attr:`example_split`, in split order. The pipeline stores it (a small tensor
       artifact, with the examples' indices in the dataset) and the cell's outcome file
       names it; nothing is recorded per cell.
    2. :meth:`aggregate`, once per (dataset, model, scenario, target) and row after every
       cell of that group has finished: ``unlearned`` ``[n, S]`` holds the row's values
       from the models of one half of the group's runs, ``retrained`` ``[m, S]`` M_r's from
       the other half, over the S examples every one of those models scored (see
       :mod:`supreme.pipeline.grid` for the halves). It returns ``{key: value}``, written
       to ``grid_results.jsonl`` (one record per group, row and key; ``Results.grid``).

    ``min_models``: fewer models than this on either side make the value coarse; the run
    warns and the records carry ``"coarse": true``.
    """

    example_split: ClassVar[str] = "forget_train"
    min_models: ClassVar[int] = 8

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        raise TypeError(f"{type(self).__name__} is a grid metric: the pipeline calls "
                        "per_example and aggregate, not compute")

    @abstractmethod
    def per_example(self, ctx: EvalContext) -> torch.Tensor:
        """One float per example of :attr:`example_split` for the evaluated model."""

    @abstractmethod
    def aggregate(self, unlearned: np.ndarray, retrained: np.ndarray) -> dict[str, float]:
        """The group's ``{key: value}`` from ``[models, examples]`` arrays (float64)."""
