"""Evaluation metrics: the :class:`Metric` contract."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from supreme.contracts.base import C, Component

if TYPE_CHECKING:
    from supreme.contracts.evaluation import EvalContext

#: What a metric may declare it needs from the pipeline; each changes what is computed:
#: ``reference`` trains M_r, ``original`` and ``timings`` enter the result's store key,
#: ``features`` checks that the models have a penultimate layer before compute.
NEEDS = frozenset({"reference", "original", "timings", "features"})


class Metric(Component[C]):
    """Scores one evaluated model (M_u, or the reference rows M_o and M_r).

    ``compute`` reads cached forward passes from the :class:`EvalContext` and returns a
    flat mapping of result keys to floats (for example ``{"forget_test": 12.5}``). A
    metric declares in ``needs`` what it uses beyond the evaluated model's outputs:
    ``reference`` (the retrained model M_r), ``original`` (M_o),
    ``timings`` (unlearning and retraining wall time) and ``features`` (penultimate
    activations). The pipeline trains M_r only when a requested metric or method needs it.
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

    @abstractmethod
    def compute(self, ctx: EvalContext) -> dict[str, float]:
        """Return ``{key: value}`` for this model."""
