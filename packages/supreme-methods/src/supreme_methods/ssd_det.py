"""SSD-Det: SSD with per-sample, order-independent importances.

The importance is the mean over samples of the squared per-sample gradient (instead of the
mean over shuffled batches of the squared batch gradient), so it does not depend on the
shuffling, the batch size or the number of processes. Variant of Foster et al., AAAI 2024
(see :mod:`supreme_methods.ssd`). Reference code: SUPREME
``methods/state_of_the_art/ssd_det.py``.

Differences from the reference: per-sample gradients come from ``torch.func`` (vmap over
grad, optionally in chunks) instead of one backward pass per sample (see
``bench/per_sample_grads.py``); each process handles its own unpadded shard and the sums
are added across processes, so 1 and N processes give the same weights (the reference's
per-sample backward under DDP all-reduced every sample's gradient, §9-14); O over D is
order-independent and cached per M_o, exactly reusable across targets (§9-29).
"""

from __future__ import annotations

from supreme.contracts.search import Search

from supreme_methods._synaptic import PerSampleConfig, SynapticDampening


class SSDDet(SynapticDampening):
    """SSD-Det: SSD with per-sample (order-independent) Fisher importances via torch.func."""

    name = "ssd_det"
    #: supreme tune's search space: as SSD: the selection α and the dampening λ.
    search_space = {"alpha": Search(0.1, 100.0, log=True), "dampening": Search(0.01, 10.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})
    criterion = "ce"
    per_sample = True

    class Config(PerSampleConfig):
        pass
