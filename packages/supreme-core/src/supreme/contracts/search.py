"""Search spaces for ``supreme tune``: one :class:`Search` per tuned config field.

A method declares its space as a class-level table next to its ``Config``::

    class MyMethod(UnlearningMethod[MyMethod.Config]):
        search_space = {
            "lr": Search(1e-5, 1e-1, log=True),
            "epochs": Search(1, 10),
            "mode": Search(choices=("eval", "train")),
        }

Each key must name a field of the method's ``Config``; every value the space can draw
must be valid for that field (``supreme tune`` checks the bounds and every choice against
the ``Config`` before the first trial). Integer bounds draw integers, float bounds floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Search", "parse_search"]

Scalar = bool | int | float | str


@dataclass(frozen=True)
class Search:
    """A range ``[low, high]`` (``log=True``: sampled on a log scale; ``step``: a grid)
    or a set of ``choices``."""

    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    choices: tuple[Scalar, ...] | None = None

    def __post_init__(self) -> None:
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
            if self.low is not None or self.high is not None or self.log or self.step:
                raise ValueError("a Search has either choices or low/high, not both")
            if not self.choices:
                raise ValueError("Search(choices=...) needs at least one choice")
            return
        if self.low is None or self.high is None:
            raise ValueError("a Search needs low and high, or choices")
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, int | float) or \
                    not math.isfinite(bound):
                raise ValueError(f"Search bound {bound!r} is not a finite number")
        if not self.low < self.high:
            raise ValueError(f"Search needs low < high (got {self.low!r}, {self.high!r})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale Search needs low > 0 (got {self.low!r})")
        if self.log and self.step is not None:
            raise ValueError("a Search cannot have both log = true and a step")
        if self.step is not None and not self.step > 0:
            raise ValueError(f"Search step must be > 0 (got {self.step!r})")

    @property
    def integer(self) -> bool:
        """Integer bounds (and step) draw integers."""
        return self.choices is None and all(
            isinstance(v, int) and not isinstance(v, bool)
            for v in (self.low, self.high, self.step) if v is not None)

    def values_to_check(self) -> Sequence[Scalar]:
        """The values that must be valid for the field: both bounds, or every choice."""
        if self.choices is not None:
            return self.choices
        return (self.low, self.high)  # type: ignore[return-value]

    def as_dict(self) -> dict[str, Any]:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        scale = ", log scale" if self.log else (f", step {self.step}" if self.step else "")
        kind = "integer" if self.integer else "float"
        return f"{kind} in [{self.low}, {self.high}]{scale}"


def parse_search(table: Mapping[str, Any], where: str) -> Search:
    """A :class:`Search` from a TOML table (``{low, high, log, step}`` or ``{choices}``);
    a bad table raises ``ValueError`` naming ``where``."""
    unknown = sorted(set(table) - {"low", "high", "log", "step", "choices"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (use low, high, log, "
                         "step, or choices)")
    try:
        choices = table.get("choices")
        return Search(low=table.get("low"), high=table.get("high"),
                      log=bool(table.get("log", False)), step=table.get("step"),
                      choices=None if choices is None else tuple(choices))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
