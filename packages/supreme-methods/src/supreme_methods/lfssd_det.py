"""LFSSD-Det: LFSSD with per-sample, order-independent importances.

Mean over samples of |∂‖f(x_i)‖²/∂θ| (see :mod:`supreme_methods.lfssd` and
:mod:`supreme_methods.ssd_det`). Reference code: SUPREME
``methods/state_of_the_art/lfssd_det.py``.

Differences from the reference: those of :mod:`supreme_methods.ssd_det` (torch.func
per-sample gradients, process-count independent, cached O).
"""

from __future__ import annotations

from supreme.contracts.search import Search

from supreme_methods._synaptic import LFSSD_TABLE, DampeningRule, PerSampleConfig, SynapticDampening


class LFSSDDet(SynapticDampening):
    """LFSSD-Det: LFSSD with per-sample (order-independent) importances via torch.func."""

    name = "lfssd_det"
    #: supreme tune's search space: as SSD: the selection α and the dampening λ.
    search_space = {"alpha": Search(0.1, 100.0, log=True), "dampening": Search(0.01, 10.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})
    criterion = "l2"
    per_sample = True

    class Config(PerSampleConfig):
        by_context: tuple[DampeningRule, ...] = LFSSD_TABLE
