"""Adaptive SSD (ASSD): SSD with α chosen from the data instead of a table.

Importances exactly as SSD; then α is the P-th percentile of all finite ratios F/O over
every parameter element, with P = 100 − ln(1 + 100·|D_f|/|D|), so a smaller forget set
selects fewer weights; λ = 1. Schoepf, Foster and Brintrup, "Parameter-tuning-free data
entry error unlearning with adaptive selective synaptic dampening" (2024). Reference code:
SUPREME ``methods/state_of_the_art/assd.py``.

Differences from the reference: the percentile (linear interpolation, as numpy's
``nanpercentile``) is computed in torch on every rank from identical, all-reduced
importances instead of on rank 0 and broadcast; those of :mod:`supreme_methods.ssd`
otherwise. ``alpha`` and ``by_context`` are ignored (the reference also ignored its
initial α of 10).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts.search import Search
from supreme.contracts.types import Scale

from supreme_methods._synaptic import DampeningConfig, DampeningRule, SynapticDampening

if TYPE_CHECKING:
    from supreme.contracts import UnlearnData

    from supreme_methods._importance import Importance


def assd_percentile(forget_size: int, total_size: int) -> float:
    """P = 100 − ln(1 + 100·|D_f| / |D|)."""
    return 100.0 - math.log(1.0 + 100.0 * forget_size / total_size)


class ASSD(SynapticDampening):
    """ASSD: SSD whose α is a percentile of F/O set by the forget-set share (λ = 1)."""

    name = "assd"
    #: supreme tune's search space: α is chosen by the method itself; the dampening λ and the
    #: exponent remain.
    search_space = {"dampening": Search(0.01, 10.0, log=True), "exponent": Search(0.1, 10.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})
    criterion = "ce"
    per_sample = False

    class Config(DampeningConfig):
        dampening: Scale | None = Field(1.0, description="dampening constant λ")
        by_context: tuple[DampeningRule, ...] = ()

    def threshold(self, forget: Importance, full: Importance, data: UnlearnData,
                  alpha: float) -> float:
        from supreme_methods._importance import finite_ratios, percentile

        q = assd_percentile(len(data.forget), len(data.forget) + len(data.retain))
        return percentile(finite_ratios(forget, full), q)
