"""Selective Synaptic Dampening (SSD): dampen the weights far more important to D_f than to D.

Importances are diagonal-Fisher estimates (squared gradients of the cross-entropy),
computed once over D_f (F) and once over the whole training set D (O), with the model in
eval mode; every weight with F > α·O is multiplied by min(1, λ·O/F). No training, no
retain-set gradient steps. Foster et al., "Fast Machine Unlearning Without Retraining
Through Selective Synaptic Dampening" (AAAI 2024). Reference code: SUPREME
``methods/state_of_the_art/ssd.py`` (after ``if-loops/selective-synaptic-dampening``).

α and λ follow the reference's table by scenario, dataset and model (``by_context``;
α 10, λ 1 unless listed). Differences from the reference: O is cached per M_o and reused
across forget targets (§9-29), computed over D in a content-sorted order so that its
batches do not depend on the target; under several processes rank gradients are averaged
before squaring, as the reference's DDP did (§9-14); one implementation serves the whole
family (§9-31).
"""

from __future__ import annotations

from supreme.contracts.search import Search

from supreme_methods._synaptic import DampeningConfig, SynapticDampening


class SSD(SynapticDampening):
    """SSD: dampen weights whose forget-set Fisher importance exceeds α times the full one."""

    name = "ssd"
    #: supreme tune's search space: Foster et al. (SSD, AAAI 2024) sweep the selection α and the
    #: dampening λ on a log grid.
    search_space = {"alpha": Search(0.1, 100.0, log=True), "dampening": Search(0.01, 10.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})
    criterion = "ce"
    per_sample = False

    class Config(DampeningConfig):
        pass
