"""Strict metric values: every value a metric returns is a finite number, or declared.

A metric returns ``{key: value}``. Each value must be a real number; a NaN or an infinity
fails that row (the metric on that model) with a failure record naming the metric, the key
and the value, unless the metric lists the key in ``Metric.non_finite_keys`` (``"*"`` for
every key): then the value is recorded as JSON ``null`` with ``"non_finite": "nan"``,
``"inf"`` or ``"-inf"``. Nothing non-finite is ever written as a bare ``NaN`` (which is not
JSON).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from supreme.errors import StageError


def non_finite_label(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def checked_values(metric: Any, values: Any) -> list[list[Any]]:
    """``[[key, value], ...]`` (``[key, None, "nan"|"inf"|"-inf"]`` for a declared
    non-finite value) in the metric's own key order; anything else raises
    :class:`StageError`."""
    name = getattr(metric, "name", type(metric).__name__)
    if not isinstance(values, Mapping):
        raise StageError(
            f"metric {name!r} returned {type(values).__name__}, not a mapping of keys to numbers",
            "A metric's compute() returns a dict such as {'forget_test': 12.5}.",
        )
    allowed = frozenset(getattr(metric, "non_finite_keys", frozenset()))
    out: list[list[Any]] = []
    for key, raw in values.items():
        if not isinstance(key, str) or not key:
            raise StageError(f"metric {name!r} returned the key {key!r}, not a non-empty string",
                             "Return a dict with string keys.")
        value = _number(raw)
        if value is None:
            raise StageError(
                f"metric {name!r} returned a non-number for key {key!r}: {raw!r:.80}",
                "Return a float (a one-element tensor or NumPy scalar is converted).",
            )
        if math.isfinite(value):
            out.append([key, value])
        elif key in allowed or "*" in allowed:
            out.append([key, None, non_finite_label(value)])
        else:
            raise StageError(
                f"metric {name!r} returned {value} for key {key!r}",
                "A metric value must be finite: fix the metric, or declare the key in its "
                "non_finite_keys to record it as null.",
            )
    return out


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, numbers.Real):
        return float(raw)
    item = getattr(raw, "item", None)  # tensors and NumPy scalars of one element
    numel = getattr(raw, "numel", None) or getattr(raw, "size", None)
    if callable(item):
        try:
            size = numel() if callable(numel) else numel
            if size in (None, 1):
                value = item()
                if isinstance(value, numbers.Real) and not isinstance(value, complex):
                    return float(value)
        except (TypeError, ValueError, RuntimeError):
            return None
    return None
